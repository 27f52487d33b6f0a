// `run --shard i/n`: which deterministic slice of the cells this run takes.
#include <string>

#include "bench/cli/ci_profile.h"
#include "bench/cli/cli_commands.h"

namespace allocmark {

void ParseShard(const std::string& text, std::uint32_t* index,
                std::uint32_t* count) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos)
    BadInput("--shard: '" + text + "' (expected i/n, e.g. 0/4)");
  const std::uint64_t n =
      ParseCount("--shard (n)", text.substr(slash + 1), 1, 1000);
  const std::uint64_t i =
      ParseCount("--shard (i)", text.substr(0, slash), 0, 999);
  if (i >= n)
    BadInput("--shard: '" + text + "': i must be below n (shards 0.." +
             std::to_string(n - 1) + ")");
  *index = static_cast<std::uint32_t>(i);
  *count = static_cast<std::uint32_t>(n);
}

}  // namespace allocmark
