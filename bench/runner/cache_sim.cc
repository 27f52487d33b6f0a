// Cache geometry (sysfs, overrides), the callgrind command line and output
// parser, the sim pass, and the merge of every pass's cache figures.
#include "bench/runner/cache_sim.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/runner/worker_process.h"

namespace allocmark {

using nlohmann::json;

namespace {

bool ReadText(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, *out);
  return true;
}

// sysfs sizes read "32K", "1024K", "32768K" (or plain bytes).
std::uint64_t ParseSysfsSize(const std::string& s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str()) return 0;
  if (*end == 'K') return v << 10;
  if (*end == 'M') return v << 20;
  if (*end == 'G') return v << 30;
  return v;
}

bool PowerOfTwo(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string LevelError(const char* name, const CacheLevel& c) {
  const std::string n = name;
  if (c.size_bytes == 0 || c.assoc == 0 || c.line_bytes == 0)
    return n + ": unknown (give it with --sim-geometry " + n +
           "=size,assoc,line)";
  if (!PowerOfTwo(c.line_bytes))
    return n + ": line size " + std::to_string(c.line_bytes) +
           " is not a power of two";
  const std::uint64_t way = std::uint64_t{c.assoc} * c.line_bytes;
  if (c.size_bytes % way != 0 || !PowerOfTwo(c.size_bytes / way))
    return n + ": " + std::to_string(c.size_bytes) + " bytes / (" +
           std::to_string(c.assoc) + " ways * " + std::to_string(c.line_bytes) +
           " B) is not a power-of-two number of sets";
  return "";
}

std::string ValgrindSpec(const CacheLevel& c) {
  return std::to_string(c.size_bytes) + "," + std::to_string(c.assoc) + "," +
         std::to_string(c.line_bytes);
}

double PerOp(std::uint64_t v, std::uint64_t ops) {
  return ops ? static_cast<double>(v) / static_cast<double>(ops) : 0.0;
}

}  // namespace

CacheGeometry ReadCacheGeometry(const std::string& sysfs_dir) {
  CacheGeometry g;
  int ll_level = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(sysfs_dir, ec)) {
    const std::string dir = entry.path().string();
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    std::string level, type, size, ways, line;
    if (!ReadText(dir + "/level", &level) || !ReadText(dir + "/type", &type) ||
        !ReadText(dir + "/size", &size) ||
        !ReadText(dir + "/ways_of_associativity", &ways) ||
        !ReadText(dir + "/coherency_line_size", &line))
      continue;
    CacheLevel c;
    c.size_bytes = ParseSysfsSize(size);
    c.assoc = static_cast<std::uint32_t>(std::atoi(ways.c_str()));
    c.line_bytes = static_cast<std::uint32_t>(std::atoi(line.c_str()));
    c.source = "sysfs " + dir;
    const int lvl = std::atoi(level.c_str());
    if (lvl == 1 && type == "Data") g.d1 = c;
    if (lvl == 1 && type == "Instruction") g.i1 = c;
    if (lvl > 1 && type == "Unified" && lvl > ll_level) {
      g.ll = c;
      ll_level = lvl;
    }
  }
  return g;
}

std::string ApplyGeometryOverride(const std::string& text, CacheGeometry& g) {
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ';')) {
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    CacheLevel* c = name == "I1"   ? &g.i1
                    : name == "D1" ? &g.d1
                    : name == "LL" ? &g.ll
                                   : nullptr;
    if (c == nullptr || eq == std::string::npos)
      return "'" + item + "': expected I1=, D1= or LL=size,assoc,line_size";
    unsigned long long size = 0, assoc = 0, line = 0;
    char tail = 0;
    if (std::sscanf(item.c_str() + eq + 1, "%llu,%llu,%llu%c", &size, &assoc,
                    &line, &tail) != 3 ||
        size == 0 || assoc == 0 || line == 0 || size > (1ULL << 40) ||
        assoc > 1024 || line > 4096)
      return "'" + item + "': expected " + name +
             "=size_bytes,assoc,line_bytes with positive integers";
    c->size_bytes = size;
    c->assoc = static_cast<std::uint32_t>(assoc);
    c->line_bytes = static_cast<std::uint32_t>(line);
    c->source = "--sim-geometry";
    if (const std::string err = LevelError(name.c_str(), *c); !err.empty())
      return err;
  }
  return "";
}

std::string CheckGeometry(const CacheGeometry& g) {
  for (const auto& [name, c] :
       {std::pair<const char*, const CacheLevel*>{"I1", &g.i1},
        {"D1", &g.d1},
        {"LL", &g.ll}}) {
    if (const std::string err = LevelError(name, *c); !err.empty()) return err;
  }
  return "";
}

std::string FindValgrind() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/valgrind";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::vector<std::string> SimCommandPrefix(const std::string& valgrind,
                                          const CacheGeometry& g,
                                          const std::string& out_file) {
  // callgrind, like cachegrind and unlike memcheck, does not replace malloc:
  // the allocator under test runs (the worker's identity check proves it).
  return {valgrind,
          "--tool=callgrind",
          "--quiet",
          "--collect-atstart=no",
          "--cache-sim=yes",
          "--I1=" + ValgrindSpec(g.i1),
          "--D1=" + ValgrindSpec(g.d1),
          "--LL=" + ValgrindSpec(g.ll),
          "--callgrind-out-file=" + out_file};
}

std::optional<std::vector<std::pair<std::string, std::uint64_t>>>
ParseCallgrindTotals(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> names;
  std::vector<std::uint64_t> totals;
  bool have_totals = false;
  std::string line;
  while (std::getline(in, line)) {
    const bool events = line.rfind("events:", 0) == 0;
    const bool summary =
        line.rfind("summary:", 0) == 0 || line.rfind("totals:", 0) == 0;
    if (!events && !summary) continue;
    std::stringstream words(line.substr(line.find(':') + 1));
    if (events) {
      names.clear();
      for (std::string w; words >> w;) names.push_back(w);
    } else if (!have_totals) {
      totals.clear();
      for (std::uint64_t v; words >> v;) totals.push_back(v);
      have_totals = true;
    }
  }
  if (names.empty() || !have_totals) return std::nullopt;
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out.emplace_back(names[i], i < totals.size() ? totals[i] : 0);
  return out;
}

json SimEventsJson(
    const std::vector<std::pair<std::string, std::uint64_t>>& totals,
    std::uint64_t ops) {
  std::map<std::string, std::uint64_t> t(totals.begin(), totals.end());
  auto get = [&](const char* k) -> std::uint64_t {
    const auto it = t.find(k);
    return it == t.end() ? 0 : it->second;
  };
  json events = json::object(), unavailable = json::object();
  const bool cache = t.count("D1mr") && t.count("DLmr");
  events["instructions"] = PerOp(get("Ir"), ops);
  events["data_reads"] = PerOp(get("Dr"), ops);
  events["data_writes"] = PerOp(get("Dw"), ops);
  const char* cache_events[][2] = {{"i1_misses", "I1mr"},
                                   {"d1_read_misses", "D1mr"},
                                   {"d1_write_misses", "D1mw"},
                                   {"ll_read_misses", "DLmr"},
                                   {"ll_write_misses", "DLmw"}};
  for (const auto& [name, key] : cache_events) {
    events[name] = cache ? json(PerOp(get(key), ops)) : json(nullptr);
    if (!cache) unavailable[name] = "callgrind ran without --cache-sim=yes";
  }
  if (cache) {
    events["ll_misses"] = PerOp(get("ILmr") + get("DLmr") + get("DLmw"), ops);
    events["est_cycles"] =
        PerOp(get("Ir") + 10 * (get("I1mr") + get("D1mr") + get("D1mw")) +
                  100 * (get("ILmr") + get("DLmr") + get("DLmw")),
              ops);
  } else {
    events["ll_misses"] = events["est_cycles"] = nullptr;
  }
  json raw = json::object();
  for (const auto& [k, v] : totals) raw[k] = v;
  return {{"events", events}, {"unavailable", unavailable}, {"totals", raw}};
}

json GeometryJson(const CacheGeometry& g) {
  json j = json::object();
  for (const auto& [name, c] :
       {std::pair<const char*, const CacheLevel*>{"I1", &g.i1},
        {"D1", &g.d1},
        {"LL", &g.ll}})
    j[name] = {{"size_bytes", c->size_bytes},
               {"assoc", c->assoc},
               {"line_bytes", c->line_bytes},
               {"source", c->source}};
  return j;
}

json RunSimPass(const std::vector<std::string>& args,
                const std::vector<std::string>& env, const CacheGeometry& g,
                double timeout_s, const CellRecord& native) {
  json sim = {{"tool", "callgrind"},
              {"geometry", GeometryJson(g)},
              {"cycle_formula", kCycleFormula},
              {"status", "failed"},
              {"reason", nullptr}};
  const std::string valgrind = FindValgrind();
  if (valgrind.empty()) {
    sim["reason"] = "valgrind not found (apt-get install valgrind)";
    return sim;
  }
  static int counter = 0;
  const std::string out_file =
      (std::filesystem::temp_directory_path() /
       ("allocmark-callgrind." + std::to_string(getpid()) + "." +
        std::to_string(counter++)))
          .string();
  std::vector<std::string> argv = SimCommandPrefix(valgrind, g, out_file);
  argv.insert(argv.end(), args.begin(), args.end());
  const WorkerExit exit = RunWorker(argv, env, timeout_s);
  const auto totals = ParseCallgrindTotals(out_file);
  std::remove(out_file.c_str());
  std::optional<CellRecord> record;
  if (!exit.timed_out && exit.signal == 0 && exit.exit_code == 0) {
    try {
      record = ReadCellRecord(json::parse(exit.out), "sim worker record");
    } catch (const std::exception&) {
    }
  }
  if (!record || !record->ok()) {
    sim["reason"] =
        record ? record->reason.value_or("failed") : exit.Describe(timeout_s);
    return sim;
  }
  if (!totals) {
    sim["reason"] = "no callgrind totals in " + out_file;
    return sim;
  }
  if (record->stream_digest != native.stream_digest) {
    sim["reason"] = "sim pass replayed a different stream";
    return sim;
  }
  const std::uint64_t ops = record->ops.value_or(0);
  const json ev = SimEventsJson(*totals, ops);
  sim["status"] = "ok";
  sim["events"] = ev["events"];
  sim["unavailable"] = ev["unavailable"];
  sim["totals"] = ev["totals"];
  sim["ops"] = ops;
  const std::uint32_t threads = record->threads;
  sim["threads_serialised"] = threads > 1;
  sim["note"] = threads > 1
                    ? json(
                          "valgrind runs one thread at a time: contention and "
                          "coherence misses between threads are not simulated")
                    : json(nullptr);
  sim["process_s"] = exit.elapsed_s;
  const double native_s = native.process_s.value_or(0.0);
  sim["native_process_s"] = native_s > 0 ? json(native_s) : json(nullptr);
  sim["slowdown"] =
      native_s > 0 ? json(exit.elapsed_s / native_s) : json(nullptr);
  const double native_wall = native.wall_ns.value_or(0.0);
  const double sim_wall = record->wall_ns.value_or(0.0);
  sim["replay_slowdown"] =
      native_wall > 0 ? json(sim_wall / native_wall) : json(nullptr);
  return sim;
}

CacheFigures MergeCacheCell(const std::string& mode, const CellRecord& untimed,
                            const CellRecord* timed, const json* sim) {
  CacheFigures cache;
  cache.mode = mode;
  cache.events = EventValues{};
  cache.unavailable = Reasons{};
  cache.locality = json(nullptr);
  cache.locality_reason = nullptr;
  if (mode == "hw" && untimed.cache) {
    const CacheFigures& u = *untimed.cache;
    cache.events = u.events.present() ? u.events : EventValues{};
    cache.unavailable = u.unavailable.present() ? u.unavailable : Reasons{};
    cache.multiplexed = u.multiplexed.present() ? u.multiplexed : false;
    cache.per_thread = u.per_thread.value_or(json::array());
  }
  if (mode == "sim" && sim != nullptr) {
    cache.sim = *sim;
    // The sim part is this file's own (RunSimPass); its events are typed
    // like the hardware counters'.
    if ((*sim)["status"] == "ok") {
      const CacheFigures events =
          ReadCacheFigures({{"events", (*sim)["events"]},
                            {"unavailable", (*sim)["unavailable"]}},
                           "sim");
      cache.events = events.events;
      cache.unavailable = events.unavailable;
    } else {
      for (const char* name : {"instructions", "d1_read_misses",
                               "d1_write_misses", "ll_misses", "est_cycles"}) {
        (*cache.events)[name] = nullptr;
        (*cache.unavailable)[name] =
            "sim pass: " + (*sim)["reason"].get<std::string>();
      }
    }
  }
  if (timed == nullptr) {
    cache.locality_reason = "needs the timed pass (run without --no-latency)";
  } else if (timed->cache && timed->cache->locality.has_value()) {
    cache.locality = timed->cache->locality;
  } else {
    cache.locality_reason = "the timed pass recorded no locality";
  }
  return cache;
}

}  // namespace allocmark
