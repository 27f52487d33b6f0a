// SPDX-License-Identifier: GPL-2.0
/*
 * allocmark companion module: the /dev/allocmark misc device and the
 * lifetime of an open file (its streams and mailboxes).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "backend.h"
#include "ioctl.h"
#include "stream.h"
#include "tags.h"

static int am_open(struct inode *inode, struct file *file)
{
	struct am_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->tags = am_tag_table_alloc();
	if (!f->tags)
		goto out_free_file;
	mutex_init(&f->lock);
	xa_init_flags(&f->streams, XA_FLAGS_ALLOC1);
	am_mbox_init(&f->mbox);
	file->private_data = f;
	return 0;

out_free_file:
	kfree(f);
	return -ENOMEM;
}

/* No ioctl can run any more: free whatever the file's streams left. */
static int am_release(struct inode *inode, struct file *file)
{
	struct am_file *f = file->private_data;
	struct am_stream *s;
	unsigned long id;
	u64 n, bytes;

	xa_for_each(&f->streams, id, s) {
		am_stream_destroy(s, &n, &bytes);
		if (n)
			pr_warn("stream %lu closed with %llu live blocks (%llu bytes): freed as leaks\n",
				id, n, bytes);
	}
	xa_destroy(&f->streams);
	n = am_mbox_destroy(&f->mbox, &bytes);
	if (n)
		pr_warn("%llu blocks (%llu bytes) sent but never received: freed as leaks\n",
			n, bytes);
	am_tag_table_free(f->tags);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations am_fops = {
	.owner = THIS_MODULE,
	.open = am_open,
	.release = am_release,
	.unlocked_ioctl = am_ioctl,
	/* Same layout on 32-bit: fixed-width fields, pointers in __u64. */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice am_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "allocmark",
	.fops = &am_fops,
	.mode = 0600,
};

static int __init am_init(void)
{
	int err;

	err = am_backend_init();
	if (err)
		return err;
	err = misc_register(&am_misc);
	if (err)
		goto out_backend_exit;
	pr_info("ready: /dev/%s, ABI %d\n", am_misc.name, ALLOCMARK_ABI_VERSION);
	return 0;

out_backend_exit:
	am_backend_exit();
	return err;
}

/*
 * An open file pins the module (fops.owner), and closing it frees every block
 * its streams left, so no block outlives the module.
 */
static void __exit am_exit(void)
{
	misc_deregister(&am_misc);
	am_backend_exit();
}

module_init(am_init);
module_exit(am_exit);
MODULE_DESCRIPTION("allocmark: replay allocator op streams in the kernel");
MODULE_LICENSE("GPL");
