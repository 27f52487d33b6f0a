// SPDX-License-Identifier: GPL-2.0
/*
 * Mailboxes: a spinlocked array of block records and a wait queue. Hand-offs
 * are untimed, so one lock per file is simple and cheap enough.
 */
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mailbox.h"
#include "tags.h"

/*
 * Streams are generated so every receive is matched by a send; the bound
 * only stops a broken or hostile stream from waiting forever.
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
	struct am_block *box, *old;

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

int am_mbox_send(struct am_mailboxes *m, u64 idx, struct am_block *b)
{
	int err = -EINVAL;

	spin_lock(&m->lock);
	if (idx < m->nr && !m->box[idx].ptr) {
		m->box[idx] = *b;
		b->ptr = NULL;
		err = 0;
	}
	spin_unlock(&m->lock);
	if (!err)
		wake_up_all(&m->filled);
	return err;
}

/* 1: moved, 0: still empty, -EINVAL: no such mailbox. */
static int am_mbox_take(struct am_mailboxes *m, u64 idx, struct am_block *b)
{
	int ret = -EINVAL;

	spin_lock(&m->lock);
	if (idx < m->nr) {
		ret = 0;
		if (m->box[idx].ptr) {
			*b = m->box[idx];
			m->box[idx].ptr = NULL;
			ret = 1;
		}
	}
	spin_unlock(&m->lock);
	return ret;
}

int am_mbox_receive(struct am_mailboxes *m, u64 idx, struct am_block *b)
{
	int ret = 0;
	long left;

	left = wait_event_killable_timeout(m->filled,
					   (ret = am_mbox_take(m, idx, b)) != 0,
					   AM_RECEIVE_TIMEOUT);
	if (left < 0)
		return left;
	if (!left)
		return -ETIMEDOUT;
	return ret < 0 ? ret : 0;
}

u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes)
{
	u64 leaked = 0;
	u32 i;

	*bytes = 0;
	for (i = 0; i < m->nr; i++) {
		struct am_block *b = &m->box[i];

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
