// Parsing and validation of workload specs. Every rejection names the file,
// the key and what is accepted, because users write these by hand.
#include "bench/spec/workload_spec.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

namespace allocmark {
namespace {

using nlohmann::json;

class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& what) {
    throw SpecError(path_ + ": " + key + ": " + what);
  }

  void OnlyKeys(const json& obj, const std::string& where,
                std::initializer_list<const char*> allowed) {
    if (!obj.is_object()) Fail(where, "must be an object");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (!ok.count(it.key())) {
        std::string list;
        for (const char* a : allowed)
          list += std::string(list.empty() ? "" : ", ") + a;
        Fail(where + "." + it.key(), "unknown key (accepted: " + list + ")");
      }
    }
  }

  std::uint64_t Uint(const json& obj, const std::string& where, const char* key,
                     std::uint64_t lo, std::uint64_t hi,
                     std::optional<std::uint64_t> fallback = std::nullopt) {
    const std::string name = where + "." + key;
    if (!obj.contains(key)) {
      if (fallback) return *fallback;
      Fail(name, "missing");
    }
    const json& v = obj.at(key);
    if (v.is_number_integer() && !v.is_number_unsigned() &&
        v.get<std::int64_t>() < 0)
      Fail(name, "must not be negative (got " + v.dump() + ")");
    if (!v.is_number_unsigned() && !v.is_number_integer())
      Fail(name, "must be an integer (got " + v.dump() + ")");
    const std::uint64_t x = v.get<std::uint64_t>();
    if (x < lo || x > hi)
      Fail(name, "must be in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "] (got " + std::to_string(x) + ")");
    return x;
  }

  double Number(const json& obj, const std::string& where, const char* key,
                double lo, double hi, std::optional<double> fallback) {
    const std::string name = where + "." + key;
    if (!obj.contains(key)) {
      if (fallback) return *fallback;
      Fail(name, "missing");
    }
    const json& v = obj.at(key);
    if (!v.is_number()) Fail(name, "must be a number (got " + v.dump() + ")");
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi)) {
      std::ostringstream msg;
      msg << "must be in [" << lo << ", " << hi << "] (got " << v.dump() << ")";
      Fail(name, msg.str());
    }
    return x;
  }

  std::string String(const json& obj, const std::string& where, const char* key,
                     std::optional<std::string> fallback = std::nullopt) {
    const std::string name = where + "." + key;
    if (!obj.contains(key)) {
      if (fallback) return *fallback;
      Fail(name, "missing");
    }
    if (!obj.at(key).is_string()) Fail(name, "must be a string");
    return obj.at(key).get<std::string>();
  }

  template <class E>
  E Choice(const json& obj, const std::string& where, const char* key,
           std::initializer_list<std::pair<const char*, E>> choices,
           std::optional<E> fallback) {
    if (!obj.contains(key) && fallback) return *fallback;
    const std::string s = String(obj, where, key);
    std::string list;
    for (const auto& [n, e] : choices) {
      if (s == n) return e;
      list += std::string(list.empty() ? "" : ", ") + n;
    }
    Fail(where + "." + key,
         "unknown value '" + s + "' (accepted: " + list + ")");
  }

  SizeSpec Sizes(const json& j, const std::string& where) {
    OnlyKeys(j, where,
             {"dist", "size", "min", "max", "alpha", "table", "align"});
    SizeSpec s;
    s.dist = Choice<SizeDist>(j, where, "dist",
                              {{"fixed", SizeDist::kFixed},
                               {"uniform", SizeDist::kUniform},
                               {"log-uniform", SizeDist::kLogUniform},
                               {"pareto", SizeDist::kPareto},
                               {"inverse-square", SizeDist::kInverseSquare},
                               {"table", SizeDist::kTable}},
                              std::nullopt);
    if (s.dist == SizeDist::kFixed) {
      s.min = s.max = Uint(j, where, "size", 1, kMaxBlockSize);
    } else if (s.dist == SizeDist::kTable) {
      if (!j.contains("table") || !j["table"].is_array() || j["table"].empty())
        Fail(where + ".table", "must be a non-empty array of [size, weight]");
      double total = 0;
      s.min = kMaxBlockSize;
      for (std::size_t i = 0; i < j["table"].size(); ++i) {
        const json& e = j["table"][i];
        const std::string w = where + ".table[" + std::to_string(i) + "]";
        if (!e.is_array() || e.size() != 2) Fail(w, "must be [size, weight]");
        json pair = {{"size", e[0]}, {"weight", e[1]}};
        const std::uint64_t size = Uint(pair, w, "size", 1, kMaxBlockSize);
        const double weight = Number(pair, w, "weight", 0, 1e18, std::nullopt);
        s.table.emplace_back(size, weight);
        total += weight;
        s.min = std::min(s.min, size);
        s.max = std::max(s.max, size);
      }
      if (!(total > 0)) Fail(where + ".table", "weights sum to zero");
    } else {
      s.min = Uint(j, where, "min", 1, kMaxBlockSize);
      s.max = Uint(j, where, "max", 1, kMaxBlockSize);
      if (s.min > s.max)
        Fail(where, "min (" + std::to_string(s.min) + ") > max (" +
                        std::to_string(s.max) + ")");
      if (s.dist == SizeDist::kPareto)
        s.alpha = Number(j, where, "alpha", 0.01, 100, 1.0);
      if (s.dist == SizeDist::kInverseSquare && j.contains("alpha"))
        Fail(where + ".alpha",
             "inverse-square fixes alpha at 1; use dist pareto to choose it");
    }
    s.align = Uint(j, where, "align", 0, 1u << 20, 0);
    if (s.align != 0 && (s.align & (s.align - 1)) != 0)
      Fail(where + ".align",
           "must be a power of two (got " + std::to_string(s.align) + ")");
    return s;
  }

  PhaseSpec Phase(const json& j, const std::string& where) {
    OnlyKeys(j, where,
             {"name", "tag", "share", "repeat", "sizes", "lifetime",
              "working_set", "mix", "realloc", "touch", "touch_repeat", "drain",
              "respawn", "cross_thread"});
    PhaseSpec p;
    p.name = String(j, where, "name", "main");
    const std::string tag = String(j, where, "tag");
    if (tag.size() != 4)
      Fail(where + ".tag",
           "must be exactly four characters (got '" + tag + "')");
    for (std::size_t i = 0; i < 4; ++i) {
      if (tag[i] < 0x20 || tag[i] > 0x7e)
        Fail(where + ".tag", "must be printable ASCII");
      p.tag[i] = tag[i];
    }
    p.share = Number(j, where, "share", 0, 1, 1.0);
    if (!j.contains("sizes")) Fail(where + ".sizes", "missing");
    p.sizes = Sizes(j["sizes"], where + ".sizes");
    p.lifetime = Choice<Lifetime>(j, where, "lifetime",
                                  {{"lifo", Lifetime::kLifo},
                                   {"fifo", Lifetime::kFifo},
                                   {"random", Lifetime::kRandom},
                                   {"batch", Lifetime::kBatch},
                                   {"reverse", Lifetime::kReverse}},
                                  Lifetime::kRandom);
    p.working_set = static_cast<std::uint32_t>(
        Uint(j, where, "working_set", 1, kMaxWorkingSet));
    if (j.contains("mix")) {
      const json& m = j["mix"];
      const std::string w = where + ".mix";
      OnlyKeys(m, w, {"alloc", "free", "realloc"});
      p.alloc_share = Number(m, w, "alloc", 0, 1, 0.0);
      p.free_share = Number(m, w, "free", 0, 1, 0.0);
      p.realloc_share = Number(m, w, "realloc", 0, 1, 0.0);
      const double sum = p.alloc_share + p.free_share + p.realloc_share;
      if (std::fabs(sum - 1.0) > 1e-9)
        Fail(w, "alloc + free + realloc must be 1 (got " + std::to_string(sum) +
                    ")");
      if (p.alloc_share == 0) Fail(w + ".alloc", "must be > 0");
    }
    if (j.contains("realloc")) {
      const json& r = j["realloc"];
      const std::string w = where + ".realloc";
      OnlyKeys(r, w, {"policy", "step", "max"});
      p.realloc.policy =
          Choice<ReallocPolicy>(r, w, "policy",
                                {{"step", ReallocPolicy::kStep},
                                 {"double", ReallocPolicy::kDouble},
                                 {"shrink", ReallocPolicy::kShrink},
                                 {"random", ReallocPolicy::kRandom}},
                                ReallocPolicy::kStep);
      p.realloc.step = Uint(r, w, "step", 1, kMaxBlockSize, 64);
      p.realloc.max = Uint(r, w, "max", 1, kMaxBlockSize, 0);
    }
    if (p.realloc.max == 0) p.realloc.max = p.sizes.max;
    if (p.realloc_share > 0 && p.sizes.align > 16)
      Fail(where + ".mix.realloc",
           "realloc cannot keep an alignment above 16; set it to 0 or drop "
           "sizes.align");
    p.touch = Choice<Touch>(j, where, "touch",
                            {{"none", Touch::kNone},
                             {"first-byte", Touch::kFirstByte},
                             {"whole-block", Touch::kWholeBlock},
                             {"read-back", Touch::kReadBack}},
                            Touch::kNone);
    p.touch_repeat = static_cast<std::uint32_t>(
        Uint(j, where, "touch_repeat", 1, kMaxTouchRepeat, 1));
    if ((p.touch_repeat & (p.touch_repeat - 1)) != 0)
      Fail(where + ".touch_repeat", "must be a power of two (got " +
                                        std::to_string(p.touch_repeat) + ")");
    if (p.touch_repeat > 1 && p.touch == Touch::kNone)
      Fail(where + ".touch_repeat", "needs a touch policy other than none");
    if (j.contains("drain")) {
      p.drain = Number(j, where, "drain", 0, 1, std::nullopt);
      if (!(p.drain > 0)) Fail(where + ".drain", "must be in (0, 1] (got 0)");
    }
    if (j.contains("respawn")) {
      if (!j["respawn"].is_boolean())
        Fail(where + ".respawn", "must be true or false");
      p.respawn = j["respawn"].get<bool>();
    }
    if (j.contains("cross_thread")) {
      const json& c = j["cross_thread"];
      const std::string w = where + ".cross_thread";
      OnlyKeys(c, w, {"share", "pattern", "receiver"});
      p.receiver = Choice<Receiver>(
          c, w, "receiver",
          {{"free", Receiver::kFree}, {"adopt", Receiver::kAdopt}},
          Receiver::kFree);
      p.cross_thread_share = Number(c, w, "share", 0, 1, std::nullopt);
      p.hand_off =
          Choice<HandOff>(c, w, "pattern",
                          {{"ring", HandOff::kRing},
                           {"random-peer", HandOff::kRandomPeer},
                           {"producer-consumer", HandOff::kProducerConsumer}},
                          HandOff::kRing);
    }
    return p;
  }

  WorkloadSpec Workload(const json& j) {
    OnlyKeys(j, "spec",
             {"name", "description", "seed", "threads", "ops_per_thread",
              "phases", "leak_blocks", "test_only", "lag"});
    WorkloadSpec w;
    w.path = path_;
    w.name = String(j, "spec", "name");
    w.description = String(j, "spec", "description");
    w.seed = Uint(j, "spec", "seed", 0, UINT64_MAX, 1);
    w.threads = static_cast<std::uint32_t>(
        Uint(j, "spec", "threads", 1, kMaxThreads, 1));
    if (!j.contains("ops_per_thread")) Fail("spec.ops_per_thread", "missing");
    const json& ops = j["ops_per_thread"];
    OnlyKeys(ops, "spec.ops_per_thread", {"quick", "default", "full"});
    w.ops_per_thread[0] =
        Uint(ops, "spec.ops_per_thread", "quick", 1, kMaxOpsPerThread);
    w.ops_per_thread[1] =
        Uint(ops, "spec.ops_per_thread", "default", 1, kMaxOpsPerThread);
    w.ops_per_thread[2] =
        Uint(ops, "spec.ops_per_thread", "full", 1, kMaxOpsPerThread);
    if (!j.contains("phases") || !j["phases"].is_array() || j["phases"].empty())
      Fail("spec.phases", "must be a non-empty array");
    double share = 0;
    for (std::size_t i = 0; i < j["phases"].size(); ++i) {
      const std::string where = "phases[" + std::to_string(i) + "]";
      const PhaseSpec p = Phase(j["phases"][i], where);
      share += p.share;
      // "repeat": K runs the phase K times, each with share/K: how rounds of
      // thread replacement are written without K copies in the file.
      const std::uint64_t repeat =
          Uint(j["phases"][i], where, "repeat", 1, kMaxPhases, 1);
      if (w.phases.size() + repeat > kMaxPhases)
        Fail(where + ".repeat", "at most " + std::to_string(kMaxPhases) +
                                    " phases after repetition");
      for (std::uint64_t r = 0; r < repeat; ++r) {
        w.phases.push_back(p);
        w.phases.back().share = p.share / static_cast<double>(repeat);
      }
    }
    if (std::fabs(share - 1.0) > 1e-9)
      Fail("spec.phases",
           "shares must add up to 1 (got " + std::to_string(share) + ")");
    std::uint32_t max_ws = 0;
    for (const PhaseSpec& p : w.phases)
      max_ws = std::max(max_ws, p.working_set);
    // The slot table holds at most the largest working set.
    w.leak_blocks = static_cast<std::uint32_t>(
        Uint(j, "spec", "leak_blocks", 0, max_ws, 0));
    if (j.contains("test_only")) {
      if (!j["test_only"].is_boolean())
        Fail("spec.test_only", "must be true or false");
      w.test_only = j["test_only"].get<bool>();
    }
    for (std::size_t i = 0; i < w.phases.size(); ++i) {
      if (w.threads == 1 && w.phases[i].cross_thread_share > 0)
        Fail(
            "phases[" + std::to_string(i) + "].cross_thread.share",
            "needs spec.threads >= 2 (a thread cannot hand objects to itself)");
    }
    if (j.contains("lag")) {
      w.lag = static_cast<std::uint32_t>(Uint(j, "spec", "lag", 0, kMaxLag));
      // A lag as long as the smallest budget would push every receive into
      // the tear-down: the hand-offs would no longer overlap the work.
      if (HasHandOffs(w) && *w.lag >= w.ops_per_thread[0])
        Fail("spec.lag", "must be below ops_per_thread.quick (" +
                             std::to_string(w.ops_per_thread[0]) + ", got " +
                             std::to_string(*w.lag) +
                             "): every receive would wait for the tear-down");
    }
    return w;
  }

 private:
  std::string path_;
};

// JSON lets the last of two equal keys win silently ("size": 64 then 4096
// ran 4096); a spec with both is ambiguous, so the parse refuses it. The
// parser's callback sees every key; one frame per open object or array
// keeps the keys seen and the path for the message.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& path) : path_(path) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    (void)depth;
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames_.push_back({ChildName(),
                           {},
                           "",
                           0,
                           event == json::parse_event_t::array_start});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw SpecError(path_ + ": " + f.where +
                          (f.where.empty() ? "" : ".") + f.key +
                          ": duplicate key (JSON keeps only the last; write "
                          "it once)");
        break;
      }
      case json::parse_event_t::value:
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
        break;
    }
    return true;
  }

 private:
  struct Frame {
    std::string where;
    std::set<std::string> keys;
    std::string key;  // the key whose value is being read
    std::size_t index = 0;
    bool array = false;
  };

  std::string ChildName() {
    if (frames_.empty()) return "";
    Frame& f = frames_.back();
    if (f.array) return f.where + "[" + std::to_string(f.index++) + "]";
    return f.where + (f.where.empty() ? "" : ".") + f.key;
  }

  std::string path_;
  std::vector<Frame> frames_;
};

}  // namespace

WorkloadSpec ParseWorkloadSpec(const std::string& json_text,
                               const std::string& path) {
  json j;
  try {
    j = json::parse(json_text, DuplicateKeyCheck(path));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number like 1E400 (found by
    // fuzz_workload_spec: it escaped as an uncaught exception, exit 134).
    throw SpecError(path + ": not valid JSON: " + e.what());
  }
  return Parser(path).Workload(j);
}

WorkloadSpec LoadWorkloadSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SpecError(path + ": cannot read workload file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseWorkloadSpec(text.str(), path);
}

void ValidateForThreads(const WorkloadSpec& spec, std::uint32_t threads) {
  if (threads == 0 || threads > kMaxThreads)
    throw SpecError("threads: must be in [1, " + std::to_string(kMaxThreads) +
                    "] (got " + std::to_string(threads) + ")");
  for (std::size_t i = 0; i < spec.phases.size(); ++i) {
    const PhaseSpec& p = spec.phases[i];
    if (threads == 1 && p.cross_thread_share > 0)
      throw SpecError(spec.path + ": phases[" + std::to_string(i) +
                      "].cross_thread.share: needs at least 2 threads (got 1)");
  }
}

bool HasHandOffs(const WorkloadSpec& spec) {
  for (const PhaseSpec& p : spec.phases) {
    if (p.cross_thread_share > 0) return true;
  }
  return false;
}

std::uint32_t EffectiveLag(const WorkloadSpec& spec, std::uint32_t threads,
                           std::uint64_t ops_per_thread) {
  if (spec.lag) return *spec.lag;
  // All rings together within the kernel pool's 2^20 mailboxes.
  const std::uint64_t ring_cap =
      (std::uint64_t{1} << 19) / std::max(1u, threads) - 1;
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>({kDefaultLag, ops_per_thread / 8, ring_cap}));
}

const char* ScaleName(Scale s) {
  switch (s) {
    case Scale::kQuick:
      return "quick";
    case Scale::kDefault:
      return "default";
    case Scale::kFull:
      return "full";
  }
  return "?";
}

bool ParseScale(const std::string& name, Scale* out) {
  for (Scale s : {Scale::kQuick, Scale::kDefault, Scale::kFull}) {
    if (name == ScaleName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string TagString(const std::array<char, 4>& tag) {
  return std::string(tag.data(), 4);
}

}  // namespace allocmark
