/*
 * Guest test of the allocmark module: the ABI, every backend replaying
 * fixed and mixed streams on 1 and 2 threads, hostile input, leak reports.
 * Prints one line per failed check; exits 0 only if every check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allocmark_opcheck.h"
#include "allocmark_uapi.h"
#include "streams.h"
#include "vm_test.h"

static int failures, checks;
uint32_t last_fault;

void check_(int ok, const char *file, int line, const char *expr,
	    const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	printf("FAIL %s:%d: %s: ", file, line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *const backend_names[ALLOCMARK_NR_BACKENDS] = {
	"kmalloc", "kmem_cache", "vmalloc", "pages",
};

int open_dev(void)
{
	int fd = open(ALLOCMARK_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("FAIL open %s: %s\n", ALLOCMARK_DEVICE, strerror(errno));
		exit(1);
	}
	return fd;
}

struct allocmark_begin begin_req(unsigned int backend, unsigned int batch,
				 unsigned int nr_mailboxes)
{
	struct allocmark_begin b = {
		.size = sizeof(b), .backend = backend, .nr_slots = TEST_SLOTS,
		.nr_mailboxes = nr_mailboxes, .batch = batch, .nr_tags = 2,
	};

	memcpy(b.tags[0], "Tst0", 4);
	memcpy(b.tags[1], "Tst1", 4);
	return b;
}

int replay(int fd, int id, const struct allocmark_op *ops, uint64_t n,
	   uint64_t *done)
{
	struct allocmark_replay r = {
		.size = sizeof(r), .stream = id,
		.ops = (uintptr_t)ops, .nr_ops = n,
		.op_size = sizeof(*ops),
	};
	int rc = ioctl(fd, ALLOCMARK_IOC_REPLAY, &r);

	*done = r.done;
	last_fault = r.fault;
	return rc;
}

int end_stream(int fd, int id, struct allocmark_end *e, uint64_t *hist)
{
	*e = (struct allocmark_end){
		.size = sizeof(*e), .stream = id, .hist = (uintptr_t)hist,
		.hist_bytes = hist ? ALLOCMARK_HIST_BYTES : 0,
	};
	if (ioctl(fd, ALLOCMARK_IOC_END, e))
		return -1;
	CHECK(e->hist_filled == e->hist_bytes, "hist_filled %llu of %llu",
	      (unsigned long long)e->hist_filled,
	      (unsigned long long)e->hist_bytes);
	return 0;
}

struct allocmark_tag_stats tag_stats(int fd, const char *tag)
{
	struct allocmark_tag_stats t = { .size = sizeof(t) };

	memcpy(t.tag, tag, 4);
	if (ioctl(fd, ALLOCMARK_IOC_TAG_STATS, &t) && errno == ENOENT)
		memset(&t.allocs, 0, sizeof(t) - offsetof(typeof(t), allocs));
	return t;
}

/* The user-space histogram layout, computed independently of the module. */
static unsigned int hist_index(uint64_t v)
{
	int msb = v ? 63 - __builtin_clzll(v) : 0;
	unsigned int shift = msb > 6 ? msb - 6 : 0;

	return (shift << 6) + (unsigned int)(v >> shift);
}

static void test_version(int fd)
{
	uint64_t max_size[ALLOCMARK_NR_BACKENDS + 1];
	struct allocmark_version v = {
		.size = sizeof(v), .max_size = (uintptr_t)max_size,
		.max_size_len = ALLOCMARK_NR_BACKENDS,
	};

	max_size[ALLOCMARK_NR_BACKENDS] = 12345;
	CHECK(ioctl(fd, ALLOCMARK_IOC_VERSION, &v) == 0, "%s", strerror(errno));
	CHECK(v.abi_version == ALLOCMARK_ABI_VERSION, "abi %u", v.abi_version);
	CHECK(v.size == sizeof(v), "kernel size %u", v.size);
	CHECK(v.hist_buckets == ALLOCMARK_HIST_BUCKETS, "%u", v.hist_buckets);
	CHECK(v.nr_backends == ALLOCMARK_NR_BACKENDS, "%u", v.nr_backends);
	CHECK(max_size[ALLOCMARK_BACKEND_KMEM_CACHE] == 8192, "%llu",
	      (unsigned long long)max_size[1]);
	CHECK(max_size[ALLOCMARK_NR_BACKENDS] == 12345,
	      "wrote past the caller's max_size_len");
	CHECK(v.op_size == sizeof(struct allocmark_op), "op_size %u", v.op_size);
	CHECK(v.max_touch_bytes == ALLOCMARK_MAX_TOUCH_BYTES, "touch bound");
	CHECK(v.begin_flags == ALLOCMARK_BEGIN_FLAGS, "begin flags %llx",
	      (unsigned long long)v.begin_flags);
	CHECK(v.max_live_bytes > 0, "no live cap");
	CHECK(hist_index(127) == 127 && hist_index(128) == 128 &&
	      hist_index(UINT64_MAX) == ALLOCMARK_HIST_BUCKETS - 1,
	      "test's own index is off");
	printf("ok version: abi %u, tick %llu kHz, max kmalloc %llu\n",
	       v.abi_version, (unsigned long long)v.tick_khz,
	       (unsigned long long)max_size[0]);
}

struct worker {
	int fd;
	unsigned int backend, batch, t, nr_threads;
	int mixed;
	struct test_stream s;
	struct allocmark_end end;
	uint64_t hist[ALLOCMARK_NR_TIMED][ALLOCMARK_HIST_BUCKETS];
	char error[128];
};

/* One user thread, one stream, fed in uneven chunks across calls. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct allocmark_begin b = begin_req(w->backend, w->batch,
					     w->nr_threads > 1 ?
					     w->nr_threads * TEST_HANDOFFS : 0);
	uint64_t pos, done;
	int id = ioctl(w->fd, ALLOCMARK_IOC_BEGIN, &b);

	if (id <= 0) {
		snprintf(w->error, sizeof(w->error), "begin: %s",
			 strerror(errno));
		return NULL;
	}
	for (pos = 0; pos < w->s.n; pos += done) {
		uint64_t n = w->s.n - pos < 317 ? w->s.n - pos : 317;

		if (replay(w->fd, id, w->s.ops + pos, n, &done) || done != n) {
			snprintf(w->error, sizeof(w->error),
				 "replay at op %llu: %s, done %llu of %llu",
				 (unsigned long long)pos, strerror(errno),
				 (unsigned long long)done,
				 (unsigned long long)n);
			break;
		}
	}
	if (end_stream(w->fd, id, &w->end, &w->hist[0][0]) && !w->error[0])
		snprintf(w->error, sizeof(w->error), "end: %s",
			 strerror(errno));
	return NULL;
}

static void check_worker(struct worker *w, const char *name)
{
	unsigned int k, i;

	CHECK(!w->error[0], "%s t%u: %s", name, w->t, w->error);
	CHECK(w->end.ops == w->s.n, "%s: ops %llu want %zu", name,
	      (unsigned long long)w->end.ops, w->s.n);
	CHECK(w->end.leaked_blocks == 0 && w->end.leaked_bytes == 0,
	      "%s: leaked %llu", name,
	      (unsigned long long)w->end.leaked_blocks);
	for (k = 0; k < ALLOCMARK_NR_TIMED; k++) {
		const struct allocmark_kind_stats *ks = &w->end.kinds[k];
		uint64_t total = 0, lo = UINT64_MAX, hi = 0;

		for (i = 0; i < ALLOCMARK_HIST_BUCKETS; i++) {
			if (!w->hist[k][i])
				continue;
			total += w->hist[k][i];
			lo = lo < i ? lo : i;
			hi = i;
		}
		CHECK(ks->count == w->s.kinds[k], "%s kind %u: count %llu want %llu",
		      name, k, (unsigned long long)ks->count,
		      (unsigned long long)w->s.kinds[k]);
		CHECK(total == ks->count, "%s kind %u: histogram holds %llu",
		      name, k, (unsigned long long)total);
		if (!ks->count)
			continue;
		CHECK(ks->min <= ks->max && ks->sum >= ks->min,
		      "%s kind %u: min %llu max %llu", name, k,
		      (unsigned long long)ks->min,
		      (unsigned long long)ks->max);
		CHECK(lo == hist_index(ks->min) && hi == hist_index(ks->max),
		      "%s kind %u: buckets %llu..%llu, min/max index %u..%u",
		      name, k, (unsigned long long)lo, (unsigned long long)hi,
		      hist_index(ks->min), hist_index(ks->max));
	}
}

static void test_replay(int fd, unsigned int backend, int mixed,
			unsigned int nr_threads, unsigned int batch)
{
	struct allocmark_tag_stats before[2], after[2];
	struct worker *w = calloc(nr_threads, sizeof(*w));
	pthread_t th[2];
	uint64_t want[2] = { 0, 0 };
	unsigned int t, i;
	char name[64];

	snprintf(name, sizeof(name), "%s %s x%u batch %u", backend_names[backend],
		 mixed ? "mixed" : "fixed", nr_threads, batch);
	before[0] = tag_stats(fd, "Tst0");
	before[1] = tag_stats(fd, "Tst1");
	for (t = 0; t < nr_threads; t++) {
		w[t] = (struct worker){ .fd = fd, .backend = backend,
			.batch = batch, .t = t, .nr_threads = nr_threads,
			.mixed = mixed };
		stream_build(&w[t].s, backend, mixed, t, nr_threads,
			     backend >= ALLOCMARK_BACKEND_VMALLOC ? 6 : 30);
		for (i = 0; i < 2; i++)
			want[i] += w[t].s.tag_allocs[i];
	}
	for (t = 0; t < nr_threads; t++)
		pthread_create(&th[t], NULL, worker_run, &w[t]);
	for (t = 0; t < nr_threads; t++)
		pthread_join(th[t], NULL);
	for (t = 0; t < nr_threads; t++)
		check_worker(&w[t], name);
	if (nr_threads > 1)
		stream_handoff_use++;

	after[0] = tag_stats(fd, "Tst0");
	after[1] = tag_stats(fd, "Tst1");
	for (i = 0; i < 2; i++) {
		CHECK(after[i].allocs - before[i].allocs == want[i],
		      "%s tag %u: %llu allocs want %llu", name, i,
		      (unsigned long long)(after[i].allocs - before[i].allocs),
		      (unsigned long long)want[i]);
		CHECK(after[i].live_bytes == 0 && after[i].live_blocks == 0,
		      "%s tag %u: %llu bytes live", name, i,
		      (unsigned long long)after[i].live_bytes);
	}
	printf("ok replay %s: %zu ops, alloc %llu x %llu ticks, free %llu x %llu\n",
	       name, w[0].s.n, (unsigned long long)w[0].end.kinds[0].count,
	       (unsigned long long)(w[0].end.kinds[0].count ?
		w[0].end.kinds[0].sum / w[0].end.kinds[0].count : 0),
	       (unsigned long long)w[0].end.kinds[1].count,
	       (unsigned long long)(w[0].end.kinds[1].count ?
		w[0].end.kinds[1].sum / w[0].end.kinds[1].count : 0));
	for (t = 0; t < nr_threads; t++)
		stream_free(&w[t].s);
	free(w);
}

/* Replay ops into a fresh kmalloc stream; returns rc, errno in *err. */
static int replay_fresh(int fd, struct test_stream *s, uint64_t *done,
			int *err)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct allocmark_end e;
	int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b), rc;

	rc = replay(fd, id, s->ops, s->n, done);
	*err = errno;
	end_stream(fd, id, &e, NULL);
	stream_free(s);
	return rc;
}

#define EXPECT_OPS(e, d, what, ...)                                           \
	do {                                                                  \
		struct test_stream s_ = { 0 };                                \
		uint64_t done_;                                               \
		int err_, rc_;                                                \
		__VA_ARGS__;                                                  \
		rc_ = replay_fresh(fd, &s_, &done_, &err_);                    \
		CHECK(rc_ == -1 && err_ == (e) && done_ == (d),               \
		      "%s: rc %d errno %s done %llu", (what), rc_,            \
		      strerror(err_), (unsigned long long)done_);             \
	} while (0)

/* The first op the shared check refuses (user space's view), or n. */
static size_t first_refused(const struct test_stream *s, uint32_t *fault)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		*fault = allocmark_op_check(&s->ops[i], TEST_SLOTS, 2,
					    4ULL << 20);
		if (*fault != ALLOCMARK_FAULT_NONE)
			return i;
	}
	*fault = ALLOCMARK_FAULT_NONE;
	return s->n;
}

/*
 * As EXPECT_OPS, and the driver names fault f; for faults an op shows by
 * itself, user space's allocmark_op_check() refuses the same op with f.
 */
#define EXPECT_FAULT(e, d, f, what, ...)                                      \
	do {                                                                  \
		struct test_stream s_ = { 0 };                                \
		uint64_t done_;                                               \
		uint32_t uf_;                                                 \
		size_t ui_;                                                   \
		int err_, rc_;                                                \
		__VA_ARGS__;                                                  \
		ui_ = first_refused(&s_, &uf_);                               \
		rc_ = replay_fresh(fd, &s_, &done_, &err_);                    \
		CHECK(rc_ == -1 && err_ == (e) && done_ == (d) &&             \
		      last_fault == (f),                                      \
		      "%s: rc %d errno %s done %llu fault %u (%s) want %u",   \
		      (what), rc_, strerror(err_), (unsigned long long)done_, \
		      last_fault, allocmark_fault_name(last_fault), (f));     \
		if ((f) != ALLOCMARK_FAULT_SLOT_STATE &&                      \
		    (f) != ALLOCMARK_FAULT_MAILBOX)                           \
			CHECK(ui_ == (d) && uf_ == (f),                       \
			      "%s: user space refuses op %zu with %u", (what),\
			      ui_, uf_);                                      \
	} while (0)

static void test_full_mailbox(int fd)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct test_stream s = { 0 };
	struct allocmark_end e;
	uint64_t done = 0, box = (uint64_t)stream_handoff_use << 32 | 5;
	int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);

	stream_push(&s, ALLOCMARK_OP_ALLOC, 0, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_ALLOC, 1, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_SEND, 0, box, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_SEND, 1, box, 0, 0, 0);
	CHECK(replay(fd, id, s.ops, s.n, &done) == -1 && errno == EINVAL &&
	      done == 3, "send to a full mailbox: %s, done %llu",
	      strerror(errno), (unsigned long long)done);
	/* The stream goes on after the refused op. */
	s.n = 0;
	stream_push(&s, ALLOCMARK_OP_RECEIVE, 0, box, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 0, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 1, 64, 0, 0, 0);
	CHECK(replay(fd, id, s.ops, s.n, &done) == 0 && done == 3,
	      "continue after a refused op: %s", strerror(errno));
	CHECK(end_stream(fd, id, &e, NULL) == 0 && e.leaked_blocks == 0,
	      "full mailbox stream leaked %llu",
	      (unsigned long long)e.leaked_blocks);
	stream_free(&s);
}

/* A box is reused by hand-off number (use, in arg bits 32-63). */
static void test_mailbox_reuse(int fd)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct test_stream s = { 0 };
	struct allocmark_end e;
	uint64_t done, use0 = (uint64_t)stream_handoff_use << 32 | 6;
	uint64_t use1 = use0 + (1ULL << 32);
	int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);

	stream_push(&s, ALLOCMARK_OP_ALLOC, 0, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_SEND, 0, use0, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_RECEIVE, 1, use0, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_ALLOC, 0, 96, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_SEND, 0, use1, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_RECEIVE, 2, use1, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 1, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 2, 96, 0, 0, 0);
	CHECK(replay(fd, id, s.ops, s.n, &done) == 0 && done == 8,
	      "reused mailbox: %s, done %llu", strerror(errno),
	      (unsigned long long)done);
	/* Use 0 of the box is over: a late send of it is refused at once. */
	s.n = 0;
	stream_push(&s, ALLOCMARK_OP_ALLOC, 0, 64, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_SEND, 0, use0, 0, 0, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 0, 64, 0, 0, 0);
	CHECK(replay(fd, id, s.ops, s.n, &done) == -1 && errno == EINVAL &&
	      done == 1, "send of a past use: %s, done %llu", strerror(errno),
	      (unsigned long long)done);
	CHECK(end_stream(fd, id, &e, NULL) == 0 && e.leaked_blocks == 1,
	      "past-use stream leaked %llu, expected 1",
	      (unsigned long long)e.leaked_blocks);
	stream_free(&s);
}

#define OP(kind, slot, arg) stream_push(&s_, ALLOCMARK_OP_##kind, slot, arg, 0, 0, 0)

static void test_hostile(int fd)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct allocmark_replay r = { .size = sizeof(r),
				      .op_size = sizeof(struct allocmark_op) };
	struct allocmark_end e = { .size = sizeof(e) };
	struct allocmark_tag_stats ts = { .size = sizeof(ts) };
	char big[8192] = { 0 };
	void *hole;
	int id;

	EXPECT_ERRNO(ENOTTY, fd, _IO(ALLOCMARK_IOC_MAGIC, 0x7f), 0, "unknown nr");
	EXPECT_ERRNO(ENOTTY, fd, _IOW('x', 1, int), 0, "foreign type");
	EXPECT_ERRNO(ENOTTY, fd, _IO(ALLOCMARK_IOC_MAGIC, 1), &b,
		     "begin without direction bits");
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_BEGIN, NULL, "null struct");
	hole = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 4096);
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_BEGIN, hole, "unmapped struct");
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_VERSION, (void *)-4096L,
		     "kernel-half struct");

	/* The size field. */
	b.size = 0;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_BEGIN, &b, "size 0");
	b.size = ALLOCMARK_BEGIN_SIZE_VER0 - 4;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_BEGIN, &b, "size below VER0");
	memcpy(big, &b, sizeof(b));
	((struct allocmark_begin *)big)->size = sizeof(big);
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_BEGIN, big, "size 8192");
	((struct allocmark_begin *)big)->size = 1024;
	big[1000] = 1;
	EXPECT_ERRNO(E2BIG, fd, ALLOCMARK_IOC_BEGIN, big, "unknown tail set");
	big[1000] = 0;
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, big);
	CHECK(id > 0, "zero tail must be accepted: %s", strerror(errno));
	e.stream = id;
	CHECK(ioctl(fd, ALLOCMARK_IOC_END, &e) == 0, "%s", strerror(errno));

	/* Begin fields. */
#define BAD_BEGIN(field, value)                                               \
	do {                                                                  \
		b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);               \
		b.field = value;                                              \
		EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_BEGIN, &b,             \
			     #field " = " #value);                            \
	} while (0)
	BAD_BEGIN(backend, ALLOCMARK_NR_BACKENDS);
	BAD_BEGIN(backend, 0xffffffff);
	BAD_BEGIN(nr_slots, 0);
	BAD_BEGIN(nr_slots, ALLOCMARK_MAX_SLOTS + 1);
	BAD_BEGIN(nr_mailboxes, ALLOCMARK_MAX_MAILBOXES + 1);
	BAD_BEGIN(batch, 0);
	BAD_BEGIN(batch, ALLOCMARK_MAX_BATCH + 1);
	BAD_BEGIN(nr_tags, 0);
	BAD_BEGIN(nr_tags, ALLOCMARK_MAX_TAGS + 1);
	BAD_BEGIN(flags, 2);
	BAD_BEGIN(flags, 0x80000000);
	BAD_BEGIN(tags[0][2], 0);
	BAD_BEGIN(tags[1][0], 0x7f);
	/* Issue 21: isprint() took Latin-1 0xa0-0xff for printable. */
	BAD_BEGIN(tags[0][1], 0xa0);
	BAD_BEGIN(tags[1][3], 0xff);
	BAD_BEGIN(tags[5][0], 'x');	/* unused entries are reserved */

	/* Replay and end requests. */
	b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(id > 0, "begin: %s", strerror(errno));
	r.stream = id;
	r.nr_ops = ALLOCMARK_MAX_OPS_PER_CALL + 1;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_REPLAY, &r, "oversized count");
	r.nr_ops = 10;
	r.ops = 0;
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_REPLAY, &r, "null ops");
	r.ops = (uintptr_t)hole;
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_REPLAY, &r, "unmapped ops");
	r.ops = UINT64_MAX - 8;
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_REPLAY, &r, "wrapping ops");
	r.stream = 9999;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_REPLAY, &r, "unknown stream");
	r.stream = id;
	r.op_size = 8;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_REPLAY, &r, "op_size 8");
	r.op_size = 8192;
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_REPLAY, &r, "op_size 8192");
	r.op_size = sizeof(struct allocmark_op);
	e = (struct allocmark_end){ .size = sizeof(e), .stream = id,
				    .hist_bytes = 8 };
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_END, &e, "hist_bytes, no hist");
	e.hist = (uintptr_t)hole;
	e.hist_bytes = ALLOCMARK_HIST_BYTES;
	EXPECT_ERRNO(EFAULT, fd, ALLOCMARK_IOC_END, &e, "unmapped histogram");
	e.hist = 0;
	e.hist_bytes = 0;
	CHECK(ioctl(fd, ALLOCMARK_IOC_END, &e) == 0,
	      "stream must survive a bad histogram: %s", strerror(errno));
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_END, &e, "end twice");

	memcpy(ts.tag, "None", 4);
	EXPECT_ERRNO(ENOENT, fd, ALLOCMARK_IOC_TAG_STATS, &ts, "unknown tag");
	memcpy(ts.tag, "\0abc", 4);
	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_TAG_STATS, &ts, "bad tag");

	/*
	 * Issue 21: every field of every kind is checked. Phase ignored slot,
	 * touch, align and arg; send/receive ignored touch and align; free
	 * ignored align and touch: garbage was accepted.
	 */
#define F(x) ALLOCMARK_FAULT_##x
	EXPECT_FAULT(EINVAL, 0, F(SLOT), "phase slot 1", OP(PHASE, 0, 0);
		     s_.ops[0].slot = 1);
	EXPECT_FAULT(EINVAL, 0, F(TOUCH), "phase touch", OP(PHASE, 0, 0);
		     s_.ops[0].touch = ALLOCMARK_TOUCH_FIRST_BYTE);
	EXPECT_FAULT(EINVAL, 0, F(ALIGN), "phase align", OP(PHASE, 0, 0);
		     s_.ops[0].align_log2 = 3);
	EXPECT_FAULT(EINVAL, 0, F(ARG), "phase arg 2", OP(PHASE, 0, 2));
	EXPECT_FAULT(EINVAL, 1, F(ARG), "phase respawn bit is fine",
		     OP(PHASE, 0, ALLOCMARK_PHASE_RESPAWN); OP(PHASE, 0, ~0ULL));
	EXPECT_FAULT(EINVAL, 1, F(TOUCH), "send touch", OP(ALLOC, 0, 64);
		     OP(SEND, 0, 0); s_.ops[1].touch = 2);
	EXPECT_FAULT(EINVAL, 1, F(ALIGN), "send align", OP(ALLOC, 0, 64);
		     OP(SEND, 0, 0); s_.ops[1].align_log2 = 4);
	EXPECT_FAULT(EINVAL, 0, F(TOUCH), "receive touch", OP(RECEIVE, 0, 0);
		     s_.ops[0].touch = 1);
	EXPECT_FAULT(EINVAL, 0, F(ALIGN), "receive align", OP(RECEIVE, 0, 0);
		     s_.ops[0].align_log2 = 1);
	EXPECT_FAULT(EINVAL, 1, F(ALIGN), "free align", OP(ALLOC, 0, 64);
		     OP(FREE, 0, 64); s_.ops[1].align_log2 = 6);
	EXPECT_FAULT(EINVAL, 1, F(TOUCH), "free touch", OP(ALLOC, 0, 64);
		     OP(FREE, 0, 64); s_.ops[1].touch = 3);
	EXPECT_FAULT(EINVAL, 0, F(KIND), "reserved kind bits", OP(ALLOC, 0, 64);
		     s_.ops[0].kind |= 0x80);
	EXPECT_FAULT(EINVAL, 0, F(TAG), "send tag", OP(SEND, 0, 0);
		     s_.ops[0].tag = 2);
	/* Issue 21: 1ULL << align_log2 ran before the range check (UB). */
	EXPECT_FAULT(EINVAL, 0, F(ALIGN), "align 64", OP(ALLOC, 0, 64);
		     s_.ops[0].align_log2 = 64);
	EXPECT_FAULT(EINVAL, 0, F(ALIGN), "align 255", OP(ALLOC, 0, 64);
		     s_.ops[0].align_log2 = 255);
	/* Issue 21: size x repeats is bounded (the soft lockup's input). */
	EXPECT_FAULT(EINVAL, 0, F(TOUCH_BOUND), "touch 4 MiB x 2^13",
		     OP(ALLOC, 0, 4 << 20); s_.ops[0].touch =
		     13 << 2 | ALLOCMARK_TOUCH_WHOLE_BLOCK);
	EXPECT_FAULT(EINVAL, 1, F(TOUCH_BOUND), "realloc touch 1 MiB x 2^20",
		     OP(ALLOC, 0, 64); OP(REALLOC, 0, 1 << 20);
		     s_.ops[1].touch = 20 << 2 | ALLOCMARK_TOUCH_READ_BACK);
	EXPECT_FAULT(EINVAL, 2, F(SLOT_STATE), "double free, fault code",
		     OP(ALLOC, 1, 64); OP(FREE, 1, 64); OP(FREE, 1, 64));
	EXPECT_FAULT(EINVAL, 1, F(MAILBOX), "send past the mailboxes, code",
		     OP(ALLOC, 0, 64); OP(SEND, 0, 2 * TEST_HANDOFFS));

	/* Ops: each bad op stops the replay right there. */
	EXPECT_OPS(EINVAL, 0, "alloc size 0", OP(ALLOC, 0, 0));
	EXPECT_OPS(EINVAL, 0, "absurd size", OP(ALLOC, 0, 1ULL << 62));
	EXPECT_OPS(EINVAL, 0, "size ~0", OP(ALLOC, 0, UINT64_MAX));
	EXPECT_OPS(EINVAL, 0, "free of an empty slot", OP(FREE, 3, 64));
	EXPECT_OPS(EINVAL, 2, "double free", OP(ALLOC, 1, 64); OP(FREE, 1, 64);
		   OP(FREE, 1, 64));
	EXPECT_OPS(EINVAL, 1, "free with the wrong size", OP(ALLOC, 1, 64);
		   OP(FREE, 1, 65));
	EXPECT_OPS(EINVAL, 1, "alloc into a live slot", OP(ALLOC, 1, 64);
		   OP(ALLOC, 1, 64));
	EXPECT_OPS(EINVAL, 0, "realloc of an empty slot", OP(REALLOC, 1, 64));
	EXPECT_OPS(EINVAL, 0, "slot out of range", OP(ALLOC, TEST_SLOTS, 64));
	EXPECT_OPS(EINVAL, 0, "slot ~0", OP(ALLOC, UINT32_MAX, 64));
	EXPECT_OPS(EINVAL, 0, "bad kind", OP(PHASE, 0, 0); s_.ops[0].kind = 6);
	EXPECT_OPS(EINVAL, 0, "kind 255", OP(PHASE, 0, 0); s_.ops[0].kind = 255);
	EXPECT_OPS(EINVAL, 0, "bad touch", OP(ALLOC, 0, 64); s_.ops[0].touch = 4);
	EXPECT_OPS(EINVAL, 0, "touch repeats above 2^20", OP(ALLOC, 0, 64);
		   s_.ops[0].touch = 21 << 2 | ALLOCMARK_TOUCH_FIRST_BYTE);
	EXPECT_OPS(EINVAL, 0, "bad align", OP(ALLOC, 0, 64);
		   s_.ops[0].align_log2 = 13);
	EXPECT_OPS(EINVAL, 0, "tag index", OP(ALLOC, 0, 64); s_.ops[0].tag = 2);
	EXPECT_OPS(EINVAL, 0, "phase tag", OP(PHASE, 0, 0); s_.ops[0].tag = 9);
	/* fd's mailbox table is as large as its 2-thread streams asked for. */
	EXPECT_OPS(EINVAL, 1, "send past the mailboxes", OP(ALLOC, 0, 64);
		   OP(SEND, 0, 2 * TEST_HANDOFFS));
	EXPECT_OPS(EINVAL, 1, "send to mailbox ~0", OP(ALLOC, 0, 64);
		   OP(SEND, 0, UINT64_MAX));
	EXPECT_OPS(EINVAL, 0, "send of an empty slot", OP(SEND, 0, 0));
	EXPECT_OPS(EINVAL, 0, "receive past the mailboxes",
		   OP(RECEIVE, 0, 2 * TEST_HANDOFFS));
	EXPECT_OPS(EINVAL, 1, "receive into a live slot", OP(ALLOC, 0, 64);
		   OP(RECEIVE, 0, 0));
	test_full_mailbox(fd);
	test_mailbox_reuse(fd);
	EXPECT_OPS(EINVAL, 600, "bad op after a chunk boundary",
		   for (int i = 0; i < 300; i++) { OP(ALLOC, 0, 64);
		   OP(FREE, 0, 64); } OP(FREE, 0, 64));

	/* A size the backend cannot serve. */
	b = begin_req(ALLOCMARK_BACKEND_KMEM_CACHE, 1, 0);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	{
		struct allocmark_op op = { .kind = ALLOCMARK_OP_ALLOC,
					   .arg = 8193 };
		uint64_t done;

		CHECK(replay(fd, id, &op, 1, &done) == -1 && errno == EINVAL,
		      "kmem_cache 8193 bytes: %s", strerror(errno));
		e = (struct allocmark_end){ .size = sizeof(e), .stream = id };
		ioctl(fd, ALLOCMARK_IOC_END, &e);
	}
	printf("ok hostile: %d checks so far\n", checks);
}

/* Random op records: anything may be refused, nothing may break. */
static void test_fuzz(void)
{
	int fd = open_dev();
	uint64_t x = 0x1234567, done, total = 0;
	unsigned int round, i;
	struct allocmark_end e;

	for (round = 0; round < 40; round++) {
		struct allocmark_begin b = begin_req(round % 4, 1 + round % 3, 0);
		struct allocmark_op ops[64];
		int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);

		CHECK(id > 0, "fuzz begin: %s", strerror(errno));
		for (i = 0; i < 64; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			ops[i] = (struct allocmark_op){
				/* no receive: an empty mailbox would wait */
				.kind = (x % 7 == 4) ? 0 : x % 7,
				.align_log2 = (x >> 8) % 14,
				.touch = (x >> 12) % 5,
				.tag = (x >> 16) % 3,
				.slot = (x >> 20) % (TEST_SLOTS + 2),
				.arg = (x >> 28) % 3 ? (x >> 32) % 20000 :
				       x >> 4,
			};
		}
		for (i = 0; i < 64; i += done + 1) {
			replay(fd, id, ops + i, 64 - i, &done);
			total += done;
		}
		CHECK(end_stream(fd, id, &e, NULL) == 0, "fuzz end: %s",
		      strerror(errno));
	}
	CHECK(tag_stats(fd, "Tst0").live_bytes == 0, "fuzz left bytes");
	close(fd);
	printf("ok fuzz: %llu random ops took effect\n",
	       (unsigned long long)total);
}

int klog_has(const char *text)
{
	static char buf[1 << 20];
	int n = klogctl(3, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, text) != NULL;
}

static void test_leaks(int fd)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 4);
	struct test_stream s = { 0 };
	struct allocmark_tag_stats t;
	struct allocmark_end e;
	uint64_t done;
	int id, fd2, i;

	memcpy(b.tags[0], "Leak", 4);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	for (i = 0; i < 10; i++)
		stream_push(&s, ALLOCMARK_OP_ALLOC, i, 100, 0, 2, 0);
	stream_push(&s, ALLOCMARK_OP_FREE, 0, 100, 0, 0, 0);
	CHECK(replay(fd, id, s.ops, s.n, &done) == 0 && done == s.n,
	      "leak replay: %s", strerror(errno));
	t = tag_stats(fd, "Leak");
	CHECK(t.live_bytes == 900 && t.live_blocks == 9 && t.peak_bytes == 1000,
	      "live %llu blocks %llu peak %llu", (unsigned long long)t.live_bytes,
	      (unsigned long long)t.live_blocks,
	      (unsigned long long)t.peak_bytes);
	CHECK(end_stream(fd, id, &e, NULL) == 0, "%s", strerror(errno));
	CHECK(e.leaked_blocks == 9 && e.leaked_bytes == 900,
	      "reported %llu blocks, %llu bytes",
	      (unsigned long long)e.leaked_blocks,
	      (unsigned long long)e.leaked_bytes);
	t = tag_stats(fd, "Leak");
	CHECK(t.live_bytes == 0 && t.live_blocks == 0 && t.leaks == 9 &&
	      t.allocs == 10 && t.frees == 10, "after end: live %llu leaks %llu",
	      (unsigned long long)t.live_bytes, (unsigned long long)t.leaks);

	/* Closing the file frees a live stream and an unreceived hand-off. */
	fd2 = open_dev();
	memcpy(b.tags[0], "Lek2", 4);
	id = ioctl(fd2, ALLOCMARK_IOC_BEGIN, &b);
	stream_push(&s, ALLOCMARK_OP_SEND, 1, 3, 0, 0, 0);
	CHECK(replay(fd2, id, s.ops, s.n, &done) == 0 && done == s.n,
	      "close replay: %s", strerror(errno));
	t = tag_stats(fd2, "Lek2");
	CHECK(t.live_bytes == 900 && t.live_blocks == 9 && t.allocs == 10,
	      "before close: live %llu", (unsigned long long)t.live_bytes);
	/* Tags belong to their file: another file does not see them. */
	t = tag_stats(fd, "Lek2");
	CHECK(t.allocs == 0, "fd sees fd2's tag");
	close(fd2);
	CHECK(klog_has("with 8 live blocks (800 bytes): freed as leaks") &&
	      klog_has("1 blocks (100 bytes) sent but never received"),
	      "close did not report the leaks");
	stream_free(&s);
	printf("ok leaks\n");
}

/* A receive that can never be satisfied must not outlive SIGKILL. */
static void test_kill_waiting(void)
{
	struct timespec t0, t1;
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int fd = open_dev();
		struct allocmark_begin b = begin_req(0, 1, 4);
		struct allocmark_op op = { .kind = ALLOCMARK_OP_RECEIVE,
					   .arg = 2 };
		uint64_t done;
		int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);

		replay(fd, id, &op, 1, &done);
		_exit(3);	/* the hand-off bound elapsed: too slow */
	}
	usleep(300 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(WIFSIGNALED(status) && t1.tv_sec - t0.tv_sec < 3,
	      "waiting receive ignored SIGKILL (status %#x)", status);
	printf("ok kill during a receive wait\n");
}

static void test_cache_not_merged(void)
{
	struct stat st;

	/* SLUB names merged caches by alias symlink, own caches by directory. */
	if (lstat("/sys/kernel/slab/allocmark-64", &st)) {
		printf("skip cache merge check: %s\n", strerror(errno));
		return;
	}
	CHECK(S_ISDIR(st.st_mode), "allocmark-64 was merged into another cache");
	printf("ok kmem_cache classes are dedicated caches\n");
}

/* The module logs leaks found at close: count them in the kernel log. */
static int kernel_log_leaks(void)
{
	static char buf[1 << 20];
	int n = klogctl(3, buf, sizeof(buf) - 1), lines = 0;
	char *p = buf;

	CHECK(n > 0, "klogctl: %s", strerror(errno));
	buf[n > 0 ? n : 0] = 0;
	while ((p = strstr(p, "freed as leaks"))) {
		lines++;
		p++;
	}
	return lines;
}

int main(int argc, char **argv)
{
	unsigned int backend;
	int fd = open_dev(), leak_lines;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_version(fd);
	for (backend = 0; backend < ALLOCMARK_NR_BACKENDS; backend++) {
		test_replay(fd, backend, 0, 1, 1);
		test_replay(fd, backend, 0, 2, 8);
		test_replay(fd, backend, 1, 1, 1);
		test_replay(fd, backend, 1, 2, 4);
	}
	test_hostile(fd);
	test_fuzz();
	leak_lines = kernel_log_leaks();
	test_leaks(fd);
	CHECK(kernel_log_leaks() == leak_lines + 2, "want 2 new leak lines");
	test_kill_waiting();
	test_cache_not_merged();
	test_limits(fd);
	close(fd);
	(void)argc;
	(void)argv;

	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
