/* A minimal protocol buffers encoder: just what profile.proto needs (varints,
 * length-delimited fields, packed repeated integers, nested messages) on a
 * growable byte buffer. No schema, no reflection, no library: the same choice
 * Go's runtime/pprof makes, because a profile writer must not pull in a
 * protobuf runtime.
 *
 * Nested messages: pb_msg_start() remembers where the body begins, the body
 * is encoded in place, and pb_msg_end() inserts the tag and length in front
 * of it (one memmove of the body). Nesting is unlimited; keep the outermost
 * message unwrapped (a protobuf top-level message has no header). */
#ifndef CTOP_PB_H
#define CTOP_PB_H

#include <stddef.h>
#include <stdint.h>

struct pb {
	uint8_t *buf;
	size_t len, cap;
};

void pb_init(struct pb *b);
void pb_free(struct pb *b);
void pb_reset(struct pb *b);              /* len = 0, keeps the memory */

/* Raw encodings (no tag). */
void pb_raw_varint(struct pb *b, uint64_t v);
void pb_raw_bytes(struct pb *b, const void *p, size_t n);
/* Bytes needed for v as a varint (1..10). */
size_t pb_varint_len(uint64_t v);

/* Fields. The *_opt variants omit zero values (proto3 defaults); the plain
 * ones always write the field, for repeated scalars written one by one. */
void pb_uint64(struct pb *b, int field, uint64_t v);
void pb_uint64_opt(struct pb *b, int field, uint64_t v);
void pb_int64(struct pb *b, int field, int64_t v);     /* two's complement varint */
void pb_int64_opt(struct pb *b, int field, int64_t v);
void pb_bool_opt(struct pb *b, int field, int v);
void pb_bytes(struct pb *b, int field, const void *p, size_t n);
void pb_string(struct pb *b, int field, const char *s);  /* NULL = "" */

/* Packed repeated integers (one length-delimited field). Nothing is written
 * for n == 0. */
void pb_packed_uint64(struct pb *b, int field, const uint64_t *v, size_t n);
void pb_packed_int64(struct pb *b, int field, const int64_t *v, size_t n);

/* Nested message: start returns a mark to hand to end. */
size_t pb_msg_start(struct pb *b);
void pb_msg_end(struct pb *b, int field, size_t mark);

#endif
