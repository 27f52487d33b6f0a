// The cell record's one JSON reader and one writer, generated from the field
// lists in cell_record.h; types are checked strictly, never coerced.
#include "bench/results/cell_record.h"

namespace allocmark {

using nlohmann::json;

const char* CellStatusName(CellStatus s) {
  switch (s) {
    case CellStatus::kOk:
      return "ok";
    case CellStatus::kFailed:
      return "failed";
    case CellStatus::kSkipped:
      return "skipped";
  }
  return "?";
}

namespace {

// Thrown inside the reader; each level prefixes its key on the way out.
struct FieldError {
  std::string path, message;
};

[[noreturn]] void Fail(const std::string& message) {
  throw FieldError{"", message};
}

// Forward declarations: the container templates below call the struct
// overloads, which are defined after them.
#define ALLOCMARK_DECLARE_IO(Name)         \
  void FromJson(const json& j, Name& out); \
  json ToJson(const Name& in);
ALLOCMARK_DECLARE_IO(LatencyFigures)
ALLOCMARK_DECLARE_IO(OpLatencies)
ALLOCMARK_DECLARE_IO(WaitFigures)
ALLOCMARK_DECLARE_IO(OpCounts)
ALLOCMARK_DECLARE_IO(ThreadFigures)
ALLOCMARK_DECLARE_IO(TimingFigures)
ALLOCMARK_DECLARE_IO(ClockFigures)
ALLOCMARK_DECLARE_IO(KernelPassFacts)
ALLOCMARK_DECLARE_IO(KernelFacts)
ALLOCMARK_DECLARE_IO(CacheFigures)
ALLOCMARK_DECLARE_IO(MemoryFigures)
ALLOCMARK_DECLARE_IO(PoolTagFigures)
ALLOCMARK_DECLARE_IO(LeakFigures)
#undef ALLOCMARK_DECLARE_IO
template <class T>
void FromJson(const json& j, Nullable<T>& out);
template <class T>
void FromJson(const json& j, std::vector<T>& out);
template <class T>
void FromJson(const json& j, std::map<std::string, T>& out);
template <class T>
json ToJson(const std::vector<T>& v);
template <class T>
json ToJson(const std::map<std::string, T>& m);
template <class T>
json ToJson(const Nullable<T>& v);

void FromJson(const json& j, double& out) {
  if (!j.is_number())
    Fail("expected a number, got " + std::string(j.type_name()));
  out = j.get<double>();
}
// Integers written by other tools as 4194304.0 are still integers.
bool IntegralFloat(const json& j, double lo, double hi) {
  if (!j.is_number_float()) return false;
  const double v = j.get<double>();
  return v >= lo && v < hi &&
         v == static_cast<double>(static_cast<std::int64_t>(v));
}
void FromJson(const json& j, std::uint64_t& out) {
  if (IntegralFloat(j, 0, 9.2e18)) {
    out = static_cast<std::uint64_t>(j.get<double>());
    return;
  }
  if (!j.is_number_unsigned() &&
      !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
    Fail("expected an integer >= 0, got " + j.dump());
  out = j.get<std::uint64_t>();
}
void FromJson(const json& j, std::int64_t& out) {
  if (IntegralFloat(j, -9.2e18, 9.2e18)) {
    out = static_cast<std::int64_t>(j.get<double>());
    return;
  }
  if (!j.is_number_integer()) Fail("expected an integer, got " + j.dump());
  out = j.get<std::int64_t>();
}
void FromJson(const json& j, std::uint32_t& out) {
  std::uint64_t v = 0;
  FromJson(j, v);
  if (v > UINT32_MAX) Fail("out of range: " + j.dump());
  out = static_cast<std::uint32_t>(v);
}
void FromJson(const json& j, bool& out) {
  if (!j.is_boolean()) Fail("expected true or false, got " + j.dump());
  out = j.get<bool>();
}
void FromJson(const json& j, std::string& out) {
  if (!j.is_string()) Fail("expected a string, got " + j.dump());
  out = j.get<std::string>();
}
void FromJson(const json& j, CellStatus& out) {
  std::string s;
  FromJson(j, s);
  if (s == "ok") {
    out = CellStatus::kOk;
  } else if (s == "failed") {
    out = CellStatus::kFailed;
  } else if (s == "skipped") {
    out = CellStatus::kSkipped;
  } else {
    Fail("expected ok, failed or skipped, got '" + s + "'");
  }
}
void FromJson(const json& j, LatencyBucket& out) {
  if (!j.is_array() || j.size() != 3)
    Fail("expected [lower_ns, upper_ns, count], got " + j.dump());
  FromJson(j[0], out.lower_ns);
  FromJson(j[1], out.upper_ns);
  FromJson(j[2], out.count);
}
void FromJson(const json& j, OpaqueJson& out) { out = j; }

template <class T>
void FromJson(const json& j, Nullable<T>& out) {
  if (j.is_null()) {
    out = nullptr;
    return;
  }
  T value{};
  FromJson(j, value);
  out = std::move(value);
}

template <class T>
void FromJson(const json& j, std::vector<T>& out) {
  if (!j.is_array())
    Fail("expected an array, got " + std::string(j.type_name()));
  out.clear();
  for (std::size_t i = 0; i < j.size(); ++i) {
    try {
      FromJson(j[i], out.emplace_back());
    } catch (FieldError& e) {
      e.path = "[" + std::to_string(i) + "]" + e.path;
      throw;
    }
  }
}

template <class T>
void FromJson(const json& j, std::map<std::string, T>& out) {
  if (!j.is_object())
    Fail("expected an object, got " + std::string(j.type_name()));
  out.clear();
  for (const auto& [key, value] : j.items()) {
    try {
      FromJson(value, out[key]);
    } catch (FieldError& e) {
      e.path = "." + key + e.path;
      throw;
    }
  }
}

json ToJson(double v) { return v; }
json ToJson(std::uint64_t v) { return v; }
json ToJson(std::int64_t v) { return v; }
json ToJson(bool v) { return v; }
json ToJson(const std::string& v) { return v; }
json ToJson(const LatencyBucket& b) {
  return json::array({b.lower_ns, b.upper_ns, b.count});
}

template <class T>
json ToJson(const std::vector<T>& v) {
  json out = json::array();
  for (const T& x : v) out.push_back(ToJson(x));
  return out;
}
template <class T>
json ToJson(const std::map<std::string, T>& m) {
  json out = json::object();
  for (const auto& [key, value] : m) out[key] = ToJson(value);
  return out;
}
template <class T>
json ToJson(const Nullable<T>& v) {
  return v.has_value() ? ToJson(*v) : json(nullptr);
}

// One field of an object: absent fields are not written.
template <class T>
void WriteField(json& obj, const char* key, const Nullable<T>& v) {
  if (v.present()) obj[key] = ToJson(v);
}
void WriteField(json& obj, const char* key, const OpaqueJson& v) {
  if (v.has_value()) obj[key] = *v;
}

// Reads `value` into `field`, prefixing the key to any error.
template <class T>
void ReadField(const std::string& key, const json& value, T& field) {
  try {
    FromJson(value, field);
  } catch (FieldError& e) {
    e.path = "." + key + e.path;
    throw;
  }
}

void RequireObject(const json& j) {
  if (!j.is_object())
    Fail("expected an object, got " + std::string(j.type_name()));
}

#define ALLOCMARK_READ_KEY(type, key) \
  if (k == #key) {                    \
    ReadField(k, value, out.key);     \
    continue;                         \
  }
#define ALLOCMARK_WRITE_KEY(type, key) WriteField(j, #key, in.key);
#define ALLOCMARK_RECORD_IO(Name, FIELDS)                      \
  void FromJson(const json& j, Name& out) {                    \
    RequireObject(j);                                          \
    out = Name{};                                              \
    for (const auto& [k, value] : j.items()) {                 \
      FIELDS(ALLOCMARK_READ_KEY)                               \
      out.extra[k] = value;                                    \
    }                                                          \
  }                                                            \
  json ToJson(const Name& in) {                                \
    json j = in.extra.is_object() ? in.extra : json::object(); \
    FIELDS(ALLOCMARK_WRITE_KEY)                                \
    return j;                                                  \
  }

ALLOCMARK_RECORD_IO(LatencyFigures, ALLOCMARK_LATENCY_FIELDS)
ALLOCMARK_RECORD_IO(OpLatencies, ALLOCMARK_OP_LATENCIES_FIELDS)
ALLOCMARK_RECORD_IO(WaitFigures, ALLOCMARK_WAIT_FIELDS)
ALLOCMARK_RECORD_IO(OpCounts, ALLOCMARK_COUNTS_FIELDS)
ALLOCMARK_RECORD_IO(ThreadFigures, ALLOCMARK_THREAD_FIELDS)
ALLOCMARK_RECORD_IO(TimingFigures, ALLOCMARK_TIMING_FIELDS)
ALLOCMARK_RECORD_IO(ClockFigures, ALLOCMARK_CLOCK_FIELDS)
ALLOCMARK_RECORD_IO(KernelPassFacts, ALLOCMARK_KERNEL_FIELDS)
ALLOCMARK_RECORD_IO(KernelFacts, ALLOCMARK_KERNEL_CELL_FIELDS)
ALLOCMARK_RECORD_IO(CacheFigures, ALLOCMARK_CACHE_FIELDS)
ALLOCMARK_RECORD_IO(MemoryFigures, ALLOCMARK_MEMORY_FIELDS)
ALLOCMARK_RECORD_IO(PoolTagFigures, ALLOCMARK_POOL_TAG_FIELDS)
ALLOCMARK_RECORD_IO(LeakFigures, ALLOCMARK_LEAK_FIELDS)

// The identity keys every cell and worker record carries.
void ReadIdentity(const json& j, CellRecord& out) {
  static constexpr const char* kRequired[] = {"allocator", "workload",
                                              "threads", "status"};
  for (const char* key : kRequired) {
    if (!j.contains(key)) throw FieldError{"", std::string("no '") + key + "'"};
  }
  ReadField("allocator", j["allocator"], out.allocator);
  ReadField("workload", j["workload"], out.workload);
  ReadField("threads", j["threads"], out.threads);
  ReadField("status", j["status"], out.status);
}

}  // namespace

CellRecord ReadCellRecord(const json& j, const std::string& where) {
  CellRecord out;
  try {
    RequireObject(j);
    ReadIdentity(j, out);
    for (const auto& [k, value] : j.items()) {
      if (k == "allocator" || k == "workload" || k == "threads" ||
          k == "status")
        continue;
      ALLOCMARK_CELL_FIELDS(ALLOCMARK_READ_KEY)
      out.extra[k] = value;
    }
  } catch (const FieldError& e) {
    throw RecordError(where + e.path + ": " + e.message);
  }
  return out;
}

std::vector<CellRecord> ReadCellRecords(const json& document) {
  if (!document.is_object() || !document.contains("cells") ||
      !document["cells"].is_array())
    throw RecordError("results: no cells[] array");
  std::vector<CellRecord> cells;
  const json& list = document["cells"];
  cells.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i)
    cells.push_back(
        ReadCellRecord(list[i], "cells[" + std::to_string(i) + "]"));
  return cells;
}

json WriteCellRecord(const CellRecord& in) {
  json j = in.extra.is_object() ? in.extra : json::object();
  j["allocator"] = in.allocator;
  j["workload"] = in.workload;
  j["threads"] = in.threads;
  j["status"] = CellStatusName(in.status);
  ALLOCMARK_CELL_FIELDS(ALLOCMARK_WRITE_KEY)
  return j;
}

CacheFigures ReadCacheFigures(const json& cache, const std::string& where) {
  CacheFigures out;
  try {
    FromJson(cache, out);
  } catch (const FieldError& e) {
    throw RecordError(where + e.path + ": " + e.message);
  }
  return out;
}

json WriteCacheFigures(const CacheFigures& cache) { return ToJson(cache); }

KernelPassFacts PassFacts(const KernelFacts& facts) {
  KernelPassFacts out;
#define ALLOCMARK_COPY_KEY(type, key) out.key = facts.key;
  ALLOCMARK_KERNEL_FIELDS(ALLOCMARK_COPY_KEY)
#undef ALLOCMARK_COPY_KEY
  out.extra = facts.extra;
  return out;
}

bool Leaked(const CellRecord& cell) {
  if (!cell.leak || !cell.leak->message) return false;
  return cell.ok() || (cell.reason && *cell.reason == *cell.leak->message);
}

void FailOnLeak(CellRecord& cell) {
  if (!cell.ok() || !cell.leak || !cell.leak->message) return;
  cell.status = CellStatus::kFailed;
  cell.reason = *cell.leak->message;
}

}  // namespace allocmark
