// Where each named figure lives in the typed cell record.
#include "bench/results/cell_figures.h"

#include <cmath>

namespace allocmark {

namespace {

template <class T>
double Number(const Nullable<T>& v) {
  return v ? static_cast<double>(*v) : NAN;
}

double P99(const Nullable<LatencyFigures>& side) {
  return side ? Number(side->p99_ns) : NAN;
}

}  // namespace

double CellFigure(const CellRecord& c, const std::string& key) {
  if (key == "ns_per_op") return Number(c.ns_per_op);
  if (key == "mops_per_s") return Number(c.mops_per_s);
  if (key == "alloc_p99") return c.latency ? P99(c.latency->alloc) : NAN;
  if (key == "free_p99") return c.latency ? P99(c.latency->free) : NAN;
  if (key == "peak_rss")
    return c.memory ? Number(c.memory->peak_rss_bytes) : NAN;
  if (key == "instructions_per_op") {
    // cache.events figures are per op already (hardware counters or the
    // simulated pass); null when the probe was unavailable.
    if (!c.cache || !c.cache->events) return NAN;
    const auto it = c.cache->events->find("instructions");
    return it == c.cache->events->end() ? NAN : Number(it->second);
  }
  return NAN;
}

}  // namespace allocmark
