# index.html: the run's context, the charts, sortable tables of absolute
# numbers (best per row highlighted) and the list of everything not shown.
"""The offline HTML page."""

import html
import os
from collections import defaultdict

from . import model
from .model import FLOOR, thread_label

CSS = """
body{font-family:sans-serif;max-width:1170px;margin:auto;padding:0 10px 2em;color:#222}
img{display:block;max-width:100%;height:auto;border:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}
td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}
th.sort{cursor:pointer;background:#f0f0f0;user-select:none}
th.sort:after{content:" \\2195";color:#999}
td.best{background:#d9f2d9;font-weight:bold}
td.floor{color:#777}
.ctx td,.ctx th{text-align:left}
nav a{margin-right:1em}
.mark{color:#a33;font-size:11px}
details{margin:4px 0}
"""

# Sort a table by the clicked column: numbers by data-v, text otherwise.
JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th.sort').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === 'asc' ? -1 : 1;
      th.dataset.dir = dir === 1 ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col];
        var u = parseFloat(x.dataset.v), v = parseFloat(y.dataset.v);
        if (isNaN(u) && isNaN(v)) return dir * x.textContent.localeCompare(y.textContent);
        if (isNaN(u)) return 1;
        if (isNaN(v)) return -1;
        return dir * (u - v);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

TABLES = [
    ("ns/op", model.ns_per_op, lambda v: f"{v:.1f}" if v < 1000 else f"{v:.0f}", True),
    ("peak RSS, MiB", model.peak_rss, lambda v: f"{v / 2**20:.2f}" if v < 10 * 2**20 else f"{v / 2**20:.0f}", False),
    ("alloc p99, ns", model.alloc_p99, lambda v: f"{v:.0f}", True),
]

SECTIONS = [("time", "Time"), ("memory", "Memory"), ("latency", "Latency"),
            ("throughput", "Throughput"), ("cache", "Cache")]


def e(x):
    return html.escape(str(x))


def context_table(res):
    rows = []
    for doc in res.docs:
        ctx, run = doc.get("context", {}), doc.get("run", {})
        rows.append("<tr>" + "".join(f"<td>{e(x)}</td>" for x in (
            ctx.get("host"), ctx.get("cpu_model"), ctx.get("cores"), ctx.get("kernel"),
            run.get("profile"), run.get("repetitions"), ctx.get("date"), ctx.get("git_revision"))) + "</tr>")
    return ("<table class=ctx><tr><th>host</th><th>CPU</th><th>cores</th><th>kernel</th><th>profile</th>"
            "<th>repetitions</th><th>date</th><th>revision</th></tr>" + "".join(rows) + "</table>")


def number_table(res, t, label, fn, fmt, with_floor):
    allocs = [a for a in res.allocators if any(res.values((a, w, t), fn) for w in res.workloads)]
    floor = with_floor and res.has_floor and any(res.values((FLOOR, w, t), fn) for w in res.workloads)
    if not allocs:
        return ""
    head = "".join(f"<th class=sort>{e(a)}</th>" for a in allocs)
    if floor:
        head += "<th class=sort>null (floor)</th>"
    body = []
    for w in res.workloads_at(t):
        vals = {a: res.metric((a, w, t), fn) for a in allocs}
        best = min((v for v in vals.values() if v is not None), default=None)
        tds = [f"<td>{e(w)}</td>"]
        for a in allocs:
            v = vals[a]
            if v is None:
                bad = res.bad.get((a, w, t))
                tds.append(f"<td>{'failed' if bad and bad[0]['status'] == 'failed' else '-' if bad else ''}</td>")
                continue
            marks = ""
            if res.noisy((a, w, t)):
                marks += "~"
            ws = res.wait_share((a, w, t))
            if ws is not None and ws > model.WAIT_FLAG:
                marks += "w"
            cls = " class=best" if v == best else ""
            mk = f" <span class=mark>{marks}</span>" if marks else ""
            tds.append(f"<td data-v=\"{v:.6g}\"{cls}>{fmt(v)}{mk}</td>")
        if floor:
            v = res.metric((FLOOR, w, t), fn)
            tds.append(f"<td class=floor data-v=\"{v:.6g}\">{fmt(v)}</td>" if v is not None else "<td></td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f"<table class=sortable><thead><tr>"
            f"<th class=sort>workload</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def tables_section(res):
    parts = ["<h2 id=numbers>Numbers</h2><p>Medians over the ok repetitions; the best allocator of each "
             "row is highlighted (null, the harness floor, is never best). ~ marks a noisy cell (CV of "
             "ns/op above 2 % at one thread, 5 % at more), w a cell whose threads waited for each other "
             "over 5 % of the time. Click a column header to sort.</p>"]
    for t in res.threads:
        for i, (label, fn, fmt, with_floor) in enumerate(TABLES):
            table = number_table(res, t, label, fn, fmt, with_floor)
            if table:
                parts.append(f"<details{' open' if i == 0 else ''}><summary>{e(label)}, "
                             f"{thread_label(t)}</summary>{table}</details>")
    return "\n".join(parts)


def not_shown_section(res, notes):
    by_reason = defaultdict(lambda: defaultdict(list))
    for (a, w, t), cells in sorted(res.bad.items()):
        if res.groups.get((a, w, t)):
            what = f"{w} {t}t ({len(cells)} of {len(cells) + len(res.groups[(a, w, t)])} repetitions)"
        else:
            what = f"{w} {t}t"
        status = cells[0]["status"]
        by_reason[(status, cells[0].get("reason") or "no reason given")][a].append(what)
    parts = ["<h2 id=not_shown>Not shown</h2>"]
    if by_reason:
        parts.append("<h3>Cells not measured</h3><p>Every cell that failed or was skipped, once per reason.</p>")
        for (status, reason), per_alloc in by_reason.items():
            n = sum(len(v) for v in per_alloc.values())
            items = "".join(f"<li><b>{e(a)}</b>: {e(', '.join(ws))}</li>" for a, ws in per_alloc.items())
            parts.append(f"<details><summary>{e(status)}, {n} cell(s): {e(reason)}</summary>"
                         f"<ul>{items}</ul></details>")
    if res.has_floor:
        parts.append("<p>null (the harness floor) is drawn as a grey line, never as an allocator, and is "
                     "left out of every memory chart and table: its rings are harness memory.</p>")
    if notes.items:
        by_chart = defaultdict(list)
        for chart, what, why in notes.items:
            by_chart[chart].append((what, why))
        parts.append("<h3>Left out of a chart</h3>")
        for chart, items in by_chart.items():
            parts.append(f"<details><summary>{e(chart)}: {len(items)} item(s)</summary><ul>" + "".join(
                f"<li>{e(what)}: {e(why)}</li>" for what, why in items) + "</ul></details>")
    if len(parts) == 1:
        parts.append("<p>Nothing: every cell is in every chart.</p>")
    return "\n".join(parts)


def wait_section(res):
    flagged = []
    for key in sorted(res.groups):
        ws = res.wait_share(key)
        if ws is not None and ws > model.WAIT_FLAG:
            flagged.append((key, ws))
    if not flagged:
        return ""
    return ("<h3 id=wait_share>Cells over 5 % wait share</h3><p>Their threads spent this share of their time "
            "waiting for each other (hand-offs, barriers); ns/op excludes it, but part of what these cells "
            "measured is scheduling (▲ in the dot plots, w in the tables).</p><ul>" + "".join(
                f"<li>{e(w)}, {thread_label(t)}, {e(a)}: {s * 100:.1f} %</li>" for (a, w, t), s in flagged)
            + "</ul>")


def write_index(res, out, charts, notes):
    nav = "".join(f"<a href=#{s}>{e(label)}</a>" for s, label in SECTIONS
                  if any(c["section"] == s for c in charts))
    parts = ["<!doctype html>", "<html lang=en><head><meta charset=utf-8>",
             "<meta name=viewport content='width=device-width'>",
             "<title>allocmark report</title>", f"<style>{CSS}</style>", "</head><body>",
             "<h1>allocmark report</h1>", context_table(res),
             f"<p>{len(res.allocators)} allocators, {len(res.workloads)} workloads, threads "
             f"{', '.join(map(str, res.threads))}. Figures are medians over ok repetitions, error bars the "
             "repetitions' confidence interval of the median; ratios are against <code>system</code> (glibc) "
             "on the same workload and thread count, on log axes. Colours are fixed per allocator in every "
             "report.</p>",
             f"<nav>{nav}<a href=#numbers>Numbers</a><a href=#not_shown>Not shown</a></nav>"]
    for s, label in SECTIONS:
        group = [c for c in charts if c["section"] == s]
        if not group:
            continue
        parts.append(f"<h2 id={s}>{e(label)}</h2>")
        if s == "time":
            parts.append(wait_section(res))
        for c in group:
            parts += [f"<h3 id={c['name']}>{e(c['title'])}</h3>", f"<p>{e(c['how'])}</p>",
                      f"<a href=\"{c['name']}.svg\"><img src=\"{c['name']}.png\" "
                      f"alt=\"{e(c['title'])}\"></a>"]
    parts.append(tables_section(res))
    parts.append(not_shown_section(res, notes))
    parts.append(f"<script>{JS}</script></body></html>")
    with open(os.path.join(out, "index.html"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
