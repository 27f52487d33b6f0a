// SPDX-License-Identifier: GPL-2.0
/*
 * The pool tag table of one open file: a fixed array searched only when a
 * stream begins or user space asks, so the hot path holds a pointer.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "tags.h"

struct am_tag_table *am_tag_table_alloc(void)
{
	return kvzalloc(sizeof(struct am_tag_table), GFP_KERNEL_ACCOUNT);
}

void am_tag_table_free(struct am_tag_table *tt)
{
	kvfree(tt);
}

struct am_tag *am_tag_find(struct am_tag_table *tt, const u8 name[4])
{
	unsigned int i;

	for (i = 0; i < tt->nr; i++)
		if (!memcmp(tt->tag[i].name, name, 4))
			return &tt->tag[i];
	return NULL;
}

int am_tag_room(struct am_tag_table *tt, const u8 names[][4], unsigned int n)
{
	unsigned int i, j, fresh = 0;

	for (i = 0; i < n; i++) {
		if (am_tag_find(tt, names[i]))
			continue;
		/* A name repeated within the request counts once. */
		for (j = 0; j < i && memcmp(names[j], names[i], 4); j++)
			;
		if (j == i)
			fresh++;
	}
	return tt->nr + fresh <= ALLOCMARK_MAX_FILE_TAGS ? 0 : -ENOSPC;
}

void am_tag_register(struct am_tag_table *tt, const u8 names[][4],
		     unsigned int n, struct am_tag **out)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		out[i] = am_tag_find(tt, names[i]);
		if (out[i])
			continue;
		out[i] = &tt->tag[tt->nr++];
		memcpy(out[i]->name, names[i], 4);
	}
}

void am_tag_read(struct am_tag *t, struct allocmark_tag_stats *out)
{
	out->allocs = atomic64_read(&t->allocs);
	out->frees = atomic64_read(&t->frees);
	out->leaks = atomic64_read(&t->leaks);
	out->live_blocks = atomic64_read(&t->live_blocks);
	out->live_bytes = atomic64_read(&t->live_bytes);
	out->peak_bytes = atomic64_read(&t->peak_bytes);
}
