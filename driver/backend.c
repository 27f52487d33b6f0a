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
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/version.h>

#include "allocmark_uapi.h"
#include "backend.h"

/* Failures are reported to user space as -ENOMEM, not splatted in dmesg. */
#define AM_GFP (GFP_KERNEL | __GFP_NOWARN)

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

static struct kmem_cache *am_caches[AM_NR_CACHES];

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

int am_backend_prepare(unsigned int backend, u64 size,
		       unsigned int align_log2, u8 *cls)
{
	u64 align = 1ULL << align_log2;

	if (!size || size > am_backend_max_size(backend) ||
	    align_log2 > ALLOCMARK_MAX_ALIGN_LOG2)
		return -EINVAL;

	*cls = 0;
	switch (backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		return am_kmalloc_size(size, align_log2) <= KMALLOC_MAX_SIZE ?
			0 : -EINVAL;
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		size = max3(size, align, 1ULL << AM_CACHE_MIN_SHIFT);
		if (size > 1ULL << AM_CACHE_MAX_SHIFT)
			return -EINVAL;
		*cls = order_base_2(size) - AM_CACHE_MIN_SHIFT;
		return 0;
	case ALLOCMARK_BACKEND_PAGES:
		*cls = get_order(size);
		return 0;
	}
	/* vmalloc: page aligned, which covers every alignment we accept */
	return 0;
}

void *am_backend_alloc(const struct am_block *b)
{
	struct page *page;

	switch (b->backend) {
	case ALLOCMARK_BACKEND_KMALLOC:
		return kmalloc(am_kmalloc_size(b->size, b->align_log2), AM_GFP);
	case ALLOCMARK_BACKEND_KMEM_CACHE:
		return kmem_cache_alloc(am_caches[b->cls], AM_GFP);
	case ALLOCMARK_BACKEND_VMALLOC:
		return __vmalloc(b->size, AM_GFP);
	case ALLOCMARK_BACKEND_PAGES:
		page = alloc_pages(AM_GFP, b->cls);
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
				AM_GFP);

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
