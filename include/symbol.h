/* Symbolization of target addresses with libdwfl, lazily and cached per
 * address: ELF symbols, file:line, inline frames, build-id/debuglink debug
 * files, /proc/PID/root and map_files paths, vdso, C++ demangling, JIT maps
 * (/tmp/perf-PID.map) and Go symbols. Not thread-safe: callers serialize. */
#ifndef CTOP_SYMBOL_H
#define CTOP_SYMBOL_H

#include <stdint.h>
#include <sys/types.h>

struct symtab;

struct sym_module {
	int id;                 /* 1.. unique within a symtab (pprof mapping id) */
	uint64_t start, end, pgoff;
	const char *path;       /* as in /proc/PID/maps, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6 */
	const char *name;       /* basename, for display */
	const char *build_id;   /* lowercase hex, "" if none */
	int has_symbols, has_lines, has_inline;  /* what symbolization found */
};

struct sym_frame {
	const char *func;       /* never NULL: demangled name, or "module+0xOFF", or "[unknown]" */
	const char *file;       /* NULL if unknown */
	int line;               /* 0 if unknown */
	int start_line;         /* line of the function's declaration, 0 if unknown */
};

/* One address. frames[0] is the innermost (inlined callee), frames[n-1] the
 * function the machine code belongs to: the order pprof uses for lines. */
struct sym_loc {
	uint64_t pc;
	const struct sym_module *mod;   /* NULL when the address is not mapped */
	uint32_t nframes;               /* >= 1 */
	struct sym_frame *frames;
};

/* Open symbol tables for a process. Reads /proc/PID/maps; modules are
 * reported lazily. NULL + errmsg on failure. */
struct symtab *symtab_open(pid_t pid);
void symtab_close(struct symtab *st);
/* Re-read /proc/PID/maps (after exec, dlopen). Rate-limited internally when
 * called for an unknown address; always done when force is set. */
int symtab_refresh(struct symtab *st, int force);
/* Resolve an address. pcs handed to this are already "call site" addresses
 * (return address - 1 for caller frames), as the unwinder stores them.
 * Never NULL. The result lives as long as the symtab (until refresh). */
const struct sym_loc *symtab_lookup(struct symtab *st, uint64_t pc);
/* Modules known so far, for pprof mappings. */
int symtab_modules(struct symtab *st, const struct sym_module ***mods);
/* The libdwfl handle, for the unwinder. */
struct Dwfl *symtab_dwfl(struct symtab *st);
/* Monotonic counter bumped whenever cached results become invalid. */
uint64_t symtab_generation(struct symtab *st);

/* Pure helpers (unit-tested): parse one line of a perf map file
 * "START SIZE name" (hex, no 0x). 0 or -EINVAL. */
int perfmap_parse_line(const char *line, uint64_t *start, uint64_t *size,
		       const char **name, size_t *namelen);
/* Demangle a C++/Rust symbol; returns malloc'ed string or NULL if not mangled. */
char *symbol_demangle(const char *name);

#endif
