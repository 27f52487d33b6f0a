/*
 * Guest tests of the driver's limits (issue 21): every one reproduced a
 * defect of ABI 2 first. Touch bound and kill, live-bytes cap, hot data
 * layout, timing status, tags, mailbox bounds and wakeups, ABI 3 growth.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allocmark_opcheck.h"
#include "streams.h"
#include "vm_test.h"

#define PARAM_DIR "/sys/module/allocmark/parameters/"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static unsigned long long read_param(const char *name)
{
	char path[128], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "r");
	CHECK(f != NULL, "open %s: %s", path, strerror(errno));
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static void write_param(const char *name, unsigned long long value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "w");
	CHECK(f != NULL, "open %s: %s", path, strerror(errno));
	if (!f)
		return;
	fprintf(f, "%llu\n", value);
	CHECK(fclose(f) == 0, "write %s: %s", path, strerror(errno));
}

static struct allocmark_op op_of(uint8_t kind, uint32_t slot, uint64_t arg)
{
	return (struct allocmark_op){ .kind = kind, .slot = slot, .arg = arg };
}

/*
 * A touch of 4 MiB x 2^12 read-back passes ran without a reschedule or a
 * signal check: SIGKILL waited for all 2^34 bytes (a soft lockup).
 */
static void test_touch_killable(void)
{
	int ready[2];
	double t0, t1;
	pid_t pid;
	int status;
	char c;

	CHECK(pipe(ready) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		int fd = open_dev();
		struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC,
						     1, 0);
		struct allocmark_op op = op_of(ALLOCMARK_OP_ALLOC, 0, 4 << 20);
		uint64_t done;
		int id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);

		op.touch = 12 << ALLOCMARK_TOUCH_REPEAT_SHIFT |
			   ALLOCMARK_TOUCH_READ_BACK;
		if (write(ready[1], "x", 1) != 1)
			_exit(4);
		replay(fd, id, &op, 1, &done);
		_exit(3);	/* the whole touch ran before the kill */
	}
	close(ready[1]);
	CHECK(read(ready[0], &c, 1) == 1, "child did not start");
	close(ready[0]);
	usleep(300 * 1000);
	t0 = now_s();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	t1 = now_s();
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "touch was not killed (status %#x)", status);
	CHECK(t1 - t0 < 1.0, "SIGKILL took %.2f s to end a touch", t1 - t0);
	printf("ok touch of 2^34 bytes killed in %.3f s\n", t1 - t0);
}

/*
 * The live-bytes cap: a module parameter, checked before each allocation.
 * ABI 2 had none, and GFP_KERNEL small allocations never failed: the OOM
 * killer ran instead of -ENOMEM.
 */
static void test_live_cap(void)
{
	unsigned long long old = read_param("max_live_bytes");
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct allocmark_op *ops;
	struct allocmark_end e;
	uint64_t done;
	unsigned int i, n = 1 << 16;
	int fd = open_dev(), id, rc;
	double t0;

	ops = calloc(n, sizeof(*ops));
	b.nr_slots = n;
	for (i = 0; i < n; i++)
		ops[i] = op_of(ALLOCMARK_OP_ALLOC, i, 1024);

	/* 1 MiB cap, 1 KiB blocks: exactly 1024 fit. */
	write_param("max_live_bytes", 1 << 20);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	rc = replay(fd, id, ops, 2048, &done);
	CHECK(rc == -1 && errno == ENOMEM && done == 1024,
	      "1 MiB cap: rc %d %s, %llu blocks of 1 KiB", rc, strerror(errno),
	      (unsigned long long)done);
	CHECK(end_stream(fd, id, &e, NULL) == 0 && e.leaked_blocks == done,
	      "cap stream end");
	/* The cap counts what is live now, not what was ever allocated. */
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(replay(fd, id, ops, 1024, &done) == 0 && done == 1024,
	      "freed bytes came back under the cap: %s", strerror(errno));
	end_stream(fd, id, &e, NULL);

	/*
	 * No cap to speak of: 8 KiB blocks until memory runs out must end in
	 * -ENOMEM (__GFP_RETRY_MAYFAIL), never in the OOM killer, which the
	 * kernel log check catches.
	 */
	write_param("max_live_bytes", 1ULL << 62);
	for (i = 0; i < n; i++)
		ops[i] = op_of(ALLOCMARK_OP_ALLOC, i, 8192);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	t0 = now_s();
	rc = replay(fd, id, ops, n, &done);
	CHECK(rc == -1 && errno == ENOMEM && done > 1000 && done < n,
	      "exhaustion: rc %d %s after %llu blocks of 8 KiB", rc,
	      strerror(errno), (unsigned long long)done);
	CHECK(end_stream(fd, id, &e, NULL) == 0 && e.leaked_blocks == done,
	      "exhaustion end");
	printf("ok live cap: 1 MiB cap held 1024 KiB; memory ran out as -ENOMEM after %llu MiB in %.1f s\n",
	       (unsigned long long)done / 128, now_s() - t0);
	write_param("max_live_bytes", old);
	CHECK(read_param("max_live_bytes") == old, "cap not restored");
	free(ops);
	close(fd);
}

static long long memcg_current(const char *cg)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoll(buf);
}

/* Child of test_memcg_accounting: bytes charged by 1024 pages, per flag. */
static int memcg_child(const char *cg)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_PAGES, 1, 0);
	struct allocmark_op *ops = calloc(1024, sizeof(*ops));
	long long grew[2];
	struct allocmark_end e;
	uint64_t done;
	int fd, id, flag, i;

	b.nr_slots = 1024;
	for (i = 0; i < 1024; i++)
		ops[i] = op_of(ALLOCMARK_OP_ALLOC, i, 4096);
	fd = open_dev();
	for (flag = 0; flag < 2; flag++) {
		long long m0;

		b.flags = flag ? ALLOCMARK_BEGIN_ACCOUNT : 0;
		id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
		m0 = memcg_current(cg);
		if (id <= 0 || replay(fd, id, ops, 1024, &done) || done != 1024)
			return 10;
		grew[flag] = memcg_current(cg) - m0;
		end_stream(fd, id, &e, NULL);
	}
	printf("memcg: 4 MiB of pages charged %lld bytes plain, %lld with ALLOCMARK_BEGIN_ACCOUNT\n",
	       grew[0], grew[1]);
	if (grew[1] < 4LL << 20 || grew[0] > 1LL << 20)
		return 11;
	return 0;
}

/*
 * Blocks are charged to the caller's memory cgroup with BEGIN's
 * ALLOCMARK_BEGIN_ACCOUNT only (ABI 2 charged metadata, never blocks).
 */
static void test_memcg_accounting(void)
{
	static const char cg[] = "/sys/fs/cgroup/allocmark";
	char pid[16];
	int status, fd;
	pid_t child;

	mkdir("/sys/fs/cgroup", 0755);
	mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY);
	CHECK(fd >= 0 && write(fd, "+memory", 7) == 7,
	      "cgroup2 memory controller: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	mkdir(cg, 0755);
	child = fork();
	if (child == 0) {
		snprintf(pid, sizeof(pid), "%d", getpid());
		fd = open("/sys/fs/cgroup/allocmark/cgroup.procs", O_WRONLY);
		if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
			_exit(12);
		close(fd);
		_exit(memcg_child(cg));
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "memcg accounting: status %#x (10 replay, 11 charges, 12 cgroup)",
	      status);
	rmdir(cg);
	printf("ok memcg: blocks charged only with ALLOCMARK_BEGIN_ACCOUNT\n");
}

/*
 * Every touched op wrote a global sink on the cache line of am_caches[],
 * which every timed kmem_cache call reads. The symbols say where data sits.
 */
static void test_hot_data_layout(void)
{
	unsigned long long caches = 0, live = 0, addr;
	char line[256], type, name[128], mod[64];
	int sink = 0, fd;
	FILE *f;

	/* Root sees addresses only with kptr_restrict 0. */
	fd = open("/proc/sys/kernel/kptr_restrict", O_WRONLY);
	if (fd >= 0) {
		CHECK(write(fd, "0\n", 2) == 2, "kptr_restrict");
		close(fd);
	}
	f = fopen("/proc/kallsyms", "r");
	CHECK(f != NULL, "kallsyms: %s", strerror(errno));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s %63s", &addr, &type, name,
			   mod) != 4 || strcmp(mod, "[allocmark]"))
			continue;
		if (!strcmp(name, "am_touch_sink"))
			sink = 1;
		else if (!strcmp(name, "am_caches"))
			caches = addr;
		else if (!strcmp(name, "am_live"))
			live = addr;
	}
	fclose(f);
	CHECK(!sink, "am_touch_sink: a global written per touched op");
	CHECK(caches && live, "symbols am_caches %llx am_live %llx", caches,
	      live);
	CHECK(live % 64 == 0, "am_live %llx shares its cache line", live);
	CHECK(live / 64 < caches / 64 ||
	      live / 64 > (caches + 8 * 11 - 1) / 64,
	      "am_live %llx on am_caches' lines (%llx)", live, caches);
	printf("ok hot data: no shared sink, am_caches %llx, am_live %llx\n",
	       caches, live);
}

/* VERSION says whether allocations are zeroed and the TSC read fenced. */
static void test_timing_status(int fd)
{
	struct allocmark_version v = { .size = sizeof(v) };
	char cmdline[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	CHECK(ioctl(fd, ALLOCMARK_IOC_VERSION, &v) == 0, "%s", strerror(errno));
	if (strstr(cmdline, "init_on_alloc=0"))
		CHECK(!(v.status & ALLOCMARK_STATUS_INIT_ON_ALLOC),
		      "booted with init_on_alloc=0, status %#llx",
		      (unsigned long long)v.status);
	if (strstr(cmdline, "init_on_alloc=1"))
		CHECK(v.status & ALLOCMARK_STATUS_INIT_ON_ALLOC,
		      "booted with init_on_alloc=1, status %#llx",
		      (unsigned long long)v.status);
#if defined(__x86_64__)
	CHECK(v.status & ALLOCMARK_STATUS_ORDERED_TSC, "TSC reads unordered");
#endif
	/* The correctness pass really runs the module's caches checked. */
	if (strstr(cmdline, "slub_debug=FZPU")) {
		static const char *const flags[] = {
			"sanity_checks", "red_zone", "poison", "store_user",
		};
		char path[96], val[8];
		unsigned int i;

		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path),
				 "/sys/kernel/slab/allocmark-64/%s", flags[i]);
			f = fopen(path, "r");
			val[0] = 0;
			if (f) {
				if (!fgets(val, sizeof(val), f))
					val[0] = 0;
				fclose(f);
			}
			CHECK(val[0] == '1', "slub_debug=FZPU: %s is '%s'",
			      path, val);
		}
		printf("ok slub_debug=FZPU covers allocmark-64\n");
	}
	printf("ok timing status %#llx\n", (unsigned long long)v.status);
}

/* Tags are registered only once BEGIN succeeds, and per file. */
static void test_tags(void)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct allocmark_tag_stats t = { .size = sizeof(t) };
	struct allocmark_end e;
	int fd = open_dev(), fd2, ids[ALLOCMARK_MAX_STREAMS], i, j, id;

	for (i = 0; i < ALLOCMARK_MAX_STREAMS; i++) {
		ids[i] = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
		CHECK(ids[i] > 0, "stream %d: %s", i, strerror(errno));
	}
	memcpy(b.tags[0], "Ghst", 4);
	EXPECT_ERRNO(EBUSY, fd, ALLOCMARK_IOC_BEGIN, &b, "stream 257");
	memcpy(t.tag, "Ghst", 4);
	EXPECT_ERRNO(ENOENT, fd, ALLOCMARK_IOC_TAG_STATS, &t,
		     "tag of a failed BEGIN");
	for (i = 0; i < ALLOCMARK_MAX_STREAMS; i++)
		end_stream(fd, ids[i], &e, NULL);
	/* Cyclic ids: a freed id is not handed out again at once. */
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(id > ALLOCMARK_MAX_STREAMS, "id %d reused", id);
	end_stream(fd, id, &e, NULL);

	/* Fill this file's table: 16 streams of 16 fresh tags, then one. */
	close(fd);
	fd = open_dev();
	b.nr_tags = ALLOCMARK_MAX_TAGS;
	for (i = 0; i < ALLOCMARK_MAX_FILE_TAGS / ALLOCMARK_MAX_TAGS; i++) {
		for (j = 0; j < ALLOCMARK_MAX_TAGS; j++)
			snprintf((char *)b.tags[j], 4, "%c%02d", 'a' + i, j);
		for (j = 0; j < ALLOCMARK_MAX_TAGS; j++)
			b.tags[j][3] = 'T';
		id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
		CHECK(id > 0, "tag set %d: %s", i, strerror(errno));
		end_stream(fd, id, &e, NULL);
	}
	b.nr_tags = 1;
	memset(b.tags, 0, sizeof(b.tags));
	memcpy(b.tags[0], "Full", 4);
	EXPECT_ERRNO(ENOSPC, fd, ALLOCMARK_IOC_BEGIN, &b, "257th tag");
	memcpy(b.tags[0], "a00T", 4);
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(id > 0, "a known tag in a full table: %s", strerror(errno));
	end_stream(fd, id, &e, NULL);
	/* Another file has a table of its own. */
	fd2 = open_dev();
	memcpy(b.tags[0], "Full", 4);
	id = ioctl(fd2, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(id > 0, "one full file blocks another: %s", strerror(errno));
	end_stream(fd2, id, &e, NULL);
	close(fd2);
	close(fd);
	printf("ok tags: registered after BEGIN, per file\n");
}

struct waiter {
	int fd, id;
	uint64_t arg;
	pid_t tid;
	volatile int started;
	int rc, err;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	struct allocmark_op op = op_of(ALLOCMARK_OP_RECEIVE, 0, w->arg);
	uint64_t done;

	w->tid = syscall(SYS_gettid);
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	w->rc = replay(w->fd, w->id, &op, 1, &done);
	w->err = errno;
	return NULL;
}

static long voluntary_switches(pid_t tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "voluntary_ctxt_switches: %ld", &n);
	fclose(f);
	return n;
}

/*
 * Mailboxes: the hand-off bound is configurable (ABI 2: a fixed 10 s that
 * failed valid slow streams under TCG); a hand-off wakes the waiters of
 * its box, not every waiter of the file; growth keeps blocks in flight.
 */
static void test_mailboxes(void)
{
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 4);
	struct allocmark_op ops[4];
	struct allocmark_end e;
	struct waiter w = { 0 };
	pthread_t th;
	uint64_t done;
	long before, after;
	int fd = open_dev(), id, id2, i, rc;
	double t0;

	b.handoff_timeout_ms = 300;
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	ops[0] = op_of(ALLOCMARK_OP_RECEIVE, 0, 1);
	t0 = now_s();
	rc = replay(fd, id, ops, 1, &done);
	CHECK(rc == -1 && errno == ETIMEDOUT && now_s() - t0 < 5,
	      "300 ms bound: rc %d %s after %.2f s", rc, strerror(errno),
	      now_s() - t0);
	end_stream(fd, id, &e, NULL);

	/* BEGIN's 0 takes the module parameter. */
	write_param("handoff_timeout_ms", 200);
	b.handoff_timeout_ms = 0;
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	t0 = now_s();
	rc = replay(fd, id, ops, 1, &done);
	CHECK(rc == -1 && errno == ETIMEDOUT && now_s() - t0 < 5,
	      "module bound: rc %d %s after %.2f s", rc, strerror(errno),
	      now_s() - t0);
	end_stream(fd, id, &e, NULL);
	write_param("handoff_timeout_ms", 60000);

	/*
	 * A waiter on box 0 sleeps through 400 hand-offs on box 1, paced so
	 * that each wake-up it gets is also a run of it (a woken task that has
	 * not run yet is off the queue and not woken again).
	 */
	b.handoff_timeout_ms = 30000;
	w.fd = fd;
	w.id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	w.arg = 0;
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	pthread_create(&th, NULL, waiter_run, &w);
	while (!__atomic_load_n(&w.started, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(200 * 1000);
	before = voluntary_switches(w.tid);
	for (i = 0; i < 200; i++) {
		uint64_t use = (uint64_t)i << 32 | 1;

		ops[0] = op_of(ALLOCMARK_OP_ALLOC, 1, 64);
		ops[1] = op_of(ALLOCMARK_OP_SEND, 1, use);
		ops[2] = op_of(ALLOCMARK_OP_RECEIVE, 1, use);
		ops[3] = op_of(ALLOCMARK_OP_FREE, 1, 64);
		if (replay(fd, id, ops, 2, &done))
			break;
		usleep(1000);
		if (replay(fd, id, ops + 2, 2, &done))
			break;
		usleep(1000);
	}
	after = voluntary_switches(w.tid);
	CHECK(i == 200, "hand-offs on box 1 stopped at %d: %s", i,
	      strerror(errno));
	CHECK(before >= 0 && after - before < 40,
	      "waiter on box 0 woke %ld times for box 1's hand-offs",
	      after - before);
	ops[0] = op_of(ALLOCMARK_OP_ALLOC, 2, 64);
	ops[1] = op_of(ALLOCMARK_OP_SEND, 2, 0);
	CHECK(replay(fd, id, ops, 2, &done) == 0, "release the waiter");
	pthread_join(th, NULL);
	CHECK(w.rc == 0, "waiter: %s", strerror(w.err));
	end_stream(fd, w.id, &e, NULL);
	CHECK(e.leaked_blocks == 1, "waiter got its block");
	end_stream(fd, id, &e, NULL);

	/* Growth to 2^20 boxes with a block in flight in box 3. */
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	ops[0] = op_of(ALLOCMARK_OP_ALLOC, 0, 100);
	ops[1] = op_of(ALLOCMARK_OP_SEND, 0, 3);
	CHECK(replay(fd, id, ops, 2, &done) == 0, "send before growth");
	b.nr_mailboxes = ALLOCMARK_MAX_MAILBOXES;
	id2 = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	CHECK(id2 > 0, "grow to 2^20 boxes: %s", strerror(errno));
	ops[0] = op_of(ALLOCMARK_OP_RECEIVE, 5, 3);
	ops[1] = op_of(ALLOCMARK_OP_FREE, 5, 100);
	ops[2] = op_of(ALLOCMARK_OP_ALLOC, 6, 64);
	ops[3] = op_of(ALLOCMARK_OP_SEND, 6, ALLOCMARK_MAX_MAILBOXES - 1);
	CHECK(replay(fd, id2, ops, 4, &done) == 0 && done == 4,
	      "receive after growth: %s, done %llu", strerror(errno),
	      (unsigned long long)done);
	end_stream(fd, id, &e, NULL);
	end_stream(fd, id2, &e, NULL);
	close(fd);	/* the last box's block is freed as a leak */
	printf("ok mailboxes: bounds, per-box wakeups (%ld), growth\n",
	       after - before);
}

/* ABI 3: VER0 sizes, a caller-sized backend array, op_size, capacities. */
static void test_abi_growth(int fd)
{
	struct {
		struct allocmark_version v;
		uint64_t later[4];
	} big;
	struct {
		struct allocmark_op op;
		uint64_t later[2];
	} wide[2];
	struct allocmark_version v = { .size = ALLOCMARK_VERSION_SIZE_VER0 - 8 };
	struct allocmark_begin b = begin_req(ALLOCMARK_BACKEND_KMALLOC, 1, 0);
	struct allocmark_replay r = { .size = sizeof(r) };
	uint64_t sizes[3] = { 0, 0, 7 }, hist[20];
	struct allocmark_end e;
	int id;

	EXPECT_ERRNO(EINVAL, fd, ALLOCMARK_IOC_VERSION, &v, "below VER0");
	memset(&big, 0, sizeof(big));
	big.v.size = sizeof(big);
	big.v.max_size = (uintptr_t)sizes;
	big.v.max_size_len = 2;
	CHECK(ioctl(fd, ALLOCMARK_IOC_VERSION, &big) == 0,
	      "a newer, longer VERSION: %s", strerror(errno));
	CHECK(big.v.size == sizeof(struct allocmark_version) &&
	      sizes[0] == 4ULL << 20 && sizes[1] == 8192 && sizes[2] == 7,
	      "size %u, max sizes %llu %llu %llu", big.v.size,
	      (unsigned long long)sizes[0], (unsigned long long)sizes[1],
	      (unsigned long long)sizes[2]);
	big.later[3] = 1;
	big.v.size = sizeof(big);
	EXPECT_ERRNO(E2BIG, fd, ALLOCMARK_IOC_VERSION, &big, "unknown field");

	/* Longer op records: known bytes used, zero tails accepted. */
	id = ioctl(fd, ALLOCMARK_IOC_BEGIN, &b);
	memset(wide, 0, sizeof(wide));
	wide[0].op = op_of(ALLOCMARK_OP_ALLOC, 0, 64);
	wide[1].op = op_of(ALLOCMARK_OP_FREE, 0, 64);
	r.stream = id;
	r.ops = (uintptr_t)wide;
	r.nr_ops = 2;
	r.op_size = sizeof(wide[0]);
	CHECK(ioctl(fd, ALLOCMARK_IOC_REPLAY, &r) == 0 && r.done == 2,
	      "32-byte op records: %s", strerror(errno));
	wide[1].later[1] = 5;
	EXPECT_ERRNO(E2BIG, fd, ALLOCMARK_IOC_REPLAY, &r, "op tail set");

	/* hist_bytes is a capacity; hist_filled says what was written. */
	memset(hist, 0xff, sizeof(hist));
	e = (struct allocmark_end){ .size = sizeof(e), .stream = id,
				    .hist = (uintptr_t)hist, .hist_bytes = 100 };
	CHECK(ioctl(fd, ALLOCMARK_IOC_END, &e) == 0 && e.hist_filled == 96 &&
	      hist[12] == UINT64_MAX && e.kinds[0].count == 1,
	      "capacity 100: filled %llu, alloc count %llu",
	      (unsigned long long)e.hist_filled,
	      (unsigned long long)e.kinds[0].count);
	printf("ok ABI growth\n");
}

/*
 * The shared op check runs here built with -fsanitize=undefined and
 * trap-on-error: a shift before its range check would kill the test.
 */
static void test_shared_check_defined(void)
{
	struct allocmark_op op = { 0 };
	unsigned int kind, v, refused = 0;

	for (kind = 0; kind < 8; kind++) {
		for (v = 0; v < 256; v++) {
			op = op_of(kind, 0, UINT64_MAX >> (v % 64));
			op.align_log2 = v;
			op.touch = 255 - v;
			refused += allocmark_op_check(&op, 1, 1, UINT64_MAX) !=
				   ALLOCMARK_FAULT_NONE;
			refused += allocmark_touch_bytes(v, UINT64_MAX) !=
				   UINT64_MAX;
		}
	}
	CHECK(refused > 0, "nothing refused");
	printf("ok shared op check: no undefined shift\n");
}

void test_limits(int fd)
{
	test_shared_check_defined();
	test_abi_growth(fd);
	test_timing_status(fd);
	test_hot_data_layout();
	test_tags();
	test_mailboxes();
	test_live_cap();
	test_memcg_accounting();
	test_touch_killable();
}
