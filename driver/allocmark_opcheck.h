/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The stateless check of one op record and of a pool tag name, shared by the
 * driver and the user-space kpool adapter (C and C++): both refuse the same
 * ops for the same reason. Slot contents and mailbox turns are the driver's.
 */
#ifndef ALLOCMARK_OPCHECK_H
#define ALLOCMARK_OPCHECK_H

#include "allocmark_uapi.h"

/* Printable ASCII only: 0x20 .. 0x7e, never Latin-1. */
static inline int allocmark_tag_valid(const __u8 name[4])
{
	int i;

	for (i = 0; i < 4; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return 0;
	return 1;
}

/* Bytes a touch byte makes the op write: 0 when it touches nothing. */
static inline __u64 allocmark_touch_bytes(__u8 touch, __u64 size)
{
	unsigned int policy = touch & ALLOCMARK_TOUCH_POLICY_MASK;
	unsigned int reps_log2 = touch >> ALLOCMARK_TOUCH_REPEAT_SHIFT;

	if (policy == ALLOCMARK_TOUCH_NONE)
		return 0;
	if (policy == ALLOCMARK_TOUCH_FIRST_BYTE)
		size = 1;
	/* Both sides are bounded before the shift: no overflow. */
	if (reps_log2 > ALLOCMARK_MAX_TOUCH_REPEAT_LOG2 ||
	    size > ALLOCMARK_MAX_TOUCH_BYTES)
		return ~0ULL;
	return size << reps_log2;
}

static inline enum allocmark_op_fault
allocmark_check_touch(__u8 touch, __u64 size)
{
	unsigned int reps_log2 = touch >> ALLOCMARK_TOUCH_REPEAT_SHIFT;

	if (reps_log2 > ALLOCMARK_MAX_TOUCH_REPEAT_LOG2 ||
	    (reps_log2 && !(touch & ALLOCMARK_TOUCH_POLICY_MASK)))
		return ALLOCMARK_FAULT_TOUCH;
	if (allocmark_touch_bytes(touch, size) > ALLOCMARK_MAX_TOUCH_BYTES)
		return ALLOCMARK_FAULT_TOUCH_BOUND;
	return ALLOCMARK_FAULT_NONE;
}

/*
 * Every field of every kind is checked: a field the kind does not use must
 * be zero (the tag of send, receive and free names the block's phase and is
 * range checked like any other). max_size is the backend's largest block.
 * No shift or multiplication runs on a value before its range is checked.
 */
static inline enum allocmark_op_fault
allocmark_op_check(const struct allocmark_op *op, __u32 nr_slots,
		   __u32 nr_tags, __u64 max_size)
{
	enum allocmark_op_fault f;

	if (op->kind >= ALLOCMARK_NR_OP_KINDS)
		return ALLOCMARK_FAULT_KIND;
	if (op->tag >= nr_tags)
		return ALLOCMARK_FAULT_TAG;
	if (op->align_log2 > ALLOCMARK_MAX_ALIGN_LOG2)
		return ALLOCMARK_FAULT_ALIGN;
	if (op->kind == ALLOCMARK_OP_PHASE) {
		if (op->slot)
			return ALLOCMARK_FAULT_SLOT;
	} else if (op->slot >= nr_slots) {
		return ALLOCMARK_FAULT_SLOT;
	}

	switch (op->kind) {
	case ALLOCMARK_OP_ALLOC:
	case ALLOCMARK_OP_REALLOC:
		if (!op->arg || op->arg > max_size)
			return ALLOCMARK_FAULT_SIZE;
		f = allocmark_check_touch(op->touch, op->arg);
		if (f != ALLOCMARK_FAULT_NONE)
			return f;
		return ALLOCMARK_FAULT_NONE;
	case ALLOCMARK_OP_FREE:
		if (!op->arg || op->arg > max_size)
			return ALLOCMARK_FAULT_SIZE;
		break;
	case ALLOCMARK_OP_PHASE:
		if (op->arg & ~ALLOCMARK_PHASE_RESPAWN)
			return ALLOCMARK_FAULT_ARG;
		break;
	}
	/* free, send, receive, phase allocate nothing: no touch, no align */
	if (op->touch)
		return ALLOCMARK_FAULT_TOUCH;
	if (op->align_log2)
		return ALLOCMARK_FAULT_ALIGN;
	return ALLOCMARK_FAULT_NONE;
}

static inline const char *allocmark_fault_name(unsigned int fault)
{
	switch (fault) {
	case ALLOCMARK_FAULT_NONE:
		return "none";
	case ALLOCMARK_FAULT_KIND:
		return "unknown op kind";
	case ALLOCMARK_FAULT_SLOT:
		return "slot out of range (phase: slot not 0)";
	case ALLOCMARK_FAULT_TAG:
		return "tag index not below nr_tags";
	case ALLOCMARK_FAULT_TOUCH:
		return "bad touch byte, or a touch on an op that allocates nothing";
	case ALLOCMARK_FAULT_TOUCH_BOUND:
		return "block size times touch repeats above the touch bound";
	case ALLOCMARK_FAULT_ALIGN:
		return "align_log2 above 12, or set on an op that allocates nothing";
	case ALLOCMARK_FAULT_SIZE:
		return "size 0 or above the backend's largest block";
	case ALLOCMARK_FAULT_ARG:
		return "phase arg with undefined bits";
	case ALLOCMARK_FAULT_SLOT_STATE:
		return "slot live/empty for this op, or free size differs";
	case ALLOCMARK_FAULT_MAILBOX:
		return "no such mailbox, or that use of it is over";
	}
	return "unknown fault";
}

#endif /* ALLOCMARK_OPCHECK_H */
