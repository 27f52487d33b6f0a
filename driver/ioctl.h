/* SPDX-License-Identifier: GPL-2.0 */
/* The ioctl commands of /dev/allocmark (see allocmark_uapi.h). */
#ifndef ALLOCMARK_IOCTL_H
#define ALLOCMARK_IOCTL_H

struct file;

long am_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* ALLOCMARK_IOCTL_H */
