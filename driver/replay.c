// SPDX-License-Identifier: GPL-2.0
/*
 * The replay loop: ops are copied in chunks, checked, and run in groups of
 * up to batch same-kind ops timed together with ordered TSC reads;
 * bookkeeping and touching happen after the group's second timestamp.
 */
#include <linux/compiler.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/timex.h>
#include <linux/uaccess.h>
#ifdef CONFIG_X86
#include <asm/msr.h>
#endif

#include "allocmark_opcheck.h"
#include "stream.h"
#include "tags.h"

static_assert(sizeof(struct allocmark_op) == ALLOCMARK_OP_SIZE_VER0);
static_assert((int)ALLOCMARK_OP_ALLOC == (int)ALLOCMARK_TIMED_ALLOC);
static_assert((int)ALLOCMARK_OP_FREE == (int)ALLOCMARK_TIMED_FREE);
static_assert((int)ALLOCMARK_OP_REALLOC == (int)ALLOCMARK_TIMED_REALLOC);

/*
 * A TSC read that neither earlier nor later instructions pass, as user
 * space fences its own (bench/clock.h); get_cycles() alone is unordered.
 */
static __always_inline u64 am_clock(void)
{
#ifdef CONFIG_X86
	return rdtsc_ordered();
#else
	u64 t;

	/* Keep the allocator calls out of the read and the read in place. */
	mb();
	t = get_cycles();
	/* Pairs with the barrier above: nothing timed moves past the read. */
	mb();
	return t;
#endif
}

/*
 * The touch byte: the policy in bits 0-1, log2 of how often it is applied in
 * bits 2-7 (repeated writes model false sharing, as in user space). The
 * work is bounded by the op check; every AM_TOUCH_STEP bytes the loop
 * reschedules and stops with -EINTR on a fatal signal.
 */
static int am_touch(u8 *p, u64 size, unsigned int touch)
{
	unsigned int policy = touch & ALLOCMARK_TOUCH_POLICY_MASK;
	u64 off, rep, reps = 1ULL << (touch >> ALLOCMARK_TOUCH_REPEAT_SHIFT);
	u64 work = 0;
	u8 sum = 0;

	if (policy == ALLOCMARK_TOUCH_NONE)
		return 0;
	for (rep = 0; rep < reps; rep++) {
		WRITE_ONCE(p[0], 1);
		work += policy == ALLOCMARK_TOUCH_FIRST_BYTE ? 1 : size;
		if (work >= AM_TOUCH_STEP) {
			work = 0;
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
		if (policy == ALLOCMARK_TOUCH_FIRST_BYTE)
			continue;
		for (off = 0; off < size; off += L1_CACHE_BYTES) {
			WRITE_ONCE(p[off], 1);
			/* One block may be large: check inside it too. */
			if (!((off + L1_CACHE_BYTES) & (AM_TOUCH_STEP - 1))) {
				if (fatal_signal_pending(current))
					return -EINTR;
				cond_resched();
			}
		}
		WRITE_ONCE(p[size - 1], 1);
		if (policy != ALLOCMARK_TOUCH_READ_BACK)
			continue;
		for (off = 0; off < size; off += L1_CACHE_BYTES)
			sum += READ_ONCE(p[off]);
	}
	/* Keeps the read-back loads without a shared variable to write. */
	OPTIMIZER_HIDE_VAR(sum);
	return 0;
}

/* Bytes a timed op needs charged against the live cap before it runs. */
static u64 am_charge_of(unsigned int kind, const struct am_block *old,
			const struct am_block *nb)
{
	if (kind == ALLOCMARK_OP_ALLOC)
		return nb->foot;
	if (kind == ALLOCMARK_OP_REALLOC && nb->foot > old->foot)
		return nb->foot - old->foot;
	return 0;
}

/*
 * Check a timed op against the slot table; describe its new block in *nb
 * and charge it to the live cap. The stateless part is allocmark_op_check().
 */
static int am_check_timed(struct am_stream *s, const struct allocmark_op *op,
			  struct am_block *nb)
{
	struct am_block *b = &s->slots[op->slot];
	int err;

	switch (op->kind) {
	case ALLOCMARK_OP_ALLOC:
		if (b->ptr)
			goto out_slot_state;
		nb->backend = s->backend;
		nb->tag = s->tags[op->tag];
		nb->account = s->account;
		break;
	case ALLOCMARK_OP_FREE:
		if (!b->ptr || op->arg != b->size)
			goto out_slot_state;
		return 0;
	case ALLOCMARK_OP_REALLOC:
		if (!b->ptr)
			goto out_slot_state;
		/* A block stays in its pool and keeps its tag when resized. */
		nb->backend = b->backend;
		nb->tag = b->tag;
		nb->account = b->account;
		break;
	}
	nb->size = op->arg;
	nb->align_log2 = op->align_log2;
	err = am_backend_prepare(nb);
	if (err) {
		s->fault = ALLOCMARK_FAULT_SIZE;
		return err;
	}
	return am_backend_charge(am_charge_of(op->kind, b, nb));

out_slot_state:
	s->fault = ALLOCMARK_FAULT_SLOT_STATE;
	return -EINVAL;
}

/* The group's ops from..len were charged but did not run. */
static void am_uncharge_rest(struct am_stream *s, const struct allocmark_op *ops,
			     unsigned int from, unsigned int len)
{
	for (; from < len; from++)
		am_backend_uncharge(am_charge_of(ops[from].kind,
						 &s->slots[ops[from].slot],
						 &s->pending[from]));
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
	u64 max_size = am_backend_max_size(s->backend);
	unsigned int i, j, done;
	u64 t0, t1;
	int touch_err = 0;

	for (i = 0; i < len && ops[i].kind == kind; i++) {
		for (j = 0; j < i && ops[j].slot != ops[i].slot; j++)
			;
		if (j < i)
			break;
		/* A refused op ends the group; the caller refuses it next. */
		if (i && allocmark_op_check(&ops[i], s->nr_slots, s->nr_tags,
					    max_size) != ALLOCMARK_FAULT_NONE)
			break;
		*err = am_check_timed(s, &ops[i], &s->pending[i]);
		if (*err)
			break;
	}
	len = i;
	if (!len)
		return 0;

	t0 = am_clock();
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
	t1 = am_clock();

	if (done < len) {
		*err = -ENOMEM;
		am_uncharge_rest(s, ops, done, len);
	}
	if (done) {
		/* A TSC read below the first (skew across a migration) is 0. */
		if (t1 < t0)
			s->timing.clamped++;
		am_timing_record(&s->timing, kind, t1 < t0 ? 0 : t1 - t0, done);
	}

	for (i = 0; i < done; i++) {
		struct am_block *slot = &s->slots[ops[i].slot];
		struct am_block *nb = &s->pending[i];

		if (kind == ALLOCMARK_OP_FREE) {
			am_backend_uncharge(slot->foot);
			am_tag_free(slot->tag, slot->size, false);
			slot->ptr = NULL;
			continue;
		}
		if (kind == ALLOCMARK_OP_ALLOC) {
			am_tag_alloc(nb->tag, nb->size);
		} else {
			am_tag_resize(nb->tag, slot->size, nb->size);
			if (nb->foot < slot->foot)
				am_backend_uncharge(slot->foot - nb->foot);
		}
		*slot = *nb;
		/* After a fatal signal the rest is booked but not touched. */
		if (!touch_err)
			touch_err = am_touch(slot->ptr, slot->size,
					     ops[i].touch);
	}
	if (touch_err)
		*err = touch_err;
	return done;
}

static int am_replay_untimed(struct am_stream *s, struct am_mailboxes *m,
			     const struct allocmark_op *op)
{
	struct am_block *b = &s->slots[op->slot];
	int err;

	switch (op->kind) {
	case ALLOCMARK_OP_SEND:
		if (!b->ptr)
			break;
		err = am_mbox_send(m, op->arg, b, s->handoff_timeout);
		if (err == -EINVAL)
			s->fault = ALLOCMARK_FAULT_MAILBOX;
		return err;
	case ALLOCMARK_OP_RECEIVE:
		if (b->ptr)
			break;
		err = am_mbox_receive(m, op->arg, b, s->handoff_timeout);
		if (err == -EINVAL)
			s->fault = ALLOCMARK_FAULT_MAILBOX;
		return err;
	case ALLOCMARK_OP_PHASE:
		return 0;
	}
	s->fault = ALLOCMARK_FAULT_SLOT_STATE;
	return -EINVAL;
}

/* Copy n records of op_size bytes; the bytes past our op must be zero. */
static int am_copy_ops(struct allocmark_op *k, const void __user *u,
		       u32 op_size, unsigned int n)
{
	unsigned int i;
	int err;

	if (op_size == sizeof(*k))
		return copy_from_user(k, u, n * sizeof(*k)) ? -EFAULT : 0;
	for (i = 0; i < n; i++) {
		err = copy_struct_from_user(&k[i], sizeof(*k),
					    u + (size_t)i * op_size, op_size);
		if (err)
			return err;
	}
	return 0;
}

int am_replay(struct am_stream *s, struct am_mailboxes *m,
	      const void __user *ops, u32 op_size, u64 nr, u64 *done)
{
	u64 pos, max_size = am_backend_max_size(s->backend);
	int err = 0;

	*done = 0;
	s->fault = ALLOCMARK_FAULT_NONE;
	for (pos = 0; pos < nr; pos += AM_CHUNK_OPS) {
		unsigned int n = min_t(u64, nr - pos, AM_CHUNK_OPS), i = 0;

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		err = am_copy_ops(s->chunk, ops + pos * op_size, op_size, n);
		if (err)
			return err;

		while (i < n) {
			const struct allocmark_op *op = &s->chunk[i];
			unsigned int k;

			s->fault = allocmark_op_check(op, s->nr_slots,
						      s->nr_tags, max_size);
			if (s->fault != ALLOCMARK_FAULT_NONE)
				return -EINVAL;
			if (op->kind <= ALLOCMARK_OP_REALLOC) {
				k = am_replay_timed(s, op, n - i, &err);
			} else {
				err = am_replay_untimed(s, m, op);
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
