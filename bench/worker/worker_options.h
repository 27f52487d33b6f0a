// Command line of a worker executable (allocmark-worker-<adapter>). Workers
// are started by `allocmark run`; the options are internal but still checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bench/spec/workload_spec.h"

namespace allocmark {

struct WorkerOptions {
  bool identity_only = false;  ///< --identity: print identity JSON and exit
  std::string workload_path;
  std::uint32_t threads = 0;  ///< 0: the spec's default
  Scale scale = Scale::kQuick;
  std::optional<std::uint64_t> ops_per_thread;  ///< overrides the scale
  std::optional<std::uint64_t> seed;            ///< overrides the spec's
  bool timed = false;
  /// --timing clock: a timed pass that reads the clock and nothing else (no
  /// usable sizes, live bytes, tags, locality or RSS sampling), so its cost
  /// over the throughput pass is what reading the clock costs.
  bool account = true;
  std::uint32_t batch = 0;  ///< 0: auto
  bool check_contents = false;
  bool pin = false;  ///< --pin: replay thread t on CPU t % nproc
  std::size_t chunk_ops = 1 << 20;
  std::optional<double> ticks_per_ns;  ///< the runner's calibration, if given
  std::string expect_malloc_from;      ///< preload:<lib> cells
  std::uint32_t repetition = 0;
  std::uint32_t sample_ms = 10;  ///< RSS sampler period, timed pass; 0: off
  /// Cache probes of the throughput pass: "hw" (perf_event_open), "sim"
  /// (running under callgrind), "off". The timed pass always records locality.
  std::string cache = "off";
  /// --stream-file: the run's pre-generated stream (bench/stream/
  /// stream_file.h), mapped instead of generating; "" generates.
  std::string stream_file;
};

/// Parses argv; on bad input prints one line to stderr and exits with 2.
WorkerOptions ParseWorkerOptions(int argc, char** argv);

}  // namespace allocmark
