/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pool tags: the poolmon view. Allocations, frees, leaks, live and peak bytes
 * per four-character tag, in a table each open file owns.
 */
#ifndef ALLOCMARK_TAGS_H
#define ALLOCMARK_TAGS_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/types.h>

#include "allocmark_uapi.h"

/*
 * Each tag's counters are written by every thread allocating under it:
 * one cache line per tag, so two tags never share one.
 */
struct am_tag {
	atomic64_t allocs;
	atomic64_t frees;
	atomic64_t leaks;
	atomic64_t live_blocks;
	atomic64_t live_bytes;
	atomic64_t peak_bytes;
	u8 name[4];
} ____cacheline_aligned_in_smp;

/* The tags of one open file; its lock (am_file.lock) guards nr. */
struct am_tag_table {
	unsigned int nr;
	struct am_tag tag[ALLOCMARK_MAX_FILE_TAGS];
};

struct am_tag_table *am_tag_table_alloc(void);
void am_tag_table_free(struct am_tag_table *tt);

/* Tags among names[0..n) the table does not hold yet: -ENOSPC if no room. */
int am_tag_room(struct am_tag_table *tt, const u8 names[][4], unsigned int n);
/* Find or add each name (am_tag_room said there is room). */
void am_tag_register(struct am_tag_table *tt, const u8 names[][4],
		     unsigned int n, struct am_tag **out);
struct am_tag *am_tag_find(struct am_tag_table *tt, const u8 name[4]);
void am_tag_read(struct am_tag *t, struct allocmark_tag_stats *out);

/* A resized block keeps its tag; only the live bytes move. */
static inline void am_tag_resize(struct am_tag *t, u64 old, u64 new)
{
	s64 live = atomic64_add_return(new - old, &t->live_bytes);
	s64 peak = atomic64_read(&t->peak_bytes);

	while (live > peak && !atomic64_try_cmpxchg(&t->peak_bytes, &peak, live))
		;
}

static inline void am_tag_alloc(struct am_tag *t, u64 bytes)
{
	atomic64_inc(&t->allocs);
	atomic64_inc(&t->live_blocks);
	am_tag_resize(t, 0, bytes);
}

static inline void am_tag_free(struct am_tag *t, u64 bytes, bool leak)
{
	atomic64_inc(&t->frees);
	if (leak)
		atomic64_inc(&t->leaks);
	atomic64_dec(&t->live_blocks);
	atomic64_sub(bytes, &t->live_bytes);
}

#endif /* ALLOCMARK_TAGS_H */
