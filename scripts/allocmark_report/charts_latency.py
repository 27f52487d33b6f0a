# Latency percentile curves, one figure per operation and thread count,
# one panel per workload. Repetitions are merged only when they were timed
# the same way (per-op, or batches of the same K).
"""Latency percentile curves."""

import math
from collections import Counter, defaultdict

from .figure import finish, legend, new_figure
from .loading import dig, num
from .model import FLOOR, thread_label
from .palette import color

OPS = ["alloc", "free", "realloc"]
TICKS = [0.5, 0.9, 0.99, 0.999, 0.9999]
TICK_LABELS = ["p50", "p90", "p99", "p99.9", "p99.99"]
SUMMARY = [(0.5, "p50_ns"), (0.9, "p90_ns"), (0.99, "p99_ns"), (0.999, "p999_ns"), (0.9999, "p9999_ns")]


def nines(p):
    """x = -log10(1 - p): equal room for each extra nine."""
    return -math.log10(max(1 - p, 1e-6))


def timing_of(c):
    t = c.get("timing") or {}
    return (t.get("mode"), t.get("batch") if t.get("mode") == "batched" else None)


def same_timing(cells, op):
    """The cells timed like most of them, and how many were set aside."""
    with_lat = [c for c in cells if isinstance(dig(c, "latency", op), dict)
                and num(dig(c, "latency", op, "count"))]
    if not with_lat:
        return [], 0, None
    mode = Counter(timing_of(c) for c in with_lat).most_common(1)[0][0]
    kept = [c for c in with_lat if timing_of(c) == mode]
    return kept, len(with_lat) - len(kept), mode


def curve(cells, op):
    acc = defaultdict(int)
    for c in cells:
        for b in dig(c, "latency", op, "buckets") or []:
            if isinstance(b, list) and len(b) == 3:
                acc[(b[0], b[1])] += b[2]
    total = sum(acc.values())
    if total:
        xs, ys, seen = [], [], 0
        for (lo, hi), n in sorted(acc.items()):
            seen += n
            xs.append(nines(seen / total))
            ys.append(hi)
            if seen / total >= 0.99999:
                break
        return xs, ys
    # Results stored without buckets: the summary percentiles, median over cells.
    xs, ys = [], []
    for p, key in SUMMARY:
        vals = sorted(v for v in (num(dig(c, "latency", op, key)) for c in cells) if v is not None)
        if vals:
            xs.append(nines(p))
            ys.append(vals[len(vals) // 2])
    return (xs, ys) if len(xs) >= 2 else None


def latency_charts(res, out, charts, notes):
    from matplotlib.lines import Line2D
    allocs = res.allocators + ([FLOOR] if res.has_floor else [])
    for op in OPS:
        for t in res.threads:
            panels, batched_any = [], False
            for w in res.workloads_at(t):
                lines = []
                for a in allocs:
                    cells = res.groups.get((a, w, t), [])
                    kept, dropped, mode = same_timing(cells, op)
                    if dropped:
                        notes.add(f"{op} latency", f"{a} / {w} / {thread_label(t)}: {dropped} repetition(s)",
                                  f"timed differently; the curve merges only the {len(kept)} timed "
                                  f"{mode[0]}{' K=' + str(mode[1]) if mode[1] else ''}")
                    cv = curve(kept, op) if kept else None
                    if cv:
                        lines.append((a, cv, mode[0] == "batched"))
                        batched_any |= mode[0] == "batched"
                if lines:
                    panels.append((w, lines))
            if not panels:
                if op != "realloc":
                    notes.add(f"{op} latency", thread_label(t), "no latency figures (latency pass off)")
                continue
            fig, axes = new_figure(len(panels), 4, panel_h=2.4, legend_rows=(len(allocs) + 7) // 6)
            for ax, (w, lines) in zip(axes, panels):
                for a, (xs, ys), batched in lines:
                    ax.plot(xs, ys, color=color(a), lw=2.2 if a == FLOOR else 1.3,
                            ls=":" if a == FLOOR else ("--" if batched else "-"))
                ax.set_yscale("log")
                ax.set_xticks([nines(p) for p in TICKS])
                ax.set_xticklabels(TICK_LABELS, fontsize=7)
                ax.tick_params(axis="y", labelsize=7)
                ax.set_title(w, fontsize=9)
                ax.grid(alpha=0.3, which="both")
            axes[0].set_ylabel("ns", fontsize=8)
            handles = [Line2D([], [], color=color(a), lw=1.5, label=a) for a in res.allocators]
            if res.has_floor:
                handles.append(Line2D([], [], color=color(FLOOR), ls=":", lw=2.2, label="null: harness floor"))
            if batched_any:
                handles.append(Line2D([], [], color="#333", ls="--", label="dashed: K-op batch averages"))
            legend(fig, handles)
            fig.suptitle(f"{op} latency percentiles, {thread_label(t)} (lower and flatter is better)",
                         fontsize=12)
            finish(fig, res, out, f"latency_{op}_{t}t", charts, f"{op} latency, {thread_label(t)}",
                   f"Each curve is one allocator's {op} latency at each percentile, repetitions timed the "
                   "same way merged (x in nines: p99 to p99.99 get as much room as p50 to p90). Dashed "
                   "curves were timed in batches of K ops and show K-op averages, which smooth the tail "
                   "(README, Latency); the dotted grey curve is the harness floor (null).",
                   "latency")
