/*
 * Op stream generator for the guest test: fixed-size and mixed streams per
 * backend, with cross-thread hand-offs through mailboxes for two threads.
 */
#ifndef ALLOCMARK_TEST_STREAMS_H
#define ALLOCMARK_TEST_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "allocmark_uapi.h"

#define TEST_SLOTS 64
#define TEST_HANDOFFS 16	/* blocks each thread sends to the other */

struct test_stream {
	struct allocmark_op *ops;
	size_t n, cap;
	uint64_t kinds[ALLOCMARK_NR_TIMED];	/* expected counts */
	uint64_t tag_allocs[2];			/* allocs per tag index */
	uint64_t slot_size[TEST_SLOTS];		/* generator's slot table */
	uint64_t rng;
};

/*
 * Thread t of nr_threads: rounds of allocation work on backend, fixed-size
 * or mixed; every block is freed by the end, some after a hand-off.
 */
/*
 * Hand-off number of every mailbox the next 2-thread streams use: the
 * driver reuses a box only in order of use (arg bits 32-63), so tests that
 * share one file bump it after each set of streams.
 */
extern uint32_t stream_handoff_use;

void stream_build(struct test_stream *s, unsigned int backend, int mixed,
		  unsigned int t, unsigned int nr_threads, unsigned int rounds);
void stream_free(struct test_stream *s);

/* Append one op (used by the hostile tests too). */
void stream_push(struct test_stream *s, uint8_t kind, uint32_t slot,
		 uint64_t arg, uint8_t tag, uint8_t touch, uint8_t align_log2);

#endif /* ALLOCMARK_TEST_STREAMS_H */
