// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation of the per-stream histograms. The index and record helpers are
 * inline in hist.h because they run once per replayed op.
 */
#include <linux/limits.h>
#include <linux/slab.h>

#include "hist.h"

int am_timing_init(struct am_timing *t)
{
	unsigned int i;

	for (i = 0; i < ALLOCMARK_NR_TIMED; i++)
		t->kinds[i] = (struct allocmark_kind_stats){ .min = U64_MAX };
	t->clamped = 0;
	t->hist = kvzalloc(ALLOCMARK_HIST_BYTES, GFP_KERNEL_ACCOUNT);
	return t->hist ? 0 : -ENOMEM;
}

void am_timing_free(struct am_timing *t)
{
	kvfree(t->hist);
	t->hist = NULL;
}
