/*
 * Shared helpers of the guest test: checks that count failures, and thin
 * wrappers of the allocmark ioctls.
 */
#ifndef ALLOCMARK_VM_TEST_H
#define ALLOCMARK_VM_TEST_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "allocmark_uapi.h"

void check_(int ok, const char *file, int line, const char *expr,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define CHECK(cond, ...) \
	check_((cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

/* ioctl that must fail with errno e. */
#define EXPECT_ERRNO(e, fd, cmd, arg, what)                                   \
	do {                                                                  \
		int rc_ = ioctl((fd), (cmd), (arg));                           \
		CHECK(rc_ == -1 && errno == (e), "%s: rc %d errno %s, want %s",\
		      (what), rc_, strerror(errno), strerror(e));             \
	} while (0)

/* fault of the last replay() call: why the driver refused an op. */
extern uint32_t last_fault;

int open_dev(void);
/* A kmalloc-or-other stream of TEST_SLOTS slots and tags Tst0, Tst1. */
struct allocmark_begin begin_req(unsigned int backend, unsigned int batch,
				 unsigned int nr_mailboxes);
int replay(int fd, int id, const struct allocmark_op *ops, uint64_t n,
	   uint64_t *done);
int end_stream(int fd, int id, struct allocmark_end *e, uint64_t *hist);
struct allocmark_tag_stats tag_stats(int fd, const char *tag);
/* The kernel log contains text. */
int klog_has(const char *text);

/* Bounds, caps, tags, mailboxes, timing, ABI growth (tests/limits.c). */
void test_limits(int fd);

#endif /* ALLOCMARK_VM_TEST_H */
