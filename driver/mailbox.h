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

/*
 * One mailbox. turn counts half-uses, as in user space (bench/replay.h): use
 * u is sent at turn 2u and received at turn 2u + 1, so a reused box never
 * hands a block to the wrong receiver however the threads interleave.
 */
struct am_mbox {
	struct am_block b;
	u64 turn;
};

struct am_mailboxes {
	spinlock_t lock;	/* guards box, nr and every entry */
	struct am_mbox *box;
	u32 nr;
	wait_queue_head_t filled;	/* any send or receive happened */
};

void am_mbox_init(struct am_mailboxes *m);
/* Grow to at least nr mailboxes; callers serialize growth. */
int am_mbox_reserve(struct am_mailboxes *m, u32 nr);
/*
 * arg is the op's: mailbox index in bits 0-31, use in bits 32-63. Send waits
 * (killable, bounded) for the box's turn 2u and takes *b; receive waits for
 * turn 2u + 1 and moves the block to *b. -EINVAL: no such box, or that use
 * of it is already over (e.g. a second send to a full box).
 */
int am_mbox_send(struct am_mailboxes *m, u64 arg, struct am_block *b);
int am_mbox_receive(struct am_mailboxes *m, u64 arg, struct am_block *b);
/* Free blocks nobody received, as leaks; returns how many. */
u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes);

#endif /* ALLOCMARK_MAILBOX_H */
