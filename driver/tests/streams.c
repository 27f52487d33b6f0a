/*
 * Deterministic op streams for the guest test; counts what each stream
 * should make the driver report, so the test can compare.
 */
#include "streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

void stream_push(struct test_stream *s, uint8_t kind, uint32_t slot,
		 uint64_t arg, uint8_t tag, uint8_t touch, uint8_t align_log2)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->ops = realloc(s->ops, s->cap * sizeof(*s->ops));
		if (!s->ops) {
			perror("realloc");
			exit(1);
		}
	}
	s->ops[s->n++] = (struct allocmark_op){
		.kind = kind, .align_log2 = align_log2, .touch = touch,
		.tag = tag, .slot = slot, .arg = arg,
	};
	if (kind <= ALLOCMARK_OP_REALLOC)
		s->kinds[kind]++;
	if (kind == ALLOCMARK_OP_ALLOC && tag < 2)
		s->tag_allocs[tag]++;
}

/* Largest block size a mixed stream draws from, per backend. */
static uint64_t max_mixed(unsigned int backend)
{
	static const uint64_t max[ALLOCMARK_NR_BACKENDS] = {
		32768, 8192, 262144, 65536,
	};
	return max[backend];
}

static uint64_t fixed_size(unsigned int backend)
{
	static const uint64_t size[ALLOCMARK_NR_BACKENDS] = {
		64, 64, 16384, 4096,
	};
	return size[backend];
}

static uint64_t draw_size(struct test_stream *s, unsigned int backend,
			  int mixed)
{
	uint64_t max = max_mixed(backend);

	if (!mixed)
		return fixed_size(backend);
	/* Mostly small blocks, sometimes up to the maximum. */
	if (rng_next(&s->rng) % 8)
		max = max < 1024 ? max : 1024;
	return 1 + rng_next(&s->rng) % max;
}

/* Handed-off block i of thread t: both sides must agree on its size. */
static uint64_t handoff_size(unsigned int backend, unsigned int t,
			     unsigned int i)
{
	return fixed_size(backend) + 8 * (t * TEST_HANDOFFS + i);
}

static void alloc_op(struct test_stream *s, uint32_t slot, uint64_t size,
		     uint8_t tag, int mixed)
{
	uint8_t touch = mixed ? rng_next(&s->rng) % 4 : ALLOCMARK_TOUCH_FIRST_BYTE;
	uint8_t align = mixed ? rng_next(&s->rng) % 7 : 0;

	stream_push(s, ALLOCMARK_OP_ALLOC, slot, size, tag, touch, align);
	s->slot_size[slot] = size;
}

static void free_op(struct test_stream *s, uint32_t slot, uint8_t tag)
{
	stream_push(s, ALLOCMARK_OP_FREE, slot, s->slot_size[slot], tag, 0, 0);
	s->slot_size[slot] = 0;
}

uint32_t stream_handoff_use;

static uint64_t handoff_arg(unsigned int t, unsigned int i)
{
	return (uint64_t)stream_handoff_use << 32 | (t * TEST_HANDOFFS + i);
}

void stream_build(struct test_stream *s, unsigned int backend, int mixed,
		  unsigned int t, unsigned int nr_threads, unsigned int rounds)
{
	unsigned int r, i, first = nr_threads > 1 ? TEST_HANDOFFS : 0;
	uint8_t tag = 0;

	memset(s, 0, sizeof(*s));
	s->rng = 0x9e3779b97f4a7c15ULL ^ (backend * 131 + t * 7 + mixed);

	/* Hand-offs out first, so no receive can wait on a later send. */
	for (i = 0; i < first; i++) {
		alloc_op(s, i, handoff_size(backend, t, i), tag, 0);
		stream_push(s, ALLOCMARK_OP_SEND, i, handoff_arg(t, i),
			    tag, 0, 0);
		s->slot_size[i] = 0;
	}

	for (r = 0; r < rounds; r++) {
		if (r == rounds / 2) {
			tag = 1;
			stream_push(s, ALLOCMARK_OP_PHASE, 0, 0, tag, 0, 0);
		}
		for (i = first; i < TEST_SLOTS; i++) {
			uint32_t slot = mixed ? first + rng_next(&s->rng) %
					(TEST_SLOTS - first) : i;

			if (!s->slot_size[slot]) {
				alloc_op(s, slot, draw_size(s, backend, mixed),
					 tag, mixed);
			} else if (mixed && rng_next(&s->rng) % 4 == 0) {
				uint64_t size = draw_size(s, backend, mixed);

				stream_push(s, ALLOCMARK_OP_REALLOC, slot, size,
					    tag, rng_next(&s->rng) % 4, 0);
				s->slot_size[slot] = size;
			} else {
				free_op(s, slot, tag);
			}
		}
	}
	for (i = first; i < TEST_SLOTS; i++)
		if (s->slot_size[i])
			free_op(s, i, tag);

	/* Take in and free what the other thread sent. */
	for (i = 0; i < first; i++) {
		unsigned int from = (t + 1) % nr_threads;

		stream_push(s, ALLOCMARK_OP_RECEIVE, i, handoff_arg(from, i),
			    tag, 0, 0);
		s->slot_size[i] = handoff_size(backend, from, i);
		free_op(s, i, tag);
	}
}

void stream_free(struct test_stream *s)
{
	free(s->ops);
	s->ops = NULL;
}
