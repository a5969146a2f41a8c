/* Writes binary seed inputs for the fuzzers that take structured input:
 *   perfrec/  perf records in the layouts the perf sampler opens (kernel
 *             callchain; regs + user stack with a frame-pointer chain; lost;
 *             fork; exit), prefixed as fuzz_perfrec.c reads its input
 *   pprof/    a few profiles in fuzz_pprof.c's input format
 * Usage: gen_seeds DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>

static uint8_t buf[65536];
static size_t len;

static void put(const void *p, size_t n) { memcpy(buf + len, p, n); len += n; }
static void u64(uint64_t v) { put(&v, 8); }
static void u32(uint32_t v) { put(&v, 4); }
static void be(uint64_t v, int n) { for (int i = n - 1; i >= 0; i--) buf[len++] = (uint8_t)(v >> (8 * i)); }

static void save(const char *dir, const char *sub, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	len = 0;
}

/* prefix: sample_type, regs selector, flags (1 = fix header size) */
static void prefix(uint64_t type) { be(type, 8); be(0, 4); be(1, 1); }

static void header(uint32_t type, size_t at)
{
	struct perf_event_header h = { .type = type, .misc = PERF_RECORD_MISC_USER,
				       .size = (uint16_t)(len - at) };
	memcpy(buf + at, &h, sizeof h);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *d = argv[1];
	uint64_t fp_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			   PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
	uint64_t dw_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			   PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;

	/* kernel callchain, user context */
	prefix(fp_type);
	size_t at = len;
	len += 8;
	u64(0x401234); u32(100); u32(101); u64(123456789); u64(1000000);
	u64(6); u64(PERF_CONTEXT_USER); u64(0x401234); u64(0x401300); u64(0x401400);
	u64(PERF_CONTEXT_KERNEL); u64(0xffffffff81000000ull);
	header(PERF_RECORD_SAMPLE, at);
	save(d, "perfrec", "callchain");

	/* registers + 256-byte stack with a frame-pointer chain */
	prefix(dw_type);
	at = len;
	len += 8;
	u64(0x401234); u32(100); u32(101); u64(123456789); u64(1000000);
	u64(PERF_SAMPLE_REGS_ABI_64);
	uint64_t sp = 0x7ffc0000f000ull;
	for (int r = 0; r < 20; r++) {
		uint64_t v = r;
		if (r == 6) v = sp + 16;          /* BP */
		if (r == 7) v = sp;               /* SP */
		if (r == 8) v = 0x401234;         /* IP */
		u64(v);
	}
	u64(256);
	for (int i = 0; i < 32; i++) {
		uint64_t v = 0;
		if (i % 4 == 2) v = sp + 8 * (i + 4);   /* saved rbp -> next frame */
		if (i % 4 == 3) v = 0x401500 + 16 * i;  /* return address */
		u64(v);
	}
	u64(256);
	header(PERF_RECORD_SAMPLE, at);
	save(d, "perfrec", "regs_stack");

	prefix(0);
	at = len; len += 8; u64(1); u64(42);
	header(PERF_RECORD_LOST, at);
	save(d, "perfrec", "lost");
	prefix(0);
	at = len; len += 8; u32(100); u32(1); u32(102); u32(100); u64(5);
	header(PERF_RECORD_FORK, at);
	save(d, "perfrec", "fork");
	prefix(0);
	at = len; len += 8; u32(100); u32(1); u32(102); u32(100); u64(6);
	header(PERF_RECORD_EXIT, at);
	save(d, "perfrec", "exit");

	/* pprof: 257 frame-count bytes + name bytes, then (tid, n, count, pcs) */
	for (int k = 0; k < 257; k++) buf[len++] = (uint8_t)k;
	for (int s = 0; s < 40; s++) {
		int n = 1 + s % 12;
		buf[len++] = (uint8_t)(1 + s % 4);
		buf[len++] = (uint8_t)n;
		buf[len++] = (uint8_t)(s * 7);
		for (int i = 0; i < n; i++)
			buf[len++] = (uint8_t)(i == n - 1 && s % 5 == 0 ? 0xff : (s * 13 + i * 29) % 255);
	}
	save(d, "pprof", "mixed");
	return 0;
}
