/* ELF/DWARF symbolizer on mutated binaries: "a corrupt ELF in the target's
 * mappings". The input is written to a file and mapped executable into
 * this process, exactly as a loaded library appears in /proc/PID/maps; a
 * symtab of this process then resolves addresses inside that mapping
 * through the real path (maps parsing, find_elf, libdwfl, DWARF scopes and
 * inline chains, line tables, ELF symbols, .gopclntab, demangling,
 * module+offset fallback) and the module table pprof mappings come from.
 * Addresses: the function symbols the (mutated) file itself claims, and a
 * spread over the mapping. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include "fuzz_common.h"
#include "symbol.h"

#define MAXPC 160

/* Symbol values of the file (as it is now) relative to its first PT_LOAD,
 * i.e. offsets into the mapping for a position-independent object. */
static int file_pcs(int fd, uint64_t *out, int max)
{
	int n = 0;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return 0;
	uint64_t base = 0;
	size_t nph;
	if (elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph && i < 64; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
				base = ph.p_vaddr & ~(uint64_t)0xfff;
				break;
			}
		}
	}
	for (Elf_Scn *s = NULL; n < max && (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(s, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		size_t cnt = d->d_size / sizeof(Elf64_Sym);
		for (size_t i = 0; i < cnt && i < 4096 && n < max; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			out[n++] = sym.st_value - base;
			if (n < max)
				out[n++] = sym.st_value - base + 5;
		}
	}
	elf_end(e);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	int fd;
	const char *tmp = fuzz_tmpfile(data, size, &fd);
	if (!tmp)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "%s", tmp);
	size_t len = (size + 0xfff) & ~(size_t)0xfff;
	void *map = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	FUZZ_CHECK(map != MAP_FAILED);
	uint64_t lo = (uint64_t)(uintptr_t)map;

	uint64_t offs[MAXPC];
	int n = file_pcs(fd, offs, MAXPC - 64);
	for (int i = 0; i < 64; i++)
		offs[n++] = (uint64_t)i * (len / 64) + (uint64_t)(i & 7);

	struct symtab *st = symtab_open(getpid());
	FUZZ_CHECK(st != NULL);
	for (int i = 0; i < n; i++) {
		uint64_t pc = lo + offs[i];
		const struct sym_loc *l = symtab_lookup(st, pc);
		FUZZ_CHECK(l && l->nframes >= 1 && l->frames);
		for (uint32_t j = 0; j < l->nframes; j++) {
			FUZZ_CHECK(l->frames[j].func != NULL);
			(void)strlen(l->frames[j].func);
			if (l->frames[j].file)
				(void)strlen(l->frames[j].file);
		}
		/* inside our mapping: the module is the mutated file */
		if (offs[i] < len && l->mod)
			FUZZ_CHECK(strcmp(l->mod->path, path) == 0);
	}
	const struct sym_module **mods;
	int nm = symtab_modules(st, (const struct sym_module ***)&mods);
	for (int i = 0; i < nm; i++) {
		(void)strlen(mods[i]->path);
		(void)strlen(mods[i]->build_id);
	}
	symtab_close(st);
	munmap(map, len);
	close(fd);
	unlink(path);
	return 0;
}
