// Reads and checks results documents once, for every reader: each field a
// reporter reads must have the type and range results/schema.json gives it.
#include "bench/report/results_reader.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "bench/report/json_path.h"

namespace allocmark {

using nlohmann::json;

namespace {

// What a reader may assume about one cell after CheckResultsDocument: the
// fields compare, history, export and the console read, typed as
// results/schema.json defines them. A wrong type is refused here, once,
// instead of surfacing as a crash or a silent NaN in one of the readers.
std::string CellProblem(const json& c) {
  if (!c.is_object()) return "is not an object";
  const json* allocator = Find(c, {"allocator"});
  const json* workload = Find(c, {"workload"});
  const json* threads = Find(c, {"threads"});
  const json* status = Find(c, {"status"});
  if (!allocator || !allocator->is_string() || !workload ||
      !workload->is_string() || !threads || !threads->is_number_integer() ||
      !status || !status->is_string())
    return "lacks allocator, workload, threads or status";
  if (threads->get<std::int64_t>() < 1 ||
      threads->get<std::int64_t>() > (1 << 20))
    return "threads " + threads->dump() + " is not a thread count";
  const std::string st = status->get<std::string>();
  if (st != "ok" && st != "failed" && st != "skipped")
    return "status " + status->dump() + " is not ok, failed or skipped";
  auto figure = [&](std::initializer_list<const char*> path,
                    const std::string& label, bool required) -> std::string {
    const json* v = Find(c, path);
    if (v == nullptr || v->is_null())
      return required ? label + (v ? " is null" : " is missing") +
                            " (an ok cell needs a number)"
                      : "";
    if (!v->is_number() || !(v->get<double>() >= 0) ||
        !std::isfinite(v->get<double>()))
      return label + " is " + v->dump().substr(0, 40) +
             ", expected a number >= 0 or null";
    return "";
  };
  auto object_or_null = [&](const char* key) -> std::string {
    const json* v = Find(c, {key});
    if (v == nullptr || v->is_null() || v->is_object()) return "";
    return std::string(key) + " is " + v->dump().substr(0, 40) +
           ", expected an object or null";
  };
  for (const char* key : {"latency", "memory", "cache", "timing"}) {
    if (std::string p = object_or_null(key); !p.empty()) return p;
  }
  for (const char* key : {"reason", "stream_digest"}) {
    const json* v = Find(c, {key});
    if (v != nullptr && !v->is_null() && !v->is_string())
      return std::string(key) + " is " + v->dump().substr(0, 40) +
             ", expected a string or null";
  }
  if (const json* rep = Find(c, {"repetition"});
      rep != nullptr && (!rep->is_number_integer() || rep->get<double>() < 0))
    return "repetition " + rep->dump().substr(0, 40) +
           " is not an integer >= 0";
  for (const char* side : {"alloc", "free"}) {
    const json* lat = Find(c, {"latency", side});
    if (lat != nullptr && !lat->is_null() && !lat->is_object())
      return std::string("latency.") + side + " is not an object";
  }
  const std::string problems[] = {
      figure({"ns_per_op"}, "ns_per_op", st == "ok"),
      figure({"mops_per_s"}, "mops_per_s", false),
      figure({"wall_ns"}, "wall_ns", false),
      figure({"ops"}, "ops", false),
      figure({"latency", "alloc", "p99_ns"}, "latency.alloc.p99_ns", false),
      figure({"latency", "free", "p99_ns"}, "latency.free.p99_ns", false),
      figure({"memory", "peak_rss_bytes"}, "memory.peak_rss_bytes", false),
      figure({"cache", "events", "instructions"}, "cache.events.instructions",
             false),
  };
  for (const std::string& p : problems) {
    if (!p.empty()) return p;
  }
  return "";
}

}  // namespace

void CheckResultsDocument(const json& doc, const std::string& name) {
  if (!doc.is_object())
    throw ResultsError(name +
                       ": not an allocmark results document (expected "
                       "a JSON object)");
  const json* v = Find(doc, {"schema_version"});
  if (!v)
    throw ResultsError(name +
                       ": no schema_version: not an allocmark "
                       "results document");
  if (!v->is_number_integer() || v->get<std::int64_t>() != 1)
    throw ResultsError(name + ": schema_version " + v->dump().substr(0, 40) +
                       " is not supported (this allocmark reads 1)");
  for (const char* key : {"context", "run"}) {
    const json* part = Find(doc, {key});
    if (part != nullptr && !part->is_object())
      throw ResultsError(name + ": " + key + " is " +
                         part->dump().substr(0, 40) + ", expected an object");
  }
  if (const json* adapters = Find(doc, {"adapters"});
      adapters != nullptr && !adapters->is_array())
    throw ResultsError(name + ": adapters is not an array");
  const json* cells = Find(doc, {"cells"});
  if (!cells || !cells->is_array())
    throw ResultsError(name + ": no cells[] array");
  if (cells->empty()) throw ResultsError(name + ": no cells: the run is empty");
  std::size_t i = 0;
  for (const json& c : *cells) {
    if (const std::string p = CellProblem(c); !p.empty()) {
      std::string label;
      if (c.is_object() && c.value("allocator", json()).is_string() &&
          c.value("workload", json()).is_string())
        label = " (" + c["allocator"].get<std::string>() + "/" +
                c["workload"].get<std::string>() + ")";
      throw ResultsError(name + ": cells[" + std::to_string(i) + "]" + label +
                         ": " + p);
    }
    ++i;
  }
}

json ParseResultsText(const std::string& text, const std::string& name) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw ResultsError(name + ": the file is empty");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // out_of_range: a number like 1E400
    throw ResultsError(name + ": not valid JSON (" + e.what() + ")");
  }
  CheckResultsDocument(doc, name);
  return doc;
}

json ReadResultsFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ResultsError(path + ": is a directory, not a results file");
  std::ifstream in(path);
  if (!in) throw ResultsError(path + ": cannot read the file");
  std::stringstream s;
  s << in.rdbuf();
  return ParseResultsText(s.str(), path);
}

}  // namespace allocmark
