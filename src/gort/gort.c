/* Goroutines of a live Go process, read from outside with process_vm_readv:
 * no ptrace, no stop, no cooperation from the target.
 *
 * Where things are comes from the binary's DWARF (never hard-coded: the
 * runtime's structs change between Go versions): the addresses of
 * runtime.allglen / allgptr / allgs / allm / waitReasonStrings and the
 * offsets of the runtime.g and runtime.m fields we read. Function names and
 * frame sizes come from .gopclntab (pclntab.c), which even stripped binaries
 * keep.
 *
 * A scan copies the g pointers, then every g (one read of the whole struct
 * each, many per syscall), validates them (the target keeps running, so a g
 * can be torn or recycled under us: such gs are skipped and counted), and
 * unwinds each parked goroutine from g.sched with frame pointers, all
 * goroutines one frame level per batch of reads. Where there is no frame
 * pointer to start from (a goroutine in a syscall: entersyscall saves only
 * pc and sp), the frame size from the pcsp table takes its place.
 *
 * A goroutine on a CPU right now has no stack in g.sched (gogo cleared it):
 * it is reported as running, with its start function as its only frame and
 * the thread it runs on (m.procid), flagged stale.
 *
 * Like Go's goroutine profile and runtime.NumGoroutine(), runtime-internal
 * goroutines (started in runtime.* other than runtime.main) are left out
 * and only counted. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gort.h"
#include "gort_impl.h"
#include "target.h"

#define GORT_MAX_GS 1000000u     /* bound on goroutines per scan */
#define GORT_BATCH 1024          /* iovecs per process_vm_readv (IOV_MAX) */
#define GORT_DEPTH 64            /* frames per goroutine (struct goroutine) */
#define GORT_MAX_STACK (UINT64_C(1) << 30)   /* runtime's maxstacksize, 64-bit */

enum {
	G_IDLE, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING, G_MORIBUND,
	G_DEAD, G_ENQUEUE, G_COPYSTACK, G_PREEMPTED, G_NSTATUS
};
#define G_SCAN 0x1000u

struct seg { uint64_t vaddr, memsz, off, filesz; };

struct gort {
	pid_t pid;                 /* 0: offline, reads served from the file */
	char *path;
	int fd;
	Elf *elf;
	uint64_t bias;             /* runtime address - link-time address */
	struct seg *segs;
	size_t nsegs;
	uint64_t text_lo, text_hi; /* runtime addresses */
	char version[64];
	char err[256];
	int have_layout;
	struct gort_layout L;
	uint64_t allgptr;          /* runtime.allgptr (1.17+), 0 if absent */
	struct gopclntab *pcln;
	char **wait;               /* wait reason names */
	unsigned nwait;
};

/* ---------------------------------------------------------------- names */

static const char *const status_names[G_NSTATUS] = {
	"idle", "runnable", "running", "syscall", "waiting", "moribund",
	"dead", "enqueue", "copystack", "preempted",
};

const char *gort_status_name(uint32_t status)
{
	status &= ~G_SCAN;
	return status < G_NSTATUS ? status_names[status] : "?";
}

char gort_state_char(uint32_t status)
{
	switch (status & ~G_SCAN) {
	case G_RUNNABLE: case G_RUNNING: case G_PREEMPTED: return 'R';
	case G_SYSCALL: return 'D';
	case G_WAITING: case G_COPYSTACK: return 'S';
	default: return '?';
	}
}

const char *gort_wait_reason(struct gort *g, unsigned reason)
{
	if (!g || !g->wait || reason >= g->nwait || !g->wait[reason])
		return "";
	return g->wait[reason];
}

const char *gort_version(struct gort *g) { return g ? g->version : ""; }
const char *gort_error(struct gort *g) { return g && g->err[0] ? g->err : NULL; }
const struct gort_layout *gort_get_layout(struct gort *g)
{
	return g && g->have_layout ? &g->L : NULL;
}

/* --------------------------------------------------------------- memory */

struct rd { uint64_t addr; void *dst; size_t len; int ok; };

/* Reads from the file image: initialised data from PT_LOAD, zeros for .bss. */
static int file_read(struct gort *g, uint64_t addr, void *dst, size_t len)
{
	uint64_t a = addr - g->bias;
	for (size_t i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];
		if (a < s->vaddr || a - s->vaddr >= s->memsz ||
		    len > s->memsz - (a - s->vaddr))
			continue;
		uint64_t rel = a - s->vaddr;
		size_t infile = rel < s->filesz ?
			(size_t)(s->filesz - rel < len ? s->filesz - rel : len) : 0;
		if (infile && pread(g->fd, dst, infile, (off_t)(s->off + rel)) != (ssize_t)infile)
			return -EIO;
		memset((char *)dst + infile, 0, len - infile);
		return 0;
	}
	return -EFAULT;
}

/* Serves n reads; each gets ok = 1 when fully read. Batches of GORT_BATCH
 * iovecs per syscall; a failed iovec (unmapped, or freed under us) ends a
 * process_vm_readv, so the batch goes on after it. Returns reads served. */
static size_t mem_readv(struct gort *g, struct rd *r, size_t n)
{
	size_t good = 0;
	if (!g->pid) {
		for (size_t i = 0; i < n; i++) {
			r[i].ok = file_read(g, r[i].addr, r[i].dst, r[i].len) == 0;
			good += (size_t)r[i].ok;
		}
		return good;
	}
	struct iovec lv[GORT_BATCH], rv[GORT_BATCH];
	size_t i = 0;
	while (i < n) {
		size_t k = 0;
		for (; k < GORT_BATCH && i + k < n; k++) {
			r[i + k].ok = 0;
			lv[k].iov_base = r[i + k].dst;
			lv[k].iov_len = r[i + k].len;
			rv[k].iov_base = (void *)(uintptr_t)r[i + k].addr;
			rv[k].iov_len = r[i + k].len;
		}
		ssize_t got = process_vm_readv(g->pid, lv, k, rv, k, 0);
		if (got < 0) {
			if (errno != EFAULT)
				return good;   /* target gone (ESRCH), no permission */
			i++;                   /* the first iovec is unreadable */
			continue;
		}
		size_t j = 0;
		for (; j < k && (size_t)got >= r[i + j].len; j++) {
			got -= (ssize_t)r[i + j].len;
			r[i + j].ok = 1;
			good++;
		}
		/* r[i + j] failed (partly read at most): skip past it */
		i += j < k ? j + 1 : k;
	}
	return good;
}

static int mem_read(struct gort *g, uint64_t addr, void *dst, size_t len)
{
	struct rd r = { addr, dst, len, 0 };
	mem_readv(g, &r, 1);
	return r.ok ? 0 : -EFAULT;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);   /* x86-64 only: little endian */
	return v;
}

static uint64_t field(const uint8_t *buf, size_t len, int32_t off, int32_t size)
{
	if (off < 0 || size <= 0 || size > 8 || (size_t)off + (size_t)size > len)
		return 0;
	uint64_t v = 0;
	memcpy(&v, buf + off, (size_t)size);
	return v;
}

/* ------------------------------------------------------------------ ELF */

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(elf, s));) {
		if (!gelf_getshdr(s, sh))
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return s;
	}
	return NULL;
}

static int has_symbol(Elf *elf, const char *name)
{
	GElf_Shdr sh;
	Elf_Scn *s = find_section(elf, ".symtab", &sh);
	Elf_Data *d = s ? elf_getdata(s, NULL) : NULL;
	if (!d || !sh.sh_entsize)
		return 0;
	size_t n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		const char *sn = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (sn && !strcmp(sn, name))
			return 1;
	}
	return 0;
}

static int load_segments(struct gort *g)
{
	size_t n;
	if (elf_getphdrnum(g->elf, &n))
		return -EINVAL;
	g->segs = xcalloc(n ? n : 1, sizeof(*g->segs));
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(g->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		g->segs[g->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
						    ph.p_filesz };
	}
	return g->nsegs ? 0 : -EINVAL;
}

/* Load bias of a PIE: where the target mapped the segment at file offset 0
 * (/proc/PID/maps) minus its link-time address. 0 for ET_EXEC (Go's default
 * on amd64). */
static void find_bias(struct gort *g)
{
	GElf_Ehdr eh;
	if (!g->pid || !gelf_getehdr(g->elf, &eh) || eh.e_type != ET_DYN)
		return;
	uint64_t lowest = UINT64_MAX;
	for (size_t i = 0; i < g->nsegs; i++)
		if (g->segs[i].off == 0 && g->segs[i].vaddr < lowest)
			lowest = g->segs[i].vaddr;
	if (lowest == UINT64_MAX)
		return;
	char path[64], exe[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)g->pid);
	ssize_t el = readlink(path, exe, sizeof exe - 1);
	if (el <= 0 || fstat(g->fd, &st))
		return;
	exe[el] = 0;
	char *maps = NULL;
	if (target_read_maps(g->pid, &maps) < 0)
		return;
	/* The exe's mapping: same file (device and inode), or same path. */
	char *save = NULL;
	/* strtok_r: this runs in the scanner thread, beside other threads */
	for (char *line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long lo, hi, off, ino;
		unsigned maj, mnr;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu %n", &lo, &hi, &off, &maj, &mnr,
			   &ino, &pos) < 6 || !pos)
			continue;
		int same = (ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) &&
			    mnr == minor(st.st_dev)) || !strcmp(line + pos, exe);
		if (off == 0 && same) {
			g->bias = lo - (lowest & ~UINT64_C(0xfff));
			break;
		}
	}
	free(maps);
}

/* Go version from .go.buildinfo: a 32-byte header "\xff Go buildinf:",
 * pointer size, flags; with flag 2 (1.18+) varint-length-prefixed version
 * and module strings follow inline; before that, two pointers to Go string
 * headers (runtime.buildVersion, runtime.modinfo). */
static void read_version(struct gort *g)
{
	GElf_Shdr sh;
	Elf_Scn *s = find_section(g->elf, ".go.buildinfo", &sh);
	Elf_Data *d = s ? elf_getdata(s, NULL) : NULL;
	if (!d || !d->d_buf || d->d_size < 32)
		return;
	const uint8_t *p = d->d_buf;
	if (memcmp(p, "\xff Go buildinf:", 14))
		return;
	unsigned ptrsize = p[14];
	size_t len = 0, pos = 32;
	if (p[15] & 2) {
		unsigned shift = 0;
		while (pos < d->d_size && shift < 35) {
			len |= (size_t)(p[pos] & 0x7f) << shift;
			shift += 7;
			if (!(p[pos++] & 0x80))
				break;
		}
		if (len && len < sizeof g->version && pos + len <= d->d_size)
			memcpy(g->version, p + pos, len);
		return;
	}
	if (ptrsize != 8)
		return;
	/* Old format: a pointer to the string header, read from the file. */
	uint64_t hdr[2];
	struct gort tmp = *g;
	tmp.pid = 0;   /* initialised data: read the file, bias-free */
	tmp.bias = 0;
	if (file_read(&tmp, le64(p + 16), hdr, sizeof hdr) == 0 && hdr[1] &&
	    hdr[1] < sizeof g->version)
		file_read(&tmp, hdr[0], g->version, hdr[1]);
}

static void load_pclntab(struct gort *g)
{
	GElf_Shdr tsh;
	if (find_section(g->elf, ".text", &tsh)) {
		g->text_lo = tsh.sh_addr + g->bias;
		g->text_hi = tsh.sh_addr + tsh.sh_size + g->bias;
	}
	g->pcln = gopclntab_open_elf(g->elf);
}

/* ---------------------------------------------------------------- DWARF */

static Dwarf_Die *type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, out))
		return NULL;
	Dwarf_Die peeled;
	if (dwarf_peel_type(out, &peeled) == 0)
		*out = peeled;
	return out;
}

static int64_t type_size(Dwarf_Die *t)
{
	Dwarf_Word sz;
	if (dwarf_aggregate_size(t, &sz) == 0)
		return (int64_t)sz;
	return -1;
}

/* Member `name` of struct die: offset (and its type). -1 when absent. */
static int32_t member(Dwarf_Die *st, const char *name, Dwarf_Die *type)
{
	Dwarf_Die m;
	if (!st || dwarf_child(st, &m))
		return -1;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		const char *n = dwarf_diename(&m);
		if (!n || strcmp(n, name))
			continue;
		Dwarf_Attribute a;
		Dwarf_Word off;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &off) ||
		    off > INT32_MAX)
			return -1;
		if (type && !type_of(&m, type))
			return -1;
		return (int32_t)off;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
}

/* A scalar member, following wrapper structs: atomicstatus is a uint32 up to
 * Go 1.19 and an atomic.Uint32 {noCopy; value uint32} from 1.20 on. */
static void scalar_member(Dwarf_Die *st, const char *name, int32_t *off, int32_t *size)
{
	Dwarf_Die t;
	*off = member(st, name, &t);
	*size = -1;
	if (*off < 0)
		return;
	for (int depth = 0; depth < 4 && dwarf_tag(&t) == DW_TAG_structure_type; depth++) {
		Dwarf_Die inner;
		int32_t o = member(&t, "value", &inner);
		if (o < 0) {
			*off = -1;
			return;
		}
		*off += o;
		t = inner;
	}
	int64_t sz = type_size(&t);
	*size = sz > 0 && sz <= 8 ? (int32_t)sz : -1;
	if (*size < 0)
		*off = -1;
}

/* A member of a struct member, e.g. sched.pc. */
static int32_t sub_member(Dwarf_Die *st, const char *outer, const char *inner)
{
	Dwarf_Die t;
	int32_t o = member(st, outer, &t);
	if (o < 0 || dwarf_tag(&t) != DW_TAG_structure_type)
		return -1;
	int32_t i = member(&t, inner, NULL);
	return i < 0 ? -1 : o + i;
}

/* A global's address: DW_AT_location = DW_OP_addr ADDR. Go writes it as
 * DW_FORM_block1 in DWARF 4, which dwarf_getlocation refuses: decode the
 * block, and use dwarf_getlocation for the exprloc form of other producers. */
static int var_addr(Dwarf_Die *d, uint64_t *addr)
{
	Dwarf_Attribute a;
	Dwarf_Block b;
	if (!dwarf_attr(d, DW_AT_location, &a))
		return -1;
	if (dwarf_formblock(&a, &b) == 0 && b.length == 9 && b.data[0] == DW_OP_addr) {
		*addr = le64(b.data + 1);
		return 0;
	}
	Dwarf_Op *ops;
	size_t nops;
	if (dwarf_getlocation(&a, &ops, &nops) || nops != 1 || ops[0].atom != DW_OP_addr)
		return -1;
	*addr = ops[0].number;
	return 0;
}

/* What the DWARF walk found. */
struct dwfind {
	Dwarf_Die gt, mt;
	int have_g, have_m;
};

static void scan_die(struct gort *g, struct dwfind *f, Dwarf_Die *d)
{
	struct gort_layout *L = &g->L;
	const char *n = dwarf_diename(d);
	if (!n || strncmp(n, "runtime.", 8))
		return;
	n += 8;
	switch (dwarf_tag(d)) {
	case DW_TAG_structure_type:
		if (dwarf_hasattr(d, DW_AT_declaration))
			break;
		if (!f->have_g && !strcmp(n, "g"))
			f->gt = *d, f->have_g = 1;
		else if (!f->have_m && !strcmp(n, "m"))
			f->mt = *d, f->have_m = 1;
		break;
	case DW_TAG_variable:
		if (!strcmp(n, "allgs"))
			var_addr(d, &L->allgs);
		else if (!strcmp(n, "allglen"))
			var_addr(d, &L->allglen);
		else if (!strcmp(n, "allgptr"))
			var_addr(d, &g->allgptr);
		else if (!strcmp(n, "allm"))
			var_addr(d, &L->allm);
		else if (!strcmp(n, "waitReasonStrings")) {
			Dwarf_Die t;
			int64_t sz;
			if (var_addr(d, &L->waitreason_strings) == 0 && type_of(d, &t) &&
			    (sz = type_size(&t)) > 0)
				L->nwaitreasons = (uint32_t)(sz / 16);
		}
		break;
	}
}

/* Top-level DIEs of the CUs named "runtime" (want_runtime) or of all others. */
static void scan_cus(struct gort *g, Dwarf *dw, struct dwfind *f, int want_runtime)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	for (; dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0; off = next) {
		Dwarf_Die cu, d;
		if (!dwarf_offdie(dw, off + hsize, &cu))
			continue;
		const char *name = dwarf_diename(&cu);
		if ((name && !strcmp(name, "runtime")) != want_runtime || dwarf_child(&cu, &d))
			continue;
		do
			scan_die(g, f, &d);
		while (dwarf_siblingof(&d, &d) == 0);
	}
}

static int load_layout(struct gort *g)
{
	struct gort_layout *L = &g->L;
	/* every int32 offset/size field: -1 = absent */
	memset(L, 0xff, offsetof(struct gort_layout, allgs));
	L->allgs = L->allglen = L->allm = L->waitreason_strings = 0;
	L->nwaitreasons = 0;

	/* Most of the cost is here: libdw inflates every compressed debug
	 * section up front (~15 ms for a small program, ~0.4 s for 15 MB). */
	Dwarf *dw = dwarf_begin_elf(g->elf, DWARF_C_READ, NULL);
	if (!dw) {
		snprintf(g->err, sizeof g->err,
			 "goroutines need the binary's DWARF (built with -ldflags=-w?)");
		return -ENOENT;
	}
	/* Go's linker puts the runtime's globals and types in the CU named
	 * "runtime": look there first, in the thousands of others only if
	 * something is missing. */
	struct dwfind f = { .have_g = 0 };
	scan_cus(g, dw, &f, 1);
	if (!f.have_g || !f.have_m || !L->allglen || !(L->allgs || g->allgptr) ||
	    !L->waitreason_strings)
		scan_cus(g, dw, &f, 0);
	Dwarf_Die gt = f.gt, mt = f.mt;
	int have_g = f.have_g, have_m = f.have_m;
	if (have_g) {
		int64_t sz = type_size(&gt);
		L->g_size = sz > 0 && sz < 65536 ? (int32_t)sz : -1;
		scalar_member(&gt, "goid", &L->goid, &L->goid_size);
		scalar_member(&gt, "atomicstatus", &L->status, &L->status_size);
		scalar_member(&gt, "waitreason", &L->waitreason, &L->waitreason_size);
		L->waitsince = member(&gt, "waitsince", NULL);
		L->sched_pc = sub_member(&gt, "sched", "pc");
		L->sched_sp = sub_member(&gt, "sched", "sp");
		L->sched_bp = sub_member(&gt, "sched", "bp");
		L->stack_lo = sub_member(&gt, "stack", "lo");
		L->stack_hi = sub_member(&gt, "stack", "hi");
		L->startpc = member(&gt, "startpc", NULL);
		L->gopc = member(&gt, "gopc", NULL);
		L->m = member(&gt, "m", NULL);
	}
	if (have_m) {
		int64_t sz = type_size(&mt);
		L->m_size = sz > 0 && sz < 65536 ? (int32_t)sz : -1;
		L->m_procid = member(&mt, "procid", NULL);
		L->m_curg = member(&mt, "curg", NULL);
	}
	dwarf_end(dw);

	const char *missing = NULL;
	if (!have_g)
		missing = "type runtime.g";
	else if (L->g_size <= 0)
		missing = "size of runtime.g";
	else if (L->goid < 0)
		missing = "runtime.g.goid";
	else if (L->status < 0)
		missing = "runtime.g.atomicstatus";
	else if (L->sched_pc < 0 || L->sched_sp < 0 || L->sched_bp < 0)
		missing = "runtime.g.sched";
	else if (L->stack_lo < 0 || L->stack_hi < 0)
		missing = "runtime.g.stack";
	else if (!L->allglen || (!L->allgs && !g->allgptr))
		missing = "runtime.allgs";
	if (!have_g) {
		/* DWARF without the runtime's types is as good as none. */
		snprintf(g->err, sizeof g->err,
			 "goroutines need the binary's DWARF (built with -ldflags=-w?)");
		return -ENOENT;
	}
	if (missing) {
		snprintf(g->err, sizeof g->err,
			 "cannot read goroutines: %s not found in the binary's DWARF (Go %s)",
			 missing, g->version[0] ? g->version : "version unknown");
		return -ENOENT;
	}
	g->have_layout = 1;
	return 0;
}

/* waitReasonStrings: an array of Go strings (ptr, len), static data. */
static void load_wait_reasons(struct gort *g)
{
	unsigned n = g->L.nwaitreasons;
	if (!g->L.waitreason_strings || !n || n > 256)
		return;
	uint64_t *hdr = xcalloc(n, 16);
	if (mem_read(g, g->L.waitreason_strings + g->bias, hdr, (size_t)n * 16)) {
		free(hdr);
		return;
	}
	g->wait = xcalloc(n, sizeof(char *));
	g->nwait = n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t p = hdr[2 * i], len = hdr[2 * i + 1];
		if (!p || !len || len > 128)
			continue;
		char buf[129];
		/* The pointers were relocated with the rest in a PIE, not in
		 * the file: offline reads undo the bias. */
		if (mem_read(g, p + (g->pid ? 0 : g->bias), buf, len) == 0) {
			buf[len] = 0;
			g->wait[i] = xstrdup(buf);
		}
	}
	free(hdr);
}

/* --------------------------------------------------------------- open */

struct gort *gort_open_exe(const char *path, pid_t pid)
{
	static int elf_ready;
	if (!elf_ready) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			return NULL;
		elf_ready = 1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return NULL;
	}
	GElf_Shdr sh;
	int is_go = find_section(elf, ".go.buildinfo", &sh) || find_section(elf, ".gopclntab", &sh) ||
		    find_section(elf, ".data.rel.ro.gopclntab", &sh) ||
		    has_symbol(elf, "runtime.buildVersion");
	if (!is_go) {
		elf_end(elf);
		close(fd);
		return NULL;
	}
	struct gort *g = xcalloc(1, sizeof(*g));
	g->pid = pid;
	g->path = xstrdup(path);
	g->fd = fd;
	g->elf = elf;
	if (eh.e_machine != EM_X86_64) {
		snprintf(g->err, sizeof g->err, "goroutines: only x86-64 Go binaries are supported");
		return g;
	}
	load_segments(g);
	find_bias(g);
	read_version(g);
	load_pclntab(g);
	if (load_layout(g) == 0)
		load_wait_reasons(g);
	dbg("gort: %s %s bias=%#llx text=%#llx-%#llx pclntab=%s layout=%s",
	    path, g->version, (unsigned long long)g->bias, (unsigned long long)g->text_lo,
	    (unsigned long long)g->text_hi, g->pcln ? "yes" : "no", g->err[0] ? g->err : "ok");
	return g;
}

struct gort *gort_open(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	return gort_open_exe(path, pid);
}

void gort_close(struct gort *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->nwait; i++)
		free(g->wait[i]);
	free(g->wait);
	gopclntab_close(g->pcln);
	if (g->elf)
		elf_end(g->elf);
	if (g->fd >= 0)
		close(g->fd);
	free(g->segs);
	free(g->path);
	free(g);
}

/* ------------------------------------------------------------- decode */

int gort_decode_g(const struct gort_layout *l, const void *buf, size_t len,
		  uint64_t text_lo, uint64_t text_hi, struct gort_graw *o)
{
	const uint8_t *b = buf;
	memset(o, 0, sizeof(*o));
	if (!l || !b || l->g_size <= 0 || len < (size_t)l->g_size)
		return GORT_G_BAD;
	o->status = (uint32_t)field(b, len, l->status, l->status_size);
	uint32_t st = o->status & ~G_SCAN;
	if ((o->status & ~(G_SCAN | 0xfu)) || st >= G_NSTATUS || st == G_MORIBUND ||
	    st == G_ENQUEUE)
		return GORT_G_BAD;
	if (st == G_IDLE || st == G_DEAD)
		return GORT_G_SKIP;
	o->goid = (int64_t)field(b, len, l->goid, l->goid_size);
	if (o->goid <= 0 || o->goid > (INT64_C(1) << 48))
		return GORT_G_BAD;
	o->waitreason = (uint32_t)field(b, len, l->waitreason, l->waitreason_size);
	o->waitsince = (int64_t)field(b, len, l->waitsince, 8);
	o->pc = field(b, len, l->sched_pc, 8);
	o->sp = field(b, len, l->sched_sp, 8);
	o->bp = field(b, len, l->sched_bp, 8);
	o->lo = field(b, len, l->stack_lo, 8);
	o->hi = field(b, len, l->stack_hi, 8);
	o->startpc = field(b, len, l->startpc, 8);
	o->gopc = field(b, len, l->gopc, 8);
	o->m = field(b, len, l->m, 8);
	if (!o->lo || o->hi <= o->lo || o->hi - o->lo > GORT_MAX_STACK || (o->lo & 7) ||
	    (o->hi & 7))
		return GORT_G_BAD;
	if (o->startpc && (o->startpc < text_lo || o->startpc >= text_hi))
		o->startpc = 0;
	if (o->gopc && (o->gopc < text_lo || o->gopc >= text_hi))
		o->gopc = 0;
	/* A running goroutine's sched was cleared when it was resumed (gogo
	 * zeroes sp and bp; pc is stale): nothing to check. */
	if (st == G_RUNNING && o->sp == 0) {
		o->pc = o->bp = 0;
		return GORT_G_OK;
	}
	if (o->sp < o->lo || o->sp > o->hi || (o->sp & 7))
		return GORT_G_BAD;
	if (o->pc < text_lo || o->pc >= text_hi)
		return GORT_G_BAD;
	if (o->bp && (o->bp < o->sp || o->bp > o->hi - 16 || (o->bp & 7)))
		o->bp = 0;
	return GORT_G_OK;
}

/* ---------------------------------------------------------------- scan */

/* Runtime-internal goroutines (the runtime's isSystemGoroutine, by name):
 * started in a runtime.* function other than runtime.main. */
static int is_system(struct gort *g, uint64_t startpc)
{
	if (!startpc || !g->pcln)
		return 0;
	const char *n = gopclntab_lookup(g->pcln, startpc - g->bias, NULL, NULL, NULL);
	return n && !strncmp(n, "runtime.", 8) && strcmp(n, "runtime.main") != 0;
}

static int is_goexit(struct gort *g, uint64_t pc)
{
	if (!g->pcln)
		return 0;
	const char *n = gopclntab_lookup(g->pcln, pc - g->bias, NULL, NULL, NULL);
	return n && !strcmp(n, "runtime.goexit");
}

struct walk {
	struct goroutine *out;
	uint64_t pc, sp, bp, lo, hi;   /* current frame */
	int active;
	uint64_t buf[2];
};

/* Where the current frame keeps the caller's bp and the return address
 * (slot+0, slot+8). With a frame pointer the slot is bp. Without one (a
 * goroutine in a syscall: entersyscall saves pc and sp only; a goroutine not
 * yet started: pc is its entry) the pcsp table gives the frame size: the
 * return address is at sp + delta, the saved bp just below it once the
 * prologue pushed it (delta > 0). *has_bp says whether slot+0 is a saved bp. */
static int frame_slot(struct gort *g, struct walk *w, uint64_t *slot, int *has_bp)
{
	*has_bp = 1;
	if (w->bp) {
		*slot = w->bp;
		return 0;
	}
	int32_t delta;
	if (!w->sp || gopclntab_spdelta(g->pcln, w->pc - g->bias, &delta) || delta < 0 ||
	    (delta & 7))
		return -1;
	*has_bp = delta > 0;
	*slot = w->sp + (uint64_t)delta - 8;
	return 0;
}

static void unwind_all(struct gort *g, struct walk *w, size_t n)
{
	struct rd *r = xcalloc(n ? n : 1, sizeof(*r));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
	int *has_bp = xcalloc(n ? n : 1, sizeof(*has_bp));
	for (int depth = 1; depth < GORT_DEPTH; depth++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (!w[i].active)
				continue;
			uint64_t slot;
			/* slot + 8 >= sp - 8: the return address is in the stack */
			if (frame_slot(g, &w[i], &slot, &has_bp[k]) || slot + 8 < w[i].lo ||
			    slot > w[i].hi - 16 || (slot & 7)) {
				w[i].active = 0;
				continue;
			}
			r[k] = (struct rd){ slot, w[i].buf, 16, 0 };
			idx[k++] = i;
		}
		if (!k)
			break;
		mem_readv(g, r, k);
		for (size_t j = 0; j < k; j++) {
			struct walk *x = &w[idx[j]];
			if (!r[j].ok) {
				x->active = 0;
				continue;
			}
			uint64_t slot = r[j].addr, nbp = has_bp[j] ? x->buf[0] : 0, ret = x->buf[1];
			if (ret < g->text_lo || ret >= g->text_hi) {
				x->active = 0;
				continue;
			}
			x->out->pcs[x->out->n++] = ret - 1;
			x->pc = ret;
			x->sp = slot + 16;
			/* The chain must go up the stack; else fall back to pcsp. */
			x->bp = nbp > slot && nbp <= x->hi - 16 && !(nbp & 7) ? nbp : 0;
			if (is_goexit(g, ret - 1) || x->out->n >= GORT_DEPTH)
				x->active = 0;
		}
	}
	free(has_bp);
	free(r);
	free(idx);
}

int gort_scan(struct gort *g, struct goroutine **out, struct gort_stats *st)
{
	uint64_t t0 = now_ns();
	struct gort_stats s = { 0, 0, 0, 0 };
	*out = NULL;
	if (st)
		*st = s;
	if (!g || !g->have_layout)
		return -ENOTSUP;
	const struct gort_layout *L = &g->L;

	/* The g pointers: allglen then allgptr, as the runtime's own racy
	 * readers do (1.17+); older runtimes: the allgs slice header. */
	uint64_t len = 0, arr = 0;
	if (mem_read(g, L->allglen + g->bias, &len, 8))
		return -ESRCH;
	if (g->allgptr) {
		if (mem_read(g, g->allgptr + g->bias, &arr, 8))
			return -ESRCH;
	} else {
		uint64_t sl[3];
		if (mem_read(g, L->allgs + g->bias, sl, sizeof sl))
			return -ESRCH;
		arr = sl[0];
		if (sl[1] < len)
			len = sl[1];
	}
	if (len > GORT_MAX_GS)
		len = GORT_MAX_GS;
	if (!arr || !len) {
		if (st)
			st->total_ns = now_ns() - t0;
		return 0;
	}
	uint64_t *gp = xmalloc(len * 8);
	{
		/* chunked: at most 64 KiB per iovec */
		size_t nch = (len * 8 + 65535) / 65536;
		struct rd *r = xcalloc(nch, sizeof(*r));
		for (size_t i = 0; i < nch; i++) {
			size_t o = i * 65536, l = len * 8 - o < 65536 ? len * 8 - o : 65536;
			r[i] = (struct rd){ arr + o, (char *)gp + o, l, 0 };
		}
		mem_readv(g, r, nch);
		for (size_t i = 0; i < nch; i++)
			if (!r[i].ok)
				memset(r[i].dst, 0, r[i].len);
		free(r);
	}

	/* The gs, GORT_BATCH at a time: decode and keep the good ones. */
	size_t gsz = (size_t)L->g_size;
	uint8_t *gbuf = xmalloc(GORT_BATCH * gsz);
	struct rd r[GORT_BATCH];
	struct gort_graw *raw = xmalloc(len * sizeof(*raw));
	size_t nraw = 0;
	for (size_t base = 0; base < len; base += GORT_BATCH) {
		size_t k = 0, cnt = len - base < GORT_BATCH ? len - base : GORT_BATCH;
		for (size_t i = 0; i < cnt; i++) {
			if (!gp[base + i]) {
				s.skipped++;
				continue;
			}
			r[k] = (struct rd){ gp[base + i], gbuf + k * gsz, gsz, 0 };
			k++;
		}
		mem_readv(g, r, k);
		for (size_t i = 0; i < k; i++) {
			if (!r[i].ok) {
				s.skipped++;
				continue;
			}
			int rc = gort_decode_g(L, r[i].dst, gsz, g->text_lo, g->text_hi, &raw[nraw]);
			if (rc == GORT_G_BAD)
				s.skipped++;
			else if (rc == GORT_G_OK) {
				if (is_system(g, raw[nraw].startpc))
					s.system++;
				else
					nraw++;
			}
		}
	}
	free(gbuf);
	free(gp);

	struct goroutine *res = xcalloc(nraw ? nraw : 1, sizeof(*res));
	struct walk *w = xcalloc(nraw ? nraw : 1, sizeof(*w));
	for (size_t i = 0; i < nraw; i++) {
		struct gort_graw *x = &raw[i];
		struct goroutine *o = &res[i];
		uint32_t stt = x->status & ~G_SCAN;
		o->goid = x->goid;
		o->status = stt;
		o->status_name = gort_status_name(stt);
		o->wait_reason = stt == G_WAITING ? gort_wait_reason(g, x->waitreason) : "";
		o->wait_since_ns = x->waitsince > 0 ? (uint64_t)x->waitsince : 0;
		o->gopc = x->gopc;
		o->startpc = x->startpc;
		w[i].out = o;
		if (stt == G_RUNNING && !x->sp) {
			/* On a CPU right now: its stack is in the thread's
			 * registers, not in g.sched. Show where it started. */
			o->stale = 1;
			if (x->startpc)
				o->pcs[o->n++] = x->startpc;
			continue;
		}
		/* g.sched.pc is where the goroutine resumes: just after the
		 * call that parked it (gopark's mcall, entersyscall's caller),
		 * or the entry of a goroutine that has not run yet. Go's own
		 * traceback reports the call site (pc - 1) unless pc is an
		 * entry, and so do we: pcs are call sites, the line is the
		 * call's, not the next one. */
		uint64_t entry = 0;
		int at_entry = !g->pcln ||
			(gopclntab_lookup(g->pcln, x->pc - g->bias, NULL, NULL, &entry) &&
			 entry == x->pc - g->bias);
		o->pcs[o->n++] = at_entry ? x->pc : x->pc - 1;
		w[i] = (struct walk){ o, x->pc, x->sp, x->bp, x->lo, x->hi, 1, { 0, 0 } };
	}
	unwind_all(g, w, nraw);
	free(w);

	/* Threads of running and syscall goroutines: g.m->procid. */
	if (L->m >= 0 && L->m_procid >= 0) {
		struct rd *mr = xcalloc(nraw ? nraw : 1, sizeof(*mr));
		uint64_t *tids = xcalloc(nraw ? nraw : 1, 8);
		size_t k = 0;
		for (size_t i = 0; i < nraw; i++) {
			uint32_t stt = raw[i].status & ~G_SCAN;
			if ((stt == G_RUNNING || stt == G_SYSCALL) && raw[i].m)
				mr[k++] = (struct rd){ raw[i].m + (uint64_t)L->m_procid, &tids[i], 8, 0 };
		}
		mem_readv(g, mr, k);
		for (size_t i = 0; i < nraw; i++)
			if (tids[i] > 0 && tids[i] < (uint64_t)INT32_MAX)
				res[i].tid = (pid_t)tids[i];
		free(tids);
		free(mr);
	}
	free(raw);

	s.read = (unsigned)nraw;
	s.total_ns = now_ns() - t0;
	if (st)
		*st = s;
	*out = res;
	return (int)nraw;
}
