// Program cells, one row per program x allocator: medians over the
// repetitions, wall time and peak RSS also relative to system.
#include "bench/report/program_report.h"

#include <map>
#include <vector>

#include "bench/report/report_format.h"

namespace allocmark {

namespace {

using nlohmann::json;

double Num(const json& j) { return j.is_number() ? j.get<double>() : 0; }

}  // namespace

std::string ProgramTable(const json& results) {
  using Key = std::pair<std::string, std::string>;  // workload, allocator
  std::map<Key, std::vector<const json*>> groups;
  std::vector<Key> order;
  for (const json& c : results["cells"]) {
    if (c["workload"].get<std::string>().rfind("program:", 0) != 0) continue;
    Key k{c["workload"], c["allocator"]};
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(&c);
  }
  if (order.empty()) return "";
  struct Figures {
    double wall = 0, cpu = 0, rss = 0, faults = 0, figure = 0;
    bool has_figure = false, has_rss = false;
  };
  std::map<Key, Figures> med;
  std::map<Key, std::string> status;
  for (const Key& k : order) {
    std::vector<double> wall, cpu, rss, faults, figure;
    int ok = 0, failed = 0;
    std::string reason;
    for (const json* c : groups[k]) {
      if ((*c)["status"] != "ok") {
        failed += (*c)["status"] == "failed";
        if (reason.empty() && (*c)["reason"].is_string())
          reason = (*c)["reason"];
        continue;
      }
      ++ok;
      const json& p = (*c)["program"];
      wall.push_back(Num(p["wall_ns"]) / 1e9);
      cpu.push_back((Num(p["user_ns"]) + Num(p["sys_ns"])) / 1e9);
      if (p["peak_rss_bytes"].is_number())
        rss.push_back(Num(p["peak_rss_bytes"]));
      faults.push_back(Num(p["minor_faults"]) + Num(p["major_faults"]));
      if (p["figure"].is_object()) figure.push_back(Num(p["figure"]["value"]));
    }
    Figures f;
    if (!wall.empty()) {
      f.wall = Median(wall);
      f.cpu = Median(cpu);
      f.faults = Median(faults);
    }
    if (!rss.empty()) {
      f.rss = Median(rss);
      f.has_rss = true;
    }
    if (!figure.empty()) {
      f.figure = Median(figure);
      f.has_figure = true;
    }
    med[k] = f;
    status[k] = ok > 0 && failed == 0 ? "ok"
                : ok == 0 && failed == 0
                    ? "skipped: " + reason
                    : std::to_string(failed) + " failed: " + reason;
    if (ok == 0) med.erase(k);
  }
  std::string out =
      "program            allocator    wall s  vs sys   CPU s  peak RSS  vs sys"
      "     faults         figure  status\n";
  for (const Key& k : order) {
    char line[512];
    auto it = med.find(k);
    if (it == med.end()) {
      std::snprintf(line, sizeof(line),
                    "%-18s %-10s %8s %7s %7s %9s %7s %10s %14s  %s\n",
                    k.first.c_str(), k.second.c_str(), "-", "-", "-", "-", "-",
                    "-", "-", status[k].c_str());
      out += line;
      continue;
    }
    const Figures& f = it->second;
    const auto base = med.find({k.first, "system"});
    const std::string vs_wall = base != med.end() && base->second.wall > 0
                                    ? Fmt("%.2fx", f.wall / base->second.wall)
                                    : "-";
    const std::string vs_rss = base != med.end() && base->second.has_rss &&
                                       f.has_rss && base->second.rss > 0
                                   ? Fmt("%.2fx", f.rss / base->second.rss)
                                   : "-";
    std::snprintf(line, sizeof(line),
                  "%-18s %-10s %8.3f %7s %7.3f %8.1fM %7s %10.0f %14s  %s\n",
                  k.first.c_str(), k.second.c_str(), f.wall, vs_wall.c_str(),
                  f.cpu, f.rss / (1 << 20), vs_rss.c_str(), f.faults,
                  f.has_figure ? Fmt("%.0f", f.figure).c_str() : "-",
                  status[k].c_str());
    out += line;
  }
  out +=
      "medians over the repetitions; wall = the whole run (a server: start to "
      "exit); CPU = user + "
      "system of the process tree; peak RSS = the largest VmHWM of its "
      "processes; faults = "
      "minor + major; figure = the server client's own (redis: requests/s)\n";
  return out;
}

}  // namespace allocmark
