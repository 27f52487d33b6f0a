/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The four allocator backends behind one call shape, and the block record
 * a slot or mailbox holds.
 */
#ifndef ALLOCMARK_BACKEND_H
#define ALLOCMARK_BACKEND_H

#include <linux/types.h>

struct am_tag;

/* A live block; ptr == NULL marks an empty slot or mailbox. */
struct am_block {
	void *ptr;
	u64 size;		/* requested bytes, accounted to tag */
	u64 foot;		/* bytes the backend holds for it (the cap) */
	struct am_tag *tag;
	u8 backend;
	u8 cls;			/* kmem_cache class or page order */
	u8 align_log2;
	bool account;		/* charged to the memory cgroup */
};

/*
 * Where and how to allocate b->size bytes aligned to 2^b->align_log2 (both
 * range checked by the caller): sets b->cls and b->foot, or -EINVAL.
 */
int am_backend_prepare(struct am_block *b);
u64 am_backend_max_size(unsigned int backend);

/*
 * The live-bytes cap (module parameter max_live_bytes): charge before an
 * allocation, -ENOMEM past the cap; uncharge when bytes are given back.
 */
int am_backend_charge(u64 bytes);
void am_backend_uncharge(u64 bytes);
u64 am_backend_max_live(void);

/* The timed calls. @b is prepared; realloc leaves @b intact on failure. */
void *am_backend_alloc(const struct am_block *b);
void am_backend_free(const struct am_block *b);
void *am_backend_realloc(const struct am_block *old, const struct am_block *b);

int am_backend_init(void);
void am_backend_exit(void);

#endif /* ALLOCMARK_BACKEND_H */
