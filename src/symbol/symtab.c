/* Symbol tables of a live process with libdwfl.
 *
 * Modules come from our own reading of /proc/PID/maps (we need the inode,
 * the first mapping and the executable range of each file, which
 * dwfl_linux_proc_report does not give back) and are reported with
 * dwfl_report_module: that only records a name and an address range, so
 * opening is cheap; the ELF file is opened by find_elf_cb on the first
 * lookup in the module and the DWARF (possibly a separate 100 MB debug file
 * found by build-id or .gnu_debuglink) only when a lookup needs it.
 *
 * Results are cached per address and all strings are interned in an arena
 * that lives as long as the symtab, so a sym_loc pointer stays valid even
 * after a refresh drops it from the cache. Results in JIT code are the
 * exception that is updated in place when the JIT map or the anonymous
 * mappings change (see jit_recheck). */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common.h"
#include "gort.h"
#include "symbol.h"
#include "symbol_impl.h"
#include "target.h"

/* An unknown address makes us re-read the maps (a dlopen or an exec we have
 * not seen yet), but not more often than this: a stream of garbage pcs must
 * not turn into a stream of maps parses. */
#define REFRESH_MIN_NS  500000000ull
/* A miss in JIT code re-reads the perf map at most this often, and retries
 * opening a missing one at most every PERFMAP_OPEN_NS. */
#define PERFMAP_POLL_NS 100000000ull
#define PERFMAP_OPEN_NS 1000000000ull
/* Deepest inline chain we keep for one address. */
#define MAX_INLINE 64
/* Largest hole between two segments of one loaded ELF file (2 MiB
 * alignment of older binaries, plus slack). */
#define MAX_SEG_GAP (4ull << 20)

enum mod_kind { MOD_FILE, MOD_VDSO, MOD_ANON };

struct smod {
	struct sym_module pub;       /* first member: callers get &pub */
	struct symtab *st;
	enum mod_kind kind;
	char *dwfl_name;             /* name reported to libdwfl */
	uint64_t low, high;          /* all mappings of the file */
	uint64_t vma_start, vma_end; /* the first mapping, for map_files */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	int alive;                   /* in the current maps */
	Dwfl_Module *dm;             /* NULL when retired or anon; a dead module
				      * keeps it while dm_dwfl lives (old_dwfl),
				      * to name samples taken before an exec */
	Dwfl *dm_dwfl;               /* the Dwfl dm belongs to */
	int elf_state;               /* 0 not tried, 1 ok, -1 no ELF */
	uint64_t bias;
	int go_checked;
	struct gopclntab *go;        /* Go: .gopclntab, for code without DWARF */
	/* CU address index, built when libdw finds no .debug_aranges (clang,
	 * rustc and Go do not emit them; libdw 0.188 then finds no CU) */
	int cus_state;               /* 0 not built, 1 built */
	struct cu_range *cus;
	size_t ncus;
	struct cu_funcs *funcs;      /* open addressing by cu_addr */
	size_t nfuncs, capfuncs;
	/* ELF symbols by address: libdwfl 0.188 scans the whole symbol table
	 * for every dwfl_module_addrinfo (40 ms per address in node) */
	int syms_state;              /* 0 not built, 1 built */
	struct sym_ent *syms;
	size_t nsyms;
};

#define SYM_SIZELESS 4
struct sym_ent {
	GElf_Addr addr;              /* runtime address */
	GElf_Xword size;             /* for sizeless ones: to their section's end */
	const char *name;            /* in the ELF's string table */
	int rank;                    /* lower wins among aliases */
};

struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die cu;
};

/* The functions of one CU by address, so a lookup descends into one
 * function instead of walking the whole CU (dwarf_getscopes and
 * dwarf_getscopes_die walk every type of a C++ CU: seconds per address in
 * a 10 MB CU). */
struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};
struct cu_funcs {
	void *cu_addr;               /* the CU DIE's address: the key */
	struct fn_range *f;
	size_t n;
};

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

struct centry {
	uint64_t pc;
	struct sym_loc *loc;
};

struct symtab {
	pid_t pid;
	char root[64];               /* "/proc/PID/root", "" if same as ours */
	char *debugpath;             /* libdwfl debuginfo search path */
	Dwfl_Callbacks cb;
	Dwfl *dwfl;
	Dwfl *old_dwfl;              /* previous one, freed one refresh later */
	uint64_t generation;
	uint64_t last_refresh;
	char *maps_text;             /* last maps read, to skip identical ones */

	struct smod **mods;          /* every module ever seen, by id - 1 */
	size_t nmods, capmods;
	const struct sym_module **pubs;

	struct centry *cache;        /* open addressing, cap is a power of 2 */
	size_t ncache, capcache;

	const char **strs;           /* interned strings (open addressing) */
	size_t nstrs, capstrs;
	struct arena_blk *arena;

	void **blobs;                /* memory images handed to elf_memory */
	size_t nblobs;

	/* JIT */
	char perfmap_path[128];
	uid_t uid0, uid1;
	struct perfmap *pm;
	uint64_t pm_last_open, pm_last_poll;

	struct sym_loc truncated;
	struct sym_frame truncated_frame;
	const char *str_unknown;     /* interned "[unknown]" */
};

/* ---- arena and interned strings ----------------------------------------- */

static void *arena_alloc(struct symtab *st, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct arena_blk *b = st->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 60000 ? n : 60000;
		b = xmalloc(sizeof *b + cap);
		b->cap = cap;
		b->used = 0;
		b->next = st->arena;
		st->arena = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static uint64_t hash_str(const char *s)
{
	return hash_fnv(HASH_INIT, s, strlen(s));
}

static const char *intern(struct symtab *st, const char *s)
{
	if (!s)
		return NULL;
	if (2 * (st->nstrs + 1) > st->capstrs) {
		size_t ncap = st->capstrs ? st->capstrs * 2 : 1024;
		const char **n = xcalloc(ncap, sizeof *n);
		for (size_t i = 0; i < st->capstrs; i++) {
			const char *o = st->strs[i];
			if (!o)
				continue;
			size_t j = hash_str(o) & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = o;
		}
		free(st->strs);
		st->strs = n;
		st->capstrs = ncap;
	}
	size_t j = hash_str(s) & (st->capstrs - 1);
	while (st->strs[j]) {
		if (strcmp(st->strs[j], s) == 0)
			return st->strs[j];
		j = (j + 1) & (st->capstrs - 1);
	}
	size_t len = strlen(s) + 1;
	char *c = arena_alloc(st, len);
	memcpy(c, s, len);
	st->strs[j] = c;
	st->nstrs++;
	return c;
}

/* ---- address cache ------------------------------------------------------- */

static size_t hash_pc(uint64_t pc, size_t cap)
{
	return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static struct sym_loc *cache_get(struct symtab *st, uint64_t pc)
{
	if (!st->capcache)
		return NULL;
	for (size_t i = hash_pc(pc, st->capcache);; i = (i + 1) & (st->capcache - 1)) {
		if (!st->cache[i].loc)
			return NULL;
		if (st->cache[i].pc == pc)
			return st->cache[i].loc;
	}
}

static void cache_insert(struct centry *tab, size_t cap, uint64_t pc, struct sym_loc *loc)
{
	size_t i = hash_pc(pc, cap);
	while (tab[i].loc)
		i = (i + 1) & (cap - 1);
	tab[i].pc = pc;
	tab[i].loc = loc;
}

static void cache_put(struct symtab *st, uint64_t pc, struct sym_loc *loc)
{
	if (2 * (st->ncache + 1) > st->capcache) {
		size_t ncap = st->capcache ? st->capcache * 2 : 4096;
		struct centry *n = xcalloc(ncap, sizeof *n);
		for (size_t i = 0; i < st->capcache; i++)
			if (st->cache[i].loc)
				cache_insert(n, ncap, st->cache[i].pc, st->cache[i].loc);
		free(st->cache);
		st->cache = n;
		st->capcache = ncap;
	}
	cache_insert(st->cache, st->capcache, pc, loc);
	st->ncache++;
}

enum purge { PURGE_ALL, PURGE_UNKNOWN };

/* Rebuilds the cache with the entries keep() accepts (it may update them in
 * place). The sym_locs themselves stay in the arena: callers may still hold
 * them. */
static void cache_filter(struct symtab *st,
			 int (*keep)(struct symtab *, struct sym_loc *, void *), void *arg)
{
	if (!st->ncache)
		return;
	struct centry *n = xcalloc(st->capcache, sizeof *n);
	size_t kept = 0;
	for (size_t i = 0; i < st->capcache; i++) {
		struct sym_loc *l = st->cache[i].loc;
		if (!l || !keep(st, l, arg))
			continue;
		cache_insert(n, st->capcache, st->cache[i].pc, l);
		kept++;
	}
	free(st->cache);
	st->cache = n;
	st->ncache = kept;
}

static int keep_for_purge(struct symtab *st, struct sym_loc *l, void *arg)
{
	(void)st;
	return *(const enum purge *)arg != PURGE_ALL && l->mod;
}

/* Drops cached results that may have changed. */
static void cache_purge(struct symtab *st, enum purge what)
{
	cache_filter(st, keep_for_purge, &what);
}

static void jit_recheck(struct symtab *st);

/* ---- reading /proc/PID/maps --------------------------------------------- */

struct mgroup {
	enum mod_kind kind;
	const char *path;            /* points into the maps text */
	uint64_t low, high, vma_start, vma_end;
	uint64_t x_start, x_end, x_pgoff, last_pgoff;
	unsigned maj, min;
	uint64_t inode;
	int exec;
};

static int path_is_anon(const char *p)
{
	return !*p || strncmp(p, "[anon:", 6) == 0 || strncmp(p, "//anon", 6) == 0;
}

/* Groups the mappings of maps text (modified in place) into one group per
 * mapped file, the vdso, and runs of anonymous executable memory. */
static size_t parse_maps(char *text, struct mgroup **out)
{
	size_t n = 0, cap = 64;
	struct mgroup *g = xmalloc(cap * sizeof *g);
	struct mgroup *cur = NULL;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		uint64_t start, end, pgoff, inode;
		unsigned maj, min;
		char perms[8];
		int off = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &pgoff, &maj, &min, &inode, &off) < 7 || !off) {
			line = nl;
			continue;
		}
		const char *path = line + off;
		int exec = perms[2] == 'x';
		enum mod_kind kind;
		if (path[0] == '/' && strncmp(path, "//anon", 6) != 0)
			kind = MOD_FILE;
		else if (strcmp(path, "[vdso]") == 0)
			kind = MOD_VDSO;
		else if (path_is_anon(path) && exec)
			kind = MOD_ANON;
		else {
			line = nl;
			continue;
		}
		/* The segments of one loaded ELF follow each other with
		 * growing file offsets and small gaps (alignment holes may
		 * be anonymous); anything else is another mapping of the
		 * file, e.g. libelf reading it, and must not widen the
		 * module over unrelated memory. */
		int extend = cur && cur->kind == kind &&
			     (kind == MOD_FILE ? cur->inode == inode && strcmp(cur->path, path) == 0 &&
						start >= cur->high && start - cur->high <= MAX_SEG_GAP &&
						pgoff >= cur->last_pgoff && pgoff != 0
					       : kind == MOD_ANON && start == cur->high);
		if (!extend) {
			if (n == cap) {
				cap *= 2;
				g = xrealloc(g, cap * sizeof *g);
			}
			cur = &g[n++];
			*cur = (struct mgroup){ .kind = kind, .path = path, .low = start,
						.vma_start = start, .vma_end = end,
						.maj = maj, .min = min, .inode = inode };
		}
		cur->high = end;
		cur->last_pgoff = pgoff;
		if (exec) {
			if (!cur->exec) {
				cur->x_start = start;
				cur->x_pgoff = pgoff;
			}
			cur->x_end = end;
			cur->exec = 1;
		}
		line = nl;
	}
	/* keep what can hold code: files with an executable mapping */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (g[i].exec)
			g[k++] = g[i];
	*out = g;
	return k;
}

/* ---- finding the files -------------------------------------------------- */

static void add_blob(struct symtab *st, void *p)
{
	st->blobs = xrealloc(st->blobs, (st->nblobs + 1) * sizeof *st->blobs);
	st->blobs[st->nblobs++] = p;
}

/* The vdso image: from the target's memory, or, when /proc/PID/mem is not
 * readable to us, our own (the kernel maps the same vdso into every 64-bit
 * process). */
static Elf *vdso_elf(struct smod *m)
{
	struct symtab *st = m->st;
	size_t size = (size_t)(m->high - m->low);
	if (size == 0 || size > (64u << 20))
		return NULL;
	char *buf = xmalloc(size);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)st->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? pread(fd, buf, size, (off_t)m->low) : -1;
	if (fd >= 0)
		close(fd);
	if (r != (ssize_t)size) {
		unsigned long own = getauxval(AT_SYSINFO_EHDR);
		if (!own) {
			free(buf);
			return NULL;
		}
		dbg("vdso of %d not readable, using ours", (int)st->pid);
		memcpy(buf, (const void *)own, size);
	}
	Elf *elf = elf_memory(buf, size);
	if (!elf) {
		free(buf);
		return NULL;
	}
	add_blob(st, buf);
	return elf;
}

/* Opens path if it is a regular file; 1 if it is the mapped file (same
 * inode), 0 if it may be (inode numbers differ but so do devices: overlay
 * and btrfs report other numbers in maps than stat does), -1 if not. */
static int open_candidate(const struct smod *m, const char *path, int *fdp)
{
	*fdp = open(path, O_RDONLY | O_CLOEXEC);
	if (*fdp < 0)
		return -1;
	struct stat sb;
	if (fstat(*fdp, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(*fdp);
		*fdp = -1;
		return -1;
	}
	if (!m->inode || sb.st_ino == m->inode)
		return 1;
	if (major(sb.st_dev) != m->dev_major || minor(sb.st_dev) != m->dev_minor)
		return 0;
	/* same device, other inode: replaced (rebuilt, upgraded) */
	close(*fdp);
	*fdp = -1;
	return -1;
}

static int find_elf_cb(Dwfl_Module *dm, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct smod *m = *userdata;
	if (!m)
		return -1;
	struct symtab *st = m->st;
	if (m->kind == MOD_VDSO) {
		*elfp = vdso_elf(m);
		return -1;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", m->pub.path);
	static const char del[] = " (deleted)";
	size_t plen = strlen(path);
	int deleted = plen > sizeof del - 1 && strcmp(path + plen - (sizeof del - 1), del) == 0;
	if (deleted)
		path[plen - (sizeof del - 1)] = 0;

	/* Paths in maps are as the kernel can name them from our root: a
	 * chroot's files appear with their full path, while a container's
	 * own mounts appear as the container sees them, so try the path
	 * inside the target's root and as is, and take the one that is the
	 * mapped file. */
	char cand[2][PATH_MAX + 64];
	int ncand = 0;
	if (st->root[0])
		snprintf(cand[ncand++], sizeof cand[0], "%s%s", st->root, path);
	snprintf(cand[ncand++], sizeof cand[0], "%s", path);
	int fd = -1, maybe_fd = -1;
	const char *name = cand[0], *maybe_name = NULL;
	for (int i = 0; i < ncand && fd < 0 && !deleted; i++) {
		int tfd, r = open_candidate(m, cand[i], &tfd);
		if (r > 0) {
			fd = tfd;
			name = cand[i];
		} else if (r == 0 && maybe_fd < 0) {
			maybe_fd = tfd;
			maybe_name = cand[i];
		} else if (r == 0) {
			close(tfd);
		}
	}
	/* the mapped file itself, for deleted or replaced binaries (needs
	 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) */
	if (fd < 0 && (maybe_fd < 0 || deleted)) {
		char mf[96];
		snprintf(mf, sizeof mf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
			 (int)st->pid, m->vma_start, m->vma_end);
		fd = open(mf, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			dbg("%s: not the mapped file, and %s: %s", m->pub.path, mf, strerror(errno));
	}
	if (fd < 0 && maybe_fd >= 0) {
		fd = maybe_fd;
		name = maybe_name;
	} else if (maybe_fd >= 0) {
		close(maybe_fd);
	}
	if (fd < 0)
		return -1;
	*file_name = strdup(name);
	return fd;
}

static int exists(const char *dir, const char *sub, const char *name)
{
	char p[PATH_MAX * 2 + 16];
	struct stat sb;
	if (snprintf(p, sizeof p, "%s%s/%s", dir, sub, name) >= (int)sizeof p)
		return 0;
	return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* libdwfl's standard search (build-id, then .gnu_debuglink next to the
 * file, in .debug/ and under each debug directory), but without its last
 * resort, the debuginfod client, unless the user asked for one with
 * DEBUGINFOD_URLS: libdw would otherwise dlopen libdebuginfod and its ~30
 * libraries (curl, gnutls, kerberos...) on the first module without debug
 * info (the vdso, always). */
static int find_debuginfo_cb(Dwfl_Module *dm, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name,
			     const char *debuglink_file, GElf_Word debuglink_crc,
			     char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		return dwfl_standard_find_debuginfo(dm, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	int fd = dwfl_build_id_find_debuginfo(dm, userdata, modname, base, file_name,
					      debuglink_file, debuglink_crc,
					      debuginfo_file_name);
	if (fd >= 0)
		return fd;
	/* The path search, only when one of its candidates exists. */
	if (!file_name && !(debuglink_file && debuglink_file[0] == '/'))
		return -1;
	char name[PATH_MAX], dir[PATH_MAX];
	const char *b = file_name ? strrchr(file_name, '/') : NULL;
	if (debuglink_file)
		snprintf(name, sizeof name, "%s", debuglink_file);
	else
		snprintf(name, sizeof name, "%s.debug", b ? b + 1 : file_name);
	snprintf(dir, sizeof dir, "%.*s", b ? (int)(b - file_name) : 0, b ? file_name : "");
	struct stat sb;
	int found = name[0] == '/' ? stat(name, &sb) == 0 :
		    exists(dir, "", name) || exists(dir, "/.debug", name) ||
		    exists("/usr/lib/debug", dir, name) || exists("/usr/lib/debug", "", name);
	struct smod *m = *userdata;
	if (!found && m && m->st->root[0]) {
		char rd[PATH_MAX + 64];
		snprintf(rd, sizeof rd, "%s/usr/lib/debug", m->st->root);
		found = exists(rd, dir, name) || exists(rd, "", name);
	}
	if (!found)
		return -1;
	return dwfl_standard_find_debuginfo(dm, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc,
					    debuginfo_file_name);
}

/* ---- modules ------------------------------------------------------------ */

/* A dead anonymous module to take the place of a new one, preferably one
 * that overlaps it (a JIT's code space that grew or shrank): V8 changes its
 * executable mappings all the time, and a long-running target must not make
 * us keep a module for every shape they ever had. NULL if there is none.
 * Results still pointing to it have been re-pointed or dropped from the
 * cache by jit_recheck (callers holding one see the new range: harmless,
 * an anonymous module has no file). */
static struct smod *reuse_anon(struct symtab *st, const struct mgroup *g)
{
	struct smod *any = NULL;
	for (size_t i = 0; i < st->nmods; i++) {
		struct smod *m = st->mods[i];
		if (m->alive || m->kind != MOD_ANON)
			continue;
		if (m->low < g->high && g->low < m->high)
			return m;
		if (!any)
			any = m;
	}
	return any;
}

static struct smod *new_module(struct symtab *st, const struct mgroup *g)
{
	struct smod *m = g->kind == MOD_ANON ? reuse_anon(st, g) : NULL;
	if (m) {
		m->low = m->pub.start = g->low;
		m->high = m->pub.end = g->high;
		m->vma_start = g->vma_start;
		m->vma_end = g->vma_end;
		m->alive = 1;
		return m;
	}
	m = xcalloc(1, sizeof *m);
	m->st = st;
	m->kind = g->kind;
	m->low = g->low;
	m->high = g->high;
	m->vma_start = g->vma_start;
	m->vma_end = g->vma_end;
	m->dev_major = g->maj;
	m->dev_minor = g->min;
	m->inode = g->inode;
	m->alive = 1;
	m->pub.id = (int)st->nmods + 1;
	m->pub.start = g->x_start;
	m->pub.end = g->x_end;
	m->pub.pgoff = g->x_pgoff;
	m->pub.build_id = "";
	char nm[64];
	switch (g->kind) {
	case MOD_FILE:
		m->pub.path = intern(st, g->path);
		m->dwfl_name = xstrdup(g->path);
		{
			const char *b = strrchr(g->path, '/');
			char tmp[PATH_MAX];
			snprintf(tmp, sizeof tmp, "%s", b ? b + 1 : g->path);
			char *d = strstr(tmp, " (deleted)");
			if (d && d[10] == 0)
				*d = 0;
			m->pub.name = intern(st, tmp);
		}
		break;
	case MOD_VDSO:
		m->pub.path = intern(st, "[vdso]");
		m->pub.name = m->pub.path;
		/* libdwfl recognizes this name and skips the module where it
		 * must not read target memory (dwfl_attach_state) */
		snprintf(nm, sizeof nm, "[vdso: %d]", (int)st->pid);
		m->dwfl_name = xstrdup(nm);
		break;
	case MOD_ANON:
		m->pub.path = intern(st, st->perfmap_path[0] ? st->perfmap_path : "//anon");
		m->pub.name = intern(st, "[jit]");
		m->pub.start = g->low;
		m->pub.end = g->high;
		m->pub.pgoff = 0;
		break;
	}
	if (st->nmods == st->capmods) {
		st->capmods = st->capmods ? st->capmods * 2 : 64;
		st->mods = xrealloc(st->mods, st->capmods * sizeof *st->mods);
	}
	st->mods[st->nmods++] = m;
	return m;
}

static int same_module(const struct smod *m, const struct mgroup *g)
{
	if (!m->alive || m->kind != g->kind || m->low != g->low || m->high != g->high)
		return 0;
	if (g->kind == MOD_FILE)
		return m->inode == g->inode && strcmp(m->pub.path, g->path) == 0;
	return 1;
}

static void free_funcs(struct smod *m)
{
	for (size_t i = 0; i < m->capfuncs; i++)
		free(m->funcs[i].f);
	free(m->funcs);
	m->funcs = NULL;
	m->nfuncs = m->capfuncs = 0;
}

static int report(struct symtab *st, struct smod *m)
{
	/* One byte short: libdwfl's address table (segment.c, reify_segments)
	 * gives a module that starts exactly where the previous one ends no
	 * end boundary, so it would swallow the gap up to the next module
	 * (JIT code mapped there resolved to the library below it). The
	 * last byte of a module is data, never code. */
	Dwfl_Module *dm = dwfl_report_module(st->dwfl, m->dwfl_name, m->low, m->high - 1);
	if (!dm) {
		dbg("dwfl_report_module %s: %s", m->dwfl_name, dwfl_errmsg(-1));
		m->dm = NULL;
		return -1;
	}
	void **ud;
	dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = m;
	m->dm = dm;
	m->dm_dwfl = st->dwfl;
	m->elf_state = 0;       /* a new Dwfl opens the file again */
	free(m->cus);           /* its DIEs belonged to the old Dwfl */
	m->cus = NULL;
	m->ncus = 0;
	m->cus_state = 0;
	free_funcs(m);
	free(m->syms);          /* names pointed into the old ELF */
	m->syms = NULL;
	m->nsyms = 0;
	m->syms_state = 0;
	return 0;
}

static Dwfl *new_dwfl(struct symtab *st)
{
	Dwfl *d = dwfl_begin(&st->cb);
	if (!d)
		errmsg("libdwfl: %s", dwfl_errmsg(-1));
	return d;
}

/* Re-reads the maps. Returns 1 if modules changed, 0 if not, -errno. */
static int do_refresh(struct symtab *st)
{
	char *text;
	st->last_refresh = now_ns();
	ssize_t len = target_read_maps(st->pid, &text);
	if (len < 0)
		return (int)len;
	if (st->maps_text && strcmp(st->maps_text, text) == 0 && st->dwfl) {
		free(text);
		return 0;
	}
	free(st->maps_text);
	st->maps_text = xstrdup(text);

	struct mgroup *g;
	size_t ng = parse_maps(text, &g);
	struct smod **match = xcalloc(ng ? ng : 1, sizeof *match);
	char *seen = xcalloc(st->nmods ? st->nmods : 1, 1);
	size_t added = 0, added_anon = 0;
	for (size_t i = 0; i < ng; i++) {
		for (size_t j = 0; j < st->nmods; j++) {
			if (!seen[j] && same_module(st->mods[j], &g[i])) {
				match[i] = st->mods[j];
				seen[j] = 1;
				break;
			}
		}
		if (!match[i]) {
			if (g[i].kind == MOD_ANON)
				added_anon++;
			else
				added++;
		}
	}
	size_t removed = 0, removed_anon = 0;
	size_t nold = st->nmods;
	for (size_t j = 0; j < nold; j++) {
		struct smod *m = st->mods[j];
		if (m->alive && !seen[j]) {
			/* dm stays: samples taken before the change (exec,
			 * dlclose) still name their functions from it */
			m->alive = 0;
			if (m->kind == MOD_ANON)
				removed_anon++;
			else
				removed++;
		}
	}
	for (size_t i = 0; i < ng; i++)
		if (!match[i])
			match[i] = new_module(st, &g[i]);

	int changed = 0;
	if (!st->dwfl || removed) {
		/* Something went away (exec, dlclose): start a fresh Dwfl, so
		 * no stale module can answer. The old one stays alive until the
		 * next such change: the unwinder may be in the middle of using
		 * it and re-attaches when it sees the new generation. */
		Dwfl *d = new_dwfl(st);
		if (d) {
			if (st->old_dwfl) {
				for (size_t j = 0; j < st->nmods; j++)
					if (st->mods[j]->dm_dwfl == st->old_dwfl)
						st->mods[j]->dm = NULL;
				dwfl_end(st->old_dwfl);
			}
			st->old_dwfl = st->dwfl;
			st->dwfl = d;
			dwfl_report_begin(d);
			for (size_t i = 0; i < ng; i++)
				if (match[i]->kind != MOD_ANON)
					report(st, match[i]);
			dwfl_report_end(d, NULL, NULL);
			if (st->old_dwfl) {
				st->generation++;
				cache_purge(st, PURGE_ALL);
			}
			changed = 1;
		}
	} else if (added) {
		/* Only new files (dlopen): add them to the live Dwfl, keeping
		 * what is loaded and the unwinder's attachment. */
		dwfl_report_begin_add(st->dwfl);
		for (size_t i = 0; i < ng; i++)
			if (match[i]->kind != MOD_ANON && !match[i]->dm)
				report(st, match[i]);
		dwfl_report_end(st->dwfl, NULL, NULL);
		cache_purge(st, PURGE_UNKNOWN);
		changed = 1;
	}
	if (added_anon || removed_anon) {
		jit_recheck(st);
		changed = 1;
	}
	dbg("maps of %d: %zu modules, +%zu -%zu files, +%zu -%zu anon",
	    (int)st->pid, ng, added, removed, added_anon, removed_anon);
	free(seen);
	free(match);
	free(g);
	free(text);
	return changed;
}

int symtab_refresh(struct symtab *st, int force)
{
	if (!force && now_ns() - st->last_refresh < REFRESH_MIN_NS)
		return 0;
	int r = do_refresh(st);
	return r < 0 ? r : 0;
}

/* ---- open / close ------------------------------------------------------- */

struct symtab *symtab_open(pid_t pid)
{
	elf_version(EV_CURRENT);
	struct symtab *st = xcalloc(1, sizeof *st);
	st->pid = pid;
	st->generation = 1;

	/* Paths in maps may be relative to the target's root and mounts
	 * (containers). When those are ours, use the plain paths: the debug
	 * file search of libdwfl (debuglink next to the file,
	 * /usr/lib/debug/<dir>) works from the file name. */
	char rp[64], mp[64];
	snprintf(rp, sizeof rp, "/proc/%d/root", (int)pid);
	snprintf(mp, sizeof mp, "/proc/%d/ns/mnt", (int)pid);
	struct stat a, b, c, d;
	int same_root = stat(rp, &a) == 0 && stat("/", &b) == 0 &&
			a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	/* another mount namespace on the same root still has its own mounts */
	int same_mnt = stat(mp, &c) != 0 || stat("/proc/self/ns/mnt", &d) != 0 ||
		       (c.st_dev == d.st_dev && c.st_ino == d.st_ino);
	if (same_root && same_mnt)
		st->root[0] = 0;
	else
		snprintf(st->root, sizeof st->root, "%s", rp);
	char buf[256];
	if (st->root[0]) {
		/* also the container's own debug files */
		snprintf(buf, sizeof buf, "-:.debug:/usr/lib/debug:%s/usr/lib/debug", st->root);
		st->debugpath = xstrdup(buf);
	}
	st->cb.find_elf = find_elf_cb;
	st->cb.find_debuginfo = find_debuginfo_cb;
	st->cb.section_address = dwfl_offline_section_address;
	st->cb.debuginfo_path = st->debugpath ? &st->debugpath : NULL;

	/* JIT map: inside the target's root, named with its namespace pid */
	char *status = NULL;
	snprintf(buf, sizeof buf, "/proc/%d/status", (int)pid);
	long nspid = pid, u0 = -1, u1 = -1;
	if (read_file(buf, &status) >= 0) {
		/* the pid in the innermost namespace: the last one */
		long v = parse_status_field_n(status, "NSpid", -1);
		if (v > 0)
			nspid = v;
		u0 = parse_status_field_n(status, "Uid", 0);
		u1 = parse_status_field_n(status, "Uid", 1);
	}
	free(status);
	st->uid0 = (uid_t)u0;
	st->uid1 = (uid_t)u1;
	snprintf(st->perfmap_path, sizeof st->perfmap_path, "%s/tmp/perf-%ld.map",
		 st->root[0] ? st->root : "", nspid);

	st->truncated_frame.func = "[truncated]";
	st->str_unknown = intern(st, "[unknown]");
	st->truncated.pc = CTOP_TRUNCATED_PC;
	st->truncated.nframes = 1;
	st->truncated.frames = &st->truncated_frame;

	int r = do_refresh(st);
	if (r < 0 || !st->dwfl) {
		if (r < 0)
			errmsg("cannot read /proc/%d/maps: %s", (int)pid, strerror(-r));
		symtab_close(st);
		return NULL;
	}
	return st;
}

void symtab_close(struct symtab *st)
{
	if (!st)
		return;
	if (st->dwfl)
		dwfl_end(st->dwfl);
	if (st->old_dwfl)
		dwfl_end(st->old_dwfl);
	for (size_t i = 0; i < st->nmods; i++) {
		if (st->mods[i]->go)
			gopclntab_close(st->mods[i]->go);
		free(st->mods[i]->cus);
		free(st->mods[i]->syms);
		free_funcs(st->mods[i]);
		free(st->mods[i]->dwfl_name);
		free(st->mods[i]);
	}
	free(st->mods);
	free(st->pubs);
	for (size_t i = 0; i < st->nblobs; i++)
		free(st->blobs[i]);
	free(st->blobs);
	free(st->cache);
	free(st->strs);
	while (st->arena) {
		struct arena_blk *n = st->arena->next;
		free(st->arena);
		st->arena = n;
	}
	perfmap_close(st->pm);
	free(st->maps_text);
	free(st->debugpath);
	free(st);
}

struct Dwfl *symtab_dwfl(struct symtab *st)
{
	return st->dwfl;
}

uint64_t symtab_generation(struct symtab *st)
{
	return st->generation;
}

/* ---- per-module ELF facts ------------------------------------------------ */

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(elf, s));) {
		if (!gelf_getshdr(s, shdr))
			continue;
		const char *n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && strcmp(n, name) == 0)
			return s;
	}
	return NULL;
}

/* Opens the module's ELF (not its DWARF) once: bias, build id, and whether
 * it is a stripped Go binary. */
static int module_elf(struct smod *m)
{
	if (m->elf_state)
		return m->elf_state > 0;
	m->elf_state = -1;
	if (!m->dm)
		return 0;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(m->dm, &bias);
	if (!elf) {
		dbg("%s: no ELF: %s", m->pub.path, dwfl_errmsg(-1));
		return 0;
	}
	m->elf_state = 1;
	m->bias = bias;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(m->dm, &bits, &vaddr);
	if (n > 0 && !m->pub.build_id[0]) {
		char hex[2 * 64 + 1];
		if (n > 64)
			n = 64;
		for (int i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", bits[i]);
		m->pub.build_id = intern(m->st, hex);
	}
	return 1;
}

/* ---- resolving ----------------------------------------------------------- */

struct fr {
	const char *func, *file;
	int line, start_line;
};

static struct sym_loc *make_loc(struct symtab *st, uint64_t pc, const struct smod *m,
				const struct fr *f, int n)
{
	struct sym_loc *l = arena_alloc(st, sizeof *l + (size_t)n * sizeof(struct sym_frame));
	l->pc = pc;
	l->mod = m ? &m->pub : NULL;
	l->nframes = (uint32_t)n;
	l->frames = (struct sym_frame *)(l + 1);
	for (int i = 0; i < n; i++)
		l->frames[i] = (struct sym_frame){ f[i].func, f[i].file, f[i].line, f[i].start_line };
	return l;
}

static struct sym_loc *make_named(struct symtab *st, uint64_t pc, const struct smod *m,
				  const char *name)
{
	struct fr f = { intern(st, name), NULL, 0, 0 };
	return make_loc(st, pc, m, &f, 1);
}

/* A function's display name: the demangled linkage name (C++, Rust: with
 * namespaces and parameters, as perf shows), else DW_AT_name (C, Go), both
 * followed through abstract origins and specifications. */
static const char *die_func_name(struct symtab *st, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *ln = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!ln)
		ln = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (ln) {
		char *d = symbol_demangle(ln);
		if (d) {
			const char *r = intern(st, d);
			free(d);
			return r;
		}
	}
	const char *n = dwarf_diename(die);
	return n ? intern(st, n) : (ln ? intern(st, ln) : NULL);
}

/* Source file names in the line table may be relative to the CU's
 * DW_AT_comp_dir (DWARF 5 as gcc writes it): make them absolute, as
 * eu-addr2line does, so the Source view and `pprof list` can open them.
 * Go's comp_dir is "." and stays relative. */
static const char *cu_file(struct symtab *st, Dwarf_Die *cu, const char *name)
{
	if (!name || name[0] == '/' || name[0] == '<')
		return intern(st, name);
	Dwarf_Attribute a;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
	if (!dir || dir[0] != '/')
		return intern(st, name);
	char buf[4096];
	int len = snprintf(buf, sizeof buf, "%s%s%s", dir,
			   dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return intern(st, len > 0 && (size_t)len < sizeof buf ? buf : name);
}

static const char *call_file(struct symtab *st, Dwarf_Die *die, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0)
		*line = (int)v;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) != 0)
		return NULL;
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nf;
	if (!dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nf) != 0 || v >= nf)
		return NULL;
	return cu_file(st, &cu, dwarf_filesrc(files, v, NULL, NULL));
}

static int cu_range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Address ranges of every CU, from the CU DIEs' low/high pc or ranges:
 * one pass over the unit headers, not over their DIEs. */
static void build_cu_index(struct smod *m, Dwarf *dw)
{
	m->cus_state = 1;
	size_t cap = 0;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu)) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t o = 0;
			while ((o = dwarf_ranges(&cu, o, &base, &lo, &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (m->ncus == cap) {
					cap = cap ? cap * 2 : 64;
					m->cus = xrealloc(m->cus, cap * sizeof *m->cus);
				}
				m->cus[m->ncus++] = (struct cu_range){ lo, hi, cu };
			}
		}
		off = next;
	}
	if (m->ncus)    /* cus is NULL when no CU has ranges: qsort(NULL) is UB */
		qsort(m->cus, m->ncus, sizeof *m->cus, cu_range_cmp);
	dbg("%s: no usable .debug_aranges, indexed %zu CU ranges", m->pub.path, m->ncus);
}

/* The CU containing pc; *bias from the DWARF file. */
static Dwarf_Die *find_cu(struct smod *m, uint64_t pc, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(m->dm, pc, bias);
	if (cu)
		return cu;
	Dwarf *dw = dwfl_module_getdwarf(m->dm, bias);
	if (!dw)
		return NULL;
	if (!m->cus_state)
		build_cu_index(m, dw);
	Dwarf_Addr a = pc - *bias;
	size_t lo = 0, hi = m->ncus;        /* first range with lo > a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->cus[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges of different CUs do not overlap; look at a few in case */
	for (size_t i = lo, k = 0; i > 0 && k < 4; i--, k++)
		if (a >= m->cus[i - 1].lo && a < m->cus[i - 1].hi)
			return &m->cus[i - 1].cu;
	return NULL;
}

/* The inline chain at pc from DWARF, innermost first, ending with the
 * subprogram the code belongs to (as eu-addr2line -i), and the line of the
 * innermost frame from the CU's line table. */
static int fn_range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct fvec {
	struct fn_range *f;
	size_t n, cap;
};

/* Defining subprograms with code, at CU level and in namespaces/modules
 * (C, C++, Go and Rust put them there). With DW_AT_sibling (GCC) this
 * skips every subtree; without (clang) libdw walks them, once per CU. */
static void index_scope(Dwarf_Die *parent, struct fvec *v, int depth)
{
	Dwarf_Die c;
	if (depth > 32 || dwarf_child(parent, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c);
		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t o = 0;
			while ((o = dwarf_ranges(&c, o, &base, &lo, &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (v->n == v->cap) {
					v->cap = v->cap ? v->cap * 2 : 256;
					v->f = xrealloc(v->f, v->cap * sizeof *v->f);
				}
				v->f[v->n++] = (struct fn_range){ lo, hi, c };
			}
		} else if (tag == DW_TAG_namespace || tag == DW_TAG_module) {
			index_scope(&c, v, depth + 1);
		}
	} while (dwarf_siblingof(&c, &c) == 0);
}

static size_t hash_ptr(const void *p, size_t cap)
{
	return (size_t)(((uintptr_t)p * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static const struct cu_funcs *cu_funcs(struct smod *m, Dwarf_Die *cu)
{
	if (m->capfuncs) {
		for (size_t i = hash_ptr(cu->addr, m->capfuncs);; i = (i + 1) & (m->capfuncs - 1)) {
			if (!m->funcs[i].cu_addr)
				break;
			if (m->funcs[i].cu_addr == cu->addr)
				return &m->funcs[i];
		}
	}
	if (2 * (m->nfuncs + 1) > m->capfuncs) {
		size_t ncap = m->capfuncs ? m->capfuncs * 2 : 64;
		struct cu_funcs *n = xcalloc(ncap, sizeof *n);
		for (size_t i = 0; i < m->capfuncs; i++) {
			if (!m->funcs[i].cu_addr)
				continue;
			size_t k = hash_ptr(m->funcs[i].cu_addr, ncap);
			while (n[k].cu_addr)
				k = (k + 1) & (ncap - 1);
			n[k] = m->funcs[i];
		}
		free(m->funcs);
		m->funcs = n;
		m->capfuncs = ncap;
	}
	struct fvec v = { 0 };
	index_scope(cu, &v, 0);
	if (v.n)
		qsort(v.f, v.n, sizeof *v.f, fn_range_cmp);
	size_t k = hash_ptr(cu->addr, m->capfuncs);
	while (m->funcs[k].cu_addr)
		k = (k + 1) & (m->capfuncs - 1);
	m->funcs[k] = (struct cu_funcs){ cu->addr, v.f, v.n };
	m->nfuncs++;
	return &m->funcs[k];
}

/* The chain of scopes containing addr, innermost first: down from the
 * function through the inlined instances and blocks that contain addr.
 * Returns its length (0 if no indexed function contains addr). */
static int scope_chain(struct smod *m, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *chain, int max)
{
	const struct cu_funcs *cf = cu_funcs(m, cu);
	size_t lo = 0, hi = cf->n;          /* first function with lo > addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cf->f[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Aliases (glibc's assembly: symlinkat and __GI_symlinkat) share a
	 * range: take the smallest range, then the first DIE, as
	 * dwarf_getscopes would. */
	const struct fn_range *fn = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct fn_range *x = &cf->f[i - 1];
		if (addr < x->lo || addr >= x->hi)
			continue;
		if (!fn || x->hi - x->lo < fn->hi - fn->lo ||
		    (x->hi - x->lo == fn->hi - fn->lo && x->die.addr < fn->die.addr))
			fn = x;
	}
	if (!fn)
		return 0;
	Dwarf_Die path[256];
	int n = 0;
	path[n++] = fn->die;
	for (int found = 1; found && n < 256;) {
		found = 0;
		Dwarf_Die c;
		if (dwarf_child(&path[n - 1], &c) != 0)
			break;
		do {
			int tag = dwarf_tag(&c);
			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_subprogram || tag == DW_TAG_entry_point ||
			     tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
			    dwarf_haspc(&c, addr) == 1) {
				path[n++] = c;
				found = 1;
				break;
			}
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	int k = 0;
	for (int i = n - 1; i >= 0 && k < max; i--)
		chain[k++] = path[i];
	return k;
}

/* The inline chain at pc from DWARF, innermost first, ending with the
 * subprogram the code belongs to (as eu-addr2line -i), and the line of the
 * innermost frame from the CU's line table. */
static int dwarf_frames(struct symtab *st, struct smod *m, uint64_t pc, struct fr *f, int max)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = find_cu(m, pc, &bias);
	if (!cu)
		return 0;
	Dwarf_Line *ln = dwarf_getsrc_die(cu, pc - bias);
	const char *lfile = ln ? dwarf_linesrc(ln, NULL, NULL) : NULL;
	int lline = 0;
	if (ln)
		dwarf_lineno(ln, &lline);
	/* Go's comp_dir is ".": "./<autogenerated>" is "<autogenerated>" */
	if (lfile && lfile[0] == '.' && lfile[1] == '/')
		lfile += 2;
	f[0].file = cu_file(st, cu, lfile);
	f[0].line = lfile ? lline : 0;

	Dwarf_Die fast[256];
	Dwarf_Die *chain = fast, *slow = NULL;
	int nc = scope_chain(m, cu, pc - bias, fast, 256);
	if (nc == 0) {
		/* Not a function we indexed (one nested in a type, say): the
		 * general but slow search. dwarf_getscopes continues past an
		 * inlined instance into the scopes of its abstract
		 * definition; the physical nesting (who inlined whom) is the
		 * DIE chain of the innermost scope. */
		Dwarf_Die *scopes = NULL;
		int ns = dwarf_getscopes(cu, pc - bias, &scopes);
		if (ns > 0)
			nc = dwarf_getscopes_die(&scopes[0], &slow);
		free(scopes);
		if (nc <= 0) {
			free(slow);
			return f[0].file ? 1 : 0;   /* a line but no function */
		}
		chain = slow;
	}
	int n = 0;
	Dwarf_Die *inner = NULL;
	for (int i = 0; i < nc && n < max; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		f[n].func = die_func_name(st, &chain[i]);
		int dl = 0;
		f[n].start_line = dwarf_decl_line(&chain[i], &dl) == 0 ? dl : 0;
		if (inner)
			f[n].file = call_file(st, inner, &f[n].line);
		inner = &chain[i];
		n++;
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}
	free(slow);
	return n;
}

static int sym_ent_cmp(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

/* Function symbols of the module (.symtab, else .dynsym, plus
 * .gnu_debugdata), sorted, one per address: global before weak before
 * local, sized before sizeless, glibc's __GI_ aliases last. */
static void build_sym_index(struct smod *m)
{
	m->syms_state = 1;
	int n = dwfl_module_getsymtab(m->dm);
	if (n <= 0)
		return;
	m->syms = xmalloc((size_t)n * sizeof *m->syms);
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		Dwarf_Addr bias = 0;
		const char *name = dwfl_module_getsym_info(m->dm, i, &sym, &addr, &shndx, &elf, &bias);
		int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
		if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
			continue;
		GElf_Xword size = sym.st_size;
		if (!size) {
			/* a label: it names code up to the next symbol, but not
			 * past its section (PLT stubs after _init) */
			GElf_Shdr sh;
			Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;
			if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_addr + sh.sh_size + bias <= addr)
				continue;
			size = sh.sh_addr + sh.sh_size + bias - addr;
		}
		int rank = (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2) +
			   (sym.st_size ? 0 : SYM_SIZELESS) +
			   (strncmp(name, "__GI_", 5) == 0 ? 8 : 0);
		m->syms[m->nsyms++] = (struct sym_ent){ addr, size, name, rank };
	}
	if (m->nsyms)
		qsort(m->syms, m->nsyms, sizeof *m->syms, sym_ent_cmp);
	size_t k = 0;
	for (size_t i = 0; i < m->nsyms; i++)
		if (!k || m->syms[i].addr != m->syms[k - 1].addr)
			m->syms[k++] = m->syms[i];
	m->nsyms = k;
}

/* The function symbol containing pc, the closest one below when symbols
 * nest (a label inside a function names the code after it, as libdwfl
 * and perf do). */
static const char *sym_lookup(struct smod *m, uint64_t pc)
{
	if (!m->syms_state)
		build_sym_index(m);
	size_t lo = 0, hi = m->nsyms;       /* first symbol above pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct sym_ent *e = &m->syms[i - 1];
		/* a label only names code up to the next symbol */
		if (k > 0 && (e->rank & SYM_SIZELESS))
			continue;
		if (pc - e->addr < e->size)
			return e->name;
	}
	return NULL;
}

/* Go binaries: the runtime's own table names the code that DWARF does not
 * describe (assembly, or everything when built with -ldflags=-s -w), as Go
 * prints it (no .abi0 suffix). Opened on first need: it is copied, and
 * large Go programs have tens of MB of it. PIE binaries keep it in
 * .data.rel.ro.gopclntab. */
static struct gopclntab *module_go(struct smod *m)
{
	if (m->go_checked)
		return m->go;
	m->go_checked = 1;
	GElf_Addr bias;
	Elf *elf = m->dm ? dwfl_module_getelf(m->dm, &bias) : NULL;
	GElf_Shdr sh, tsh;
	Elf_Scn *pcln = elf ? find_section(elf, ".gopclntab", &sh) : NULL;
	if (elf && !pcln)
		pcln = find_section(elf, ".data.rel.ro.gopclntab", &sh);
	if (pcln && find_section(elf, ".text", &tsh)) {
		Elf_Data *d = elf_getdata(pcln, NULL);
		if (d && d->d_buf && d->d_size)
			m->go = gopclntab_open(d->d_buf, d->d_size, tsh.sh_addr);
		dbg("%s: Go binary, .gopclntab %s", m->pub.path, m->go ? "ok" : "unusable");
	}
	return m->go;
}

static struct sym_loc *resolve_file(struct symtab *st, struct smod *m, uint64_t pc)
{
	struct fr f[MAX_INLINE];
	memset(f, 0, sizeof f);
	int n = 0;
	int have_elf = module_elf(m);

	if (have_elf)
		n = dwarf_frames(st, m, pc, f, MAX_INLINE);
	if ((!n || !f[n - 1].func) && have_elf && module_go(m)) {
		/* Go code without DWARF: the runtime's table has the name as
		 * Go prints it (no ABI suffix) and the line */
		const char *file = NULL;
		int line = 0;
		uint64_t entry = 0;
		const char *name = gopclntab_lookup(m->go, pc - m->bias, &file, &line, &entry);
		if (name) {
			if (!n)
				n = 1;
			f[n - 1].func = intern(st, name);
			if (n == 1 && !f[0].file && file) {
				f[0].file = intern(st, file);
				f[0].line = line;
			}
		}
	}
	if (have_elf && (!n || !f[n - 1].func)) {
		/* the ELF symbol table (.symtab, .dynsym, or the debug file's) */
		const char *s = sym_lookup(m, pc);
		if (s) {
			char *d = symbol_demangle(s);
			if (!n)
				n = 1;
			f[n - 1].func = intern(st, d ? d : s);
			free(d);
		}
	}
	if (!n)
		n = 1;
	if (f[n - 1].func) {
		m->pub.has_symbols = 1;
	} else {
		/* no symbol: module+offset, the ELF vaddr addr2line takes */
		char buf[PATH_MAX + 32];
		uint64_t off = have_elf ? pc - m->bias : pc - m->low;
		snprintf(buf, sizeof buf, "%s+0x%" PRIx64, m->pub.name, off);
		f[n - 1].func = intern(st, buf);
	}
	for (int i = 0; i < n - 1; i++)
		if (!f[i].func)
			f[i].func = intern(st, "[unknown]");
	if (f[0].file && f[0].line)
		m->pub.has_lines = 1;
	if (n > 1)
		m->pub.has_inline = 1;
	return make_loc(st, pc, m, f, n);
}

static struct smod *find_anon(struct symtab *st, uint64_t pc)
{
	for (size_t i = st->nmods; i-- > 0;) {
		struct smod *m = st->mods[i];
		if (m->alive && m->kind == MOD_ANON && pc >= m->low && pc < m->high)
			return m;
	}
	return NULL;
}

/* The JIT map grew or the anonymous mappings changed: the cached results
 * in JIT code are updated in place (module, name) rather than dropped and
 * made again, since the map changes up to 10 times a second for as long
 * as the target runs and results are never freed. Those no longer in
 * anonymous executable memory are dropped. */
static int keep_jit(struct symtab *st, struct sym_loc *l, void *arg)
{
	(void)arg;
	const struct smod *om = (const struct smod *)l->mod;
	if (!om)        /* maybe in a mapping we did not know */
		return 0;
	if (om->kind == MOD_ANON) {
		struct smod *m = find_anon(st, l->pc);
		if (!m)
			return 0;
		const char *name = perfmap_lookup(st->pm, l->pc, NULL);
		if (name)
			m->pub.has_symbols = 1;
		l->mod = &m->pub;
		l->frames[0].func = name ? intern(st, name) : st->str_unknown;
	}
	return 1;
}

static void jit_recheck(struct symtab *st)
{
	cache_filter(st, keep_jit, NULL);
}

/* Opens or re-reads the JIT map when due. 1 if it has new entries (and
 * the cached JIT results were dropped). */
static int perfmap_poll(struct symtab *st)
{
	uint64_t now = now_ns();
	if (!st->pm) {
		if (st->pm_last_open && now - st->pm_last_open < PERFMAP_OPEN_NS)
			return 0;
		st->pm_last_open = now;
		st->pm = perfmap_open(st->perfmap_path, st->uid0, st->uid1);
		if (!st->pm)
			return 0;
		dbg("reading JIT symbols from %s", st->perfmap_path);
	} else if (now - st->pm_last_poll < PERFMAP_POLL_NS) {
		return 0;
	}
	st->pm_last_poll = now;
	if (perfmap_update(st->pm) <= 0)
		return 0;
	jit_recheck(st);
	return 1;
}

static struct sym_loc *resolve_jit(struct symtab *st, struct smod *m, uint64_t pc)
{
	const char *name = perfmap_lookup(st->pm, pc, NULL);
	if (!name) {
		perfmap_poll(st);
		name = perfmap_lookup(st->pm, pc, NULL);
	}
	if (name)
		m->pub.has_symbols = 1;
	return make_named(st, pc, m, name ? name : "[unknown]");
}

/* A module gone from the maps (exec, dlclose) whose libdwfl handle is still
 * open: the code samples taken before the change ran. Newest first. */
static struct smod *find_dead_module(struct symtab *st, uint64_t pc)
{
	for (size_t i = st->nmods; i-- > 0;) {
		struct smod *m = st->mods[i];
		if (!m->alive && m->dm && m->kind != MOD_ANON && pc >= m->low && pc < m->high)
			return m;
	}
	return NULL;
}

static struct smod *find_module(struct symtab *st, uint64_t pc)
{
	Dwfl_Module *dm = st->dwfl ? dwfl_addrmodule(st->dwfl, pc) : NULL;
	if (dm) {
		void **ud;
		dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		struct smod *m = *ud;
		/* belt and braces for the libdwfl gap problem (see report) */
		if (m && pc >= m->low && pc < m->high)
			return m;
	}
	return find_anon(st, pc);
}

const struct sym_loc *symtab_lookup(struct symtab *st, uint64_t pc)
{
	if (pc == CTOP_TRUNCATED_PC)
		return &st->truncated;
	struct sym_loc *l = cache_get(st, pc);
	/* JIT code sampled before the JIT wrote its map line: ask again when
	 * the map has grown */
	if (l && l->mod && ((const struct smod *)l->mod)->kind == MOD_ANON &&
	    l->frames[0].func == st->str_unknown && perfmap_poll(st))
		l = cache_get(st, pc);
	if (l)
		return l;
	struct smod *m = find_module(st, pc);
	int reread = 0;
	if (!m && now_ns() - st->last_refresh >= REFRESH_MIN_NS) {
		reread = 1;
		if (do_refresh(st) >= 0)
			m = find_module(st, pc);
	}
	if (!m)
		m = find_dead_module(st, pc);
	if (!m) {
		l = make_named(st, pc, NULL, "[unknown]");
		/* Not cached while the maps we hold may be older than the
		 * sample (a dlopen within the rate limit): a later lookup
		 * re-reads them. */
		if (!reread)
			return l;
	} else if (m->kind == MOD_ANON)
		l = resolve_jit(st, m, pc);
	else
		l = resolve_file(st, m, pc);
	cache_put(st, pc, l);
	return l;
}

int symtab_modules(struct symtab *st, const struct sym_module ***mods)
{
	/* Build ids are read when a lookup opens a module's ELF: modules no
	 * address resolved to keep "" rather than each being opened here. */
	free(st->pubs);
	st->pubs = xmalloc((st->nmods ? st->nmods : 1) * sizeof *st->pubs);
	for (size_t i = 0; i < st->nmods; i++)
		st->pubs[i] = &st->mods[i]->pub;
	*mods = st->pubs;
	return (int)st->nmods;
}
