// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch: copies size-prefixed structs in and out, checks every
 * field user space controls, and maps stream ids to streams.
 */
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#ifdef CONFIG_X86
#include <asm/tsc.h>
#endif

#include "allocmark_opcheck.h"
#include "ioctl.h"
#include "stream.h"
#include "tags.h"

/* Match type, number and direction; sizes travel in the structs. */
#define AM_CMD(cmd) ((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/*
 * Read a struct that starts with its own size; min_size is the struct's
 * first version (*_SIZE_VER0), so every later version stays readable.
 */
static int am_copy_in(void *k, size_t ksize, size_t min_size,
		      void __user *u, u32 *usize)
{
	if (get_user(*usize, (u32 __user *)u))
		return -EFAULT;
	if (*usize < min_size || *usize > PAGE_SIZE)
		return -EINVAL;
	return copy_struct_from_user(k, ksize, u, *usize);
}

static int am_copy_out(void __user *u, u32 usize, const void *k, size_t ksize)
{
	return copy_to_user(u, k, min_t(size_t, usize, ksize)) ? -EFAULT : 0;
}

static u64 am_status(void)
{
	u64 status = 0;

	/* What `scripts/driver load` times on a stock kernel, unlike the VM. */
	if (want_init_on_alloc(GFP_KERNEL))
		status |= ALLOCMARK_STATUS_INIT_ON_ALLOC;
	if (want_init_on_free())
		status |= ALLOCMARK_STATUS_INIT_ON_FREE;
#ifdef CONFIG_X86
	status |= ALLOCMARK_STATUS_ORDERED_TSC;
#endif
	return status;
}

static int am_ioc_version(void __user *u)
{
	struct allocmark_version v;
	u64 sizes[ALLOCMARK_NR_BACKENDS];
	u64 __user *usizes;
	u32 usize, len, i;
	int err;

	err = am_copy_in(&v, sizeof(v), ALLOCMARK_VERSION_SIZE_VER0, u, &usize);
	if (err)
		return err;
	/* The caller sizes the per-backend array; the struct never grows. */
	usizes = u64_to_user_ptr(v.max_size);
	len = min_t(u32, v.max_size_len, ALLOCMARK_NR_BACKENDS);
	if (v.max_size && len) {
		for (i = 0; i < len; i++)
			sizes[i] = am_backend_max_size(i);
		if (copy_to_user(usizes, sizes, len * sizeof(sizes[0])))
			return -EFAULT;
	}

	v.size = sizeof(v);	/* tells user space how much the kernel knows */
	v.abi_version = ALLOCMARK_ABI_VERSION;
	v.nr_backends = ALLOCMARK_NR_BACKENDS;
	v.hist_buckets = ALLOCMARK_HIST_BUCKETS;
	v.max_tags = ALLOCMARK_MAX_TAGS;
	v.max_slots = ALLOCMARK_MAX_SLOTS;
	v.max_mailboxes = ALLOCMARK_MAX_MAILBOXES;
	v.max_batch = ALLOCMARK_MAX_BATCH;
	v.max_ops_per_call = ALLOCMARK_MAX_OPS_PER_CALL;
	v.tick_khz = 0;
#ifdef CONFIG_X86
	v.tick_khz = tsc_khz;	/* the TSC is the clock on x86 */
#endif
	v.begin_flags = ALLOCMARK_BEGIN_FLAGS;
	v.status = am_status();
	v.max_live_bytes = am_backend_max_live();
	v.max_touch_bytes = ALLOCMARK_MAX_TOUCH_BYTES;
	v.op_size = sizeof(struct allocmark_op);
	return am_copy_out(u, usize, &v, sizeof(v));
}

static int am_ioc_begin(struct am_file *f, void __user *u)
{
	struct allocmark_begin req;
	struct am_stream *s;
	u64 unused, unused_bytes;
	u32 usize, id;
	int err;

	err = am_copy_in(&req, sizeof(req), ALLOCMARK_BEGIN_SIZE_VER0, u,
			 &usize);
	if (err)
		return err;
	s = am_stream_create(&req);
	if (IS_ERR(s))
		return PTR_ERR(s);

	/* Nothing is registered until nothing else can fail. */
	mutex_lock(&f->lock);
	err = -EBUSY;
	if (f->nr_streams >= ALLOCMARK_MAX_STREAMS)
		goto out_unlock;
	err = am_tag_room(f->tags, req.tags, req.nr_tags);
	if (err)
		goto out_unlock;
	err = am_mbox_reserve(&f->mbox, req.nr_mailboxes);
	if (err)
		goto out_unlock;
	/* Cyclic ids: a late call with an ended stream's id never hits another. */
	err = xa_alloc_cyclic(&f->streams, &id, s, XA_LIMIT(1, INT_MAX),
			      &f->next_id, GFP_KERNEL_ACCOUNT);
	if (err < 0)
		goto out_unlock;
	am_tag_register(f->tags, req.tags, req.nr_tags, s->tags);
	f->nr_streams++;
	s->id = id;
	mutex_unlock(&f->lock);
	return id;

out_unlock:
	mutex_unlock(&f->lock);
	am_stream_destroy(s, &unused, &unused_bytes);
	return err;
}

/* Mark a stream busy so no other thread replays or ends it meanwhile. */
static struct am_stream *am_stream_claim(struct am_file *f, u32 id)
{
	struct am_stream *s;

	mutex_lock(&f->lock);
	s = xa_load(&f->streams, id);
	if (!s)
		s = ERR_PTR(-EINVAL);
	else if (s->busy)
		s = ERR_PTR(-EBUSY);
	else
		s->busy = true;
	mutex_unlock(&f->lock);
	return s;
}

static void am_stream_unclaim(struct am_file *f, struct am_stream *s)
{
	mutex_lock(&f->lock);
	s->busy = false;
	mutex_unlock(&f->lock);
}

static int am_ioc_replay(struct am_file *f, void __user *u)
{
	struct allocmark_replay req;
	struct am_stream *s;
	u32 usize;
	int err;

	err = am_copy_in(&req, sizeof(req), ALLOCMARK_REPLAY_SIZE_VER0, u,
			 &usize);
	if (err)
		return err;
	if (req.nr_ops > ALLOCMARK_MAX_OPS_PER_CALL ||
	    req.op_size < ALLOCMARK_OP_SIZE_VER0 || req.op_size > PAGE_SIZE)
		return -EINVAL;
	s = am_stream_claim(f, req.stream);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = am_replay(s, &f->mbox, u64_to_user_ptr(req.ops), req.op_size,
			req.nr_ops, &req.done);
	req.fault = s->fault;
	am_stream_unclaim(f, s);

	/* done is reported on failure too: it says where the stream stands. */
	if (am_copy_out(u, usize, &req, sizeof(req)) && !err)
		err = -EFAULT;
	return err;
}

static int am_ioc_end(struct am_file *f, void __user *u)
{
	struct allocmark_end req;
	struct am_stream *s;
	u32 usize;
	int err;

	err = am_copy_in(&req, sizeof(req), ALLOCMARK_END_SIZE_VER0, u, &usize);
	if (err)
		return err;
	if (!req.hist && req.hist_bytes)
		return -EINVAL;
	/* hist_bytes is a capacity: whole buckets up to our size are filled. */
	req.hist_filled = min_t(u64, req.hist_bytes, ALLOCMARK_HIST_BYTES) &
			  ~(u64)(sizeof(u64) - 1);
	s = am_stream_claim(f, req.stream);
	if (IS_ERR(s))
		return PTR_ERR(s);

	/* A bad histogram pointer leaves the stream alive for a retry. */
	if (req.hist_filled &&
	    copy_to_user(u64_to_user_ptr(req.hist), s->timing.hist,
			 req.hist_filled)) {
		am_stream_unclaim(f, s);
		return -EFAULT;
	}
	mutex_lock(&f->lock);
	xa_erase(&f->streams, s->id);
	f->nr_streams--;
	mutex_unlock(&f->lock);

	memcpy(req.kinds, s->timing.kinds, sizeof(req.kinds));
	req.ops = s->ops;
	req.clamped = s->timing.clamped;
	am_stream_destroy(s, &req.leaked_blocks, &req.leaked_bytes);
	return am_copy_out(u, usize, &req, sizeof(req));
}

static int am_ioc_tag_stats(struct am_file *f, void __user *u)
{
	struct allocmark_tag_stats req;
	struct am_tag *t;
	u32 usize;
	int err;

	err = am_copy_in(&req, sizeof(req), ALLOCMARK_TAG_STATS_SIZE_VER0, u,
			 &usize);
	if (err)
		return err;
	if (!allocmark_tag_valid(req.tag))
		return -EINVAL;
	mutex_lock(&f->lock);
	t = am_tag_find(f->tags, req.tag);
	if (t)
		am_tag_read(t, &req);
	mutex_unlock(&f->lock);
	if (!t)
		return -ENOENT;
	return am_copy_out(u, usize, &req, sizeof(req));
}

long am_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct am_file *f = file->private_data;
	void __user *u = (void __user *)arg;

	if (_IOC_TYPE(cmd) != ALLOCMARK_IOC_MAGIC)
		return -ENOTTY;

	switch (AM_CMD(cmd)) {
	case AM_CMD(ALLOCMARK_IOC_VERSION):
		return am_ioc_version(u);
	case AM_CMD(ALLOCMARK_IOC_BEGIN):
		return am_ioc_begin(f, u);
	case AM_CMD(ALLOCMARK_IOC_REPLAY):
		return am_ioc_replay(f, u);
	case AM_CMD(ALLOCMARK_IOC_END):
		return am_ioc_end(f, u);
	case AM_CMD(ALLOCMARK_IOC_TAG_STATS):
		return am_ioc_tag_stats(f, u);
	}
	return -ENOTTY;
}
