// SPDX-License-Identifier: GPL-2.0
/*
 * Stream lifetime: checking a begin request, building the slot table and
 * timing buffers, and sweeping what a stream left live at its end.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "allocmark_opcheck.h"
#include "stream.h"
#include "tags.h"

static unsigned int handoff_timeout_ms = 60000;
module_param(handoff_timeout_ms, uint, 0644);
MODULE_PARM_DESC(handoff_timeout_ms,
		 "Bound on one send/receive wait when BEGIN sets none; 0: unbounded (still killable)");

static int am_begin_check(const struct allocmark_begin *req)
{
	unsigned int i;

	if (req->backend >= ALLOCMARK_NR_BACKENDS ||
	    !req->nr_slots || req->nr_slots > ALLOCMARK_MAX_SLOTS ||
	    req->nr_mailboxes > ALLOCMARK_MAX_MAILBOXES ||
	    !req->batch || req->batch > ALLOCMARK_MAX_BATCH ||
	    !req->nr_tags || req->nr_tags > ALLOCMARK_MAX_TAGS ||
	    req->flags & ~ALLOCMARK_BEGIN_FLAGS)
		return -EINVAL;
	for (i = 0; i < ALLOCMARK_MAX_TAGS; i++) {
		static const u8 unused[4];

		/* Unused entries are reserved: zero, so they can gain meaning. */
		if (i < req->nr_tags ? !allocmark_tag_valid(req->tags[i]) :
		    memcmp(req->tags[i], unused, 4))
			return -EINVAL;
	}
	return 0;
}

struct am_stream *am_stream_create(const struct allocmark_begin *req)
{
	struct am_stream *s;
	unsigned int ms;
	int err;

	err = am_begin_check(req);
	if (err)
		return ERR_PTR(err);

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->backend = req->backend;
	s->batch = req->batch;
	s->nr_slots = req->nr_slots;
	s->nr_tags = req->nr_tags;
	s->account = req->flags & ALLOCMARK_BEGIN_ACCOUNT;
	ms = req->handoff_timeout_ms ?: READ_ONCE(handoff_timeout_ms);
	s->handoff_timeout = ms ? msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;

	err = -ENOMEM;
	s->slots = kvcalloc(s->nr_slots, sizeof(*s->slots), GFP_KERNEL_ACCOUNT);
	if (!s->slots)
		goto out_free_stream;
	s->pending = kcalloc(s->batch, sizeof(*s->pending), GFP_KERNEL_ACCOUNT);
	if (!s->pending)
		goto out_free_slots;
	s->chunk = kmalloc_array(AM_CHUNK_OPS, sizeof(*s->chunk),
				 GFP_KERNEL_ACCOUNT);
	if (!s->chunk)
		goto out_free_pending;
	err = am_timing_init(&s->timing);
	if (err)
		goto out_free_chunk;
	return s;

out_free_chunk:
	kfree(s->chunk);
out_free_pending:
	kfree(s->pending);
out_free_slots:
	kvfree(s->slots);
out_free_stream:
	kfree(s);
	return ERR_PTR(err);
}

void am_stream_destroy(struct am_stream *s, u64 *leaked, u64 *leaked_bytes)
{
	u32 i;

	*leaked = 0;
	*leaked_bytes = 0;
	for (i = 0; i < s->nr_slots; i++) {
		struct am_block *b = &s->slots[i];

		if ((i & 4095) == 4095)
			cond_resched();
		if (!b->ptr)
			continue;
		am_backend_free(b);
		am_backend_uncharge(b->foot);
		am_tag_free(b->tag, b->size, true);
		(*leaked)++;
		*leaked_bytes += b->size;
	}
	am_timing_free(&s->timing);
	kfree(s->chunk);
	kfree(s->pending);
	kvfree(s->slots);
	kfree(s);
}
