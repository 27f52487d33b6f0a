// SQLite storage of runs (formatting is history_format.cc). The schema is
// versioned with PRAGMA user_version and tagged with PRAGMA application_id, so
// foreign files are never rewritten.
#include "bench/report/history.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <tuple>

#include "bench/report/compare.h"
#include "bench/results/cell_figures.h"
#include "bench/results/cell_record.h"

namespace allocmark {

using nlohmann::json;

namespace {

// Migration i takes a database from version i to i + 1. Never edit a
// shipped step: add one.
const char* const kMigrations[] = {
    // v1: runs and the per-cell figures the trends need.
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  added_at TEXT NOT NULL, date TEXT, git_revision TEXT, host TEXT,"
    "  cpu_model TEXT, kernel TEXT, profile TEXT, label TEXT, source TEXT,"
    "  context TEXT NOT NULL);"
    "CREATE TABLE cells ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  allocator TEXT NOT NULL, workload TEXT NOT NULL,"
    "  threads INTEGER NOT NULL, repetition INTEGER, status TEXT NOT NULL,"
    "  reason TEXT, stream_digest TEXT, ns_per_op REAL, mops_per_s REAL,"
    "  alloc_p99_ns REAL, free_p99_ns REAL, peak_rss_bytes REAL);",
    // v2: cache probes give instructions/op; trends filter by workload.
    "ALTER TABLE cells ADD COLUMN instructions_per_op REAL;"
    "CREATE INDEX cells_trend ON cells(workload, threads, allocator, run_id);",
};
static_assert(std::size(kMigrations) == kHistorySchemaVersion);

// A trend metric: its name (a CellFigure key) and its column in `cells`.
struct MetricColumn {
  const char* name;
  const char* column;
};
// In the order of the cells columns ?9..?14 of AddRun.
const MetricColumn kMetricColumns[] = {
    {"ns_per_op", "ns_per_op"},
    {"mops_per_s", "mops_per_s"},
    {"alloc_p99", "alloc_p99_ns"},
    {"free_p99", "free_p99_ns"},
    {"peak_rss", "peak_rss_bytes"},
    {"instructions_per_op", "instructions_per_op"},
};

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path)
      : path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw ResultsError(path + ": " + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  void Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.c_str(), -1, SQLITE_TRANSIENT);
  }
  void Bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) {
    if (std::isnan(v))
      sqlite3_bind_null(stmt_, i);
    else
      sqlite3_bind_double(stmt_, i, v);
  }
  /// true while a row is available.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw ResultsError(path_ + ": " + sqlite3_errmsg(sqlite3_db_handle(stmt_)));
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int i) const {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::int64_t Int(int i) const { return sqlite3_column_int64(stmt_, i); }
  double Double(int i) const { return sqlite3_column_double(stmt_, i); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string path_;
};

void Exec(sqlite3* db, const std::string& sql, const std::string& path) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw ResultsError(path + ": " + msg);
  }
}

std::int64_t PragmaInt(sqlite3* db, const char* pragma,
                       const std::string& path) {
  Statement s(db, std::string("PRAGMA ") + pragma, path);
  return s.Step() ? s.Int(0) : 0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The first 100 bytes of a SQLite file: the magic string, then (offset 68,
// big-endian) the application_id PRAGMA application_id sets. Read with plain
// I/O because opening a file with SQLite is already a write: it rolls back a
// hot -journal and creates -wal/-shm beside a WAL database.
struct SqliteHeader {
  bool sqlite = false;
  std::uint32_t application_id = 0;
};

SqliteHeader ReadSqliteHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[100] = {};
  in.read(reinterpret_cast<char*>(header), sizeof(header));
  SqliteHeader h;
  h.sqlite =
      in.gcount() >= 16 && std::memcmp(header, "SQLite format 3\0", 16) == 0;
  if (h.sqlite && in.gcount() == 100)
    h.application_id = std::uint32_t{header[68]} << 24 |
                       std::uint32_t{header[69]} << 16 |
                       std::uint32_t{header[70]} << 8 | header[71];
  return h;
}

}  // namespace

const std::vector<std::string>& HistoryMetrics() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> v;
    for (const MetricColumn& m : kMetricColumns) v.push_back(m.name);
    return v;
  }();
  return kNames;
}

History History::Open(const std::string& path, bool write) {
  struct stat st {};
  const bool exists = stat(path.c_str(), &st) == 0;
  if (!exists && !write)
    throw ResultsError(path +
                       ": no history database (store a run first: allocmark "
                       "history add RESULTS.json --db " +
                       path + ")");
  if (exists && S_ISDIR(st.st_mode))
    throw ResultsError(path + ": is a directory, not a history database");
  if (exists && !S_ISREG(st.st_mode))
    throw ResultsError(path +
                       ": not a regular file; refusing to use it as a "
                       "history database");
  if (exists && st.st_size > 0) {
    const SqliteHeader header = ReadSqliteHeader(path);
    if (!header.sqlite)
      throw ResultsError(path +
                         ": not a SQLite database (no SQLite header); refusing "
                         "to touch it: choose another file with --db");
    if (header.application_id !=
        static_cast<std::uint32_t>(kHistoryApplicationId)) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%08x", header.application_id);
      throw ResultsError(path +
                         ": a SQLite database but not an allocmark history "
                         "(application_id " +
                         buf +
                         "); refusing to open it: choose another file "
                         "with --db");
    }
  }
  sqlite3* db = nullptr;
  const int flags =
      write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw ResultsError(path + ": cannot open: " + msg);
  }
  try {
    sqlite3_busy_timeout(db, 10000);
    // quick_check reads every page: a damaged file is reported, not used.
    {
      // One line however many problems quick_check lists.
      Statement check(db, "PRAGMA quick_check(20)", path);
      std::string verdict = "no answer";
      int problems = 0;
      while (check.Step()) {
        if (problems++ == 0) verdict = check.Text(0);
      }
      if (verdict != "ok") {
        std::replace(verdict.begin(), verdict.end(), '\n', ' ');
        if (verdict.size() > 120) verdict = verdict.substr(0, 117) + "...";
        if (problems > 1)
          verdict += " and " + std::to_string(problems - 1) + " more";
        throw ResultsError(path + ": the database is corrupt (" + verdict +
                           ")");
      }
    }
    const std::int64_t app = PragmaInt(db, "application_id", path);
    std::int64_t version = PragmaInt(db, "user_version", path);
    std::int64_t tables = 0;
    {
      Statement s(db, "SELECT count(*) FROM sqlite_master", path);
      if (s.Step()) tables = s.Int(0);
    }
    if (app == 0 && version == 0 && tables == 0) {
      if (!write)
        throw ResultsError(path + ": an empty database, not a history yet");
    } else if (app != kHistoryApplicationId) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%08llx",
                    static_cast<unsigned long long>(app));
      throw ResultsError(path +
                         ": a SQLite database but not an allocmark history "
                         "(application_id " +
                         buf + "); refusing to change it");
    }
    if (version > kHistorySchemaVersion)
      throw ResultsError(path + ": history schema v" + std::to_string(version) +
                         " is newer than this allocmark (v" +
                         std::to_string(kHistorySchemaVersion) +
                         "): use a newer allocmark");
    if (write && version < kHistorySchemaVersion) {
      Exec(db, "BEGIN IMMEDIATE", path);
      try {
        // Re-read inside the write lock: another writer may have migrated.
        version = PragmaInt(db, "user_version", path);
        for (; version < kHistorySchemaVersion; ++version)
          Exec(db, kMigrations[version], path);
        Exec(
            db,
            "PRAGMA application_id = " + std::to_string(kHistoryApplicationId) +
                "; PRAGMA user_version = " + std::to_string(version),
            path);
        Exec(db, "COMMIT", path);
      } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    if (write) Exec(db, "PRAGMA foreign_keys = ON", path);
    return History(db, path, static_cast<int>(version));
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
}

History::History(History&& other) noexcept
    : db_(other.db_), path_(std::move(other.path_)), version_(other.version_) {
  other.db_ = nullptr;
}

History::~History() { sqlite3_close(db_); }

std::int64_t History::AddRun(const json& results, const std::string& source,
                             const std::string& label) {
  CheckResultsDocument(results, source);
  std::vector<CellRecord> cells;
  try {
    cells = ReadCellRecords(results);
  } catch (const RecordError& e) {
    throw ResultsError(source + ": " + e.what());
  }
  const json ctx = results.value("context", json::object());
  const json run = results.value("run", json::object());
  const std::string date = Str(ctx, "date"), host = Str(ctx, "host"),
                    revision = Str(ctx, "git_revision"),
                    profile = Str(run, "profile");
  Exec(db_, "BEGIN IMMEDIATE", path_);
  try {
    {
      Statement dup(db_,
                    "SELECT id FROM runs WHERE date = ?1 AND host = ?2 AND "
                    "git_revision = ?3 AND profile = ?4",
                    path_);
      dup.Bind(1, date);
      dup.Bind(2, host);
      dup.Bind(3, revision);
      dup.Bind(4, profile);
      if (dup.Step())
        throw ResultsError(source + ": already stored as run " +
                           std::to_string(dup.Int(0)) + " in " + path_ +
                           " (same date, host, revision and profile)");
    }
    Statement ins(db_,
                  "INSERT INTO runs (added_at, date, git_revision, host, "
                  "cpu_model, kernel, profile, label, source, context) VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                  path_);
    ins.Bind(1, UtcNow());
    ins.Bind(2, date);
    ins.Bind(3, revision);
    ins.Bind(4, host);
    ins.Bind(5, Str(ctx, "cpu_model"));
    ins.Bind(6, Str(ctx, "kernel"));
    ins.Bind(7, profile);
    ins.Bind(8, label);
    ins.Bind(9, source);
    ins.Bind(10, json{{"context", ctx}, {"run", run}}.dump());
    ins.Step();
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    Statement cell(db_,
                   "INSERT INTO cells (run_id, allocator, workload, threads, "
                   "repetition, status, reason, stream_digest, ns_per_op, "
                   "mops_per_s, alloc_p99_ns, free_p99_ns, peak_rss_bytes, "
                   "instructions_per_op) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                   "?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                   path_);
    for (const CellRecord& c : cells) {
      cell.Bind(1, id);
      cell.Bind(2, c.allocator);
      cell.Bind(3, c.workload);
      cell.Bind(4, std::int64_t{c.threads});
      cell.Bind(5, static_cast<std::int64_t>(c.repetition.value_or(0)));
      cell.Bind(6, std::string(CellStatusName(c.status)));
      cell.Bind(7, c.reason.value_or(""));
      cell.Bind(8, c.stream_digest.value_or(""));
      for (int i = 0; const MetricColumn& m : kMetricColumns)
        cell.Bind(9 + i++, CellFigure(c, m.name));
      cell.Step();
      cell.Reset();
    }
    Exec(db_, "COMMIT", path_);
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<HistoryRun> History::Runs(int limit) const {
  std::string sql =
      "SELECT r.id, r.added_at, r.date, r.git_revision, r.host, r.profile, "
      "r.label, r.source, "
      "(SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = "
      "'ok'), "
      "(SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = "
      "'failed'), "
      "(SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = "
      "'skipped') FROM runs r ORDER BY r.id";
  if (limit > 0)
    sql = "SELECT * FROM (" + sql + " DESC LIMIT " + std::to_string(limit) +
          ") ORDER BY 1";
  Statement s(db_, sql, path_);
  std::vector<HistoryRun> runs;
  while (s.Step()) {
    HistoryRun r;
    r.id = s.Int(0);
    r.added_at = s.Text(1);
    r.date = s.Text(2);
    r.git_revision = s.Text(3);
    r.host = s.Text(4);
    r.profile = s.Text(5);
    r.label = s.Text(6);
    r.source = s.Text(7);
    r.cells_ok = static_cast<int>(s.Int(8));
    r.cells_failed = static_cast<int>(s.Int(9));
    r.cells_skipped = static_cast<int>(s.Int(10));
    runs.push_back(r);
  }
  return runs;
}

std::vector<TrendPoint> History::Trend(const std::string& metric,
                                       const std::string& workload,
                                       unsigned threads) const {
  const MetricColumn* col = nullptr;
  for (const MetricColumn& m : kMetricColumns)
    if (metric == m.name || metric == m.column) col = &m;
  if (!col) {
    std::string names;
    for (const std::string& n : HistoryMetrics())
      names += (names.empty() ? "" : ", ") + n;
    throw ResultsError("--metric: unknown metric '" + metric +
                       "' (accepted: " + names + ")");
  }
  // v1 databases have no instructions column: the trend is simply empty.
  if (version_ < 2 && std::string(col->column) == "instructions_per_op")
    return {};
  Statement s(db_,
              std::string("SELECT r.id, r.date, r.git_revision, c.allocator, "
                          "c.threads, c.") +
                  col->column +
                  " FROM cells c JOIN runs r ON r.id = c.run_id WHERE "
                  "c.workload = ?1 AND c.status = 'ok' AND c." +
                  col->column + " IS NOT NULL AND (?2 = 0 OR c.threads = ?2) " +
                  "ORDER BY r.id, c.threads, c.allocator",
              path_);
  s.Bind(1, workload);
  s.Bind(2, std::int64_t{threads});
  using Key = std::tuple<std::int64_t, unsigned, std::string>;
  std::map<Key, std::vector<double>> values;
  std::map<std::int64_t, std::pair<std::string, std::string>> run_info;
  while (s.Step()) {
    const Key k{s.Int(0), static_cast<unsigned>(s.Int(4)), s.Text(3)};
    values[k].push_back(s.Double(5));
    run_info[s.Int(0)] = {s.Text(1), s.Text(2)};
  }
  std::vector<TrendPoint> points;
  for (auto& [k, v] : values) {
    std::sort(v.begin(), v.end());
    TrendPoint p;
    p.run_id = std::get<0>(k);
    p.threads = std::get<1>(k);
    p.allocator = std::get<2>(k);
    p.date = run_info[p.run_id].first;
    p.git_revision = run_info[p.run_id].second;
    p.repetitions = static_cast<int>(v.size());
    p.median = v.size() % 2 ? v[v.size() / 2]
                            : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    points.push_back(p);
  }
  return points;
}

}  // namespace allocmark
