# Thread scaling, RSS over time and cache events: small multiples, one
# panel per workload (or event), every thread count.
"""Scaling, RSS timeline and cache-event charts."""

from .figure import finish, legend, new_figure
from .loading import dig, num
from .model import FLOOR, median, median_ci, thread_label
from .palette import color


def _legend(fig, allocators):
    from matplotlib.lines import Line2D
    legend(fig, [Line2D([], [], color=color(a), lw=1.5, marker="o", ms=4,
                        ls=":" if a == FLOOR else "-",
                        label="null: harness floor" if a == FLOOR else a) for a in allocators])


def scaling_chart(res, out, charts, notes):
    if len(res.threads) < 2:
        notes.add("Thread scaling", "the whole chart", "the run has one thread count only")
        return
    works = [w for w in res.workloads if sum(1 for t in res.threads if res.workloads_at(t).count(w)) >= 2]
    for w in res.workloads:
        if w not in works:
            notes.add("Thread scaling", w, "measured at one thread count only")
    if not works:
        return
    fig, axes = new_figure(len(works), 4, panel_h=2.3, legend_rows=2)
    allocs = res.allocators + ([FLOOR] if res.has_floor else [])
    for ax, w in zip(axes, works):
        for a in allocs:
            pts = []
            for t in res.threads:
                vals = res.values((a, w, t), lambda c: c.get("mops_per_s"))
                if vals:
                    lo, hi = median_ci(vals)
                    pts.append((t, median(vals), lo, hi))
            if pts:
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                            yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                            marker="o", ms=3, color=color(a), lw=1.2, capsize=2,
                            ls=":" if a == FLOOR else "-")
        ax.set_xticks(res.threads)
        ax.set_yscale("log")
        ax.tick_params(labelsize=7)
        ax.set_title(w, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("Mops/s", fontsize=8)
    _legend(fig, allocs)
    fig.suptitle("Thread scaling: total Mops/s against threads (higher is better)", fontsize=12)
    finish(fig, res, out, "thread_scaling", charts, "Thread scaling",
           "Total Mops/s (all threads' ops over the cell's wall time) at each thread count, log scale, "
           "error bars from the repetitions. Lines that rise in proportion scale; flat or falling "
           "lines contend. The dotted line is the harness floor (null).", "throughput")


def timeline_of(cell):
    mem = cell.get("memory") or {}
    tl = mem.get("timeline")
    if not isinstance(tl, list) or not tl:
        return None
    cols = mem.get("timeline_columns") or ["t_ns", "rss_bytes"]
    rss_col = "allocator_rss_bytes" if "allocator_rss_bytes" in cols else "rss_bytes"
    try:
        ti, ri = cols.index("t_ns"), cols.index(rss_col)
    except ValueError:
        return None
    pts = [(r[ti], r[ri]) for r in tl if isinstance(r, list) and len(r) > max(ti, ri)
           and num(r[ti]) is not None and num(r[ri]) is not None]
    return pts or None


def rss_timeline_charts(res, out, charts, notes):
    drawn = False
    for t in res.threads:
        panels = []
        for w in res.workloads_at(t):
            lines = []
            for a in res.allocators:
                tl = next((timeline_of(c) for c in res.groups.get((a, w, t), []) if timeline_of(c)), None)
                if tl:
                    lines.append((a, tl))
            if lines:
                panels.append((w, lines))
        if not panels:
            continue
        drawn = True
        fig, axes = new_figure(len(panels), 4, panel_h=2.3, legend_rows=2)
        for ax, (w, lines) in zip(axes, panels):
            for a, tl in lines:
                ax.plot([p[0] / 1e6 for p in tl], [p[1] / 2**20 for p in tl], color=color(a), lw=1)
            ax.tick_params(labelsize=7)
            ax.set_title(w, fontsize=9)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("allocator RSS, MiB", fontsize=8)
        axes[-1].set_xlabel("ms", fontsize=8)
        _legend(fig, res.allocators)
        fig.suptitle(f"Allocator RSS over time, {thread_label(t)}, first ok repetition", fontsize=12)
        finish(fig, res, out, f"rss_timeline_{t}t", charts, f"RSS over time, {thread_label(t)}",
               "The allocator's part of the resident set (RSS less the baseline before the replay and the "
               "harness's own mappings), sampled during the timed pass. A line that stays high after the "
               "workload frees its blocks is memory the allocator keeps cached. null is left out: its "
               "rings are harness memory.", "memory")
    if not drawn:
        notes.add("RSS over time", "the whole chart",
                  "the results have no memory.timeline (older results, or the sampler was off)")


def cache_charts(res, out, charts, notes):
    from . import charts_dots
    events, unavailable = [], {}
    for cells in res.groups.values():
        for c in cells:
            for k, v in (dig(c, "cache", "events") or {}).items():
                if num(v) is not None and k not in events:
                    events.append(k)
            for k, why in (dig(c, "cache", "unavailable") or {}).items():
                unavailable.setdefault(k, why)
    for k, why in sorted(unavailable.items()):
        if k not in events:
            notes.add("Cache events", k, str(why))
    if not events:
        notes.add("Cache events", "the whole chart", "no cache.events in the results (run with a cache probe)")
        return
    for ev in events:
        charts_dots.dot_plot(res, out, charts, notes, {
            "name": f"cache_{ev}", "title": f"{ev} per op", "relative": False, "floor": True,
            "fn": lambda c, ev=ev: dig(c, "cache", "events", ev), "xlabel": f"{ev} per op (log)",
            "section": "cache",
            "how": f"cells[].cache.events.{ev}: per-op counts from perf counters (hw) or callgrind (sim) "
                   "around the throughput pass; the grey line is the harness floor (null)."})
