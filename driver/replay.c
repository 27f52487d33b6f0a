// SPDX-License-Identifier: GPL-2.0
/*
 * The replay loop: ops are copied in chunks, checked, and run in groups of
 * up to batch same-kind ops timed together with get_cycles(); bookkeeping
 * and touching happen after the group's second timestamp.
 */
#include <linux/cache.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/timex.h>
#include <linux/uaccess.h>

#include "stream.h"
#include "tags.h"

static_assert(sizeof(struct allocmark_op) == 16);
static_assert((int)ALLOCMARK_OP_ALLOC == (int)ALLOCMARK_TIMED_ALLOC);
static_assert((int)ALLOCMARK_OP_FREE == (int)ALLOCMARK_TIMED_FREE);
static_assert((int)ALLOCMARK_OP_REALLOC == (int)ALLOCMARK_TIMED_REALLOC);

/* Keeps read-back loads from being optimized away. */
static u8 am_touch_sink;

/*
 * The touch byte: the policy in bits 0-1, log2 of how often it is applied in
 * bits 2-7 (repeated writes model false sharing, as in user space).
 */
static void am_touch(u8 *p, u64 size, unsigned int touch)
{
	unsigned int policy = touch & ALLOCMARK_TOUCH_POLICY_MASK;
	u64 off, rep, reps = 1ULL << (touch >> ALLOCMARK_TOUCH_REPEAT_SHIFT);
	u8 sum = 0;

	if (policy == ALLOCMARK_TOUCH_NONE)
		return;
	for (rep = 0; rep < reps; rep++) {
		WRITE_ONCE(p[0], 1);
		if (policy == ALLOCMARK_TOUCH_FIRST_BYTE)
			continue;
		for (off = 0; off < size; off += L1_CACHE_BYTES)
			WRITE_ONCE(p[off], 1);
		WRITE_ONCE(p[size - 1], 1);
		if (policy != ALLOCMARK_TOUCH_READ_BACK)
			continue;
		for (off = 0; off < size; off += L1_CACHE_BYTES)
			sum += READ_ONCE(p[off]);
	}
	WRITE_ONCE(am_touch_sink, sum);
}

static bool am_touch_ok(unsigned int touch)
{
	unsigned int reps_log2 = touch >> ALLOCMARK_TOUCH_REPEAT_SHIFT;

	if (reps_log2 > ALLOCMARK_MAX_TOUCH_REPEAT_LOG2)
		return false;
	return reps_log2 == 0 ||
	       (touch & ALLOCMARK_TOUCH_POLICY_MASK) != ALLOCMARK_TOUCH_NONE;
}

/* Check a timed op against the slot table; describe its new block in *nb. */
static int am_check_timed(struct am_stream *s, const struct allocmark_op *op,
			  struct am_block *nb)
{
	struct am_block *b;

	if (op->slot >= s->nr_slots || op->tag >= s->nr_tags ||
	    !am_touch_ok(op->touch))
		return -EINVAL;
	b = &s->slots[op->slot];

	switch (op->kind) {
	case ALLOCMARK_OP_ALLOC:
		if (b->ptr)
			return -EINVAL;
		nb->backend = s->backend;
		nb->tag = s->tags[op->tag];
		break;
	case ALLOCMARK_OP_FREE:
		return b->ptr && op->arg == b->size ? 0 : -EINVAL;
	case ALLOCMARK_OP_REALLOC:
		if (!b->ptr)
			return -EINVAL;
		/* A block stays in its pool and keeps its tag when resized. */
		nb->backend = b->backend;
		nb->tag = b->tag;
		break;
	}
	nb->size = op->arg;
	nb->align_log2 = op->align_log2;
	return am_backend_prepare(nb->backend, nb->size, nb->align_log2,
				  &nb->cls);
}

/*
 * Run up to batch consecutive ops of ops[0]'s kind on distinct slots; returns
 * how many took effect, *err says why the next one did not run (0: it just
 * starts another group).
 */
static unsigned int am_replay_timed(struct am_stream *s,
				    const struct allocmark_op *ops,
				    unsigned int n, int *err)
{
	unsigned int kind = ops[0].kind, len = min(n, s->batch);
	unsigned int i, j, done;
	cycles_t t0, t1;

	for (i = 0; i < len && ops[i].kind == kind; i++) {
		for (j = 0; j < i && ops[j].slot != ops[i].slot; j++)
			;
		if (j < i)
			break;
		*err = am_check_timed(s, &ops[i], &s->pending[i]);
		if (*err)
			break;
	}
	len = i;
	if (!len)
		return 0;

	t0 = get_cycles();
	for (done = 0; done < len; done++) {
		struct am_block *old = &s->slots[ops[done].slot];
		struct am_block *nb = &s->pending[done];

		if (kind == ALLOCMARK_OP_ALLOC)
			nb->ptr = am_backend_alloc(nb);
		else if (kind == ALLOCMARK_OP_FREE)
			am_backend_free(old);
		else
			nb->ptr = am_backend_realloc(old, nb);
		if (kind != ALLOCMARK_OP_FREE && !nb->ptr)
			break;
	}
	t1 = get_cycles();

	if (done < len)
		*err = -ENOMEM;
	if (done)
		am_timing_record(&s->timing, kind, t1 - t0, done);

	for (i = 0; i < done; i++) {
		struct am_block *slot = &s->slots[ops[i].slot];
		struct am_block *nb = &s->pending[i];

		if (kind == ALLOCMARK_OP_FREE) {
			am_tag_free(slot->tag, slot->size, false);
			slot->ptr = NULL;
			continue;
		}
		if (kind == ALLOCMARK_OP_ALLOC)
			am_tag_alloc(nb->tag, nb->size);
		else
			am_tag_resize(nb->tag, slot->size, nb->size);
		*slot = *nb;
		am_touch(slot->ptr, slot->size, ops[i].touch);
	}
	return done;
}

static int am_replay_untimed(struct am_stream *s, struct am_mailboxes *m,
			     const struct allocmark_op *op)
{
	struct am_block *b = op->slot < s->nr_slots ? &s->slots[op->slot] : NULL;

	switch (op->kind) {
	case ALLOCMARK_OP_SEND:
		if (!b || !b->ptr)
			return -EINVAL;
		return am_mbox_send(m, op->arg, b);
	case ALLOCMARK_OP_RECEIVE:
		if (!b || b->ptr)
			return -EINVAL;
		return am_mbox_receive(m, op->arg, b);
	case ALLOCMARK_OP_PHASE:
		return op->tag < s->nr_tags ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int am_replay(struct am_stream *s, struct am_mailboxes *m,
	      const struct allocmark_op __user *ops, u64 nr, u64 *done)
{
	u64 pos;
	int err = 0;

	*done = 0;
	for (pos = 0; pos < nr; pos += AM_CHUNK_OPS) {
		unsigned int n = min_t(u64, nr - pos, AM_CHUNK_OPS), i = 0;

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		if (copy_from_user(s->chunk, ops + pos, n * sizeof(*ops)))
			return -EFAULT;

		while (i < n) {
			unsigned int k;

			if (s->chunk[i].kind <= ALLOCMARK_OP_REALLOC) {
				k = am_replay_timed(s, s->chunk + i, n - i, &err);
			} else {
				err = am_replay_untimed(s, m, s->chunk + i);
				k = !err;
			}
			i += k;
			*done += k;
			s->ops += k;
			if (err)
				return err;
		}
	}
	return 0;
}
