/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pool tags: the poolmon view. Allocations, frees, leaks, live and peak bytes
 * per four-character tag, shared by every stream since the module loaded.
 */
#ifndef ALLOCMARK_TAGS_H
#define ALLOCMARK_TAGS_H

#include <linux/atomic.h>
#include <linux/types.h>

#include "allocmark_uapi.h"

struct am_tag {
	u8 name[4];
	atomic64_t allocs;
	atomic64_t frees;
	atomic64_t leaks;
	atomic64_t live_blocks;
	atomic64_t live_bytes;
	atomic64_t peak_bytes;
};

bool am_tag_name_valid(const u8 name[4]);
/* Find or add a tag; ERR_PTR(-ENOSPC) when the table is full. */
struct am_tag *am_tag_get(const u8 name[4]);
struct am_tag *am_tag_find(const u8 name[4]);
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
