// Reads the results document's cells into CellSummary (see cell_summary.h).
#include "bench/report/cell_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "bench/report/report_format.h"

namespace allocmark {

using nlohmann::json;

namespace {

using Key = std::tuple<std::string, std::uint32_t, std::string>;

// A number at `key` of `obj`, or nothing.
void Take(const json& obj, const char* key, std::vector<double>& into) {
  if (!obj.is_object()) return;
  const auto it = obj.find(key);
  if (it != obj.end() && it->is_number()) into.push_back(it->get<double>());
}

const json& Field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

struct Samples {
  std::vector<double> ns, mops, wait, a50, a99, a999, f50, f99, f999;
  std::vector<double> rss, purged, ratio, thp, instr, d1, loc;
};

// Leaking cells fail, yet their memory was measured: keep those figures.
bool MemoryMeasured(const json& c) {
  const json& leak = Field(c, "leak");
  return c["status"] == "ok" || Field(leak, "message").is_string();
}

void Add(const json& c, CellSummary& s, Samples& x) {
  const std::string status = c["status"];
  if (status != "ok") {
    (status == "failed" ? s.failed : s.skipped)++;
    if (s.reason.empty() && c["reason"].is_string()) s.reason = c["reason"];
  } else {
    ++s.ok;
    Take(c, "ns_per_op", x.ns);
    Take(c, "mops_per_s", x.mops);
    Take(Field(c, "wait"), "wait_share", x.wait);
    const json& lat = Field(c, "latency");
    Take(Field(lat, "alloc"), "p50_ns", x.a50);
    Take(Field(lat, "alloc"), "p99_ns", x.a99);
    Take(Field(lat, "alloc"), "p999_ns", x.a999);
    Take(Field(lat, "free"), "p50_ns", x.f50);
    Take(Field(lat, "free"), "p99_ns", x.f99);
    Take(Field(lat, "free"), "p999_ns", x.f999);
    const json& timing = Field(c, "timing");
    if (lat.is_object() && Field(timing, "mode").is_string()) {
      s.timing_mode = timing["mode"];
      if (Field(timing, "batch").is_number_integer())
        s.batch = timing["batch"].get<int>();
    }
    const json& cache = Field(c, "cache");
    Take(Field(cache, "events"), "instructions", x.instr);
    Take(Field(cache, "events"), "d1_read_misses", x.d1);
    Take(Field(cache, "locality"), "score", x.loc);
    if (Field(cache, "mode").is_string()) s.cache_mode = cache["mode"];
  }
  if (!MemoryMeasured(c) || s.is_floor()) return;
  const json& mem = Field(c, "memory");
  Take(mem, "peak_rss_bytes", x.rss);
  Take(mem, "rss_after_purge_bytes", x.purged);
  Take(mem, "rss_over_live_at_peak", x.ratio);
  Take(mem, "hugepage_coverage", x.thp);
}

void Finish(const Samples& x, CellSummary& s) {
  s.stability = StabilityOf(x.ns);
  s.noisy = s.stability.n >= 2 && s.stability.cv_pct > NoisyCvPct(s.threads);
  s.ns_per_op = Median(x.ns);
  s.mops_per_s = Median(x.mops);
  s.wait_share = Median(x.wait);
  s.alloc_p50 = Median(x.a50);
  s.alloc_p99 = Median(x.a99);
  s.alloc_p999 = Median(x.a999);
  s.free_p50 = Median(x.f50);
  s.free_p99 = Median(x.f99);
  s.free_p999 = Median(x.f999);
  s.peak_rss = Median(x.rss);
  s.rss_after_purge = Median(x.purged);
  s.rss_over_live = Median(x.ratio);
  s.hugepage_coverage = Median(x.thp);
  s.instructions = Median(x.instr);
  s.d1_read_misses = Median(x.d1);
  s.locality = Median(x.loc);
}

// The worker's verdict on noise where the document carries it.
void ApplyStabilityArray(const json& results, std::map<Key, std::size_t>& at,
                         std::vector<CellSummary>& out) {
  const json& stab = Field(results, "stability");
  if (!stab.is_array()) return;
  for (const json& e : stab) {
    if (!Field(e, "workload").is_string() || !Field(e, "threads").is_number() ||
        !Field(e, "allocator").is_string())
      continue;
    const auto it = at.find(
        {e["workload"], e["threads"].get<std::uint32_t>(), e["allocator"]});
    if (it == at.end()) continue;
    CellSummary& s = out[it->second];
    if (Field(e, "noisy").is_boolean()) s.noisy = e["noisy"].get<bool>();
    if (Field(e, "cv_pct").is_number()) s.stability.cv_pct = e["cv_pct"];
  }
}

}  // namespace

std::vector<CellSummary> SummarizeCells(const json& results) {
  std::map<Key, std::size_t> at;
  std::vector<CellSummary> out;
  std::vector<Samples> samples;
  for (const json& c : results["cells"]) {
    // Program cells have their own table (program_report.h).
    if (c["workload"].get<std::string>().rfind("program:", 0) == 0) continue;
    const Key k{c["workload"], c["threads"].get<std::uint32_t>(),
                c["allocator"]};
    auto [it, fresh] = at.emplace(k, out.size());
    if (fresh) {
      CellSummary s;
      std::tie(s.workload, s.threads, s.allocator) = k;
      out.push_back(std::move(s));
      samples.emplace_back();
    }
    Add(c, out[it->second], samples[it->second]);
  }
  for (std::size_t i = 0; i < out.size(); ++i) Finish(samples[i], out[i]);
  ApplyStabilityArray(results, at, out);
  return out;
}

std::vector<std::uint32_t> ThreadCounts(const std::vector<CellSummary>& cells) {
  std::set<std::uint32_t> t;
  for (const CellSummary& c : cells) t.insert(c.threads);
  return {t.begin(), t.end()};
}

std::vector<std::string> Allocators(const std::vector<CellSummary>& cells) {
  std::vector<std::string> out;
  for (const CellSummary& c : cells) {
    if (std::find(out.begin(), out.end(), c.allocator) == out.end())
      out.push_back(c.allocator);
  }
  // system is the baseline (first column), null the floor (last).
  std::stable_partition(out.begin(), out.end(),
                        [](const std::string& a) { return a == "system"; });
  std::stable_partition(out.begin(), out.end(),
                        [](const std::string& a) { return a != "null"; });
  return out;
}

}  // namespace allocmark
