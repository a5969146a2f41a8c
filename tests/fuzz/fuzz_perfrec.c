/* perf ring-buffer records: perfrec_decode on arbitrary bytes with an
 * arbitrary (known) sample layout, then the unwinder on every sample that
 * decodes: its registers and stack copy are the target's memory, so the
 * frame-pointer walk and libdwfl's CFI unwinder (against the modules of
 * this very process) must survive any content.
 *
 * Input: 8 bytes of sample_type, 4 of regs mask selector, 1 flags byte,
 * then the record. Flag bit 0: patch the header's size to the real length
 * (so most inputs get past the first check). */
#include <linux/perf_event.h>
#include "fuzz_common.h"
#include "perfrec.h"
#include "symbol.h"
#include "unwind.h"

#define KNOWN (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | \
	PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | \
	PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | \
	PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW | PERF_SAMPLE_REGS_USER | \
	PERF_SAMPLE_STACK_USER)

static struct symtab *st;
static struct unwinder *u_fp, *u_dwarf;

static void setup(void)
{
	if (st)
		return;
	st = symtab_open(getpid());
	if (!st)
		abort();
	u_fp = unwinder_new(st, UNWIND_FP);
	u_dwarf = unwinder_new(st, UNWIND_DWARF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct fuzz_in in = { data, size };
	struct perfrec_fmt fmt;
	uint64_t t = fuzz_take(&in, 8);
	uint32_t rsel = (uint32_t)fuzz_take(&in, 4);
	unsigned flags = (unsigned)fuzz_take(&in, 1);
	/* mostly known layouts; sometimes anything (must be -ENOTSUP) */
	fmt.sample_type = (flags & 2) ? t : (t & KNOWN);
	fmt.regs_mask = (flags & 4) ? ((uint64_t)rsel << 32 | rsel) : PERFREC_REGS_MASK;

	/* the decoder wants 8-aligned records, as they sit in the ring */
	size_t len = in.n;
	uint64_t *buf = malloc(len ? (len + 7) / 8 * 8 : 8);
	if (len)
		memcpy(buf, in.p, len);
	if ((flags & 1) && len >= sizeof(struct perf_event_header) && len <= 0xffff) {
		struct perf_event_header h;
		memcpy(&h, buf, sizeof h);
		h.size = (uint16_t)len;
		memcpy(buf, &h, sizeof h);
	}
	struct perfrec r;
	int rc = perfrec_decode(&fmt, buf, len, &r);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
	if (rc == 0 && r.kind == PERFREC_SAMPLE) {
		const struct raw_sample *s = &r.u.sample;
		const uint8_t *lo = (const uint8_t *)buf, *hi = lo + len;
		if (s->nr_ips) {
			FUZZ_CHECK((const uint8_t *)s->ips >= lo);
			FUZZ_CHECK((const uint8_t *)(s->ips + s->nr_ips) <= hi);
			FUZZ_CHECK(perfrec_user_ips(s->ips, s->nr_ips) <= s->nr_ips);
		}
		if (s->stack) {
			FUZZ_CHECK(s->stack >= lo && s->stack + s->stack_size <= hi);
		}
		uint64_t pcs[CTOP_MAX_FRAMES];
		int max = (flags & 8) ? 4 : CTOP_MAX_FRAMES;
		int n = unwind_sample(u_fp, s, pcs, max);
		FUZZ_CHECK(n >= 0 && n <= max);
		n = unwind_sample(u_dwarf, s, pcs, max);
		FUZZ_CHECK(n >= 0 && n <= max);
	}
	free(buf);
	return 0;
}
