// SPDX-License-Identifier: GPL-2.0
/*
 * Mailboxes: chunks of block records under one spinlock, and hashed wait
 * queues. Hand-offs are untimed, so one short-held lock per file suffices.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "mailbox.h"
#include "tags.h"

void am_mbox_init(struct am_mailboxes *m)
{
	unsigned int i;

	spin_lock_init(&m->lock);
	for (i = 0; i < AM_MBOX_WAITQS; i++)
		init_waitqueue_head(&m->wq[i]);
	memset(m->chunk, 0, sizeof(m->chunk));
	m->nr = 0;
	m->nr_chunks = 0;
}

int am_mbox_reserve(struct am_mailboxes *m, u32 nr)
{
	u32 want = DIV_ROUND_UP(nr, AM_MBOX_CHUNK);

	while (m->nr_chunks < want) {
		struct am_mbox *chunk;

		chunk = kvcalloc(AM_MBOX_CHUNK, sizeof(*chunk),
				 GFP_KERNEL_ACCOUNT);
		if (!chunk)
			return -ENOMEM;
		spin_lock(&m->lock);
		m->chunk[m->nr_chunks] = chunk;
		spin_unlock(&m->lock);
		m->nr_chunks++;
		cond_resched();
	}
	spin_lock(&m->lock);
	if (nr > m->nr)
		m->nr = nr;
	spin_unlock(&m->lock);
	return 0;
}

/*
 * One attempt at half-use `turn` of box idx: 1 done, 0 not its turn yet,
 * -EINVAL no such box or that turn is past. An even turn puts *b into the
 * box, an odd one takes the box's block into *b.
 */
static int am_mbox_try(struct am_mailboxes *m, u32 idx, u64 turn,
		       struct am_block *b)
{
	struct am_mbox *box;
	int ret = -EINVAL;

	spin_lock(&m->lock);
	if (idx >= m->nr)
		goto out_unlock;
	box = &m->chunk[idx >> AM_MBOX_CHUNK_SHIFT][idx & (AM_MBOX_CHUNK - 1)];
	if (box->turn > turn)
		goto out_unlock;
	ret = 0;
	if (box->turn < turn)
		goto out_unlock;
	if (turn & 1) {
		*b = box->b;
		box->b.ptr = NULL;
	} else {
		box->b = *b;
		b->ptr = NULL;
	}
	box->turn++;
	ret = 1;
out_unlock:
	spin_unlock(&m->lock);
	return ret;
}

static int am_mbox_wait(struct am_mailboxes *m, u64 arg, bool receive,
			struct am_block *b, long timeout)
{
	u32 idx = lower_32_bits(arg);
	u64 turn = 2 * (u64)upper_32_bits(arg) + receive;
	wait_queue_head_t *wq = &m->wq[idx % AM_MBOX_WAITQS];
	int ret = 0;
	long left;

	left = wait_event_killable_timeout(*wq,
					   (ret = am_mbox_try(m, idx, turn,
							      b)) != 0,
					   timeout);
	if (left < 0)
		return left;
	if (!left)
		return -ETIMEDOUT;
	if (ret < 0)
		return ret;
	/* A send can unblock a receive and a receive a reusing send. */
	wake_up_all(wq);
	return 0;
}

int am_mbox_send(struct am_mailboxes *m, u64 arg, struct am_block *b,
		 long timeout)
{
	return am_mbox_wait(m, arg, false, b, timeout);
}

int am_mbox_receive(struct am_mailboxes *m, u64 arg, struct am_block *b,
		    long timeout)
{
	return am_mbox_wait(m, arg, true, b, timeout);
}

u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes)
{
	u64 leaked = 0;
	u32 c, i;

	*bytes = 0;
	for (c = 0; c < m->nr_chunks; c++) {
		for (i = 0; i < AM_MBOX_CHUNK; i++) {
			struct am_block *b = &m->chunk[c][i].b;

			if (!b->ptr)
				continue;
			am_backend_free(b);
			am_backend_uncharge(b->foot);
			am_tag_free(b->tag, b->size, true);
			leaked++;
			*bytes += b->size;
		}
		kvfree(m->chunk[c]);
		m->chunk[c] = NULL;
		cond_resched();
	}
	m->nr = 0;
	m->nr_chunks = 0;
	return leaked;
}
