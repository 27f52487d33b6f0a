#include "bench/results/stability_table.h"

#include <map>
#include <string>
#include <tuple>

#include "bench/results/stability.h"

namespace allocmark {

nlohmann::json StabilityTable(const std::vector<CellRecord>& cells) {
  using Key = std::tuple<std::string, unsigned, std::string>;
  std::map<Key, std::vector<double>> ns;
  std::vector<Key> keys;
  for (const CellRecord& c : cells) {
    if (!c.ok() || !c.ns_per_op) continue;
    const Key k{c.workload, static_cast<unsigned>(c.threads), c.allocator};
    if (!ns.count(k)) keys.push_back(k);
    ns[k].push_back(*c.ns_per_op);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const Key& k : keys) {
    const Stability s = StabilityOf(ns[k]);
    const unsigned threads = std::get<1>(k);
    out.push_back(
        {{"workload", std::get<0>(k)},
         {"threads", threads},
         {"allocator", std::get<2>(k)},
         {"repetitions", s.n},
         {"ns_per_op_median", s.median},
         {"cv_pct", s.n >= 2 ? nlohmann::json(s.cv_pct) : nlohmann::json()},
         {"median_ci", {s.ci_low, s.ci_high}},
         {"median_ci_level", s.ci_level},
         {"noisy", s.n >= 2 && s.cv_pct > NoisyCvPct(threads)}});
  }
  return out;
}

}  // namespace allocmark
