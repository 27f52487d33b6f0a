# Dot plots: workloads as rows, one dot per allocator on a log axis, error
# bars from the repetitions, one panel per thread count. Used for every
# "relative to system" chart and for fragmentation.
"""Log-scale dot plots of a figure per workload and allocator."""

from . import model
from .figure import finish, legend, new_figure
from .model import BASELINE, FLOOR, thread_label
from .palette import color


def legend_handles(allocators, relative, floor, any_noisy, any_wait):
    from matplotlib.lines import Line2D
    h = [Line2D([], [], ls="", marker="o", color=color(a), label=a) for a in allocators]
    if relative:
        h.append(Line2D([], [], color="black", lw=1, label="system = 1"))
    if floor:
        h.append(Line2D([], [], color=color(FLOOR), lw=3, label="null: harness floor"))
    if any_noisy:
        h.append(Line2D([], [], ls="", marker="o", mfc="white", color="#333", label="hollow: noisy"))
    if any_wait:
        h.append(Line2D([], [], ls="", marker="^", color="#333", label="▲: waits > 5 %"))
    return h


def dot_plot(res, out, charts, notes, spec):
    """spec: name, title, how, fn, xlabel, relative (divide by system),
    floor (draw null as a line), memory (leave null out), section."""
    relative, fn = spec["relative"], spec["fn"]
    allocs = [a for a in res.allocators if not (relative and a == BASELINE)]
    if relative and BASELINE not in res.allocators:
        notes.add(spec["title"], "the whole chart", "no ok system cells to divide by")
        return
    panels = []
    for t in res.threads:
        rows = []
        for w in res.workloads_at(t):
            pts = {}
            for a in allocs:
                key = (a, w, t)
                if not res.groups.get(key):
                    continue
                if relative:
                    r = res.ratio(key, fn)
                else:
                    vals = res.values(key, fn)
                    r = (model.median(vals),) + model.median_ci(vals) if vals else None
                if r is None:
                    why = ("no system figure to divide by" if relative and res.values(key, fn)
                           else "the cells have no figure for it")
                    notes.add(spec["title"], f"{a} / {w} / {thread_label(t)}", why)
                    continue
                pts[a] = r
            floor_x = None
            if spec["floor"] and res.groups.get((FLOOR, w, t)):
                f = res.ratio((FLOOR, w, t), fn) if relative else (res.metric((FLOOR, w, t), fn),)
                floor_x = f[0] if f and f[0] else None
            if pts:
                rows.append((w, pts, floor_x))
        if rows:
            panels.append((t, rows))
    if not panels:
        notes.add(spec["title"], "the whole chart", "no cell has the figure")
        return
    k = len(allocs)
    band = 0.2 + 0.075 * k
    nrows = max(len(rows) for _, rows in panels)
    handles_n = len(allocs) + 4
    fig, axes = new_figure(len(panels), 2, panel_h=nrows * band + 0.5, legend_rows=(handles_n + 5) // 6)
    any_noisy = any_wait = False
    step = 0.8 / max(k, 1)
    for ax, (t, rows) in zip(axes, panels):
        for i, (w, pts, floor_x) in enumerate(rows):
            if floor_x:
                ax.vlines(floor_x, i - 0.45, i + 0.45, color=color(FLOOR), lw=3, zorder=1)
            for j, a in enumerate(allocs):
                if a not in pts:
                    continue
                m, lo, hi = pts[a]
                y = i - 0.4 + step * (j + 0.5)
                noisy = res.noisy((a, w, t))
                ws = res.wait_share((a, w, t))
                wait = ws is not None and ws > model.WAIT_FLAG
                any_noisy |= noisy
                any_wait |= wait
                ax.errorbar([m], [y], xerr=[[max(m - lo, 0)], [max(hi - m, 0)]], fmt="^" if wait else "o",
                            ms=5, color=color(a), mfc="white" if noisy else color(a),
                            elinewidth=1, capsize=2, zorder=3)
            if i:
                ax.axhline(i - 0.5, color="#ddd", lw=0.6, zorder=0)
        if relative:
            ax.axvline(1.0, color="black", lw=1, zorder=2)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r[0] for r in rows], fontsize=9)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.grid(axis="x", which="both", alpha=0.25)
        ax.set_xlabel(spec["xlabel"], fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(thread_label(t), fontsize=10)
    legend(fig, legend_handles(allocs, relative, spec["floor"], any_noisy, any_wait))
    fig.suptitle(spec["title"] + " (lower is better)", fontsize=12)
    finish(fig, res, out, spec["name"], charts, spec["title"], spec["how"], spec["section"])
