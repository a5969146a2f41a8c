/* Protocol buffers encoding on a growable buffer (see pb.h). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "pb.h"

enum { WT_VARINT = 0, WT_LEN = 2 };

void pb_init(struct pb *b)
{
	b->buf = NULL;
	b->len = b->cap = 0;
}

void pb_free(struct pb *b)
{
	free(b->buf);
	pb_init(b);
}

void pb_reset(struct pb *b) { b->len = 0; }

static void reserve(struct pb *b, size_t more)
{
	if (b->cap - b->len >= more)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < more)
		cap *= 2;
	b->buf = xrealloc(b->buf, cap);
	b->cap = cap;
}

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v at p (room for 10 bytes); returns bytes written. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

void pb_raw_varint(struct pb *b, uint64_t v)
{
	reserve(b, 10);
	b->len += put_varint(b->buf + b->len, v);
}

void pb_raw_bytes(struct pb *b, const void *p, size_t n)
{
	if (!n)
		return;
	reserve(b, n);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void tag(struct pb *b, int field, int wt)
{
	pb_raw_varint(b, ((uint64_t)field << 3) | (uint64_t)wt);
}

void pb_uint64(struct pb *b, int field, uint64_t v)
{
	tag(b, field, WT_VARINT);
	pb_raw_varint(b, v);
}

void pb_uint64_opt(struct pb *b, int field, uint64_t v)
{
	if (v)
		pb_uint64(b, field, v);
}

/* int64 (not sint64) in profile.proto: negative values take 10 bytes. */
void pb_int64(struct pb *b, int field, int64_t v) { pb_uint64(b, field, (uint64_t)v); }

void pb_int64_opt(struct pb *b, int field, int64_t v)
{
	if (v)
		pb_int64(b, field, v);
}

void pb_bool_opt(struct pb *b, int field, int v)
{
	if (v)
		pb_uint64(b, field, 1);
}

void pb_bytes(struct pb *b, int field, const void *p, size_t n)
{
	tag(b, field, WT_LEN);
	pb_raw_varint(b, n);
	pb_raw_bytes(b, p, n);
}

void pb_string(struct pb *b, int field, const char *s)
{
	if (!s)
		s = "";
	pb_bytes(b, field, s, strlen(s));
}

void pb_packed_uint64(struct pb *b, int field, const uint64_t *v, size_t n)
{
	if (!n)
		return;
	size_t body = 0;
	for (size_t i = 0; i < n; i++)
		body += pb_varint_len(v[i]);
	tag(b, field, WT_LEN);
	pb_raw_varint(b, body);
	reserve(b, body);
	for (size_t i = 0; i < n; i++)
		b->len += put_varint(b->buf + b->len, v[i]);
}

void pb_packed_int64(struct pb *b, int field, const int64_t *v, size_t n)
{
	if (!n)
		return;
	size_t body = 0;
	for (size_t i = 0; i < n; i++)
		body += pb_varint_len((uint64_t)v[i]);
	tag(b, field, WT_LEN);
	pb_raw_varint(b, body);
	reserve(b, body);
	for (size_t i = 0; i < n; i++)
		b->len += put_varint(b->buf + b->len, (uint64_t)v[i]);
}

size_t pb_msg_start(struct pb *b) { return b->len; }

void pb_msg_end(struct pb *b, int field, size_t mark)
{
	uint8_t hdr[20];
	size_t body = b->len - mark;
	size_t h = put_varint(hdr, ((uint64_t)field << 3) | WT_LEN);
	h += put_varint(hdr + h, body);
	reserve(b, h);
	memmove(b->buf + mark + h, b->buf + mark, body);
	memcpy(b->buf + mark, hdr, h);
	b->len += h;
}
