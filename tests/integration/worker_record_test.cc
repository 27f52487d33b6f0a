// The typed cell record against what the programs write: every worker pass
// (throughput, accounted, clock-only) and every cell of a run reads into the
// record and writes back unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "bench/results/cell_record.h"
#include "tests/integration/command.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::ReadAll;
using testing::RunCommand;

const std::string kBin = ALLOCMARK_BIN_DIR;

void ExpectRoundTrip(const json& j, const std::string& where) {
  const CellRecord r = ReadCellRecord(j, where);
  const json written = WriteCellRecord(r);
  EXPECT_EQ(written, j) << where << ": " << json::diff(j, written).dump();
  EXPECT_EQ(ReadCellRecord(written, where), r) << where;
  // The fields a worker writes are typed, none left in `extra`.
  EXPECT_TRUE(r.extra.empty()) << where << ": " << r.extra.dump();
}

TEST(WorkerRecord, EveryPassRoundTrips) {
  const std::string spec =
      std::string(ALLOCMARK_SOURCE_DIR) + "/bench/workloads/larson.json";
  for (const char* timing : {"off", "on", "clock"}) {
    SCOPED_TRACE(timing);
    const CommandResult r =
        RunCommand(kBin + "/allocmark-worker-system --workload " + spec +
                   " --threads 2 --scale quick --ops 4000 --repetition 1 "
                   "--sample-ms 5 --timing " +
                   timing);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json record = json::parse(r.out);
    ExpectRoundTrip(record, std::string("worker --timing ") + timing);
    EXPECT_EQ(record["status"], "ok");
  }
}

TEST(WorkerRecord, EveryCellOfARunRoundTrips) {
  const std::string out = ::testing::TempDir() + "/allocmark_record_" +
                          std::to_string(getpid()) + ".json";
  const CommandResult r = RunCommand(
      kBin +
      "/allocmark run --quiet --allocators system,null,lookaside "
      "--workloads fixed-64,larson --threads 1,2 --profile quick --ops 3000 "
      "--out " +
      out);
  // A failed cell (exit 1) still has its record; that is what matters here.
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  const json doc = json::parse(ReadAll(out));
  ASSERT_FALSE(doc["cells"].empty());
  for (std::size_t i = 0; i < doc["cells"].size(); ++i)
    ExpectRoundTrip(doc["cells"][i], "cells[" + std::to_string(i) + "]");
  std::remove(out.c_str());
}

}  // namespace
}  // namespace allocmark
