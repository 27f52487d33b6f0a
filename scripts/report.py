#!/usr/bin/python3
# Charts and an offline index.html from allocmark results JSON (matplotlib
# only). Run through `allocmark report RESULTS.json... -o DIR`; exit 2 on bad
# input. The work is in allocmark_report/, one module per concern.
"""allocmark report: PNG + SVG charts and index.html from results documents."""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from allocmark_report import model  # noqa: E402
from allocmark_report.charts_dots import dot_plot  # noqa: E402
from allocmark_report.charts_latency import latency_charts  # noqa: E402
from allocmark_report.charts_other import cache_charts, rss_timeline_charts, scaling_chart  # noqa: E402
from allocmark_report.loading import BadInput, load  # noqa: E402
from allocmark_report.page import write_index  # noqa: E402

DOT_CHARTS = [
    {"name": "time_vs_system", "title": "Time per op relative to system", "section": "time",
     "fn": model.ns_per_op, "relative": True, "floor": True, "xlabel": "ns/op ÷ system's (log)",
     "how": "Each dot is an allocator's median ns/op (busy time per op per thread, waits excluded) divided "
            "by glibc's (system) on the same workload and thread count; left of the black line is faster "
            "than glibc. Error bars span the repetitions' confidence interval of the median; hollow dots "
            "are noisy cells, triangles cells whose threads waited over 5 % of the time. The grey bar is "
            "the harness floor (null): no allocator can measure below it."},
    {"name": "rss_vs_system", "title": "Peak RSS relative to system", "section": "memory",
     "fn": model.peak_rss, "relative": True, "floor": False, "xlabel": "peak RSS ÷ system's (log)",
     "how": "The allocator's peak resident memory (the worker's peak less its baseline and the harness's "
            "mappings, README, Memory) divided by glibc's. Left of the line uses less memory. null is "
            "left out: its rings are harness memory."},
    {"name": "purged_vs_system", "title": "RSS after purge relative to system", "section": "memory",
     "fn": model.purged_rss, "relative": True, "floor": False, "xlabel": "RSS after purge ÷ system's (log)",
     "how": "The allocator's resident memory after its purge hook (malloc_trim, arena purge, "
            "mi_collect, ...) at the end of the cell, divided by glibc's: what it cannot give back."},
    {"name": "fragmentation", "title": "Fragmentation and overhead at peak", "section": "memory",
     "fn": model.fragmentation, "relative": False, "floor": False, "xlabel": "peak RSS ÷ peak live bytes (log)",
     "how": "The allocator's peak resident memory divided by the peak of live requested bytes "
            "(memory.rss_over_live_at_peak); 1 is no overhead. Older results include the whole worker."},
]


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
    res = model.Results(docs)
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    # Everything is drawn into a temporary directory first, so a failure
    # leaves nothing half-written in the output directory.
    tmp = tempfile.mkdtemp(prefix=".report-", dir=parent)
    try:
        charts, notes = [], model.NotShown()
        for spec in DOT_CHARTS:
            dot_plot(res, tmp, charts, notes, spec)
        latency_charts(res, tmp, charts, notes)
        scaling_chart(res, tmp, charts, notes)
        rss_timeline_charts(res, tmp, charts, notes)
        cache_charts(res, tmp, charts, notes)
        write_index(res, tmp, charts, notes)
        os.makedirs(args.out, exist_ok=True)
        names = sorted(os.listdir(tmp), key=lambda n: n == "index.html")  # index last
        for n in names:
            os.replace(os.path.join(tmp, n), os.path.join(args.out, n))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(charts)} charts and index.html in {args.out}; "
          f"{len(notes.items)} items left out of charts (listed under Not shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
