// `allocmark history add|show|trend`: the SQLite run history
// (results/history.sqlite unless --db says otherwise).
#include <filesystem>
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/compare.h"
#include "bench/report/history.h"
#include "bench/report/history_format.h"

namespace allocmark {
namespace {

struct HistoryArgs {
  std::string db = "results/history.sqlite";
  std::string results;
  std::string label;
  std::string limit;  // text: parsed strictly, "-1" is refused
  std::string threads_text;
  std::string metric = "ns_per_op";
  std::string workload;
};

int Add(const HistoryArgs& a) {
  try {
    const nlohmann::json doc = ReadResultsFile(a.results);
    const std::filesystem::path db(a.db);
    if (db.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(db.parent_path(), ec);
    }
    History h = History::Open(a.db, /*write=*/true);
    const std::int64_t id = h.AddRun(doc, a.results, a.label);
    std::cout << "stored " << a.results << " as run " << id << " in " << a.db
              << "\n";
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  return 0;
}

int Show(const HistoryArgs& a) {
  const int limit =
      a.limit.empty()
          ? 0
          : static_cast<int>(ParseCount("--limit", a.limit, 1, 1000000000));
  try {
    const History h = History::Open(a.db, /*write=*/false);
    std::cout << FormatRuns(h.Runs(limit));
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  return 0;
}

int Trend(const HistoryArgs& a) {
  const unsigned threads = a.threads_text.empty()
                               ? 0
                               : static_cast<unsigned>(ParseCount(
                                     "--threads", a.threads_text, 1, 1u << 20));
  try {
    const History h = History::Open(a.db, /*write=*/false);
    std::cout << FormatTrend(h.Trend(a.metric, a.workload, threads), a.metric,
                             a.workload);
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  return 0;
}

}  // namespace

Command AddHistoryCommand(CLI::App& app) {
  auto args = std::make_shared<HistoryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "history", "store runs in a SQLite history and show trends");
  cmd->require_subcommand(1);
  cmd->add_option("--db", args->db,
                  "history database (default results/history.sqlite)");
  CLI::App* add = cmd->add_subcommand("add", "store a results file");
  add->add_option("RESULTS", args->results, "results JSON")->required();
  add->add_option("--label", args->label, "free text kept with the run");
  add->add_option("--db", args->db, "history database");
  CLI::App* show = cmd->add_subcommand("show", "list the stored runs");
  show->add_option("--limit", args->limit, "only the last N runs");
  show->add_option("--db", args->db, "history database");
  CLI::App* trend =
      cmd->add_subcommand("trend", "a metric over the runs, per allocator");
  trend->add_option("--metric", args->metric,
                    "ns_per_op | mops_per_s | alloc_p99 | free_p99 | peak_rss "
                    "| instructions_per_op");
  trend->add_option("--workload", args->workload, "workload name")->required();
  trend->add_option("--threads", args->threads_text, "only this thread count");
  trend->add_option("--db", args->db, "history database");
  return {cmd, [args, add, show] {
            if (add->parsed()) return Add(*args);
            if (show->parsed()) return Show(*args);
            return Trend(*args);
          }};
}

}  // namespace allocmark
