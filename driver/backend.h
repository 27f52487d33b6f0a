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
	struct am_tag *tag;
	u8 backend;
	u8 cls;			/* kmem_cache class or page order */
	u8 align_log2;
};

/*
 * Where and how to allocate size bytes: checks the size and alignment
 * against the backend and returns the class/order, or -EINVAL.
 */
int am_backend_prepare(unsigned int backend, u64 size,
		       unsigned int align_log2, u8 *cls);
u64 am_backend_max_size(unsigned int backend);

/* The timed calls. @b is prepared; realloc leaves @b intact on failure. */
void *am_backend_alloc(const struct am_block *b);
void am_backend_free(const struct am_block *b);
void *am_backend_realloc(const struct am_block *old, const struct am_block *b);

int am_backend_init(void);
void am_backend_exit(void);

#endif /* ALLOCMARK_BACKEND_H */
