#!/usr/bin/python3
# Charts and an offline index.html from allocmark results JSON (matplotlib only).
# Run through `allocmark report RESULTS.json... -o DIR`; exit 2 on bad input.
"""allocmark report: PNG + SVG charts and index.html from results documents."""

import argparse
import html
import json
import math
import os
import shutil
import sys
import tempfile
from collections import defaultdict

PERCENTILE_TICKS = [0.5, 0.9, 0.99, 0.999, 0.9999]
OPS = ["alloc", "free", "realloc"]


class BadInput(Exception):
    """A results file that cannot be reported on; the message names it."""


def median(values):
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def dig(d, *path):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _figure(c, path, label, required):
    v = dig(c, *path)
    if v is None:
        state = "is null" if dig(c, *path[:-1]) is not None and path[-1] in dig(c, *path[:-1]) \
            else "is missing"
        return f"{label} {state} (an ok cell needs a number)" if required else None
    if num(v) is None or v < 0:
        return f"{label} is {json.dumps(v)[:40]}, expected a number >= 0 or null"
    return None


def cell_problem(c):
    """What is wrong with one cell for a reader, or None: the same checks as
    the C++ readers' CheckResultsDocument (bench/report/compare.cc)."""
    if not isinstance(c, dict):
        return "is not an object"
    if not (isinstance(c.get("allocator"), str) and isinstance(c.get("workload"), str)
            and isinstance(c.get("threads"), int) and not isinstance(c.get("threads"), bool)
            and isinstance(c.get("status"), str)):
        return "lacks allocator, workload, threads or status"
    if not 1 <= c["threads"] <= 1 << 20:
        return f"threads {c['threads']} is not a thread count"
    if c["status"] not in ("ok", "failed", "skipped"):
        return f"status {json.dumps(c['status'])} is not ok, failed or skipped"
    for key in ("latency", "memory", "cache", "timing"):
        if c.get(key) is not None and not isinstance(c[key], dict):
            return f"{key} is {json.dumps(c[key])[:40]}, expected an object or null"
    for key in ("reason", "stream_digest"):
        if c.get(key) is not None and not isinstance(c[key], str):
            return f"{key} is {json.dumps(c[key])[:40]}, expected a string or null"
    for side in ("alloc", "free"):
        v = dig(c, "latency", side)
        if v is not None and not isinstance(v, dict):
            return f"latency.{side} is not an object"
    checks = [(("ns_per_op",), "ns_per_op", c["status"] == "ok"),
              (("mops_per_s",), "mops_per_s", False),
              (("wall_ns",), "wall_ns", False),
              (("ops",), "ops", False),
              (("latency", "alloc", "p99_ns"), "latency.alloc.p99_ns", False),
              (("latency", "free", "p99_ns"), "latency.free.p99_ns", False),
              (("memory", "peak_rss_bytes"), "memory.peak_rss_bytes", False),
              (("cache", "events", "instructions"), "cache.events.instructions", False)]
    for path, label, required in checks:
        p = _figure(c, path, label, required)
        if p:
            return p
    return None


def load(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text: not an allocmark results document")
    if not text.strip():
        raise BadInput(f"{path}: the file is empty")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise BadInput(f"{path}: not valid JSON ({str(e).splitlines()[0][:100]})")
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise BadInput(f"{path}: not an allocmark results document (no schema_version)")
    if doc["schema_version"] != 1 or isinstance(doc["schema_version"], bool):
        raise BadInput(f"{path}: schema_version {json.dumps(doc['schema_version'])[:40]} "
                       "is not supported (this report reads 1)")
    for key in ("context", "run"):
        if key in doc and not isinstance(doc[key], dict):
            raise BadInput(f"{path}: {key} is {json.dumps(doc[key])[:40]}, expected an object")
    if "adapters" in doc and not isinstance(doc["adapters"], list):
        raise BadInput(f"{path}: adapters is not an array")
    cells = doc.get("cells")
    if not isinstance(cells, list) or not cells:
        raise BadInput(f"{path}: no cells: the run is empty")
    for i, c in enumerate(cells):
        problem = cell_problem(c)
        if problem:
            where = f" ({c['allocator']}/{c['workload']})" if isinstance(c, dict) and \
                isinstance(c.get("allocator"), str) and isinstance(c.get("workload"), str) else ""
            raise BadInput(f"{path}: cells[{i}]{where}: {problem}")
    if not any(c["status"] == "ok" for c in cells):
        raise BadInput(f"{path}: no cell ran ok; nothing to chart")
    return doc


class Results:
    """Cells of one or more documents, grouped by (allocator, workload, threads)."""

    def __init__(self, docs):
        self.docs = docs
        self.groups = defaultdict(list)
        self.order_alloc, self.order_work, self.threads = [], [], set()
        for doc in docs:
            for c in doc["cells"]:
                if c["status"] != "ok":
                    continue
                key = (c["allocator"], c["workload"], c["threads"])
                self.groups[key].append(c)
                if c["allocator"] not in self.order_alloc:
                    self.order_alloc.append(c["allocator"])
                if c["workload"] not in self.order_work:
                    self.order_work.append(c["workload"])
                self.threads.add(c["threads"])
        # system first: it is the baseline every ratio is taken against.
        if "system" in self.order_alloc:
            self.order_alloc.remove("system")
            self.order_alloc.insert(0, "system")
        self.threads = sorted(self.threads)

    def metric(self, key, fn):
        vals = [v for v in (fn(c) for c in self.groups.get(key, [])) if num(v) is not None]
        return median(vals)

    def footer(self):
        parts = []
        for doc in self.docs:
            ctx, run = doc.get("context", {}), doc.get("run", {})
            parts.append(
                f"{ctx.get('host', '?')} ({ctx.get('cpu_model') or 'unknown CPU'}, "
                f"{ctx.get('cores', '?')} cores, {ctx.get('kernel', '?')}) · "
                f"profile {run.get('profile', '?')} · {ctx.get('date', '?')} · rev {ctx.get('git_revision', '?')}")
        uniq = list(dict.fromkeys(parts))
        return "\n".join(uniq[:3]) + (f"\n(+{len(uniq) - 3} more runs)" if len(uniq) > 3 else "")


def colors(allocators):
    import matplotlib
    cmap = matplotlib.colormaps["tab10"]
    return {a: cmap(i % 10) for i, a in enumerate(allocators)}


def finish(fig, res, out, name, charts, title, how):
    fig.text(0.01, 0.005, res.footer(), fontsize=7, color="#444", va="bottom", ha="left")
    fig.savefig(os.path.join(out, name + ".png"), dpi=100)
    fig.savefig(os.path.join(out, name + ".svg"), metadata={"Date": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    charts.append((name, title, how))


def new_figure(nplots, ncols, w=5.2, h=3.6):
    import matplotlib.pyplot as plt
    ncols = max(1, min(ncols, nplots))
    nrows = (nplots + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows + 0.7), squeeze=False)
    for ax in axes.flat[nplots:]:
        ax.set_visible(False)
    fig.subplots_adjust(bottom=0.1 + 0.35 / (nrows + 1), hspace=0.55, wspace=0.25, top=0.9)
    return fig, list(axes.flat)


def relative_bars(res, out, charts, notes, name, title, how, fn, ylabel):
    if "system" not in res.order_alloc:
        notes.append(f"{title}: skipped, no ok system cells to normalise to")
        return
    fig, axes = new_figure(len(res.threads), 1, w=max(8, 1.1 * len(res.order_work) + 2), h=3.8)
    cols = colors(res.order_alloc)
    others = res.order_alloc
    drawn = False
    for ax, t in zip(axes, res.threads):
        width = 0.8 / len(others)
        for i, a in enumerate(others):
            xs, ys = [], []
            for j, w in enumerate(res.order_work):
                base = res.metric(("system", w, t), fn)
                v = res.metric((a, w, t), fn)
                if base and v is not None:
                    xs.append(j + (i - (len(others) - 1) / 2) * width)
                    ys.append(v / base)
            if xs:
                drawn = True
                ax.bar(xs, ys, width=width, label=a, color=cols[a])
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(res.order_work)))
        ax.set_xticklabels(res.order_work, rotation=20, fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{t} thread(s)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    if not drawn:
        notes.append(f"{title}: skipped, no metric values")
        import matplotlib.pyplot as plt
        plt.close(fig)
        return
    axes[0].legend(fontsize=7, ncol=min(len(others), 5), loc="upper left")
    fig.suptitle(title + " (lower is better)")
    finish(fig, res, out, name, charts, title, how)


def merged_buckets(cells, op):
    acc = defaultdict(int)
    for c in cells:
        for b in dig(c, "latency", op, "buckets") or []:
            if isinstance(b, list) and len(b) == 3:
                acc[(b[0], b[1])] += b[2]
    return sorted(acc.items())


def percentile_curve(buckets):
    total = sum(n for _, n in buckets)
    if total == 0:
        return None
    xs, ys, seen = [], [], 0
    for (lo, hi), n in buckets:
        seen += n
        p = seen / total
        # x = -log10(1 - p): equal room for each extra nine.
        xs.append(-math.log10(max(1 - p, 1e-6)))
        ys.append(hi)
        if p >= 0.99999:
            break
    return xs, ys


def latency_charts(res, out, charts, notes):
    t = res.threads[0]
    cols = colors(res.order_alloc)
    for op in OPS:
        works = [w for w in res.order_work
                 if any(merged_buckets(res.groups.get((a, w, t), []), op) for a in res.order_alloc)]
        if not works:
            notes.append(f"latency percentiles ({op}): skipped, no {op} histograms (latency pass off, or no workload does {op})")
            continue
        fig, axes = new_figure(len(works), 3, w=4.6, h=3.3)
        for ax, w in zip(axes, works):
            for a in res.order_alloc:
                curve = percentile_curve(merged_buckets(res.groups.get((a, w, t), []), op))
                if curve:
                    ax.plot(curve[0], curve[1], label=a, color=cols[a], lw=1.2)
            ax.set_yscale("log")
            ax.set_xticks([-math.log10(1 - p) for p in PERCENTILE_TICKS])
            ax.set_xticklabels(["p50", "p90", "p99", "p99.9", "p99.99"], fontsize=7)
            ax.set_ylabel("ns", fontsize=8)
            ax.set_title(w, fontsize=9)
            ax.grid(alpha=0.3, which="both")
        axes[0].legend(fontsize=6)
        fig.suptitle(f"{op} latency percentiles, {t} thread(s) (lower is better)")
        finish(fig, res, out, f"latency_{op}", charts, f"{op} latency percentile curves",
               f"Each curve is one allocator's {op} latency distribution (all repetitions merged): "
               "the height at p99 is the latency 99 % of calls beat. Curves lower and flatter are better; "
               "a curve rising late has a rare slow path. Batched cells show K-op averages (see README, Latency).")


def scaling_chart(res, out, charts, notes):
    if len(res.threads) < 2:
        notes.append("thread scaling: skipped, the run has one thread count only")
        return
    cols = colors(res.order_alloc)
    fig, axes = new_figure(len(res.order_work), 3, w=4.4, h=3.2)
    for ax, w in zip(axes, res.order_work):
        for a in res.order_alloc:
            pts = [(t, res.metric((a, w, t), lambda c: c.get("mops_per_s"))) for t in res.threads]
            pts = [(t, v) for t, v in pts if v is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=a, color=cols[a], lw=1.2)
        ax.set_xticks(res.threads)
        ax.set_xlabel("threads", fontsize=8)
        ax.set_ylabel("Mops/s", fontsize=8)
        ax.set_title(w, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle("Thread scaling: total throughput (higher is better)")
    finish(fig, res, out, "thread_scaling", charts, "Thread scaling",
           "Total Mops/s (all threads' ops over wall time) against the thread count. "
           "Lines that rise in proportion scale; flat or falling lines contend.")


def memory_allocators(res):
    # null's rings are harness, not a heap: left out of memory comparisons.
    return [a for a in res.order_alloc if a != "null"]


def timeline_of(cell):
    mem = cell.get("memory") or {}
    tl = mem.get("timeline")
    if not isinstance(tl, list) or not tl:
        return None
    cols = mem.get("timeline_columns") or ["t_ns", "rss_bytes"]
    # The allocator's part of the RSS where the results have it (older
    # results only have the whole worker's).
    rss_col = "allocator_rss_bytes" if "allocator_rss_bytes" in cols else "rss_bytes"
    try:
        ti, ri = cols.index("t_ns"), cols.index(rss_col)
    except ValueError:
        return None
    pts = [(r[ti], r[ri]) for r in tl if isinstance(r, list) and len(r) > max(ti, ri)
           and num(r[ti]) is not None and num(r[ri]) is not None]
    return pts or None


def rss_timeline_chart(res, out, charts, notes):
    t = res.threads[0]
    cols = colors(res.order_alloc)
    works = [w for w in res.order_work
             if any(timeline_of(c) for a in res.order_alloc for c in res.groups.get((a, w, t), []))]
    if not works:
        notes.append("RSS over time: skipped, the results have no memory.timeline (older results, or sampler off)")
        return
    fig, axes = new_figure(len(works), 3, w=4.4, h=3.2)
    for ax, w in zip(axes, works):
        for a in memory_allocators(res):
            tl = next((timeline_of(c) for c in res.groups.get((a, w, t), []) if timeline_of(c)), None)
            if tl:
                ax.plot([p[0] / 1e6 for p in tl], [p[1] / 2**20 for p in tl], label=a, color=cols[a], lw=1)
        ax.set_xlabel("ms", fontsize=8)
        ax.set_ylabel("allocator RSS MiB", fontsize=8)
        ax.set_title(w, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle(f"RSS over time, {t} thread(s), first ok repetition")
    finish(fig, res, out, "rss_timeline", charts, "RSS over time",
           "The allocator's part of the resident set (RSS minus the baseline before the replay and "
           "the harness's own mappings) sampled during the timed pass. A line that stays high after "
           "the workload frees its blocks is memory the allocator keeps cached.")


def fragmentation_value(cell):
    mem = cell.get("memory") or {}
    v = num(mem.get("rss_over_live_at_peak"))
    if v is not None:
        return v
    live = num(mem.get("peak_live_bytes")) or num(mem.get("peak_live_bytes_sum_of_threads"))
    rss = num(mem.get("peak_rss_bytes"))
    return rss / live if live and rss else None


def fragmentation_chart(res, out, charts, notes):
    t = res.threads[0]
    cols = colors(res.order_alloc)
    fig, axes = new_figure(1, 1, w=max(8, 1.1 * len(res.order_work) + 2), h=3.8)
    ax = axes[0]
    width = 0.8 / len(res.order_alloc)
    drawn = False
    allocs = memory_allocators(res)
    width = 0.8 / max(len(allocs), 1)
    for i, a in enumerate(allocs):
        xs, ys = [], []
        for j, w in enumerate(res.order_work):
            v = res.metric((a, w, t), fragmentation_value)
            if v is not None:
                xs.append(j + (i - (len(allocs) - 1) / 2) * width)
                ys.append(v)
        if xs:
            drawn = True
            ax.bar(xs, ys, width=width, label=a, color=cols[a])
    if not drawn:
        import matplotlib.pyplot as plt
        plt.close(fig)
        notes.append("fragmentation: skipped, no peak live bytes in the results (latency pass off)")
        return
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(len(res.order_work)))
    ax.set_xticklabels(res.order_work, rotation=20, fontsize=8)
    ax.set_ylabel("peak RSS / peak live bytes")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(len(res.order_alloc), 5))
    fig.suptitle(f"Fragmentation and overhead at peak, {t} thread(s) (lower is better)")
    finish(fig, res, out, "fragmentation", charts, "Fragmentation",
           "The allocator's peak resident memory divided by the peak of live requested bytes "
           "(memory.rss_over_live_at_peak, or peak RSS over the summed per-thread live peak in older "
           "results). The baseline and the harness's mappings are taken off (README, Memory); older "
           "results include the whole worker.")


def cache_charts(res, out, charts, notes):
    t = res.threads[0]
    events = []
    for cells in res.groups.values():
        for c in cells:
            for k, v in (dig(c, "cache", "events") or {}).items():
                if num(v) is not None and k not in events:
                    events.append(k)
    if not events:
        notes.append("cache figures: skipped, no cache.events in the results (run with a cache probe)")
        return
    cols = colors(res.order_alloc)
    fig, axes = new_figure(len(events), 2, w=max(6, 0.9 * len(res.order_work) + 2), h=3.4)
    for ax, ev in zip(axes, events):
        width = 0.8 / len(res.order_alloc)
        for i, a in enumerate(res.order_alloc):
            xs, ys = [], []
            for j, w in enumerate(res.order_work):
                v = res.metric((a, w, t), lambda c, ev=ev: dig(c, "cache", "events", ev))
                if v is not None:
                    xs.append(j + (i - (len(res.order_alloc) - 1) / 2) * width)
                    ys.append(v)
            if xs:
                ax.bar(xs, ys, width=width, label=a, color=cols[a])
        ax.set_xticks(range(len(res.order_work)))
        ax.set_xticklabels(res.order_work, rotation=20, fontsize=7)
        ax.set_title(ev + " per op", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle(f"Cache events per op, {t} thread(s) (lower is better)")
    finish(fig, res, out, "cache", charts, "Cache events",
           "Per-op counts from hardware counters or the simulated cache pass (cells[].cache.events); "
           "events a machine could not measure are left out.")


def write_index(res, out, charts, notes):
    rows = []
    for doc in res.docs:
        ctx, run = doc.get("context", {}), doc.get("run", {})
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (
            ctx.get("host"), ctx.get("cpu_model"), ctx.get("cores"), ctx.get("kernel"),
            run.get("profile"), run.get("repetitions"), ctx.get("date"), ctx.get("git_revision"))) + "</tr>")
    parts = [
        "<!doctype html>", "<html lang=en><head><meta charset=utf-8>",
        "<title>allocmark report</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
        "img{max-width:100%;border:1px solid #ddd}td,th{padding:2px 8px;text-align:left}"
        "table{border-collapse:collapse}tr:nth-child(even){background:#f4f4f4}</style>",
        "</head><body>", "<h1>allocmark report</h1>",
        "<table><tr><th>host</th><th>CPU</th><th>cores</th><th>kernel</th><th>profile</th>"
        "<th>repetitions</th><th>date</th><th>revision</th></tr>", *rows, "</table>",
        f"<p>{len(res.order_alloc)} allocators, {len(res.order_work)} workloads, threads "
        f"{', '.join(map(str, res.threads))}. Figures are medians over ok repetitions; "
        "ratios are against <code>system</code> (glibc) on the same workload and thread count.</p>",
    ]
    # Cells whose threads spent over 5 % of their time waiting for each other:
    # their ns/op excludes the waits, but what they measured was partly the
    # scheduler (the console marks them with '!').
    shares = {}
    for doc in res.docs:
        for c in doc.get("cells", []):
            ws = dig(c, "wait", "wait_share")
            if c.get("status") == "ok" and num(ws) is not None:
                shares.setdefault((c["workload"], c["threads"], c["allocator"]), []).append(ws)
    flagged = [(k, median(v)) for k, v in sorted(shares.items()) if median(v) > 0.05]
    if flagged:
        parts.append("<h2 id=wait_share>Cells over 5 % wait share</h2><p>Their threads spent this share "
                     "of their time waiting for each other (hand-offs, barriers); ns/op excludes it, but part "
                     "of what these cells measured is scheduling.</p><ul>" + "".join(
                         f"<li>{html.escape(w)}, {t} threads, {html.escape(a)}: {s * 100:.1f} %</li>"
                         for (w, t, a), s in flagged) + "</ul>")
    for name, title, how in charts:
        parts += [f"<h2 id={name}>{html.escape(title)}</h2>", f"<p>{html.escape(how)}</p>",
                  f"<a href=\"{name}.svg\"><img src=\"{name}.png\" alt=\"{html.escape(title)}\"></a>"]
    if notes:
        parts.append("<h2>Not shown</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    with open(os.path.join(out, "index.html"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


def main(argv):
    ap = argparse.ArgumentParser(prog="allocmark report", description=__doc__)
    ap.add_argument("results", nargs="+", help="results JSON files")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    args = ap.parse_args(argv)
    try:
        return draw(args)
    except BadInput as e:
        print(f"allocmark: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # An unwritable -o, a full disk: one line naming the file.
        print(f"allocmark: {e.filename or args.out}: {e.strerror}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 -- one line instead of a traceback
        print(f"allocmark: report failed on {', '.join(args.results)}: "
              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        return 2


def draw(args):
    docs = [load(p) for p in args.results]
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise BadInput(f"{args.out}: exists and is not a directory")
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "allocmark"  # reproducible SVG ids
    res = Results(docs)
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    # Everything is drawn into a temporary directory first, so a failure
    # leaves nothing half-written in the output directory.
    tmp = tempfile.mkdtemp(prefix=".report-", dir=parent)
    try:
        charts, notes = [], []
        relative_bars(res, tmp, charts, notes, "time_vs_system", "Time per op relative to system",
                      "Median ns/op of each allocator divided by glibc's (system) on the same workload and "
                      "thread count. Below the 1.0 line is faster than glibc.",
                      lambda c: c.get("ns_per_op"), "ns/op ÷ system")
        relative_bars(res, tmp, charts, notes, "rss_vs_system", "Peak RSS relative to system",
                      "Median allocator peak RSS (the worker's RSS less its baseline and harness mappings) "
                      "divided by glibc's. Below 1.0 uses less memory; null is left out.",
                      lambda c: None if c.get("allocator") == "null" else dig(c, "memory", "peak_rss_bytes"),
                      "peak RSS ÷ system")
        latency_charts(res, tmp, charts, notes)
        scaling_chart(res, tmp, charts, notes)
        rss_timeline_chart(res, tmp, charts, notes)
        fragmentation_chart(res, tmp, charts, notes)
        cache_charts(res, tmp, charts, notes)
        write_index(res, tmp, charts, notes)
        os.makedirs(args.out, exist_ok=True)
        names = sorted(os.listdir(tmp), key=lambda n: n == "index.html")  # index last
        for n in names:
            os.replace(os.path.join(tmp, n), os.path.join(args.out, n))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(charts)} charts and index.html in {args.out}")
    for n in notes:
        print(f"note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
