/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * allocmark companion driver ABI: the ioctls of /dev/allocmark, shared
 * verbatim by the kernel module and the user-space kpool adapter (C and C++).
 */
#ifndef ALLOCMARK_UAPI_H
#define ALLOCMARK_UAPI_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define ALLOCMARK_ABI_VERSION 3
#define ALLOCMARK_DEVICE "/dev/allocmark"

/*
 * One op of a thread's op stream; byte-compatible with allocmark::Op
 * (bench/op.h). 16 bytes, no implicit padding. REPLAY carries the record
 * size (op_size), so the record can grow; the spare bits below are reserved
 * and must be zero until they gain a meaning.
 */
struct allocmark_op {
	__u8 kind;		/* enum allocmark_op_kind in bits 0-2; */
				/* bits 3-7 reserved, 0 */
	__u8 align_log2;	/* 0: the backend's natural alignment; max 12 */
	__u8 touch;		/* enum allocmark_touch in bits 0-1, log2 of */
				/* repeats in bits 2-7; applied untimed */
	__u8 tag;		/* phase index into allocmark_begin.tags */
	__u32 slot;		/* index into the stream's slot table */
	__u64 arg;		/* bytes (alloc, realloc, free), or for */
				/* send/receive: mailbox in bits 0-31, */
				/* its use (hand-off number) in 32-63; */
				/* phase: ALLOCMARK_PHASE_* bits */
};

#define ALLOCMARK_OP_SIZE_VER0 16

enum allocmark_op_kind {
	ALLOCMARK_OP_ALLOC = 0,
	ALLOCMARK_OP_FREE = 1,		/* arg must equal the block's size */
	ALLOCMARK_OP_REALLOC = 2,
	ALLOCMARK_OP_SEND = 3,		/* mailbox = slots[slot], waits */
	ALLOCMARK_OP_RECEIVE = 4,	/* slots[slot] = mailbox, waits */
	ALLOCMARK_OP_PHASE = 5,
	ALLOCMARK_NR_OP_KINDS = 6,
};

/* Phase arg: user space replaces the OS thread here; the kernel ignores it. */
#define ALLOCMARK_PHASE_RESPAWN 1ULL

enum allocmark_touch {
	ALLOCMARK_TOUCH_NONE = 0,
	ALLOCMARK_TOUCH_FIRST_BYTE = 1,
	ALLOCMARK_TOUCH_WHOLE_BLOCK = 2,	/* write every cache line */
	ALLOCMARK_TOUCH_READ_BACK = 3,		/* write, then read them back */
};

#define ALLOCMARK_TOUCH_POLICY_MASK 3
#define ALLOCMARK_TOUCH_REPEAT_SHIFT 2
#define ALLOCMARK_MAX_TOUCH_REPEAT_LOG2 20	/* repeats is never none's */
/* Bytes one op may touch: block size (1 for first byte) times repeats. */
#define ALLOCMARK_MAX_TOUCH_BYTES 0x400000000ULL	/* 16 GiB */

/*
 * Why an op was refused (allocmark_replay.fault); the same codes come from
 * allocmark_op_check() in allocmark_opcheck.h, which user space runs too.
 */
enum allocmark_op_fault {
	ALLOCMARK_FAULT_NONE = 0,
	ALLOCMARK_FAULT_KIND = 1,	/* unknown kind or reserved kind bits */
	ALLOCMARK_FAULT_SLOT = 2,	/* slot >= nr_slots, or phase slot != 0 */
	ALLOCMARK_FAULT_TAG = 3,	/* tag >= nr_tags */
	ALLOCMARK_FAULT_TOUCH = 4,	/* bad touch byte, or one on an op */
					/* that allocates nothing */
	ALLOCMARK_FAULT_TOUCH_BOUND = 5,	/* size x repeats above the bound */
	ALLOCMARK_FAULT_ALIGN = 6,	/* align_log2 > 12, or set on an op */
					/* that allocates nothing */
	ALLOCMARK_FAULT_SIZE = 7,	/* 0 or above the backend's largest */
	ALLOCMARK_FAULT_ARG = 8,	/* phase arg bits that mean nothing */
	ALLOCMARK_FAULT_SLOT_STATE = 9,	/* slot live/empty, or free size */
					/* differs from the block's */
	ALLOCMARK_FAULT_MAILBOX = 10,	/* no such mailbox, or that use of */
					/* it is over */
	ALLOCMARK_NR_FAULTS = 11,
};

/* The Windows pool concept each backend stands in for is in README.md. */
enum allocmark_backend {
	ALLOCMARK_BACKEND_KMALLOC = 0,
	ALLOCMARK_BACKEND_KMEM_CACHE = 1,
	ALLOCMARK_BACKEND_VMALLOC = 2,
	ALLOCMARK_BACKEND_PAGES = 3,
	ALLOCMARK_NR_BACKENDS = 4,	/* of this header; VERSION says the */
					/* driver's own count */
};

/* Timed op kinds: index of the histograms and allocmark_kind_stats. */
enum allocmark_timed_kind {
	ALLOCMARK_TIMED_ALLOC = 0,
	ALLOCMARK_TIMED_FREE = 1,
	ALLOCMARK_TIMED_REALLOC = 2,
	ALLOCMARK_NR_TIMED = 3,
};

/*
 * Log-linear tick histogram, the layout user space uses: for v ticks,
 * shift = max(0, msb(v) - 6), index = (shift << 6) + (v >> shift).
 */
#define ALLOCMARK_HIST_BUCKETS 3776
#define ALLOCMARK_HIST_BYTES \
	(ALLOCMARK_NR_TIMED * ALLOCMARK_HIST_BUCKETS * sizeof(__u64))

#define ALLOCMARK_MAX_TAGS 16		/* per stream */
#define ALLOCMARK_MAX_FILE_TAGS 256	/* distinct tags per open file */
#define ALLOCMARK_MAX_SLOTS 0x100000U		/* 2^20 */
#define ALLOCMARK_MAX_MAILBOXES 0x100000U	/* 2^20 */
#define ALLOCMARK_MAX_OPS_PER_CALL 0x1000000ULL	/* 2^24 */
#define ALLOCMARK_MAX_BATCH 64
#define ALLOCMARK_MAX_STREAMS 256	/* live per open file */
#define ALLOCMARK_MAX_ALIGN_LOG2 12

/*
 * Every struct starts with its own size in bytes, set by the caller. The
 * kernel reads it with copy_struct_from_user(): a shorter struct down to
 * *_SIZE_VER0 is zero-extended, a longer (newer) one is accepted when the
 * bytes the kernel does not know are zero (-E2BIG otherwise). Sizes below
 * *_SIZE_VER0 or above 4096 get -EINVAL. Output is written back up to
 * min(size, kernel's size). Fields added later go at the end and mean
 * "absent" when zero.
 */

/* VERSION status bits: how the running kernel allocates and times. */
#define ALLOCMARK_STATUS_INIT_ON_ALLOC _BITULL(0)	/* allocations zeroed */
#define ALLOCMARK_STATUS_INIT_ON_FREE _BITULL(1)	/* frees zeroed */
#define ALLOCMARK_STATUS_ORDERED_TSC _BITULL(2)	/* fenced TSC reads */

/* ALLOCMARK_IOC_VERSION: what this driver supports. */
struct allocmark_version {
	__u32 size;
	__u32 abi_version;		/* out: ALLOCMARK_ABI_VERSION */
	__u32 nr_backends;		/* out: the driver's backends */
	__u32 hist_buckets;		/* out: per timed kind */
	__u32 max_tags;			/* out */
	__u32 max_slots;		/* out */
	__u32 max_mailboxes;		/* out */
	__u32 max_batch;		/* out */
	__u64 max_ops_per_call;		/* out */
	__u64 tick_khz;			/* out: TSC rate, 0 = unknown */
	__u64 begin_flags;		/* out: ALLOCMARK_BEGIN_* understood */
	__u64 status;			/* out: ALLOCMARK_STATUS_* */
	__u64 max_live_bytes;		/* out: cap on live bytes (module */
					/* parameter max_live_bytes) */
	__u64 max_touch_bytes;		/* out: ALLOCMARK_MAX_TOUCH_BYTES */
	__u64 max_size;			/* in: 0 or user pointer to __u64 */
					/* [max_size_len]: largest block */
					/* per backend, out */
	__u32 max_size_len;		/* in: entries max_size can hold */
	__u32 op_size;			/* out: the driver's op record size */
};

#define ALLOCMARK_VERSION_SIZE_VER0 96

/* BEGIN flags: opt-ins. */
#define ALLOCMARK_BEGIN_ACCOUNT _BITUL(0)	/* charge blocks to the */
						/* caller's memory cgroup */
#define ALLOCMARK_BEGIN_FLAGS ALLOCMARK_BEGIN_ACCOUNT

/*
 * ALLOCMARK_IOC_BEGIN: open a stream on this file; returns its id (> 0).
 * Streams of one file share its mailbox table, which grows to the largest
 * nr_mailboxes asked for.
 */
struct allocmark_begin {
	__u32 size;
	__u32 backend;			/* enum allocmark_backend */
	__u32 nr_slots;			/* 1 .. ALLOCMARK_MAX_SLOTS */
	__u32 nr_mailboxes;		/* 0 .. ALLOCMARK_MAX_MAILBOXES */
	__u32 batch;			/* 1: time each op; K <= MAX_BATCH */
	__u32 nr_tags;			/* 1 .. ALLOCMARK_MAX_TAGS */
	__u8 tags[ALLOCMARK_MAX_TAGS][4];	/* printable ASCII pool tags */
	__u32 flags;			/* ALLOCMARK_BEGIN_* */
	__u32 handoff_timeout_ms;	/* bound on one send/receive wait; */
					/* 0: the module's handoff_timeout_ms */
};

#define ALLOCMARK_BEGIN_SIZE_VER0 96

/*
 * ALLOCMARK_IOC_REPLAY: replay ops in the calling thread. On error, done
 * says how many ops took effect, fault why the next one was refused, and the
 * stream stays usable.
 */
struct allocmark_replay {
	__u32 size;
	__u32 stream;			/* id from ALLOCMARK_IOC_BEGIN */
	__u64 ops;			/* user pointer to nr_ops records */
	__u64 nr_ops;			/* 0 .. ALLOCMARK_MAX_OPS_PER_CALL */
	__u64 done;			/* out */
	__u32 op_size;			/* bytes per record: 16 .. 4096; */
					/* bytes past the driver's op_size */
					/* must be zero */
	__u32 fault;			/* out: enum allocmark_op_fault */
};

#define ALLOCMARK_REPLAY_SIZE_VER0 40

/* Tick statistics of one timed kind; min is ~0 while count is 0. */
struct allocmark_kind_stats {
	__u64 count;
	__u64 sum;
	__u64 min;
	__u64 max;
};

/*
 * ALLOCMARK_IOC_END: free what the stream left live (reported as leaks),
 * return its statistics and drop it.
 */
struct allocmark_end {
	__u32 size;
	__u32 stream;
	__u64 hist;			/* 0 or user pointer to __u64 */
					/* [ALLOCMARK_NR_TIMED][hist_buckets] */
	__u64 hist_bytes;		/* in: capacity at hist */
	__u64 hist_filled;		/* out: bytes written there */
	struct allocmark_kind_stats kinds[ALLOCMARK_NR_TIMED];	/* out */
	__u64 ops;			/* out: ops replayed */
	__u64 leaked_blocks;		/* out */
	__u64 leaked_bytes;		/* out */
	__u64 clamped;			/* out: timed groups whose second */
					/* TSC read was below the first */
};

#define ALLOCMARK_END_SIZE_VER0 160

/* ALLOCMARK_IOC_TAG_STATS: the poolmon view of one tag of this file. */
struct allocmark_tag_stats {
	__u32 size;
	__u8 tag[4];
	__u64 allocs;			/* out */
	__u64 frees;			/* out: includes leaks freed */
	__u64 leaks;			/* out: blocks freed as leaks */
	__u64 live_blocks;		/* out */
	__u64 live_bytes;		/* out: requested bytes */
	__u64 peak_bytes;		/* out */
};

#define ALLOCMARK_TAG_STATS_SIZE_VER0 56

/*
 * The size bits of these numbers are those of the first version; the driver
 * matches type, number and direction only, and takes the size from the
 * struct.
 */
#define ALLOCMARK_IOC_MAGIC 0xA7
#define ALLOCMARK_IOC_VERSION \
	_IOWR(ALLOCMARK_IOC_MAGIC, 0x00, struct allocmark_version)
#define ALLOCMARK_IOC_BEGIN \
	_IOW(ALLOCMARK_IOC_MAGIC, 0x01, struct allocmark_begin)
#define ALLOCMARK_IOC_REPLAY \
	_IOWR(ALLOCMARK_IOC_MAGIC, 0x02, struct allocmark_replay)
#define ALLOCMARK_IOC_END \
	_IOWR(ALLOCMARK_IOC_MAGIC, 0x03, struct allocmark_end)
#define ALLOCMARK_IOC_TAG_STATS \
	_IOWR(ALLOCMARK_IOC_MAGIC, 0x04, struct allocmark_tag_stats)

#endif /* ALLOCMARK_UAPI_H */
