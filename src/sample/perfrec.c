/* Pure decoder for perf ring-buffer records. See include/perfrec.h.
 * Field order of PERF_RECORD_SAMPLE follows include/uapi/linux/perf_event.h;
 * every read is checked against the record's end first. */
#include <errno.h>
#include <string.h>
#include <linux/perf_event.h>

#include "perfrec.h"

/* Sample fields this decoder knows how to step over or decode. Anything
 * else (READ needs read_format, BRANCH_STACK needs branch flags, ...) would
 * make the offsets of later fields unknowable. */
#define KNOWN_SAMPLE_BITS (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | \
	PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | \
	PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | \
	PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW | PERF_SAMPLE_REGS_USER | \
	PERF_SAMPLE_STACK_USER)

struct cursor {
	const uint8_t *p, *end;
};

static int take(struct cursor *c, size_t n, const uint8_t **at)
{
	if ((size_t)(c->end - c->p) < n)
		return -EINVAL;
	*at = c->p;
	c->p += n;
	return 0;
}

static int take_u64(struct cursor *c, uint64_t *v)
{
	const uint8_t *at;
	if (take(c, 8, &at))
		return -EINVAL;
	memcpy(v, at, 8);
	return 0;
}

static int skip_u64(struct cursor *c, uint64_t bit, uint64_t type)
{
	uint64_t dummy;
	if (!(type & bit))
		return 0;
	return take_u64(c, &dummy);
}

uint32_t perfrec_user_ips(const uint64_t *ips, uint32_t nr)
{
	uint32_t n = 0;
	int user = 1;   /* a chain without markers is taken as user entries */
	for (uint32_t i = 0; i < nr; i++) {
		if (ips[i] >= (uint64_t)PERF_CONTEXT_MAX) {
			user = ips[i] == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		n += user;
	}
	return n;
}

static int decode_sample(const struct perfrec_fmt *f, struct cursor *c,
			 struct raw_sample *s)
{
	uint64_t t = f->sample_type, v;
	const uint8_t *at;
	const uint64_t *ip_field = NULL;

	if (t & ~(uint64_t)KNOWN_SAMPLE_BITS)
		return -ENOTSUP;
	memset(s, 0, sizeof *s);

	if (skip_u64(c, PERF_SAMPLE_IDENTIFIER, t))
		return -EINVAL;
	if (t & PERF_SAMPLE_IP) {
		if (take(c, 8, &at))
			return -EINVAL;
		ip_field = (const uint64_t *)(const void *)at;
	}
	if (t & PERF_SAMPLE_TID) {
		uint32_t pt[2];
		if (take(c, 8, &at))
			return -EINVAL;
		memcpy(pt, at, 8);
		s->pid = (pid_t)pt[0];
		s->tid = (pid_t)pt[1];
	}
	if ((t & PERF_SAMPLE_TIME) && take_u64(c, &s->time_ns))
		return -EINVAL;
	if (skip_u64(c, PERF_SAMPLE_ADDR, t) || skip_u64(c, PERF_SAMPLE_ID, t) ||
	    skip_u64(c, PERF_SAMPLE_STREAM_ID, t) || skip_u64(c, PERF_SAMPLE_CPU, t))
		return -EINVAL;
	if ((t & PERF_SAMPLE_PERIOD) && take_u64(c, &s->period_ns))
		return -EINVAL;
	if (t & PERF_SAMPLE_CALLCHAIN) {
		if (take_u64(c, &v))
			return -EINVAL;
		/* nr is kernel-bounded (perf_event_max_stack + contexts); reject
		 * anything that does not fit the record before multiplying. */
		if (v > (uint64_t)(c->end - c->p) / 8 || v > UINT32_MAX)
			return -EINVAL;
		if (take(c, (size_t)v * 8, &at))
			return -EINVAL;
		s->nr_ips = (uint32_t)v;
		s->ips = v ? (const uint64_t *)(const void *)at : NULL;
	}
	if (t & PERF_SAMPLE_RAW) {
		uint32_t rsz;
		if (take(c, 4, &at))
			return -EINVAL;
		memcpy(&rsz, at, 4);
		if (take(c, rsz, &at))
			return -EINVAL;
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		uint64_t abi;
		if (take_u64(c, &abi))
			return -EINVAL;
		if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
			unsigned nregs = (unsigned)__builtin_popcountll(f->regs_mask);
			if (take(c, (size_t)nregs * 8, &at))
				return -EINVAL;
			/* perf's x86-64 register numbers equal enum ctop_reg for
			 * 0..23; registers outside the mask stay 0. */
			unsigned k = 0;
			for (unsigned bit = 0; bit < 64; bit++) {
				if (!(f->regs_mask & (UINT64_C(1) << bit)))
					continue;
				if (bit < CTOP_NREGS)
					memcpy(&s->regs[bit], at + 8 * k, 8);
				k++;
			}
			/* 32-bit tasks would need another register layout. */
			s->has_regs = abi == PERF_SAMPLE_REGS_ABI_64;
		}
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		uint64_t size, dyn;
		if (take_u64(c, &size))
			return -EINVAL;
		if (size) {
			if (size > (uint64_t)(c->end - c->p))
				return -EINVAL;
			if (take(c, (size_t)size, &at) || take_u64(c, &dyn))
				return -EINVAL;
			if (dyn > size)
				return -EINVAL;
			s->stack = dyn ? at : NULL;
			s->stack_size = dyn;
		}
	}
	/* Without a callchain or registers the sampled pc is all we have:
	 * hand it on as a one-entry chain. */
	if (!(t & PERF_SAMPLE_CALLCHAIN) && !s->has_regs && ip_field) {
		s->ips = ip_field;
		s->nr_ips = 1;
	}
	return 0;
}

int perfrec_decode(const struct perfrec_fmt *fmt, const void *rec, size_t len,
		   struct perfrec *out)
{
	struct perf_event_header h;
	struct cursor c;
	const uint8_t *at;

	memset(out, 0, sizeof *out);
	/* Decoded pointers (callchain) are read as u64 arrays. */
	if (!rec || ((uintptr_t)rec & 7) || len < sizeof h)
		return -EINVAL;
	memcpy(&h, rec, sizeof h);
	if (h.size != len || h.size < sizeof h)
		return -EINVAL;
	c.p = (const uint8_t *)rec + sizeof h;
	c.end = (const uint8_t *)rec + len;
	out->type = h.type;

	switch (h.type) {
	case PERF_RECORD_SAMPLE:
		out->kind = PERFREC_SAMPLE;
		return decode_sample(fmt, &c, &out->u.sample);
	case PERF_RECORD_LOST:          /* u64 id; u64 lost; */
		out->kind = PERFREC_LOST;
		if (take(&c, 8, &at) || take_u64(&c, &out->u.lost))
			return -EINVAL;
		return 0;
	case PERF_RECORD_LOST_SAMPLES:  /* u64 lost; */
		out->kind = PERFREC_LOST;
		return take_u64(&c, &out->u.lost);
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {        /* u32 pid, ppid, tid, ptid; u64 time; */
		uint32_t ids[4];
		out->kind = h.type == PERF_RECORD_FORK ? PERFREC_FORK : PERFREC_EXIT;
		if (take(&c, 16, &at))
			return -EINVAL;
		memcpy(ids, at, 16);
		out->u.task.pid = ids[0];
		out->u.task.ppid = ids[1];
		out->u.task.tid = ids[2];
		out->u.task.ptid = ids[3];
		return take_u64(&c, &out->u.task.time);
	}
	default:
		out->kind = PERFREC_OTHER;
		return 0;
	}
}
