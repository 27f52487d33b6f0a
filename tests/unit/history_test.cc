// Tests of the SQLite history: round-trip of runs and trends, migration of an
// older schema, and clear errors for corrupt, foreign and newer databases.
#include "bench/report/history.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/report/compare.h"
#include "bench/report/history_format.h"

namespace allocmark {
namespace {

using nlohmann::json;

std::string TempDb(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/history_" +
                        std::to_string(getpid()) + "_" + name;
  std::remove(p.c_str());
  return p;
}

json Results(const std::string& date, const std::string& revision,
             double system_ns) {
  json cells = json::array();
  for (int rep = 0; rep < 3; ++rep) {
    for (auto [name, ns] :
         {std::pair{"system", system_ns}, {"mimalloc", system_ns / 2}}) {
      cells.push_back({{"allocator", name},
                       {"workload", "fixed-64"},
                       {"threads", 1},
                       {"repetition", rep},
                       {"status", "ok"},
                       {"reason", nullptr},
                       {"stream_digest", "00112233aabbccdd"},
                       {"ops", 1000},
                       {"ns_per_op", ns + rep},
                       {"memory", {{"peak_rss_bytes", 4 << 20}}}});
    }
  }
  cells.push_back({{"allocator", "kpool"},
                   {"workload", "fixed-64"},
                   {"threads", 1},
                   {"repetition", 0},
                   {"status", "skipped"},
                   {"reason", "no driver"}});
  return {
      {"schema_version", 1},
      {"context", {{"date", date}, {"host", "vm"}, {"git_revision", revision}}},
      {"run", {{"profile", "quick"}}},
      {"cells", cells}};
}

std::string ErrorOf(const std::string& db, bool write) {
  try {
    History::Open(db, write);
  } catch (const ResultsError& e) {
    return e.what();
  }
  return "";
}

TEST(History, RoundTripRunsAndTrend) {
  const std::string db = TempDb("rt.sqlite");
  {
    History h = History::Open(db, true);
    EXPECT_EQ(h.SchemaVersion(), kHistorySchemaVersion);
    EXPECT_EQ(h.AddRun(Results("2024-01-01", "aaa", 10), "a.json", "first"), 1);
    EXPECT_EQ(h.AddRun(Results("2024-01-02", "bbb", 20), "b.json", ""), 2);
    EXPECT_THROW(h.AddRun(Results("2024-01-02", "bbb", 20), "b.json", ""),
                 ResultsError);  // the same run twice
  }
  const History h = History::Open(db, false);
  const std::vector<HistoryRun> runs = h.Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].git_revision, "aaa");
  EXPECT_EQ(runs[0].label, "first");
  EXPECT_EQ(runs[0].cells_ok, 6);
  EXPECT_EQ(runs[0].cells_skipped, 1);
  EXPECT_EQ(h.Runs(1).at(0).id, 2);
  const std::vector<TrendPoint> t = h.Trend("ns_per_op", "fixed-64", 1);
  ASSERT_EQ(t.size(), 4u);  // 2 runs x 2 allocators
  for (const TrendPoint& p : t) {
    EXPECT_EQ(p.repetitions, 3);
    if (p.run_id == 2 && p.allocator == "system") {
      EXPECT_EQ(p.median, 21);
    }
    if (p.run_id == 1 && p.allocator == "mimalloc") {
      EXPECT_EQ(p.median, 6);
    }
  }
  const std::string text = FormatTrend(t, "ns_per_op", "fixed-64");
  EXPECT_NE(text.find("mimalloc"), std::string::npos) << text;
  EXPECT_NE(text.find("bbb"), std::string::npos) << text;
  EXPECT_TRUE(h.Trend("ns_per_op", "no-such", 0).empty());
  EXPECT_THROW(h.Trend("bogus", "fixed-64", 0), ResultsError);
  std::remove(db.c_str());
}

TEST(History, CorruptFileIsAClearErrorAndLeftAlone) {
  const std::string db = TempDb("corrupt.sqlite");
  { History::Open(db, true).AddRun(Results("d", "r", 10), "a.json", ""); }
  // Overwrite pages after the header: a damaged database, not a foreign one.
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    const std::string junk(3000, '\x5a');
    f.write(junk.data(), junk.size());
  }
  std::stringstream before;
  before << std::ifstream(db, std::ios::binary).rdbuf();
  for (bool write : {false, true}) {
    const std::string err = ErrorOf(db, write);
    EXPECT_NE(err.find(db), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "not one line: " << err;
    EXPECT_TRUE(err.find("corrupt") != std::string::npos ||
                err.find("malformed") != std::string::npos ||
                err.find("not a database") != std::string::npos)
        << err;
  }
  std::stringstream after;
  after << std::ifstream(db, std::ios::binary).rdbuf();
  EXPECT_EQ(before.str(), after.str()) << "a corrupt history was rewritten";
  std::remove(db.c_str());
}

TEST(History, NonSqliteFileIsRefusedUntouched) {
  const std::string db = TempDb("text.sqlite");
  std::ofstream(db) << "{\"not\": \"a database\"}\n";
  const std::string err = ErrorOf(db, true);
  EXPECT_NE(err.find("not a SQLite database"), std::string::npos) << err;
  std::stringstream s;
  s << std::ifstream(db).rdbuf();
  EXPECT_EQ(s.str(), "{\"not\": \"a database\"}\n");
  std::remove(db.c_str());
}

TEST(History, ForeignSqliteDatabaseIsRefused) {
  const std::string db = TempDb("foreign.sqlite");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "CREATE TABLE photos(id INTEGER)", nullptr, nullptr,
               nullptr);
  sqlite3_close(raw);
  const std::string err = ErrorOf(db, true);
  EXPECT_NE(err.find("not an allocmark history"), std::string::npos) << err;
  std::remove(db.c_str());
}

std::string Bytes(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path, std::ios::binary).rdbuf();
  return s.str();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Another application's database with a hot journal: a writer that died
// mid-transaction after spilling pages into the file. Opening it with SQLite
// would roll the journal back (rewrite the file, delete the journal).
TEST(History, ForeignDatabaseWithHotJournalIsNotRolledBack) {
  const std::string db = TempDb("hot.sqlite");
  std::remove((db + "-journal").c_str());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE notes(t TEXT); INSERT INTO notes "
                           "VALUES ('kept');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* raw = nullptr;
    sqlite3_open(db.c_str(), &raw);
    // A one-page cache forces the transaction's pages into the file.
    sqlite3_exec(raw,
                 "PRAGMA cache_size = 1; BEGIN; WITH RECURSIVE n(i) AS "
                 "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                 "INSERT INTO notes SELECT hex(randomblob(200)) FROM n;",
                 nullptr, nullptr, nullptr);
    _exit(0);  // dies holding the transaction: the journal stays hot
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(Exists(db + "-journal")) << "no hot journal to test with";
  const std::string file = Bytes(db), journal = Bytes(db + "-journal");
  for (bool write : {true, false}) {
    const std::string err = ErrorOf(db, write);
    EXPECT_NE(err.find("not an allocmark history"), std::string::npos) << err;
  }
  EXPECT_TRUE(Exists(db + "-journal")) << "the foreign journal was removed";
  EXPECT_EQ(Bytes(db), file) << "the foreign database was rewritten";
  EXPECT_EQ(Bytes(db + "-journal"), journal);
  std::remove(db.c_str());
  std::remove((db + "-journal").c_str());
}

// Reading another application's WAL database must not leave -wal and -shm
// files beside it.
TEST(History, ForeignWalDatabaseGetsNoWalOrShmFiles) {
  const std::string db = TempDb("wal.sqlite");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "PRAGMA journal_mode = WAL; CREATE TABLE t(x); "
                           "INSERT INTO t VALUES (1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);  // a clean close removes -wal and -shm
  }
  ASSERT_FALSE(Exists(db + "-wal"));
  ASSERT_FALSE(Exists(db + "-shm"));
  const std::string file = Bytes(db);
  for (bool write : {false, true}) {
    const std::string err = ErrorOf(db, write);
    EXPECT_NE(err.find("not an allocmark history"), std::string::npos) << err;
  }
  EXPECT_FALSE(Exists(db + "-wal"));
  EXPECT_FALSE(Exists(db + "-shm"));
  EXPECT_EQ(Bytes(db), file);
  std::remove(db.c_str());
}

TEST(History, NewerSchemaIsRefusedAndMissingFileNamed) {
  const std::string db = TempDb("newer.sqlite");
  { History::Open(db, true); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  EXPECT_NE(ErrorOf(db, true).find("newer"), std::string::npos);
  std::remove(db.c_str());
  EXPECT_NE(ErrorOf(db, false).find("no history database"), std::string::npos);
}

TEST(History, VersionOneDatabaseIsMigrated) {
  // A v1 history, as the first release wrote it.
  const std::string db = TempDb("v1.sqlite");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          raw,
          "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, added_at "
          "TEXT NOT NULL, date TEXT, git_revision TEXT, host TEXT, cpu_model "
          "TEXT, kernel TEXT, profile TEXT, label TEXT, source TEXT, context "
          "TEXT NOT NULL);"
          "CREATE TABLE cells (run_id INTEGER NOT NULL REFERENCES runs(id) ON "
          "DELETE CASCADE, allocator TEXT NOT NULL, workload TEXT NOT NULL, "
          "threads INTEGER NOT NULL, repetition INTEGER, status TEXT NOT "
          "NULL, reason TEXT, stream_digest TEXT, ns_per_op REAL, mops_per_s "
          "REAL, alloc_p99_ns REAL, free_p99_ns REAL, peak_rss_bytes REAL);"
          "INSERT INTO runs (added_at, date, context) VALUES ('x', 'old', "
          "'{}');"
          "INSERT INTO cells (run_id, allocator, workload, threads, status, "
          "ns_per_op) VALUES (1, 'system', 'fixed-64', 1, 'ok', 7);"
          "PRAGMA application_id = 1634495851; PRAGMA user_version = 1;",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_EQ(History::Open(db, false).SchemaVersion(),
            1);  // reads never migrate
  History h = History::Open(db, true);
  EXPECT_EQ(h.SchemaVersion(), 2);
  h.AddRun(Results("new", "r", 10), "b.json", "");
  const std::vector<TrendPoint> t = h.Trend("ns_per_op", "fixed-64", 1);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t[0].run_id, 1);
  EXPECT_EQ(t[0].median, 7);
  std::remove(db.c_str());
}

}  // namespace
}  // namespace allocmark
