// The result's context block: the machine, kernel, libraries, clock and build
// a run happened on (after google/benchmark's context, plus what allocators
// need).
#pragma once

#include <nlohmann/json.hpp>

#include "bench/probes/clock.h"

namespace allocmark {

nlohmann::json MachineContext(const ClockCalibration& clock);

}  // namespace allocmark
