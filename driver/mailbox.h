/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mailbox table of one open file: cross-thread hand-offs of live blocks
 * between the file's streams (send fills a mailbox, receive empties it).
 */
#ifndef ALLOCMARK_MAILBOX_H
#define ALLOCMARK_MAILBOX_H

#include <linux/spinlock.h>
#include <linux/wait.h>

#include "backend.h"

struct am_mailboxes {
	spinlock_t lock;	/* guards box, nr and every entry */
	struct am_block *box;
	u32 nr;
	wait_queue_head_t filled;
};

void am_mbox_init(struct am_mailboxes *m);
/* Grow to at least nr mailboxes; callers serialize growth. */
int am_mbox_reserve(struct am_mailboxes *m, u32 nr);
/* Take *b into mailbox idx; -EINVAL if out of range or already full. */
int am_mbox_send(struct am_mailboxes *m, u64 idx, struct am_block *b);
/* Wait (killable, bounded) until mailbox idx is full and move it to *b. */
int am_mbox_receive(struct am_mailboxes *m, u64 idx, struct am_block *b);
/* Free blocks nobody received, as leaks; returns how many. */
u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes);

#endif /* ALLOCMARK_MAILBOX_H */
