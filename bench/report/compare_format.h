// The three renderings of a Comparison: a text table for terminals, a
// pull-request comment in markdown, and JSON for machines.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "bench/report/compare.h"

namespace allocmark {

std::string FormatComparisonText(const Comparison& c);
std::string FormatComparisonMarkdown(const Comparison& c);
nlohmann::json ComparisonJson(const Comparison& c);

}  // namespace allocmark
