/* Internal: the table each sampler backend fills in. */
#ifndef CTOP_SAMPLER_IMPL_H
#define CTOP_SAMPLER_IMPL_H

#include "sampler.h"

struct sampler_ops {
	int (*wait)(struct sampler *s, int timeout_ms);
	int (*drain)(struct sampler *s, sample_cb cb, void *arg);
	int (*target_gone)(struct sampler *s);
	void (*get_stats)(struct sampler *s, struct sampler_stats *st);
	const char *(*describe)(struct sampler *s);
	void (*close)(struct sampler *s);
};

/* Every backend's state struct starts with this. */
struct sampler {
	const struct sampler_ops *ops;
};

#endif
