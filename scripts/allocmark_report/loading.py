# Reads and checks results documents for the report: one line naming the
# file, the cell and the field on bad input (mirrors CheckResultsDocument).
"""Loading and checking allocmark results documents."""

import json
import math

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
