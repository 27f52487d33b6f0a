// SPDX-License-Identifier: GPL-2.0
/*
 * The allocator backends, each the Linux counterpart of a Windows pool:
 * kmalloc (non-paged pool), kmem_cache per size class (lookaside lists),
 * vmalloc (large virtually contiguous blocks), pages (the page allocator).
 */
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/version.h>

#include "allocmark_uapi.h"
#include "backend.h"

/*
 * Failures are reported to user space as -ENOMEM, not splatted in dmesg;
 * __GFP_RETRY_MAYFAIL makes even small allocations fail instead of invoking
 * the OOM killer, which GFP_KERNEL alone would do for them.
 */
#define AM_GFP (GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

#define AM_CACHE_MIN_SHIFT 3
#define AM_CACHE_MAX_SHIFT 13
#define AM_NR_CACHES (AM_CACHE_MAX_SHIFT - AM_CACHE_MIN_SHIFT + 1)
#define AM_VMALLOC_MAX (256ULL << 20)

/* MAX_ORDER became inclusive in 6.4 and was renamed in 6.8. */
#if defined(MAX_PAGE_ORDER)
#define AM_MAX_ORDER MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define AM_MAX_ORDER MAX_ORDER
#else
#define AM_MAX_ORDER (MAX_ORDER - 1)
#endif

/*
 * A dedicated cache must not be merged into another of the same size, or it
 * stops being a lookaside list of its own. Before SLAB_NO_MERGE existed, a
 * usercopy region was the documented way caches opt out of merging.
 */
#ifdef SLAB_NO_MERGE
#define AM_CACHE_FLAGS SLAB_NO_MERGE
#define AM_CACHE_USERSIZE(size) 0
#else
#define AM_CACHE_FLAGS 0
#define AM_CACHE_USERSIZE(size) (size)
#endif

/* Read on every timed kmem_cache call: keep it off written cache lines. */
static struct kmem_cache *am_caches[AM_NR_CACHES] __read_mostly;

static unsigned long max_live_bytes;
module_param(max_live_bytes, ulong, 0644);
MODULE_PARM_DESC(max_live_bytes,
		 "Cap on the bytes all live blocks hold; 0 at load: half of RAM");

/* Written by every allocation and free of every thread: a line of its own. */
static atomic64_t am_live ____cacheline_aligned_in_smp = ATOMIC64_INIT(0);

int am_backend_charge(u64 bytes)
{
	if ((u64)atomic64_add_return(bytes, &am_live) <=
	    READ_ONCE(max_live_bytes))
		return 0;
	atomic64_sub(bytes, &am_live);
	return -ENOMEM;
}

void am_backend_uncharge(u64 bytes)
{
	atomic64_sub(bytes, &am_live);
}

u64 am_backend_max_live(void)
{
	return READ_ONCE(max_live_bytes);
}

static gfp_t am_gfp(const struct am_block *b)
{
	return b->account ? AM_GFP | __GFP_ACCOUNT : AM_GFP;
}

/* kmalloc aligns power-of-two sizes naturally; round up only when asked. */
static u64 am_kmalloc_size(u64 size, unsigned int align_log2)
{
	u64 align = 1ULL << align_log2;

	if (align <= ARCH_KMALLOC_MINALIGN)
		return size;
	return roundup_pow_of_two(max(size, align));
}

u64 am_backend_max_size(unsigned int backend)
{
	switch (backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		return KMALLOC_MAX_SIZE;
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		return 1ULL << AM_CACHE_MAX_SHIFT;
	case ALLOCMARK_BACKEND_VMALLOC:
		return AM_VMALLOC_MAX;
	case ALLOCMARK_BACKEND_PAGES:
		return PAGE_SIZE << AM_MAX_ORDER;
	}
	return 0;
}

int am_backend_prepare(struct am_block *b)
{
	u64 size = b->size, align = 1ULL << b->align_log2;

	if (!size || size > am_backend_max_size(b->backend))
		return -EINVAL;

	b->cls = 0;
	switch (b->backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		size = am_kmalloc_size(size, b->align_log2);
		if (size > KMALLOC_MAX_SIZE)
			return -EINVAL;
		b->foot = size > KMALLOC_MAX_CACHE_SIZE ?
			  PAGE_SIZE << get_order(size) :
			  roundup_pow_of_two(max_t(u64, size, 8));
		return 0;
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		size = max3(size, align, 1ULL << AM_CACHE_MIN_SHIFT);
		if (size > 1ULL << AM_CACHE_MAX_SHIFT)
			return -EINVAL;
		b->cls = order_base_2(size) - AM_CACHE_MIN_SHIFT;
		b->foot = 1ULL << (b->cls + AM_CACHE_MIN_SHIFT);
		return 0;
	case ALLOCMARK_BACKEND_PAGES:
		b->cls = get_order(size);
		b->foot = PAGE_SIZE << b->cls;
		return 0;
	}
	/* vmalloc: page aligned, which covers every alignment we accept */
	b->foot = PAGE_ALIGN(size);
	return 0;
}

void *am_backend_alloc(const struct am_block *b)
{
	struct page *page;

	switch (b->backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		return kmalloc(am_kmalloc_size(b->size, b->align_log2),
			       am_gfp(b));
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		return kmem_cache_alloc(am_caches[b->cls], am_gfp(b));
	case ALLOCMARK_BACKEND_VMALLOC:
		return __vmalloc(b->size, am_gfp(b));
	case ALLOCMARK_BACKEND_PAGES:
		page = alloc_pages(am_gfp(b), b->cls);
		return page ? page_address(page) : NULL;
	}
	return NULL;
}

void am_backend_free(const struct am_block *b)
{
	switch (b->backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		kfree(b->ptr);
		break;
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		kmem_cache_free(am_caches[b->cls], b->ptr);
		break;
	case ALLOCMARK_BACKEND_VMALLOC:
		vfree(b->ptr);
		break;
	case ALLOCMARK_BACKEND_PAGES:
		free_pages((unsigned long)b->ptr, b->cls);
		break;
	}
}

/* krealloc where the backend has one, else in place or allocate+copy+free. */
void *am_backend_realloc(const struct am_block *old, const struct am_block *b)
{
	void *p;

	if (b->backend == ALLOCMARK_BACKEND_KMALLOC)
		return krealloc(old->ptr, am_kmalloc_size(b->size, b->align_log2),
				am_gfp(b));

	/* Same class, order or page count: the block already fits. */
	if (b->backend == ALLOCMARK_BACKEND_VMALLOC ?
	    PAGE_ALIGN(b->size) == PAGE_ALIGN(old->size) : b->cls == old->cls)
		return old->ptr;

	p = am_backend_alloc(b);
	if (!p)
		return NULL;
	memcpy(p, old->ptr, min(old->size, b->size));
	am_backend_free(old);
	return p;
}

int am_backend_init(void)
{
	unsigned int i, size, align;
	char name[32];
	int err;

	if (!max_live_bytes)
		max_live_bytes = (totalram_pages() << PAGE_SHIFT) / 2;
	for (i = 0; i < AM_NR_CACHES; i++) {
		size = 1U << (i + AM_CACHE_MIN_SHIFT);
		align = min_t(unsigned int, size, PAGE_SIZE);
		snprintf(name, sizeof(name), "allocmark-%u", size);
		am_caches[i] = kmem_cache_create_usercopy(name, size, align,
							  AM_CACHE_FLAGS, 0,
							  AM_CACHE_USERSIZE(size),
							  NULL);
		if (!am_caches[i]) {
			err = -ENOMEM;
			goto out_destroy_caches;
		}
	}
	return 0;

out_destroy_caches:
	while (i--)
		kmem_cache_destroy(am_caches[i]);
	return err;
}

void am_backend_exit(void)
{
	unsigned int i;

	for (i = 0; i < AM_NR_CACHES; i++)
		kmem_cache_destroy(am_caches[i]);
}
