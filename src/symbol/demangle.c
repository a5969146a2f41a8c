/* C++ and Rust (legacy mangling) demangling through libstdc++'s
 * __cxa_demangle, which every C++ toolchain on Linux already ships: no
 * libiberty or rustc-demangle dependency. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "symbol.h"

/* From libstdc++ (<cxxabi.h> is C++ only); the Makefile links -lstdc++. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);

/* Rust legacy symbols are Itanium nested names whose last component is a
 * hash "h" + 16 hex digits, e.g. _ZN4core3fmt5write17h0123456789abcdefE.
 * Returns the length of the name without "::h<hash>", or 0 if not Rust. */
static size_t rust_hash_cut(const char *s)
{
	size_t n = strlen(s);
	if (n < 20 || memcmp(s + n - 19, "::h", 3) != 0)
		return 0;
	for (size_t i = n - 16; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return n - 19;
}

static const struct { const char *esc; char c; } rust_escapes[] = {
	{ "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
	{ "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' },
};

/* Undo rustc's legacy escapes in place: $LT$ -> <, $u20$ -> ' ', ".." ->
 * "::", and the "_" rustc puts before a component that starts with '$'. */
static void rust_unescape(char *s, size_t n)
{
	char *out = s;
	size_t i = 0;
	int comp_start = 1;
	while (i < n) {
		if (comp_start && s[i] == '_' && i + 1 < n && s[i + 1] == '$') {
			i++;
			comp_start = 0;
			continue;
		}
		comp_start = 0;
		if (s[i] == '$') {
			size_t k, done = 0;
			for (k = 0; k < sizeof rust_escapes / sizeof rust_escapes[0]; k++) {
				size_t el = strlen(rust_escapes[k].esc);
				if (i + el <= n && memcmp(s + i, rust_escapes[k].esc, el) == 0) {
					*out++ = rust_escapes[k].c;
					i += el;
					done = 1;
					break;
				}
			}
			/* $uXX$: one ASCII character in hex */
			if (!done && i + 5 <= n && s[i + 1] == 'u' && isxdigit((unsigned char)s[i + 2]) &&
			    isxdigit((unsigned char)s[i + 3]) && s[i + 4] == '$') {
				char hex[3] = { s[i + 2], s[i + 3], 0 };
				*out++ = (char)strtol(hex, NULL, 16);
				i += 5;
				done = 1;
			}
			if (done)
				continue;
		}
		if (s[i] == ':' && i + 1 < n && s[i + 1] == ':') {
			*out++ = ':';
			*out++ = ':';
			i += 2;
			comp_start = 1;
			continue;
		}
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') {
			*out++ = ':';
			*out++ = ':';
			i += 2;
			continue;
		}
		*out++ = s[i++];
	}
	*out = 0;
}

char *symbol_demangle(const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return NULL;
	}
	if (strncmp(name, "_ZN", 3) == 0) {
		size_t cut = rust_hash_cut(d);
		if (cut)
			rust_unescape(d, cut);
	}
	return d;
}
