/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-stream tick statistics: count/sum/min/max and the log-linear histogram
 * per timed op kind, in the layout user space uses (allocmark_uapi.h).
 */
#ifndef ALLOCMARK_HIST_H
#define ALLOCMARK_HIST_H

#include <linux/bitops.h>
#include <linux/math64.h>
#include <linux/types.h>

#include "allocmark_uapi.h"

struct am_timing {
	struct allocmark_kind_stats kinds[ALLOCMARK_NR_TIMED];
	u64 *hist;	/* [ALLOCMARK_NR_TIMED][ALLOCMARK_HIST_BUCKETS] */
	u64 clamped;	/* groups whose second TSC read was the lower */
};

/* msb(0) counts as 0, so values below 128 index themselves. */
static inline unsigned int am_hist_index(u64 v)
{
	int msb = v ? fls64(v) - 1 : 0;
	unsigned int shift = msb > 6 ? msb - 6 : 0;

	return (shift << 6) + (unsigned int)(v >> shift);
}

int am_timing_init(struct am_timing *t);
void am_timing_free(struct am_timing *t);

/*
 * Record n ops of one kind that together took @total ticks: each counts as
 * the average (a batch of one is a single op), the sum stays exact.
 */
static inline void am_timing_record(struct am_timing *t, unsigned int kind,
				    u64 total, unsigned int n)
{
	struct allocmark_kind_stats *k = &t->kinds[kind];
	u64 ticks = div_u64(total, n);

	k->count += n;
	k->sum += total;
	if (ticks < k->min)
		k->min = ticks;
	if (ticks > k->max)
		k->max = ticks;
	t->hist[kind * ALLOCMARK_HIST_BUCKETS + am_hist_index(ticks)] += n;
}

#endif /* ALLOCMARK_HIST_H */
