// Tests for workload spec parsing: every shipped spec loads, and each kind of
// malformed spec is refused with a SpecError that names the offending key.
#include "bench/spec/workload_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/unit/shipped_specs.h"

namespace allocmark {
namespace {

using nlohmann::json;

using testing::ShippedSpecs;

// A small valid spec the malformed cases start from.
json Base() {
  return json::parse(R"({
    "name": "t", "description": "test spec", "seed": 7,
    "ops_per_thread": {"quick": 100, "default": 1000, "full": 10000},
    "phases": [
      {"name": "p", "tag": "TEST", "sizes": {"dist": "uniform", "min": 16, "max": 256},
       "lifetime": "random", "working_set": 8,
       "mix": {"alloc": 0.5, "free": 0.3, "realloc": 0.2}}
    ]
  })");
}

WorkloadSpec Parse(const json& j) {
  return ParseWorkloadSpec(j.dump(), "test.json");
}

// The SpecError message for `j`, or "" (and a test failure) when it parses.
std::string ErrorOf(const json& j) {
  try {
    Parse(j);
  } catch (const SpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << j.dump();
  return "";
}

TEST(WorkloadSpec, EveryShippedSpecParses) {
  const std::vector<std::string> paths = ShippedSpecs();
  ASSERT_GE(paths.size(), 9u) << "bench/workloads lost specs";
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    WorkloadSpec spec;
    ASSERT_NO_THROW(spec = LoadWorkloadSpec(path));
    EXPECT_EQ(spec.path, path);
    EXPECT_EQ(spec.name + ".json",
              std::filesystem::path(path).filename().string())
        << "a spec's name should match its file name";
    EXPECT_FALSE(spec.description.empty());
    EXPECT_FALSE(spec.phases.empty());
    for (std::uint64_t ops : spec.ops_per_thread) EXPECT_GT(ops, 0u);
    EXPECT_LE(spec.ops_per_thread[0], spec.ops_per_thread[1]);
    EXPECT_LE(spec.ops_per_thread[1], spec.ops_per_thread[2]);
    EXPECT_NO_THROW(ValidateForThreads(spec, spec.threads));
  }
}

TEST(WorkloadSpec, BaseSpecParsesWithItsValues) {
  const WorkloadSpec s = Parse(Base());
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.threads, 1u);
  EXPECT_EQ(s.ops_per_thread[0], 100u);
  EXPECT_EQ(s.ops_per_thread[2], 10000u);
  ASSERT_EQ(s.phases.size(), 1u);
  const PhaseSpec& p = s.phases[0];
  EXPECT_EQ(TagString(p.tag), "TEST");
  EXPECT_EQ(p.sizes.dist, SizeDist::kUniform);
  EXPECT_EQ(p.sizes.min, 16u);
  EXPECT_EQ(p.sizes.max, 256u);
  EXPECT_EQ(p.working_set, 8u);
  EXPECT_DOUBLE_EQ(p.realloc_share, 0.2);
  EXPECT_EQ(p.realloc.max, 256u) << "realloc.max defaults to sizes.max";
}

TEST(WorkloadSpec, LimitsThemselvesAreAccepted) {
  json j = Base();
  j["phases"][0]["sizes"] = {{"dist", "fixed"}, {"size", kMaxBlockSize}};
  j["ops_per_thread"]["full"] = kMaxOpsPerThread;
  EXPECT_NO_THROW(Parse(j));
  j["phases"][0]["sizes"] = {{"dist", "fixed"}, {"size", 1}, {"align", 4096}};
  j["phases"][0]["mix"] = {{"alloc", 0.5}, {"free", 0.5}};
  EXPECT_NO_THROW(Parse(j));
}

TEST(WorkloadSpec, LargestSeedIsAccepted) {
  // seed is documented as [0, 2^64 - 1]; the top of the range must parse.
  json j = Base();
  j["seed"] = UINT64_MAX;
  WorkloadSpec s;
  ASSERT_NO_THROW(s = Parse(j)) << ErrorOf(j);
  EXPECT_EQ(s.seed, UINT64_MAX);
}

struct Malformed {
  const char* what;
  std::function<void(json&)> mutate;
  std::vector<const char*> message_has;  ///< key path (and hint) in the message
};

TEST(WorkloadSpec, MalformedSpecsNameTheKey) {
  const std::vector<Malformed> cases = {
      {"unknown top-level key",
       [](json& j) { j["sead"] = 1; },
       {"spec.sead", "unknown key"}},
      {"unknown phase key",
       [](json& j) { j["phases"][0]["workingset"] = 3; },
       {"phases[0].workingset", "unknown key"}},
      {"unknown sizes key",
       [](json& j) { j["phases"][0]["sizes"]["maximum"] = 3; },
       {"phases[0].sizes.maximum", "unknown key"}},
      {"unknown mix key",
       [](json& j) { j["phases"][0]["mix"]["touch"] = 0; },
       {"phases[0].mix.touch", "unknown key"}},
      {"unknown ops_per_thread key",
       [](json& j) { j["ops_per_thread"]["smoke"] = 1; },
       {"spec.ops_per_thread.smoke", "unknown key"}},
      {"unknown cross_thread key",
       [](json& j) {
         j["threads"] = 2;
         j["phases"][0]["cross_thread"] = {{"share", 0.5}, {"peer", "ring"}};
       },
       {"phases[0].cross_thread.peer", "unknown key"}},
      {"size 0",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "fixed"}, {"size", 0}};
       },
       {"phases[0].sizes.size"}},
      {"negative size",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "fixed"}, {"size", -16}};
       },
       {"phases[0].sizes.size", "negative"}},
      {"negative min",
       [](json& j) { j["phases"][0]["sizes"]["min"] = -1; },
       {"phases[0].sizes.min", "negative"}},
      {"size over 1 TiB",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "fixed"},
                                    {"size", kMaxBlockSize + 1}};
       },
       {"phases[0].sizes.size"}},
      {"max over 1 TiB",
       [](json& j) { j["phases"][0]["sizes"]["max"] = kMaxBlockSize + 1; },
       {"phases[0].sizes.max"}},
      {"fractional size",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "fixed"}, {"size", 16.5}};
       },
       {"phases[0].sizes.size", "integer"}},
      {"min > max",
       [](json& j) {
         j["phases"][0]["sizes"]["min"] = 512;
         j["phases"][0]["sizes"]["max"] = 256;
       },
       {"phases[0].sizes", "min (512) > max (256)"}},
      {"table weights sum to zero",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "table"},
                                    {"table", json::array({{16, 0}, {64, 0}})}};
       },
       {"phases[0].sizes.table", "zero"}},
      {"negative table weight",
       [](json& j) {
         j["phases"][0]["sizes"] = {
             {"dist", "table"}, {"table", json::array({{16, 2}, {64, -1}})}};
       },
       {"phases[0].sizes.table[1].weight"}},
      {"empty table",
       [](json& j) {
         j["phases"][0]["sizes"] = {{"dist", "table"},
                                    {"table", json::array()}};
       },
       {"phases[0].sizes.table"}},
      {"unknown distribution",
       [](json& j) { j["phases"][0]["sizes"]["dist"] = "normal"; },
       {"phases[0].sizes.dist", "normal"}},
      {"cross_thread with one thread",
       [](json& j) {
         j["phases"][0]["cross_thread"] = {{"share", 0.25}};
       },
       {"phases[0].cross_thread.share", "threads"}},
      {"cross_thread share above 1",
       [](json& j) {
         j["threads"] = 2;
         j["phases"][0]["cross_thread"] = {{"share", 1.5}};
       },
       {"phases[0].cross_thread.share"}},
      {"ops_per_thread 10^15",
       [](json& j) { j["ops_per_thread"]["full"] = 1'000'000'000'000'000ULL; },
       {"spec.ops_per_thread.full"}},
      {"ops_per_thread 0",
       [](json& j) { j["ops_per_thread"]["quick"] = 0; },
       {"spec.ops_per_thread.quick"}},
      {"ops_per_thread missing",
       [](json& j) { j.erase("ops_per_thread"); },
       {"spec.ops_per_thread", "missing"}},
      {"phase shares below 1",
       [](json& j) {
         json second = j["phases"][0];
         second["tag"] = "TWO!";
         j["phases"][0]["share"] = 0.5;
         second["share"] = 0.4;
         j["phases"].push_back(second);
       },
       {"spec.phases", "add up to 1"}},
      {"phase shares above 1",
       [](json& j) {
         json second = j["phases"][0];
         j["phases"][0]["share"] = 0.7;
         second["share"] = 0.7;
         j["phases"].push_back(second);
       },
       {"spec.phases", "add up to 1"}},
      {"no phases",
       [](json& j) { j["phases"] = json::array(); },
       {"spec.phases"}},
      {"tag too short",
       [](json& j) { j["phases"][0]["tag"] = "ABC"; },
       {"phases[0].tag", "four"}},
      {"tag too long",
       [](json& j) { j["phases"][0]["tag"] = "ABCDE"; },
       {"phases[0].tag", "four"}},
      {"tag not printable",
       [](json& j) { j["phases"][0]["tag"] = "AB\tC"; },
       {"phases[0].tag", "printable"}},
      {"tag missing",
       [](json& j) { j["phases"][0].erase("tag"); },
       {"phases[0].tag", "missing"}},
      {"alignment not a power of two",
       [](json& j) { j["phases"][0]["sizes"]["align"] = 48; },
       {"phases[0].sizes.align", "power of two"}},
      {"realloc share with align > 16",
       [](json& j) { j["phases"][0]["sizes"]["align"] = 64; },
       {"phases[0].mix.realloc", "16"}},
      {"mix not summing to 1",
       [](json& j) {
         j["phases"][0]["mix"] = {{"alloc", 0.5}, {"free", 0.6}};
       },
       {"phases[0].mix", "must be 1"}},
      {"mix without allocs",
       [](json& j) {
         j["phases"][0]["mix"] = {{"free", 0.5}, {"realloc", 0.5}};
       },
       {"phases[0].mix.alloc"}},
      {"working_set 0",
       [](json& j) { j["phases"][0]["working_set"] = 0; },
       {"phases[0].working_set"}},
      {"unknown lifetime",
       [](json& j) { j["phases"][0]["lifetime"] = "forever"; },
       {"phases[0].lifetime", "forever"}},
      {"threads 0", [](json& j) { j["threads"] = 0; }, {"spec.threads"}},
      {"test_only not a boolean",
       [](json& j) { j["test_only"] = "yes"; },
       {"spec.test_only"}},
      {"name not a string",
       [](json& j) { j["name"] = 3; },
       {"spec.name", "string"}},
      {"negative lag",
       [](json& j) { j["lag"] = -5; },
       {"spec.lag", "negative"}},
      {"lag not a number",
       [](json& j) { j["lag"] = "long"; },
       {"spec.lag", "integer"}},
      {"fractional lag",
       [](json& j) { j["lag"] = 2.5; },
       {"spec.lag", "integer"}},
      {"lag beyond the ring limit",
       [](json& j) { j["lag"] = 1 << 21; },
       {"spec.lag", "1048576"}},
      {"lag as long as the quick budget",
       [](json& j) {
         j["threads"] = 2;
         j["phases"][0]["cross_thread"] = {{"share", 0.5}};
         j["lag"] = 100;
       },
       {"spec.lag", "ops_per_thread.quick (100"}},
  };
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    json j = Base();
    c.mutate(j);
    const std::string msg = ErrorOf(j);
    EXPECT_TRUE(msg.starts_with("test.json: ")) << msg;
    for (const char* part : c.message_has)
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(WorkloadSpec, LagIsOptionalAndBounded) {
  json j = Base();
  EXPECT_FALSE(Parse(j).lag.has_value());
  // Default: kDefaultLag, an eighth of a small budget, fewer for many threads.
  EXPECT_EQ(EffectiveLag(Parse(j), 2, 1'000'000), kDefaultLag);
  EXPECT_EQ(EffectiveLag(Parse(j), 2, 800), 100u);
  EXPECT_EQ(EffectiveLag(Parse(j), 1024, 1'000'000), (1u << 19) / 1024 - 1);
  j["threads"] = 2;
  j["phases"][0]["cross_thread"] = {{"share", 0.5}};
  j["lag"] = 99;  // below the quick budget of 100
  EXPECT_EQ(Parse(j).lag, 99u);
  EXPECT_EQ(EffectiveLag(Parse(j), 2, 5), 99u);  // explicit: as written
  j["lag"] = 0;  // lockstep hand-offs, on purpose
  EXPECT_EQ(Parse(j).lag, 0u);
}

TEST(WorkloadSpec, InvalidJsonIsASpecError) {
  for (const char* text :
       {"", "{", "{\"name\": }", "[1, 2,]", "{\"name\": \"x\"} trailing"}) {
    SCOPED_TRACE(text);
    try {
      ParseWorkloadSpec(text, "broken.json");
      ADD_FAILURE() << "accepted invalid JSON";
    } catch (const SpecError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("broken.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
    }
  }
  // Valid JSON that is not an object.
  EXPECT_THROW(ParseWorkloadSpec("[1, 2]", "array.json"), SpecError);
}

// JSON keeps the last of two equal keys; a spec with both is ambiguous and
// refused, naming where (issue 18: `size` 64 then 4096 ran 4096).
TEST(WorkloadSpec, DuplicateKeysAreRefusedWithTheirPath) {
  const std::string base = Base().dump();
  struct Case {
    std::string text;
    std::string where;
  };
  const std::vector<Case> cases = {
      {R"({"name": "a", "name": "b"})", "dup.json: name: duplicate key"},
      {R"({"phases": [{"sizes": {"dist": "fixed", "size": 64, "size": 4096}}]})",
       "dup.json: phases[0].sizes.size: duplicate key"},
      {R"({"phases": [{"name": "x"}, {"tag": "A", "tag": "B"}]})",
       "dup.json: phases[1].tag: duplicate key"},
      {R"({"ops_per_thread": {"quick": 1, "quick": 2}})",
       "dup.json: ops_per_thread.quick: duplicate key"},
  };
  for (const Case& c : cases) {
    try {
      ParseWorkloadSpec(c.text, "dup.json");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(c.where), std::string::npos)
          << e.what();
    }
  }
  // Equal keys in different objects are not duplicates.
  EXPECT_NO_THROW(ParseWorkloadSpec(base, "base.json"));
}

// Found by fuzz_workload_spec: a number too large for a double made the JSON
// library throw out_of_range, which escaped ParseWorkloadSpec (exit 134).
TEST(WorkloadSpec, OverflowingNumberIsASpecError) {
  EXPECT_THROW(ParseWorkloadSpec("1E400", "big.json"), SpecError);
  EXPECT_THROW(ParseWorkloadSpec(R"({"seed": 1E400})", "big.json"), SpecError);
}

TEST(WorkloadSpec, MissingFileIsASpecError) {
  try {
    LoadWorkloadSpec("/nonexistent/allocmark/spec.json");
    ADD_FAILURE() << "loaded a missing file";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/allocmark/spec.json"),
              std::string::npos);
  }
}

TEST(WorkloadSpec, ValidateForThreads) {
  const WorkloadSpec plain = Parse(Base());
  try {
    ValidateForThreads(plain, 0);
    ADD_FAILURE() << "0 threads accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("threads"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ValidateForThreads(plain, kMaxThreads + 1), SpecError);
  EXPECT_NO_THROW(ValidateForThreads(plain, 1));
  EXPECT_NO_THROW(ValidateForThreads(plain, kMaxThreads));

  json j = Base();
  j["threads"] = 2;
  j["phases"][0]["cross_thread"] = {{"share", 0.5}, {"pattern", "random-peer"}};
  const WorkloadSpec cross = Parse(j);
  EXPECT_EQ(cross.phases[0].hand_off, HandOff::kRandomPeer);
  EXPECT_DOUBLE_EQ(cross.phases[0].cross_thread_share, 0.5);
  try {
    ValidateForThreads(cross, 1);
    ADD_FAILURE() << "cross-thread spec accepted on one thread";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("phases[0].cross_thread.share"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(ValidateForThreads(cross, 2));
}

TEST(WorkloadSpec, ScaleNamesRoundTrip) {
  for (Scale s : {Scale::kQuick, Scale::kDefault, Scale::kFull}) {
    Scale parsed = Scale::kFull;
    ASSERT_TRUE(ParseScale(ScaleName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  Scale unchanged = Scale::kDefault;
  EXPECT_FALSE(ParseScale("smoke", &unchanged));
  EXPECT_EQ(unchanged, Scale::kDefault);
}

}  // namespace
}  // namespace allocmark
