// `allocmark trace info FILE`: what a recorded trace holds (calls by kind,
// threads, sizes, cross-thread share, peak live bytes, duration).
#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <ctime>

#include "bench/cli/cli_commands.h"
#include "bench/stream/trace_streams.h"
#include "bench/trace/trace_file.h"

namespace allocmark {
namespace {

std::string Bytes(std::uint64_t b) {
  char buf[32];
  if (b >= (1ULL << 30))
    std::snprintf(buf, sizeof(buf), "%.1f GiB",
                  static_cast<double>(b) / (1ULL << 30));
  else if (b >= (1ULL << 20))
    std::snprintf(buf, sizeof(buf), "%.1f MiB",
                  static_cast<double>(b) / (1ULL << 20));
  else if (b >= 1024)
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(b) / 1024);
  else
    std::snprintf(buf, sizeof(buf), "%llu B",
                  static_cast<unsigned long long>(b));
  return buf;
}

double Share(std::uint64_t part, std::uint64_t whole) {
  return whole == 0
             ? 0.0
             : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

int Info(const std::string& path) {
  Trace t;
  std::shared_ptr<const TraceReplay> r;
  try {
    t = ReadTrace(path);
    r = ConvertTrace(t);
  } catch (const TraceError& e) {
    BadInput(e.what());
  }
  const trace::TraceHeader& h = t.header;
  std::string state = t.complete
                          ? "complete"
                          : "incomplete (the program did not exit normally)";
  if (h.flags & trace::kFlagExeced) state += ", ended by exec";
  if (h.flags & trace::kFlagForked) state += ", a fork child's trace";
  const std::time_t when =
      static_cast<std::time_t>(h.start_unix_ns / 1000000000ULL);
  char date[32] = "?";
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", std::gmtime(&when));
  std::printf("trace %s: format v%u, pid %u (parent %u), image %u, %s\n",
              path.c_str(), h.version, h.pid, h.ppid, h.image, state.c_str());

  std::array<std::uint64_t, trace::kMaxCallKind + 1> by_kind{};
  std::array<std::uint64_t, 64> hist{};
  std::uint64_t first = UINT64_MAX, last = 0, sized = 0;
  for (const auto& calls : t.threads) {
    for (const TraceCall& c : calls) {
      ++by_kind[static_cast<int>(c.kind)];
      first = std::min(first, c.release_ns);
      last = std::max(last, c.acquire_ns);
      if (c.kind == trace::CallKind::kFree) continue;
      ++sized;
      ++hist[c.size <= 1 ? 0 : std::bit_width(c.size - 1)];
    }
  }
  std::printf("recorded %s UTC, calls over %.3f ms, %zu thread(s)\n", date,
              static_cast<double>(last - first) / 1e6, t.threads.size());
  std::printf("calls: %llu\n", static_cast<unsigned long long>(t.calls));
  for (int k = 1; k <= trace::kMaxCallKind; ++k) {
    if (by_kind[k] == 0) continue;
    std::printf("  %-15s %12llu  %5.1f %%\n",
                CallKindName(static_cast<trace::CallKind>(k)),
                static_cast<unsigned long long>(by_kind[k]),
                Share(by_kind[k], t.calls));
  }
  for (std::size_t th = 0; th < t.threads.size(); ++th)
    std::printf("  thread %-8zu %12zu calls\n", th, t.threads[th].size());
  std::printf("sizes requested (allocations and reallocs, %llu):\n",
              static_cast<unsigned long long>(sized));
  for (int b = 0; b < 64; ++b) {
    if (hist[b] == 0) continue;
    const std::uint64_t hi = std::uint64_t{1} << b;
    std::printf("  <= %-10s %12llu  %5.1f %%\n", Bytes(hi).c_str(),
                static_cast<unsigned long long>(hist[b]),
                Share(hist[b], sized));
  }
  const TraceReplayStats& s = r->stats;
  const StreamCounts total = TraceSource(r).TotalCounts();
  std::vector<std::uint64_t> lags = s.lags;
  std::sort(lags.begin(), lags.end());
  std::printf(
      "cross-thread: %llu hand-offs (%llu frees, %llu reallocs); "
      "%.2f %% of frees",
      static_cast<unsigned long long>(s.hand_offs),
      static_cast<unsigned long long>(s.cross_thread_frees),
      static_cast<unsigned long long>(s.cross_thread_reallocs),
      Share(s.cross_thread_frees, total.frees));
  if (!lags.empty())
    std::printf("; lag median %llu calls, max %llu",
                static_cast<unsigned long long>(lags[lags.size() / 2]),
                static_cast<unsigned long long>(lags.back()));
  std::printf("\n");
  std::printf("peak live: %s in %llu blocks (requested bytes)\n",
              Bytes(s.peak_live_bytes).c_str(),
              static_cast<unsigned long long>(s.peak_live_blocks));
  std::printf("live at the end: %llu blocks (the replay frees them last)\n",
              static_cast<unsigned long long>(s.live_at_end));
  std::printf(
      "not replayed: %llu failed calls, %llu free(NULL); "
      "%llu zero-byte requests replayed as 1 byte",
      static_cast<unsigned long long>(s.failed_calls),
      static_cast<unsigned long long>(s.free_null),
      static_cast<unsigned long long>(s.zero_sizes));
  if (s.inherited_frees)
    std::printf("; %llu frees of the parent's blocks skipped",
                static_cast<unsigned long long>(s.inherited_frees));
  std::printf("\n");
  std::printf(
      "replay: %llu ops (%llu allocs, %llu frees, %llu reallocs, "
      "%llu sends), digest %016llx\n",
      static_cast<unsigned long long>(total.ops),
      static_cast<unsigned long long>(total.allocs),
      static_cast<unsigned long long>(total.frees),
      static_cast<unsigned long long>(total.reallocs),
      static_cast<unsigned long long>(total.sends),
      static_cast<unsigned long long>(r->digest));
  return 0;
}

}  // namespace

Command AddTraceCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("trace", "inspect a recorded trace");
  cmd->require_subcommand(1);
  CLI::App* info = cmd->add_subcommand("info", "summarise a trace");
  auto path = std::make_shared<std::string>();
  info->add_option("file", *path, "trace file (allocmark record)")->required();
  return {cmd, [path] { return Info(*path); }};
}

}  // namespace allocmark
