// libFuzzer target: the workload-spec parser (bench/spec/workload_spec.cc).
// Any input must either parse into a spec or throw SpecError; nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/spec/workload_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const allocmark::WorkloadSpec spec =
        allocmark::ParseWorkloadSpec(text, "fuzz.json");
    // What the runner does next with an accepted spec.
    for (std::uint32_t threads : {1u, 2u, spec.threads})
      allocmark::ValidateForThreads(spec, threads);
  } catch (const allocmark::SpecError&) {
  }
  return 0;
}
