/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mailbox table of one open file: cross-thread hand-offs of live blocks
 * between the file's streams (send fills a mailbox, receive empties it).
 */
#ifndef ALLOCMARK_MAILBOX_H
#define ALLOCMARK_MAILBOX_H

#include <linux/bits.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "allocmark_uapi.h"
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

/*
 * Boxes live in chunks that never move, so growing the table allocates new
 * chunks and copies nothing. Waiters sleep on one of AM_MBOX_WAITQS queues
 * picked by box index, so a hand-off wakes only the waiters of boxes that
 * hash alike, not every waiter of the file.
 */
#define AM_MBOX_CHUNK_SHIFT 12
#define AM_MBOX_CHUNK BIT(AM_MBOX_CHUNK_SHIFT)
#define AM_MBOX_NR_CHUNKS (ALLOCMARK_MAX_MAILBOXES >> AM_MBOX_CHUNK_SHIFT)
#define AM_MBOX_WAITQS 64

struct am_mailboxes {
	spinlock_t lock;	/* guards nr, chunk[] and every entry */
	u32 nr;			/* boxes in use: indexes below nr */
	u32 nr_chunks;		/* chunks allocated; growth is serialized */
	struct am_mbox *chunk[AM_MBOX_NR_CHUNKS];
	wait_queue_head_t wq[AM_MBOX_WAITQS];
};

void am_mbox_init(struct am_mailboxes *m);
/* Grow to at least nr mailboxes; callers serialize growth. */
int am_mbox_reserve(struct am_mailboxes *m, u32 nr);
/*
 * arg is the op's: mailbox index in bits 0-31, use in bits 32-63. Send waits
 * (killable, at most timeout jiffies; MAX_SCHEDULE_TIMEOUT: unbounded) for
 * the box's turn 2u and takes *b; receive waits for turn 2u + 1 and moves
 * the block to *b. -EINVAL: no such box, or that use of it is already over
 * (e.g. a second send to a full box); -ETIMEDOUT: the bound elapsed.
 */
int am_mbox_send(struct am_mailboxes *m, u64 arg, struct am_block *b,
		 long timeout);
int am_mbox_receive(struct am_mailboxes *m, u64 arg, struct am_block *b,
		    long timeout);
/* Free blocks nobody received, as leaks; returns how many. */
u64 am_mbox_destroy(struct am_mailboxes *m, u64 *bytes);

#endif /* ALLOCMARK_MAILBOX_H */
