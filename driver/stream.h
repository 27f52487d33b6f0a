/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Streams: one thread's op stream replayed over several ioctl calls, with
 * the slot table and timing that persist between them; and the open file
 * that owns streams and their shared mailbox table.
 */
#ifndef ALLOCMARK_STREAM_H
#define ALLOCMARK_STREAM_H

#include <linux/mutex.h>
#include <linux/xarray.h>

#include "allocmark_uapi.h"
#include "backend.h"
#include "hist.h"
#include "mailbox.h"

/* Ops copied from user space per step, and checked for signals. */
#define AM_CHUNK_OPS 256

/* Fatal signals and rescheduling are checked every this many touched bytes. */
#define AM_TOUCH_STEP (4ULL << 20)

struct am_tag;
struct am_tag_table;

struct am_stream {
	u32 id;
	bool busy;		/* a replay runs; guarded by am_file.lock */
	bool account;		/* ALLOCMARK_BEGIN_ACCOUNT */
	u8 backend;
	u32 batch;
	u32 nr_slots;
	u32 nr_tags;
	long handoff_timeout;	/* jiffies, or MAX_SCHEDULE_TIMEOUT */
	u32 fault;		/* enum allocmark_op_fault of the last refusal */
	struct am_tag *tags[ALLOCMARK_MAX_TAGS];
	struct am_block *slots;
	struct am_block *pending;	/* [batch]: blocks of the timed group */
	struct allocmark_op *chunk;	/* [AM_CHUNK_OPS] */
	struct am_timing timing;
	u64 ops;
};

struct am_file {
	struct mutex lock;	/* guards streams, busy flags, mailbox growth, */
				/* tag registration */
	struct xarray streams;
	u32 next_id;		/* ids are handed out cyclically */
	unsigned int nr_streams;
	struct am_tag_table *tags;
	struct am_mailboxes mbox;
};

/* Validate a begin request and build the stream (not yet published). */
struct am_stream *am_stream_create(const struct allocmark_begin *req);
/* Free what the stream left live as leaks, then the stream itself. */
void am_stream_destroy(struct am_stream *s, u64 *leaked, u64 *leaked_bytes);

/*
 * Replay nr ops of op_size bytes each from user memory; *done counts the
 * ops that took effect, s->fault says why the next one was refused.
 */
int am_replay(struct am_stream *s, struct am_mailboxes *m,
	      const void __user *ops, u32 op_size, u64 nr, u64 *done);

#endif /* ALLOCMARK_STREAM_H */
