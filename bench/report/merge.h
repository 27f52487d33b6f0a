// `allocmark merge`: joins results of shards (run --shard i/n) or of
// alternating one-repetition runs into one document, refusing foreign input.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace allocmark {

/// A results document and the file it came from (for messages).
using NamedResults = std::pair<std::string, nlohmann::json>;

/// Merges `inputs` (each checked like any results file). Throws ResultsError
/// naming the inputs when their machines or builds differ (context), their
/// run parameters differ, a workload replayed different streams, a cell
/// (allocator, workload, threads, repetition) appears twice, or shards of
/// different counts or one shard twice are given. Shards missing from a
/// complete set are listed in `*warnings`.
nlohmann::json MergeResults(const std::vector<NamedResults>& inputs,
                            std::vector<std::string>* warnings);

}  // namespace allocmark
