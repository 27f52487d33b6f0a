// The run history: results documents stored in SQLite (runs + per-cell
// figures), versioned schema migrations, and trend queries per allocator.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

struct sqlite3;

namespace allocmark {

/// Schema version this build writes; older databases are migrated on write.
inline constexpr int kHistorySchemaVersion = 2;
/// PRAGMA application_id of an allocmark history ("almk").
inline constexpr std::int32_t kHistoryApplicationId = 0x616c6d6b;

struct HistoryRun {
  std::int64_t id = 0;
  std::string added_at, date, git_revision, host, profile, label, source;
  int cells_ok = 0, cells_failed = 0, cells_skipped = 0;
};

struct TrendPoint {
  std::int64_t run_id = 0;
  std::string date, git_revision, allocator;
  unsigned threads = 0;
  double median = 0;  ///< over the run's ok repetitions
  int repetitions = 0;
};

/// One open history database. Every failure (missing, corrupt, foreign file,
/// newer schema) throws ResultsError with a message naming the file.
class History {
 public:
  /// `write`: create the file if missing and migrate an older schema;
  /// otherwise the file must exist and is opened read-only.
  static History Open(const std::string& path, bool write);
  History(History&& other) noexcept;
  History& operator=(History&&) = delete;
  ~History();

  int SchemaVersion() const { return version_; }
  /// Stores a results document; returns the new run id. Refuses a document
  /// already stored (same date, host, revision and profile).
  std::int64_t AddRun(const nlohmann::json& results, const std::string& source,
                      const std::string& label);
  std::vector<HistoryRun> Runs(int limit = 0) const;
  /// `metric`: see HistoryMetrics(); `threads` 0 means every thread count.
  std::vector<TrendPoint> Trend(const std::string& metric,
                                const std::string& workload,
                                unsigned threads) const;

 private:
  History(sqlite3* db, std::string path, int version)
      : db_(db), path_(std::move(path)), version_(version) {}
  sqlite3* db_;
  std::string path_;
  int version_;
};

/// Metric names `trend` accepts.
const std::vector<std::string>& HistoryMetrics();

}  // namespace allocmark
