// perf_event_open for the replay threads: two groups per thread (hardware,
// software), read with their enabled/running times so multiplexing is scaled.
#include "bench/probes/perf_counters.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <cerrno>
#include <cstring>

#include "bench/probes/perf_counters_record.h"

namespace allocmark {

using nlohmann::json;

namespace {

struct EventDef {
  const char* name;
  std::uint32_t type;
  std::uint64_t config;
};

constexpr std::uint64_t CacheConfig(std::uint64_t cache, std::uint64_t op,
                                    std::uint64_t result) {
  return cache | op << 8 | result << 16;
}

constexpr EventDef kEvents[kPerfEventCount] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"d1_read_misses", PERF_TYPE_HW_CACHE,
     CacheConfig(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
                 PERF_COUNT_HW_CACHE_RESULT_MISS)},
    {"ll_read_misses", PERF_TYPE_HW_CACHE,
     CacheConfig(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                 PERF_COUNT_HW_CACHE_RESULT_MISS)},
    {"dtlb_read_misses", PERF_TYPE_HW_CACHE,
     CacheConfig(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
                 PERF_COUNT_HW_CACHE_RESULT_MISS)},
    {"page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"task_clock_ns", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    {"context_switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
};

int PerfEventOpen(perf_event_attr* attr, int group_fd) {
  return static_cast<int>(syscall(SYS_perf_event_open, attr,
                                  0 /* this thread */, -1 /* any cpu */,
                                  group_fd, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

const char* PerfEventName(int index) { return kEvents[index].name; }

bool PerfEventIsHardware(int index) {
  return kEvents[index].type != PERF_TYPE_SOFTWARE;
}

std::string PerfUnavailableReason(int status, bool pmu_missing) {
  switch (status) {
    case 0:
      return "";
    case kPerfNeverScheduled:
      return "never scheduled: the PMU had no free counter for the group";
    case ENOENT:
      return pmu_missing ? "ENOENT: no hardware PMU (virtual machine)"
                         : "ENOENT: this PMU has no such event";
    case ENODEV:
      return "ENODEV: no PMU for this event type";
    case EOPNOTSUPP:
      return "EOPNOTSUPP: the PMU cannot count this event here";
    case EACCES:
    case EPERM:
      return std::string(status == EACCES ? "EACCES" : "EPERM") +
             ": not permitted (see /proc/sys/kernel/perf_event_paranoid; run "
             "as root or lower it)";
    case ENOSYS:
      return "ENOSYS: perf_event_open is not available (kernel without perf "
             "events, or a seccomp filter)";
    case EMFILE:
      return "EMFILE: too many open files for the counters";
    default:
      return "errno " + std::to_string(status) + ": " + std::strerror(status);
  }
}

void ThreadCounters::Add(Group& g, int index) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = kEvents[index].type;
  attr.config = kEvents[index].config;
  // Only the leader starts disabled; members follow the leader's state.
  attr.disabled = g.leader < 0 ? 1 : 0;
  attr.exclude_hv = 1;
  attr.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
                     PERF_FORMAT_TOTAL_TIME_RUNNING;
  const int fd = PerfEventOpen(&attr, g.leader);
  if (fd < 0) {
    status_[index] = errno;
    return;
  }
  if (g.leader < 0) g.leader = fd;
  g.event[g.members] = index;
  g.fd[g.members] = fd;
  ++g.members;
}

void ThreadCounters::Open(std::uint32_t mask, bool sim) {
  Close();
  requested_ = mask;
  sim_ = sim;
  for (int i = 0; i < kPerfEventCount; ++i) {
    status_[i] = 0;
    if (!(mask & (1u << i))) continue;
    Add(PerfEventIsHardware(i) ? hardware_ : software_, i);
  }
}

void ThreadCounters::Start() {
  if (sim_ && !collecting_) {
    CALLGRIND_TOGGLE_COLLECT;
    collecting_ = true;
  }
  for (Group* g : {&hardware_, &software_}) {
    if (g->leader >= 0)
      ioctl(g->leader, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
  }
}

void ThreadCounters::Stop() {
  for (Group* g : {&hardware_, &software_}) {
    if (g->leader >= 0)
      ioctl(g->leader, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
  }
  if (collecting_) {
    CALLGRIND_TOGGLE_COLLECT;
    collecting_ = false;
  }
}

void ThreadCounters::ReadGroup(Group& g, PerfReading& into) {
  if (g.leader < 0) return;
  // PERF_FORMAT_GROUP layout: nr, time_enabled, time_running, value[nr].
  std::uint64_t buf[3 + kPerfEventCount] = {};
  const ssize_t got = read(g.leader, buf, sizeof(buf));
  if (got < static_cast<ssize_t>(3 * sizeof(std::uint64_t)) ||
      buf[0] != static_cast<std::uint64_t>(g.members)) {
    for (int m = 0; m < g.members; ++m)
      into.status[g.event[m]] = got < 0 ? errno : EIO;
    return;
  }
  const std::uint64_t enabled = buf[1], running = buf[2];
  for (int m = 0; m < g.members; ++m) {
    const int e = g.event[m];
    if (enabled > 0 && running == 0) {
      if (into.status[e] == 0) into.status[e] = kPerfNeverScheduled;
      continue;
    }
    std::uint64_t v = buf[3 + m];
    if (running < enabled) {
      v = static_cast<std::uint64_t>(static_cast<double>(v) *
                                     static_cast<double>(enabled) /
                                     static_cast<double>(running));
      into.multiplexed = true;
    }
    into.value[e] += v;
  }
}

void ThreadCounters::ReadInto(PerfReading& into) {
  into.requested |= requested_;
  for (int i = 0; i < kPerfEventCount; ++i) {
    if (status_[i] != 0 && into.status[i] == 0) into.status[i] = status_[i];
  }
  ReadGroup(hardware_, into);
  ReadGroup(software_, into);
  Close();
}

void ThreadCounters::Close() {
  for (Group* g : {&hardware_, &software_}) {
    for (int m = 0; m < g->members; ++m) close(g->fd[m]);
    *g = Group();
  }
}

json PerfEventsJson(std::span<const PerfReading> per_thread,
                    std::span<const std::uint64_t> ops) {
  std::uint32_t requested = 0;
  int status[kPerfEventCount] = {};
  std::uint64_t total[kPerfEventCount] = {};
  std::uint64_t all_ops = 0;
  bool multiplexed = false;
  for (std::size_t t = 0; t < per_thread.size(); ++t) {
    const PerfReading& r = per_thread[t];
    requested |= r.requested;
    multiplexed |= r.multiplexed;
    all_ops += ops[t];
    for (int i = 0; i < kPerfEventCount; ++i) {
      total[i] += r.value[i];
      if (status[i] == 0) status[i] = r.status[i];
    }
  }
  const bool pmu_missing =
      status[static_cast<int>(PerfEvent::kCycles)] == ENOENT;
  auto per_op = [](std::uint64_t v, std::uint64_t n) -> json {
    return n ? json(static_cast<double>(v) / static_cast<double>(n))
             : json(nullptr);
  };
  json events = json::object(), unavailable = json::object();
  for (int i = 0; i < kPerfEventCount; ++i) {
    if (!(requested & (1u << i))) continue;
    if (status[i] != 0) {
      events[kEvents[i].name] = nullptr;
      unavailable[kEvents[i].name] =
          PerfUnavailableReason(status[i], pmu_missing);
    } else {
      events[kEvents[i].name] = per_op(total[i], all_ops);
    }
  }
  json threads = json::array();
  for (std::size_t t = 0; t < per_thread.size(); ++t) {
    json e = json::object();
    for (int i = 0; i < kPerfEventCount; ++i) {
      if (!(requested & (1u << i))) continue;
      e[kEvents[i].name] = status[i] != 0
                               ? json(nullptr)
                               : per_op(per_thread[t].value[i], ops[t]);
    }
    threads.push_back({{"thread", t}, {"ops", ops[t]}, {"events", e}});
  }
  return {{"events", events},
          {"unavailable", unavailable},
          {"multiplexed", multiplexed},
          {"per_thread", threads}};
}

}  // namespace allocmark
