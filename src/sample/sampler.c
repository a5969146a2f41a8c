/* Dispatch to the sampler backend. */
#include "sampler_impl.h"

int sampler_wait(struct sampler *s, int timeout_ms) { return s->ops->wait(s, timeout_ms); }
int sampler_drain(struct sampler *s, sample_cb cb, void *arg) { return s->ops->drain(s, cb, arg); }
int sampler_target_gone(struct sampler *s) { return s->ops->target_gone(s); }
void sampler_get_stats(struct sampler *s, struct sampler_stats *st) { s->ops->get_stats(s, st); }
const char *sampler_describe(struct sampler *s) { return s->ops->describe(s); }
void sampler_close(struct sampler *s) { if (s) s->ops->close(s); }
