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

#include "ioctl.h"
#include "stream.h"
#include "tags.h"

/* Match type, number and direction; sizes travel in the structs. */
#define AM_CMD(cmd) ((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/*
 * Read a struct that starts with its own size. min_size is the struct's
 * first version: every ABI 1 struct is its own first version.
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

static int am_ioc_version(void __user *u)
{
	struct allocmark_version v;
	unsigned int i;
	u32 usize;
	int err;

	err = am_copy_in(&v, sizeof(v), sizeof(v), u, &usize);
	if (err)
		return err;
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);	/* tells user space how much the kernel knows */
	v.abi_version = ALLOCMARK_ABI_VERSION;
	v.nr_backends = ALLOCMARK_NR_BACKENDS;
	v.hist_buckets = ALLOCMARK_HIST_BUCKETS;
	v.max_tags = ALLOCMARK_MAX_TAGS;
	v.max_slots = ALLOCMARK_MAX_SLOTS;
	v.max_mailboxes = ALLOCMARK_MAX_MAILBOXES;
	v.max_batch = ALLOCMARK_MAX_BATCH;
	v.max_ops_per_call = ALLOCMARK_MAX_OPS_PER_CALL;
#ifdef CONFIG_X86
	v.tick_khz = tsc_khz;	/* get_cycles() reads the TSC on x86 */
#endif
	for (i = 0; i < ALLOCMARK_NR_BACKENDS; i++)
		v.max_size[i] = am_backend_max_size(i);
	return am_copy_out(u, usize, &v, sizeof(v));
}

static int am_ioc_begin(struct am_file *f, void __user *u)
{
	struct allocmark_begin req;
	struct am_stream *s;
	u64 unused, unused_bytes;
	u32 usize, id;
	int err;

	err = am_copy_in(&req, sizeof(req), sizeof(req), u, &usize);
	if (err)
		return err;
	s = am_stream_create(&req);
	if (IS_ERR(s))
		return PTR_ERR(s);

	mutex_lock(&f->lock);
	err = am_mbox_reserve(&f->mbox, req.nr_mailboxes);
	if (err)
		goto out_unlock;
	err = xa_alloc(&f->streams, &id, s,
		       XA_LIMIT(1, ALLOCMARK_MAX_STREAMS), GFP_KERNEL_ACCOUNT);
	if (err)
		goto out_unlock;
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

	err = am_copy_in(&req, sizeof(req), sizeof(req), u, &usize);
	if (err)
		return err;
	if (req.nr_ops > ALLOCMARK_MAX_OPS_PER_CALL)
		return -EINVAL;
	s = am_stream_claim(f, req.stream);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = am_replay(s, &f->mbox, u64_to_user_ptr(req.ops), req.nr_ops,
			&req.done);
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

	err = am_copy_in(&req, sizeof(req), sizeof(req), u, &usize);
	if (err)
		return err;
	if (req.reserved || (req.hist ? req.hist_bytes != ALLOCMARK_HIST_BYTES :
			     req.hist_bytes != 0))
		return -EINVAL;
	s = am_stream_claim(f, req.stream);
	if (IS_ERR(s))
		return PTR_ERR(s);

	/* A bad histogram pointer leaves the stream alive for a retry. */
	if (req.hist && copy_to_user(u64_to_user_ptr(req.hist), s->timing.hist,
				     ALLOCMARK_HIST_BYTES)) {
		am_stream_unclaim(f, s);
		return -EFAULT;
	}
	mutex_lock(&f->lock);
	xa_erase(&f->streams, s->id);
	mutex_unlock(&f->lock);

	memcpy(req.kinds, s->timing.kinds, sizeof(req.kinds));
	req.ops = s->ops;
	am_stream_destroy(s, &req.leaked_blocks, &req.leaked_bytes);
	return am_copy_out(u, usize, &req, sizeof(req));
}

static int am_ioc_tag_stats(void __user *u)
{
	struct allocmark_tag_stats req;
	struct am_tag *t;
	u32 usize;
	int err;

	err = am_copy_in(&req, sizeof(req), sizeof(req), u, &usize);
	if (err)
		return err;
	if (!am_tag_name_valid(req.tag))
		return -EINVAL;
	t = am_tag_find(req.tag);
	if (!t)
		return -ENOENT;
	am_tag_read(t, &req);
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
		return am_ioc_tag_stats(u);
	}
	return -ENOTTY;
}
