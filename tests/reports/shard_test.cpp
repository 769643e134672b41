// reports/shard.h: the round-robin split, the digest that ties shards to
// their set, and merge_shards, which must give back the run the shards were
// cut from (the same bytes once written) and refuse, naming the files,
// every collection of reports that is not all the shards of one run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reports/json_report.h"
#include "reports/shard.h"
#include "runtime/json_config.h"
#include "tests/reports/sample_runs.h"

namespace faultline::reports {
namespace {

using testing::sample_run;

// A run of `runs` scenario runs: the sample's three, repeated with new seeds.
RunResult run_of(std::size_t runs) {
  const RunResult sample = sample_run();
  RunResult run = sample;
  run.scenarios.clear();
  for (std::size_t i = 0; i < runs; ++i) {
    ScenarioResult s = sample.scenarios[i % sample.scenarios.size()];
    s.seed = 1000 + i;
    s.scenario_file = "scenarios/" + s.name + ".json";
    s.scenario_digest = "digest-of-" + s.name;
    run.scenarios.push_back(std::move(s));
  }
  return run;
}

std::string set_digest(const RunResult& run) {
  RunSetDigest set;
  for (const auto& s : run.scenarios) set.add(s.scenario_file, s.scenario_digest, s.seed);
  return set.hex();
}

// `run` cut as `faultline run --shard K/N` cuts it, shard K named shard-K.
std::vector<ShardReport> cut(const RunResult& run, std::uint32_t n) {
  std::vector<ShardReport> shards;
  for (std::uint32_t k = 1; k <= n; ++k) {
    RunResult part = run;
    part.scenarios.clear();
    for (std::size_t i = 0; i < run.scenarios.size(); ++i) {
      if (shard_takes(Shard{k, n}, i)) part.scenarios.push_back(run.scenarios[i]);
    }
    part.shard = ShardInfo{k, n, run.scenarios.size(), set_digest(run), 0};
    shards.push_back(ShardReport{"shard-" + std::to_string(k) + "/report.json", std::move(part)});
  }
  return shards;
}

// merge_shards(shards) throws a ConfigError whose file is `file` and whose
// text holds `text`.
void expect_refused(const std::vector<ShardReport>& shards, const std::string& file, const std::string& text) {
  try {
    (void)merge_shards(shards);
    ADD_FAILURE() << "merged; expected a refusal naming " << file << " with \"" << text << "\"";
  } catch (const runtime::ConfigError& e) {
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(Shard, RoundRobinInRunOrder) {
  const Shard second_of_three{2, 3};
  std::vector<std::uint64_t> taken;
  for (std::uint64_t i = 0; i < 10; ++i) {
    if (shard_takes(second_of_three, i)) taken.push_back(i);
  }
  EXPECT_EQ(taken, (std::vector<std::uint64_t>{1, 4, 7}));
  EXPECT_TRUE(shard_takes(Shard{1, 1}, 12345));
}

TEST(Shard, SizesAddUpToTheSetAndEmptyShardsAreZero) {
  for (std::uint64_t runs : {0u, 1u, 2u, 7u, 20u, 1000u}) {
    for (std::uint32_t n : {1u, 2u, 3u, 5u, 64u}) {
      std::uint64_t sum = 0;
      for (std::uint32_t k = 1; k <= n; ++k) {
        std::uint64_t counted = 0;
        for (std::uint64_t i = 0; i < runs; ++i) counted += shard_takes(Shard{k, n}, i) ? 1 : 0;
        EXPECT_EQ(shard_size(Shard{k, n}, runs), counted) << k << "/" << n << " of " << runs;
        sum += counted;
      }
      EXPECT_EQ(sum, runs);
    }
  }
  EXPECT_EQ(shard_size(Shard{3, 5}, 2), 0u);
  EXPECT_EQ(shard_size(Shard{1, 3}, 20), 7u);
  EXPECT_EQ(shard_size(Shard{3, 3}, 20), 6u);
}

TEST(Shard, TheSetDigestSeesOrderFilesDigestsAndSeeds) {
  auto digest = [](std::vector<std::tuple<std::string, std::string, std::uint64_t>> runs) {
    RunSetDigest set;
    for (const auto& [file, d, seed] : runs) set.add(file, d, seed);
    return set.hex();
  };
  const std::string base = digest({{"a.json", "d1", 1}, {"b.json", "d2", 2}});
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(base, digest({{"a.json", "d1", 1}, {"b.json", "d2", 2}}));
  EXPECT_NE(base, digest({{"b.json", "d2", 2}, {"a.json", "d1", 1}}));
  EXPECT_NE(base, digest({{"a.json", "d1", 1}, {"c.json", "d2", 2}}));
  EXPECT_NE(base, digest({{"a.json", "d1", 1}, {"b.json", "d3", 2}}));
  EXPECT_NE(base, digest({{"a.json", "d1", 1}, {"b.json", "d2", 3}}));
  EXPECT_NE(digest({{"ab", "c", 1}}), digest({{"a", "bc", 1}}));
  EXPECT_NE(base, digest({{"a.json", "d1", 1}}));
}

TEST(Shard, MergedShardsAreTheRunTheyWereCutFromWhateverTheCount) {
  for (std::size_t runs : {1u, 2u, 3u, 7u, 10u}) {
    const RunResult run = run_of(runs);
    for (std::uint32_t n : {1u, 2u, 3u, 4u, 12u}) {
      const MergedRun merged = merge_shards(cut(run, n));
      EXPECT_EQ(merged.run, run) << runs << " runs in " << n << " shards";
      EXPECT_EQ(to_report_json(merged.run), to_report_json(run));
      EXPECT_EQ(merged.internal_errors, 0u);
    }
  }
}

TEST(Shard, MergeIgnoresTheOrderShardsAreGivenIn) {
  const RunResult run = run_of(7);
  auto shards = cut(run, 3);
  std::swap(shards[0], shards[2]);
  EXPECT_EQ(merge_shards(shards).run, run);
}

TEST(Shard, MergeAddsUpInternalErrorsAndKeepsTheEarliestStart) {
  const RunResult run = run_of(4);
  auto shards = cut(run, 2);
  shards[0].run.shard->internal_errors = 1;
  shards[1].run.shard->internal_errors = 2;
  shards[0].run.started_at = "2026-11-27T21:00:05Z";
  shards[1].run.started_at = "2026-11-27T21:00:01Z";
  const MergedRun merged = merge_shards(shards);
  EXPECT_EQ(merged.internal_errors, 3u);
  EXPECT_EQ(merged.run.started_at, "2026-11-27T21:00:01Z");
  EXPECT_FALSE(merged.run.shard.has_value()) << "a merged run is not a shard";
}

TEST(Shard, MergeRefusesAReportThatIsNoShard) {
  auto shards = cut(run_of(4), 2);
  shards[1].run.shard.reset();
  expect_refused(shards, "shard-2/report.json", "not a shard's report");
}

TEST(Shard, MergeRefusesAShardGivenTwiceNamingBoth) {
  auto shards = cut(run_of(4), 2);
  shards.push_back(shards[0]);
  shards.back().file = "again/report.json";
  expect_refused(shards, "again/report.json", "shard-1/report.json is that shard too");
}

TEST(Shard, MergeRefusesAMissingShardNamingTheOnesGiven) {
  auto shards = cut(run_of(7), 3);
  shards.erase(shards.begin() + 1);
  expect_refused(shards, "shard-1/report.json", "shard 2/3 missing");
  expect_refused(shards, "shard-1/report.json", "1/3 (shard-1/report.json), 3/3 (shard-3/report.json)");
}

TEST(Shard, MergeRefusesShardsOfDifferentRuns) {
  const RunResult run = run_of(6);
  auto other_count = cut(run, 3);
  other_count[1] = cut(run, 2)[1];
  expect_refused(other_count, "shard-2/report.json", "$.shard.count");

  auto other_set = cut(run, 3);
  other_set[2] = cut(run_of(7), 3)[2];
  expect_refused(other_set, "shard-3/report.json", "not shards of the same run");

  auto other_command = cut(run, 3);
  other_command[1].run.command_line.push_back("--seeds");
  expect_refused(other_command, "shard-2/report.json", "$.command_line");

  auto other_tool = cut(run, 3);
  other_tool[1].run.tool_version = "0.2.0";
  expect_refused(other_tool, "shard-2/report.json", "$.tool_version");

  auto other_runtime = cut(run, 3);
  other_runtime[1].run.runtime = "live";
  expect_refused(other_runtime, "shard-2/report.json", "$.runtime");
}

TEST(Shard, MergeRefusesAShardWhoseRunsAreNotItsSlice) {
  const RunResult run = run_of(6);
  auto short_one = cut(run, 3);
  short_one[1].run.scenarios.pop_back();
  expect_refused(short_one, "shard-2/report.json", "1 runs, but shard 2/3 of a set of 6 runs has 2");

  auto edited = cut(run, 3);
  edited[1].run.scenarios[0].seed += 1;
  expect_refused(edited, "shard-1/report.json", "not the set they were cut from");

  auto swapped = cut(run, 3);
  std::swap(swapped[0].run.scenarios, swapped[1].run.scenarios);
  expect_refused(swapped, "shard-1/report.json", "not the set they were cut from");
}

TEST(Shard, TheShardMemberRoundTripsThroughReportJson) {
  RunResult part = cut(run_of(5), 2)[1].run;
  part.shard->internal_errors = 4;
  const std::string text = to_report_json(part);
  EXPECT_NE(text.find("\"shard\": {\n    \"index\": 2,\n    \"count\": 2,"), std::string::npos) << text.substr(0, 400);
  const RunResult back = parse_report_json(text, "shard.json");
  EXPECT_EQ(back, part);
  EXPECT_EQ(to_report_json(back), text);
  EXPECT_EQ(to_report_json(run_of(5)).find("\"shard\""), std::string::npos) << "an unsharded run has no shard member";
}

TEST(Shard, TheReaderRefusesAShardMemberOutOfRange) {
  const RunResult part = cut(run_of(5), 2)[1].run;
  const std::string text = to_report_json(part);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string edited = text;
    const auto at = edited.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) edited.replace(at, from.size(), to);
    return edited;
  };
  EXPECT_THROW((void)parse_report_json(with("\"index\": 2", "\"index\": 0"), "s.json"), runtime::ConfigError);
  EXPECT_THROW((void)parse_report_json(with("\"index\": 2", "\"index\": 3"), "s.json"), runtime::ConfigError);
  EXPECT_THROW((void)parse_report_json(with("\"count\": 2", "\"count\": 10001"), "s.json"), runtime::ConfigError);
  EXPECT_THROW((void)parse_report_json(with("\"set_digest\": \"", "\"set_digest\": 7, \"x\": \""), "s.json"),
               runtime::ConfigError);
}

}  // namespace
}  // namespace faultline::reports
