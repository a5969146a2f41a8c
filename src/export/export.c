/* Format dispatch by file suffix. */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "export_impl.h"

static int unknown(const char *path)
{
	errmsg("unknown output format '%s' (use .pb.gz, .folded or .txt)", path);
	return -EINVAL;
}

int export_cpu(const char *path, const struct export_ctx *x)
{
	if (!path || !*path) {
		errmsg("empty output file name");
		return -EINVAL;
	}
	switch (export_format(path)) {
	case XF_PPROF:  return pprof_write_cpu(path, x);
	case XF_FOLDED: return folded_write(path, x);
	case XF_TEXT:   return text_write_cpu(path, x);
	default:        return unknown(path);
	}
}

int export_groups(const char *path, const char *kind,
		  const struct group_sample *g, size_t n,
		  const struct export_ctx *x)
{
	if (!path || !*path) {
		errmsg("empty output file name");
		return -EINVAL;
	}
	switch (export_format(path)) {
	case XF_PPROF:  return pprof_write_groups(path, kind, g, n, x);
	case XF_FOLDED:
		if (!export_group_type(kind)) {
			errmsg("unknown group profile kind '%s' (use threads or goroutine)",
			       kind ? kind : "");
			return -EINVAL;
		}
		return folded_write_groups(path, g, n, x);
	case XF_TEXT:   return text_write_groups(path, kind, g, n, x);
	default:        return unknown(path);
	}
}
