# One colour per allocator in every report: a fixed table for the adapters
# allocmark ships, a stable hash (not Python's salted one) for the others.
"""Fixed allocator colours."""

import zlib

FIXED = {
    "system": "#4d4d4d",
    "jemalloc": "#1f77b4",
    "mimalloc": "#2ca02c",
    "tbb": "#ff7f0e",
    "tbb-proxy": "#8c564b",
    "tcmalloc": "#d62728",
    "lookaside": "#9467bd",
    "lookaside-shared": "#e377c2",
    "kpool-kmalloc": "#17becf",
    "kpool-kmem_cache": "#bcbd22",
    "kpool-vmalloc": "#393b79",
    "kpool-pages": "#637939",
    "null": "#9a9a9a",
}
EXTRA = ["#843c39", "#3182bd", "#31a354", "#756bb1", "#e6550d", "#636363",
         "#7b4173", "#5254a3", "#8ca252", "#bd9e39"]


def color(allocator):
    if allocator in FIXED:
        return FIXED[allocator]
    return EXTRA[zlib.crc32(allocator.encode()) % len(EXTRA)]


def all_colors():
    """Every colour a chart may draw an allocator in (the page test looks
    for them to tell a chart with data from an empty frame)."""
    return list(FIXED.values()) + EXTRA
