// SPDX-License-Identifier: GPL-2.0
/*
 * Mailboxes: a spinlocked array of block records and a wait queue. Hand-offs
 * are untimed, so one lock per file is simple and cheap enough.
 */
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mailbox.h"
#include "tags.h"

/*
 * Streams are generated so every wait is matched by an earlier op of another
 * stream; the bound only stops a broken or hostile stream waiting forever.
 */
#define AM_RECEIVE_TIMEOUT (10 * HZ)

void am_mbox_init(struct am_mailboxes *m)
{
	spin_lock_init(&m->lock);
	init_waitqueue_head(&m->filled);
	m->box = NULL;
	m->nr = 0;
}

int am_mbox_reserve(struct am_mailboxes *m, u32 nr)
{
	struct am_mbox *box, *old;

	if (nr <= READ_ONCE(m->nr))
		return 0;
	box = kvcalloc(nr, sizeof(*box), GFP_KERNEL_ACCOUNT);
	if (!box)
		return -ENOMEM;

	spin_lock(&m->lock);
	old = m->box;
	if (old)
		memcpy(box, old, m->nr * sizeof(*box));
	m->box = box;
	WRITE_ONCE(m->nr, nr);
	spin_unlock(&m->lock);

	kvfree(old);
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
	box = &m->box[idx];
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
			struct am_block *b)
{
	u32 idx = lower_32_bits(arg);
	u64 turn = 2 * (u64)upper_32_bits(arg) + receive;
	int ret = 0;
	long left;

	left = wait_event_killable_timeout(m->filled,
					   (ret = am_mbox_try(m, idx, turn,
							      b)) != 0,
					   AM_RECEIVE_TIMEOUT);
	if (left < 0)
		return left;
	if (!left)
		return -ETIMEDOUT;
	if (ret < 0)
		return ret;
	/* A send can unblock a receive and a receive a reusing send. */
	wake_up_all(&m->filled);
	return 0;
}

int am_mbox_send(struct am_mailboxes *m, u64 arg, struct am_block *b)
{
	return am_mbox_wait(m, arg, false, b);
}

int am_mbox_receive(struct am_mailboxes *m, u64 arg, struct am_block *b)
{
	return am_mbox_wait(m, arg, true, b);
}

u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes)
{
	u64 leaked = 0;
	u32 i;

	*bytes = 0;
	for (i = 0; i < m->nr; i++) {
		struct am_block *b = &m->box[i].b;

		if (!b->ptr)
			continue;
		am_backend_free(b);
		am_tag_free(b->tag, b->size, true);
		leaked++;
		*bytes += b->size;
	}
	kvfree(m->box);
	m->box = NULL;
	m->nr = 0;
	return leaked;
}
