/* Go's own symbol table, .gopclntab: function names, entry points and
 * pc -> file:line tables that every Go binary keeps (the runtime needs them
 * for tracebacks), even when built with -ldflags='-s -w'.
 *
 * Layout (learned from the Go runtime's symtab.go and debug/gosym):
 *   header: magic u32, pad u8 u8, minLC u8, ptrSize u8, then ptrSize words:
 *     1.18+ (0xfffffff0, 1.20+ 0xfffffff1): nfunc nfiles textStart
 *        funcnameOff cuOff filetabOff pctabOff pclnOff
 *     1.16/1.17 (0xfffffffa): the same without textStart
 *   functab (at pclnOff): nfunc+1 pairs, sorted by entry; the last pair only
 *     gives the end of the last function.
 *     1.18+: {entryoff u32 (from textStart), funcoff u32}
 *     1.16:  {entry uintptr, funcoff uintptr}
 *   _func (at pclnOff + funcoff): entry (u32 off / uintptr), nameoff i32,
 *     args i32, deferreturn u32, pcsp u32, pcfile u32, pcln u32, npcdata u32,
 *     cuOffset u32, [1.20+: startLine i32], funcID u8, ...
 *   pc-value tables (at pctabOff + offset): pairs of (zigzag value delta,
 *     pc delta * minLC) as unsigned LEB128 varints, starting at value -1 and
 *     pc = entry; a value delta of 0 after the first pair ends the table.
 *   pcfile values index the function's compilation unit: file name =
 *     filetab + cutab[cuOffset + value] (u32 each).
 * Everything read from the section is bounds-checked: the bytes come from a
 * file we do not control. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gelf.h>

#include "gort.h"
#include "gort_impl.h"

enum { PCLN_116 = 116, PCLN_118 = 118, PCLN_120 = 120 };

struct gopclntab {
	uint8_t *data;
	size_t size;
	int ver;
	unsigned minlc, ptrsize;
	uint64_t nfunc, nfiles, text_start;
	uint64_t funcname, cutab, filetab, pctab, pcln;
	size_t ftab_entsize;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint64_t rdword(const struct gopclntab *t, const uint8_t *p)
{
	return t->ptrsize == 8 ? rd64(p) : rd32(p);
}

/* off..off+len inside the section? (overflow-safe) */
static int inb(const struct gopclntab *t, uint64_t off, uint64_t len)
{
	return off <= t->size && len <= t->size - off;
}

/* A NUL-terminated string at off, or NULL when it runs off the end. */
static const char *cstr_at(const struct gopclntab *t, uint64_t off)
{
	if (off >= t->size)
		return NULL;
	if (!memchr(t->data + off, 0, t->size - off))
		return NULL;
	return (const char *)t->data + off;
}

/* Reads the header of the table at data into t, which points at data (no
 * copy). Returns 0, or -1 when it is not a supported, consistent table. */
static int parse_header(struct gopclntab *t, const uint8_t *p, size_t size,
			uint64_t text_start)
{
	memset(t, 0, sizeof(*t));
	if (!p || size < 8)
		return -1;
	switch (rd32(p)) {
	case 0xfffffff0: t->ver = PCLN_118; break;
	case 0xfffffff1: t->ver = PCLN_120; break;
	case 0xfffffffa: t->ver = PCLN_116; break;
	default: return -1;   /* 1.2-1.15 (0xfffffffb) and unknown */
	}
	if (p[4] || p[5] || (p[6] != 1 && p[6] != 2 && p[6] != 4) ||
	    (p[7] != 4 && p[7] != 8))
		return -1;
	t->data = (uint8_t *)p;
	t->size = size;
	t->minlc = p[6];
	t->ptrsize = p[7];
	unsigned nw = t->ver == PCLN_116 ? 7 : 8;
	if (!inb(t, 8, (uint64_t)nw * t->ptrsize))
		return -1;
	const uint8_t *w = t->data + 8;
	unsigned i = 0;
	t->nfunc = rdword(t, w + t->ptrsize * i++);
	t->nfiles = rdword(t, w + t->ptrsize * i++);
	if (t->ver != PCLN_116)
		t->text_start = rdword(t, w + t->ptrsize * i++);
	t->funcname = rdword(t, w + t->ptrsize * i++);
	t->cutab = rdword(t, w + t->ptrsize * i++);
	t->filetab = rdword(t, w + t->ptrsize * i++);
	t->pctab = rdword(t, w + t->ptrsize * i++);
	t->pcln = rdword(t, w + t->ptrsize * i++);
	/* The header's textStart is the link-time runtime.text, right even for
	 * externally linked binaries whose .text starts with C code. It reads as
	 * 0 only where the value is left to a dynamic relocation (PIE): then the
	 * caller's value is all we have. */
	if (t->ver != PCLN_116 && !t->text_start)
		t->text_start = text_start;
	t->ftab_entsize = t->ver == PCLN_116 ? 2u * t->ptrsize : 8;
	if (t->nfunc == 0 || t->nfunc > size ||
	    !inb(t, t->pcln, (t->nfunc + 1) * t->ftab_entsize) ||
	    t->funcname >= size || t->filetab >= size || t->pctab >= size ||
	    t->cutab >= size)
		return -1;
	return 0;
}

static struct gopclntab *copy_table(const struct gopclntab *h)
{
	struct gopclntab *t = xmalloc(sizeof(*t));
	*t = *h;
	t->data = xmalloc(h->size);
	memcpy(t->data, h->data, h->size);
	return t;
}

struct gopclntab *gopclntab_open(const void *data, size_t size, uint64_t text_start)
{
	struct gopclntab h;
	if (parse_header(&h, data, size, text_start))
		return NULL;
	return copy_table(&h);
}

void gopclntab_close(struct gopclntab *t)
{
	if (!t)
		return;
	free(t->data);
	free(t);
}

/* Entry pc of functab slot i (i <= nfunc). */
static uint64_t ftab_entry(const struct gopclntab *t, uint64_t i)
{
	const uint8_t *e = t->data + t->pcln + i * t->ftab_entsize;
	if (t->ver == PCLN_116)
		return rdword(t, e);
	return t->text_start + rd32(e);
}

static uint64_t ftab_funcoff(const struct gopclntab *t, uint64_t i)
{
	const uint8_t *e = t->data + t->pcln + i * t->ftab_entsize;
	if (t->ver == PCLN_116)
		return rdword(t, e + t->ptrsize);
	return rd32(e + 4);
}

/* The fields of _func we use. */
struct gofunc {
	uint64_t entry;
	int32_t nameoff;
	uint32_t pcsp, pcfile, pcln, cuoff;
};

/* Finds the function containing pc. Returns 0 or -ENOENT. */
static int find_func(const struct gopclntab *t, uint64_t pc, struct gofunc *f)
{
	if (pc < ftab_entry(t, 0) || pc >= ftab_entry(t, t->nfunc))
		return -ENOENT;
	uint64_t lo = 0, hi = t->nfunc;   /* entry(lo) <= pc < entry(hi) */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ftab_entry(t, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	uint64_t off = t->pcln + ftab_funcoff(t, lo);
	size_t entsz = t->ver == PCLN_116 ? t->ptrsize : 4;
	if (!inb(t, off, entsz + 8 * 4))
		return -ENOENT;
	const uint8_t *p = t->data + off;
	f->entry = ftab_entry(t, lo);
	p += entsz;                 /* the entry field: we have it from functab */
	f->nameoff = (int32_t)rd32(p);
	f->pcsp = rd32(p + 12);
	f->pcfile = rd32(p + 16);
	f->pcln = rd32(p + 20);
	f->cuoff = rd32(p + 28);
	return 0;
}

static int uvarint(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
	const uint8_t *p = *pp;
	uint32_t x = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Value of the pc-value table at table offset off for pc in function f.
 * Returns 0 and *val, or -1 when the table is missing or malformed. */
static int pcvalue(const struct gopclntab *t, const struct gofunc *f,
		   uint32_t off, uint64_t pc, int32_t *val)
{
	if (off == 0)
		return -1;
	uint64_t start = t->pctab + off;
	if (start >= t->size)
		return -1;
	const uint8_t *p = t->data + start, *end = t->data + t->size;
	int32_t v = -1;
	uint64_t cur = f->entry;
	/* Bounded: a function is far shorter than this many entries. */
	for (int first = 1, steps = 0; steps < 1 << 24; first = 0, steps++) {
		uint32_t dv, dpc;
		if (uvarint(&p, end, &dv))
			return -1;
		if (dv == 0 && !first)
			return -1;   /* ran off the table: pc not covered */
		v += (int32_t)((dv >> 1) ^ (uint32_t)-(int32_t)(dv & 1));
		if (uvarint(&p, end, &dpc))
			return -1;
		cur += (uint64_t)dpc * t->minlc;
		if (pc < cur) {
			*val = v;
			return 0;
		}
	}
	return -1;
}

static const char *file_name(const struct gopclntab *t, const struct gofunc *f,
			     int32_t idx)
{
	if (idx < 0)
		return NULL;
	uint64_t cu = (uint64_t)f->cuoff + (uint64_t)idx;
	if (f->cuoff == UINT32_MAX || !inb(t, t->cutab + cu * 4, 4))
		return NULL;
	uint32_t foff = rd32(t->data + t->cutab + cu * 4);
	if (foff == UINT32_MAX)
		return NULL;
	return cstr_at(t, t->filetab + foff);
}

const char *gopclntab_lookup(struct gopclntab *t, uint64_t pc,
			     const char **file, int *line, uint64_t *entry)
{
	if (file)
		*file = NULL;
	if (line)
		*line = 0;
	if (!t)
		return NULL;
	struct gofunc f;
	if (find_func(t, pc, &f))
		return NULL;
	if (f.nameoff < 0)
		return NULL;
	const char *name = cstr_at(t, t->funcname + (uint32_t)f.nameoff);
	if (!name)
		return NULL;
	if (entry)
		*entry = f.entry;
	int32_t v;
	if (file && pcvalue(t, &f, f.pcfile, pc, &v) == 0)
		*file = file_name(t, &f, v);
	if (line && pcvalue(t, &f, f.pcln, pc, &v) == 0 && v > 0)
		*line = v;
	return name;
}

int gopclntab_spdelta(struct gopclntab *t, uint64_t pc, int32_t *delta)
{
	struct gofunc f;
	if (!t || find_func(t, pc, &f))
		return -ENOENT;
	if (pcvalue(t, &f, f.pcsp, pc, delta))
		return -ENOENT;
	return 0;
}

uint64_t gopclntab_text_start(const struct gopclntab *t)
{
	return t ? t->text_start : 0;
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(elf, s));) {
		const char *n;
		if (gelf_getshdr(s, sh) && (n = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    !strcmp(n, name))
			return s;
	}
	return NULL;
}

/* A table found by its magic inside a bigger section must describe this
 * binary's text: functions sorted, inside .text, the first one named. */
static int plausible(const struct gopclntab *t, uint64_t text_lo, uint64_t text_hi)
{
	uint64_t first = ftab_entry(t, 0), end = ftab_entry(t, t->nfunc);
	if (first < text_lo || end > text_hi || end <= first)
		return 0;
	for (uint64_t i = 1, step = t->nfunc / 64 + 1; i <= t->nfunc; i += step)
		if (ftab_entry(t, i) < ftab_entry(t, i - 1))
			return 0;
	struct gopclntab *tt = (struct gopclntab *)t;
	return gopclntab_lookup(tt, first, NULL, NULL, NULL) != NULL;
}

struct gopclntab *gopclntab_open_elf(Elf *elf)
{
	GElf_Shdr sh, tsh;
	Elf_Scn *text = section_named(elf, ".text", &tsh);
	uint64_t text_start = text ? tsh.sh_addr : 0;
	/* internal linking: a section of its own (in RELRO for PIE) */
	const char *named[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	for (size_t i = 0; i < 2; i++) {
		Elf_Scn *s = section_named(elf, named[i], &sh);
		Elf_Data *d = s && sh.sh_type != SHT_NOBITS ? elf_getdata(s, NULL) : NULL;
		if (d && d->d_buf)
			return gopclntab_open(d->d_buf, d->d_size, text_start);
	}
	/* External linkers may merge it into read-only data: look for a header
	 * (pointer-aligned) that describes our .text. */
	if (!text)
		return NULL;
	const char *merged[] = { ".rodata", ".data.rel.ro" };
	for (size_t i = 0; i < 2; i++) {
		Elf_Scn *s = section_named(elf, merged[i], &sh);
		Elf_Data *d = s && sh.sh_type != SHT_NOBITS ? elf_getdata(s, NULL) : NULL;
		if (!d || !d->d_buf)
			continue;
		const uint8_t *p = d->d_buf;
		for (size_t off = 0; off + 64 <= d->d_size; off += 8) {
			if (p[off + 3] != 0xff || p[off + 2] != 0xff || p[off + 4] || p[off + 5])
				continue;
			struct gopclntab h;
			if (parse_header(&h, p + off, d->d_size - off, text_start) == 0 &&
			    plausible(&h, tsh.sh_addr, tsh.sh_addr + tsh.sh_size))
				return copy_table(&h);
		}
	}
	return NULL;
}
