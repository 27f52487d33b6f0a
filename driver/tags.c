// SPDX-License-Identifier: GPL-2.0
/*
 * The pool tag table: a fixed array searched only when a stream begins or
 * user space asks, so the hot path holds a pointer and touches atomics only.
 */
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "tags.h"

#define AM_TAG_TABLE_SIZE 256

static struct am_tag am_tags[AM_TAG_TABLE_SIZE];
static unsigned int am_nr_tags;
static DEFINE_SPINLOCK(am_tags_lock);

bool am_tag_name_valid(const u8 name[4])
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (!isprint(name[i]))
			return false;
	return true;
}

static struct am_tag *am_tag_lookup(const u8 name[4])
{
	unsigned int i;

	for (i = 0; i < am_nr_tags; i++)
		if (!memcmp(am_tags[i].name, name, 4))
			return &am_tags[i];
	return NULL;
}

struct am_tag *am_tag_get(const u8 name[4])
{
	struct am_tag *t;

	spin_lock(&am_tags_lock);
	t = am_tag_lookup(name);
	if (!t && am_nr_tags < AM_TAG_TABLE_SIZE) {
		t = &am_tags[am_nr_tags];
		memcpy(t->name, name, 4);
		am_nr_tags++;
	}
	spin_unlock(&am_tags_lock);
	return t ? t : ERR_PTR(-ENOSPC);
}

struct am_tag *am_tag_find(const u8 name[4])
{
	struct am_tag *t;

	spin_lock(&am_tags_lock);
	t = am_tag_lookup(name);
	spin_unlock(&am_tags_lock);
	return t;
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
