// A generated op stream kept in a file, so the cells of one run that replay
// the same (workload, threads, ops, seed) generate it once: the runner writes
// it, every worker maps it read-only and checks it against its digest.
//
// Layout (little-endian, version 1):
//   header   StreamFileHeader, then `threads` StreamCounts
//   ops      thread 0's ops, thread 1's, ... each array 4096-aligned
//   chunks   (chunks + 1) x threads cumulative op counts: chunk k of thread t
//            is ops [ends[k][t], ends[k + 1][t]). Consecutive chunks may be
//            replayed as one: every boundary is one the generator made, where
//            each thread's hand-offs are complete.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bench/spec/op.h"
#include "bench/spec/workload_spec.h"
#include "bench/stream/stream_generator.h"

namespace allocmark {

inline constexpr char kStreamFileMagic[8] = {'A', 'M', 'S', 'T',
                                             'R', 'E', 'A', 'M'};
inline constexpr std::uint32_t kStreamFileVersion = 1;
/// Ops per thread between two stored boundaries: the finest chunk a worker
/// can ask for (the locality pass's).
inline constexpr std::size_t kStreamFileChunkOps = 2048;

/// What the stream was generated from; a worker refuses a file whose key is
/// not the one its own options give.
struct StreamKey {
  std::uint64_t spec_hash = 0;  ///< FNV-1a of the workload spec file's bytes
  std::uint32_t threads = 0;
  std::uint64_t ops_per_thread = 0;
  std::uint64_t seed = 0;
  bool operator==(const StreamKey&) const = default;
};

/// FNV-1a of a file's bytes; throws SpecError when it cannot be read.
std::uint64_t HashSpecFile(const std::string& path);

/// Generates the streams of `spec` for `key` and writes them to `path`
/// (atomically: a temporary beside it, then rename). Throws SpecError with
/// the reason on failure.
void WriteStreamFile(const WorkloadSpec& spec, const StreamKey& key,
                     const std::string& path);

/// A stream file mapped read-only (and registered as harness memory).
class StreamFile {
 public:
  /// Maps `path`, checks its header against `expected`, faults every page in
  /// and recomputes the digest. Throws SpecError naming the file on any
  /// mismatch (truncated, foreign, other version, other key, wrong digest).
  StreamFile(const std::string& path, const StreamKey& expected);
  ~StreamFile();
  StreamFile(const StreamFile&) = delete;
  StreamFile& operator=(const StreamFile&) = delete;

  const StreamPlan& plan() const { return plan_; }
  std::uint64_t digest() const { return digest_; }
  const std::vector<StreamCounts>& counts() const { return counts_; }
  StreamCounts TotalCounts() const;
  std::size_t chunks() const { return chunks_; }
  /// Cumulative op count of thread t before chunk k (k == chunks(): all).
  std::uint64_t ChunkStart(std::size_t k, std::uint32_t t) const {
    return ends_[k * plan_.threads + t];
  }
  /// Thread t's ops of chunks [first, last).
  std::span<const Op> Ops(std::uint32_t t, std::size_t first,
                          std::size_t last) const;

 private:
  std::string path_;
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
  StreamPlan plan_;
  std::uint64_t digest_ = 0;
  std::vector<StreamCounts> counts_;
  std::vector<const Op*> ops_;  // per thread
  std::size_t chunks_ = 0;
  const std::uint64_t* ends_ = nullptr;
};

}  // namespace allocmark
