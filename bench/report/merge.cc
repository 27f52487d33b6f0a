// Merging results documents: the same machine, build and run parameters,
// no cell twice, one stream per workload; the stability table recomputed.
#include "bench/report/merge.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "bench/report/json_path.h"
#include "bench/report/results_reader.h"
#include "bench/results/cell_record.h"
#include "bench/results/stability_table.h"

namespace allocmark {

using nlohmann::json;

namespace {

// What says "same machine, same build": everything in the context but the
// date and the clock figures each run measures afresh.
constexpr const char* kContextKeys[] = {"host",   "cpu_model",    "cores",
                                        "caches", "hypervisor",   "kernel",
                                        "glibc",  "git_revision", "build_type"};
// Run parameters that change what a cell measures.
constexpr const char* kRunKeys[] = {"profile",        "scale",        "cache",
                                    "batch",          "latency_pass", "pin",
                                    "check_contents", "sim_geometry"};

json Field(const json& doc, const char* part, const char* key) {
  const json* v = Find(doc, {part, key});
  return v ? *v : json(nullptr);
}

void CheckSame(const NamedResults& first, const NamedResults& other,
               const char* part, const char* key) {
  const json a = Field(first.second, part, key);
  const json b = Field(other.second, part, key);
  if (a != b)
    throw ResultsError(other.first + ": " + part + "." + key + " " +
                       b.dump().substr(0, 60) + " differs from " + first.first +
                       "'s " + a.dump().substr(0, 60) +
                       ": merge only runs of one build on one machine");
}

std::string CellId(const json& c) {
  return c["allocator"].get<std::string>() + "/" +
         c["workload"].get<std::string>() + "/" +
         std::to_string(c["threads"].get<int>()) + "t repetition " +
         (c.contains("repetition") ? c["repetition"].dump() : "?");
}

// Shards: all or none sharded, one count, each index once.
void CheckShards(const std::vector<NamedResults>& inputs,
                 std::vector<std::string>* warnings) {
  std::map<std::uint64_t, std::string> seen;
  std::uint64_t count = 0;
  std::size_t sharded = 0;
  for (const auto& [name, doc] : inputs) {
    const json shard = Field(doc, "run", "shard");
    if (shard.is_null()) continue;
    ++sharded;
    auto whole = [&](const char* key) {
      const json v = shard.is_object() ? shard.value(key, json()) : json();
      return v.is_number_integer() && v.get<std::int64_t>() >= 0;
    };
    if (!whole("count") || !whole("index") || shard["count"] == 0)
      throw ResultsError(name + ": run.shard is not {index, count}");
    const std::uint64_t n = shard["count"].get<std::uint64_t>(),
                        i = shard["index"].get<std::uint64_t>();
    if (count == 0) count = n;
    if (n != count)
      throw ResultsError(name + ": shard " + std::to_string(i) + "/" +
                         std::to_string(n) + " is from a split into " +
                         std::to_string(n) + ", the others into " +
                         std::to_string(count));
    if (const auto it = seen.find(i); it != seen.end())
      throw ResultsError(name + ": shard " + std::to_string(i) + "/" +
                         std::to_string(n) + " is also in " + it->second);
    seen[i] = name;
  }
  if (sharded != 0 && sharded != inputs.size())
    throw ResultsError(
        "mixing sharded and unsharded results: merge the shards of one run");
  for (std::uint64_t i = 0; sharded != 0 && i < count; ++i)
    if (!seen.count(i))
      warnings->push_back("shard " + std::to_string(i) + "/" +
                          std::to_string(count) + " is missing");
}

}  // namespace

json MergeResults(const std::vector<NamedResults>& inputs,
                  std::vector<std::string>* warnings) {
  if (inputs.size() < 2)
    throw ResultsError("merge needs at least two results files");
  for (const auto& [name, doc] : inputs) CheckResultsDocument(doc, name);
  const NamedResults& first = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    for (const char* key : kContextKeys)
      CheckSame(first, inputs[i], "context", key);
    for (const char* key : kRunKeys) CheckSame(first, inputs[i], "run", key);
  }
  CheckShards(inputs, warnings);

  std::map<std::string, std::string> cell_from;
  std::map<std::string, std::pair<std::string, std::string>> digest_from;
  std::vector<std::pair<std::int64_t, const json*>> cells;
  json adapters = json::array(), sources = json::array();
  std::set<std::string> adapter_names;
  bool complete = true;
  std::uint64_t planned = 0;
  std::set<std::int64_t> repetitions;
  for (const auto& [name, doc] : inputs) {
    for (const json& c : doc["cells"]) {
      const std::string id = CellId(c);
      if (const auto it = cell_from.find(id); it != cell_from.end())
        throw ResultsError(name + ": cell " + id + " is also in " + it->second +
                           " (overlapping shards or runs)");
      cell_from[id] = name;
      const json* digest = Find(c, {"stream_digest"});
      if (c["status"] == "ok" && digest && digest->is_string()) {
        // One stream per workload and thread count, as in one run: other
        // op counts or seeds are another run's cells.
        const std::string stream = c["workload"].get<std::string>() + "/" +
                                   std::to_string(c["threads"].get<int>()) +
                                   "t";
        const auto [it, fresh] = digest_from.try_emplace(stream, *digest, name);
        if (!fresh && it->second.first != *digest)
          throw ResultsError(name + ": " + stream + " replayed stream " +
                             digest->get<std::string>() + ", " +
                             it->second.second + " replayed " +
                             it->second.first +
                             ": not the same workloads, ops or seed");
      }
      const std::int64_t rep =
          c.value("repetition", json(0)).get<std::int64_t>();
      repetitions.insert(rep);
      cells.emplace_back(rep, &c);
    }
    if (const json* a = Find(doc, {"adapters"}))
      for (const json& ad : *a)
        if (ad.is_object() && ad.value("name", json()).is_string() &&
            adapter_names.insert(ad["name"].get<std::string>()).second)
          adapters.push_back(ad);
    complete = complete && Field(doc, "run", "complete") != json(false);
    if (const json p = Field(doc, "run", "cells_planned");
        p.is_number_integer() && p.get<std::int64_t>() >= 0)
      planned += p.get<std::uint64_t>();
    sources.push_back(
        {{"file", name},
         {"date", Field(doc, "context", "date")},
         {"shard", Field(doc, "run", "shard")},
         {"first_repetition", Field(doc, "run", "first_repetition")}});
  }
  // Repetition order, as one interleaved run would have written them.
  std::stable_sort(
      cells.begin(), cells.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  json merged_cells = json::array();
  for (const auto& [rep, c] : cells) merged_cells.push_back(*c);
  json run = first.second.value("run", json::object());
  run["shard"] = nullptr;
  run["repetitions"] = repetitions.size();
  run["first_repetition"] = repetitions.empty() ? 0 : *repetitions.begin();
  run["complete"] = complete;
  run["cells_planned"] = planned;
  run["merged_from"] = sources;
  json out = {{"schema_version", 1},
              {"context", first.second.value("context", json::object())},
              {"run", run},
              {"adapters", adapters},
              {"cells", merged_cells}};
  std::vector<CellRecord> merged;
  try {
    for (const json& c : out["cells"]) merged.push_back(ReadCellRecord(c));
  } catch (const RecordError& e) {
    throw ResultsError(e.what());
  }
  out["stability"] = StabilityTable(merged);
  return out;
}

}  // namespace allocmark
