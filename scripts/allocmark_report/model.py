# The cells of one or more results documents grouped per (allocator,
# workload, threads): medians, confidence intervals, noise and wait marks.
"""The report's view of the cells, and the list of what it leaves out."""

import math
from collections import defaultdict

from .loading import dig, median, num

FLOOR = "null"          # the harness floor: a line, never an allocator
BASELINE = "system"     # every ratio is taken against glibc
WAIT_FLAG = 0.05        # README, Cross-thread work


def noisy_cv_pct(threads):
    """bench/results/stability.h: 2 % at one thread, 5 % at more."""
    return 2.0 if threads <= 1 else 5.0


def median_ci(values):
    """Order statistics bracketing the median (bench/results/stability.h):
    the narrowest with >= 95 % coverage, else [min, max]."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    def level(j):
        below, term = 0.0, 0.5 ** n
        for i in range(j):
            below += term
            term = term * (n - i) / (i + 1)
        return 1 - 2 * below
    j = 1
    while 2 * (j + 1) <= n + 1 and level(j + 1) >= 0.95:
        j += 1
    return v[j - 1], v[n - j]


def cv_pct(values):
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    if mean <= 0:
        return None
    return math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1)) / mean * 100


class NotShown:
    """Everything the page leaves out, each with its reason."""

    def __init__(self):
        self.items = []  # (section, what, why)

    def add(self, section, what, why):
        self.items.append((section, what, why))


class Results:
    """Cells of one or more documents, grouped by (allocator, workload, threads)."""

    def __init__(self, docs):
        self.docs = docs
        self.groups = defaultdict(list)      # ok cells
        self.bad = defaultdict(list)         # failed or skipped cells
        self.stability = {}
        allocs, works, threads = [], [], set()
        for doc in docs:
            for c in doc["cells"]:
                key = (c["allocator"], c["workload"], c["threads"])
                (self.groups if c["status"] == "ok" else self.bad)[key].append(c)
                if c["status"] == "ok":
                    if c["allocator"] not in allocs:
                        allocs.append(c["allocator"])
                    if c["workload"] not in works:
                        works.append(c["workload"])
                    threads.add(c["threads"])
            for e in doc.get("stability") or []:
                if isinstance(e, dict) and isinstance(e.get("noisy"), bool):
                    self.stability[(e.get("allocator"), e.get("workload"), e.get("threads"))] = e
        # system first (the baseline), null last (the floor).
        allocs.sort(key=lambda a: (a != BASELINE, a == FLOOR))
        self.allocators = [a for a in allocs if a != FLOOR]
        self.has_floor = FLOOR in allocs
        self.workloads = works
        self.threads = sorted(threads)

    def values(self, key, fn):
        return [v for v in (num(fn(c)) for c in self.groups.get(key, [])) if v is not None]

    def metric(self, key, fn):
        return median(self.values(key, fn))

    def workloads_at(self, t, allocators=None):
        allocs = allocators if allocators is not None else self.allocators + [FLOOR]
        return [w for w in self.workloads if any(self.groups.get((a, w, t)) for a in allocs)]

    def noisy(self, key):
        e = self.stability.get(key)
        if e is not None:
            return e["noisy"]
        cv = cv_pct(self.values(key, ns_per_op))
        return cv is not None and cv > noisy_cv_pct(key[2])

    def wait_share(self, key):
        return self.metric(key, lambda c: dig(c, "wait", "wait_share"))

    def ratio(self, key, fn):
        """(median, low, high) of fn over the baseline's median, or None."""
        base = self.metric((BASELINE,) + key[1:], fn)
        vals = self.values(key, fn)
        if not base or not vals:
            return None
        lo, hi = median_ci(vals)
        return median(vals) / base, lo / base, hi / base

    def footer(self):
        parts = []
        for doc in self.docs:
            ctx, run = doc.get("context", {}), doc.get("run", {})
            parts.append(
                f"{ctx.get('host', '?')} ({ctx.get('cpu_model') or 'unknown CPU'}, "
                f"{ctx.get('cores', '?')} cores, {ctx.get('kernel', '?')}) · "
                f"profile {run.get('profile', '?')} · {ctx.get('date', '?')} · rev {ctx.get('git_revision', '?')}")
        uniq = list(dict.fromkeys(parts))
        return "\n".join(uniq[:2]) + (f" (+{len(uniq) - 2} more runs)" if len(uniq) > 2 else "")


def ns_per_op(c):
    return c.get("ns_per_op")


def peak_rss(c):
    return dig(c, "memory", "peak_rss_bytes")


def purged_rss(c):
    return dig(c, "memory", "rss_after_purge_bytes")


def alloc_p99(c):
    return dig(c, "latency", "alloc", "p99_ns")


def fragmentation(c):
    mem = c.get("memory") or {}
    v = num(mem.get("rss_over_live_at_peak"))
    if v is not None:
        return v
    live = num(mem.get("peak_live_bytes")) or num(mem.get("peak_live_bytes_sum_of_threads"))
    rss = num(mem.get("peak_rss_bytes"))
    return rss / live if live and rss else None


def thread_label(t):
    return f"{t} thread" + ("" if t == 1 else "s")
