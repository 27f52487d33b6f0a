// Tests for the typed cell record: its reader and writer round-trip every
// shipped results file and keep absent, null and unknown fields apart.
#include "bench/results/cell_record.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace allocmark {
namespace {

using nlohmann::json;

json ReadJsonFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// read -> write gives the document's cell back, and read -> write -> read
// gives the same record.
void ExpectRoundTrip(const json& cell, const std::string& where) {
  const CellRecord record = ReadCellRecord(cell, where);
  const json written = WriteCellRecord(record);
  ASSERT_EQ(written, cell) << where << "\n" << json::diff(cell, written).dump();
  EXPECT_EQ(ReadCellRecord(written, where), record) << where;
}

TEST(CellRecord, RoundTripsEveryReferenceResultsFile) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           ALLOCMARK_SOURCE_DIR "/results/reference")) {
    if (entry.path().extension() != ".json") continue;
    const json doc = ReadJsonFile(entry.path());
    const std::vector<CellRecord> cells = ReadCellRecords(doc);
    ASSERT_EQ(cells.size(), doc["cells"].size());
    ASSERT_FALSE(cells.empty()) << entry.path();
    // Every key the shipped files use is a typed field, not an extra.
    for (const CellRecord& c : cells) {
      EXPECT_TRUE(c.extra.empty()) << c.extra.dump();
      if (c.memory) {
        EXPECT_TRUE(c.memory->extra.empty());
      }
      if (c.timing) {
        EXPECT_TRUE(c.timing->extra.empty());
      }
    }
    for (std::size_t i = 0; i < cells.size(); ++i)
      ExpectRoundTrip(doc["cells"][i], entry.path().filename().string() +
                                           " cells[" + std::to_string(i) + "]");
    ++files;
  }
  EXPECT_GE(files, 2);
}

// A worker-shaped record with the fields whose shapes are easy to get wrong:
// nullable numbers, buckets, maps with null values, kernel facts.
json WorkerShapedRecord() {
  return json::parse(R"({
    "allocator": "system", "workload": "fixed-64", "threads": 2,
    "repetition": 1, "scale": "quick", "status": "ok", "reason": null,
    "stream_digest": "0123456789abcdef", "ops": 600, "wall_ns": 1500.5,
    "ns_per_op": 2.5, "mops_per_s": 400.0, "complete": true,
    "pinned_cpus": [-1, -1], "process_s": 0.25, "records": 600,
    "wait": {"wait_ns": 0.0, "waits": 0, "barrier_wait_ns": 1.0,
             "wait_share": 0.0, "lag": null, "ring_depth": null},
    "counts": {"allocs": 300, "frees": 300, "reallocs": 0,
               "reallocs_in_place": null, "realloc_bytes_copied": null,
               "sends": 0, "receives": 0, "cross_thread_frees": 0},
    "per_thread": [{"thread": 0, "ops": 300, "busy_ns": 750.0,
                    "ns_per_op": 2.5, "future_key": [1, 2]}],
    "latency": {"alloc": {"count": 3, "p50_ns": 10.0, "p90_ns": 20.0,
                          "p99_ns": 30.0, "p999_ns": 30.0, "p9999_ns": 30.0,
                          "max_ns": 31.0, "buckets": [[8.0, 16.0, 2],
                                                      [16.0, 32.0, 1]]},
                "free": {"count": 0}, "realloc": {"count": 0}},
    "cache": {"mode": "hw", "events": {"instructions": 12.5,
                                       "cache-misses": null},
              "unavailable": {"cache-misses": "no PMU"},
              "locality": null, "locality_reason": "throughput pass"},
    "memory": {"peak_rss_bytes": 4096, "allocator_stats": null,
               "allocator_stats_reason": "adapter exposes no statistics",
               "hugepage_coverage": null, "timeline": [[0, 1, 2, 3, "tick",
                                                        4, 5]]},
    "kernel": {"backend": "kmalloc", "abi_version": 1, "tick_khz": 0,
               "emulated": true, "latency_pass": {"backend": "kmalloc"}},
    "tags": [{"tag": "Tag0", "phase": -1, "live_blocks": -2,
              "peak_bytes": null}],
    "leak": {"declared_blocks": 0, "blocks": 0, "bytes": null,
             "message": null},
    "a_key_from_a_newer_build": {"x": 1}
  })");
}

TEST(CellRecord, KeepsAbsentNullAndUnknownFieldsApart) {
  const json j = WorkerShapedRecord();
  ExpectRoundTrip(j, "worker record");
  const CellRecord r = ReadCellRecord(j);
  EXPECT_EQ(r.status, CellStatus::kOk);
  EXPECT_EQ(r.threads, 2u);
  EXPECT_TRUE(r.reason.is_null());
  EXPECT_FALSE(r.seed.present());  // absent, not null
  ASSERT_TRUE(r.wait);
  EXPECT_TRUE(r.wait->lag.is_null());
  EXPECT_EQ(r.latency->alloc->buckets->at(1).count, 1u);
  EXPECT_DOUBLE_EQ(*r.cache->events->at("instructions"), 12.5);
  EXPECT_TRUE(r.cache->events->at("cache-misses").is_null());
  EXPECT_TRUE(r.memory->allocator_stats.is_null());
  EXPECT_EQ(*r.tags->at(0).phase, -1);
  EXPECT_EQ(r.per_thread->at(0).extra["future_key"], json({1, 2}));
  EXPECT_EQ(r.extra["a_key_from_a_newer_build"]["x"], 1);
}

TEST(CellRecord, WritesOnlyWhatIsSet) {
  CellRecord r;
  r.allocator = "null";
  r.workload = "fixed-16";
  r.threads = 1;
  r.repetition = 0;
  r.scale = "quick";
  r.status = CellStatus::kFailed;
  r.reason = "worker crashed";
  r.ns_per_op = nullptr;
  EXPECT_EQ(WriteCellRecord(r), json::parse(R"({
    "allocator": "null", "workload": "fixed-16", "threads": 1,
    "repetition": 0, "scale": "quick", "status": "failed",
    "reason": "worker crashed", "ns_per_op": null})"));
}

TEST(CellRecord, ReaderNamesTheFieldItRefuses) {
  json j = WorkerShapedRecord();
  j["memory"]["peak_rss_bytes"] = -1;
  try {
    ReadCellRecord(j, "cells[7]");
    FAIL() << "a negative byte count was accepted";
  } catch (const RecordError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cells[7].memory.peak_rss_bytes: expected an integer >= 0, "
              "got -1");
  }
  j = WorkerShapedRecord();
  j["latency"]["alloc"]["buckets"][1] = {1.0, 2.0};
  EXPECT_THROW(ReadCellRecord(j), RecordError);
  j = WorkerShapedRecord();
  j["status"] = "fine";
  EXPECT_THROW(ReadCellRecord(j), RecordError);
  j.erase("threads");
  EXPECT_THROW(ReadCellRecord(j), RecordError);
  j = WorkerShapedRecord();
  j["ns_per_op"] = "2.5";  // a number in a string is not a number
  EXPECT_THROW(ReadCellRecord(j), RecordError);
}

TEST(CellRecord, LeakedOnlyWhenTheLeakIsTheVerdict) {
  CellRecord r = ReadCellRecord(WorkerShapedRecord());
  EXPECT_FALSE(Leaked(r));  // message null
  r.leak->message = "leak: 3 blocks";
  EXPECT_TRUE(Leaked(r));  // ok cell with a message
  FailOnLeak(r);
  EXPECT_EQ(r.status, CellStatus::kFailed);
  EXPECT_EQ(*r.reason, "leak: 3 blocks");
  EXPECT_TRUE(Leaked(r));  // failed for the leak itself
  r.reason = "allocation of 1 TiB returned null";
  EXPECT_FALSE(Leaked(r));  // failed for another reason
  FailOnLeak(r);
  EXPECT_EQ(*r.reason, "allocation of 1 TiB returned null");
}

}  // namespace
}  // namespace allocmark
