// The explorer: every scenario it generates is valid input within its
// bounds; a seed and a run count decide what it finds, whatever the thread
// count; planted bugs in team policies are found and shrunk to the shape of
// their flaw; and the files it writes replay the failure they describe.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "harness/engine.h"
#include "harness/explore.h"
#include "reference_system/policy.h"
#include "runtime/json_config.h"
#include "tests/support/source_dir.h"

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test_support::source_path;

std::string team(const std::string& name) { return source_path("scenarios/policies/teams/" + name + ".json"); }

TEST(Explore, EveryGeneratedScenarioIsValidInputWithinItsBounds) {
  const GenerationBounds b;
  ExploreTarget target;
  target.policy_file = source_path("scenarios/policies/recommended.json");
  target.world_file = source_path("scenarios/models/baseline.json");
  const auto policy = reference_system::load_policy(target.policy_file);
  const runtime::RandomStreams streams(2024);
  std::set<faults::FaultKind> kinds_seen;
  std::set<std::string> targets_seen;
  const fs::path folder = fs::temp_directory_path() / "faultline-explore-validity" / "found";
  for (std::uint64_t i = 0; i < 3000; ++i) {
    auto rng = streams.stream("explore/run/" + std::to_string(i));
    const Candidate c = generate_candidate(b, {}, rng, i, &policy);
    // The file as explore writes it, read back as `faultline validate` and
    // `faultline run` read one: the parser, the policy and the world model.
    const std::string name = "generated-" + std::to_string(i);
    const auto text = scenario_document(c, target, name, "", folder.string()).dump(2);
    Scenario s;
    ASSERT_NO_THROW(s = parse_scenario(runtime::parse_json_text(text, name + ".json"), (folder / (name + ".json")).string()))
        << text;
    ASSERT_NO_THROW((void)world_for(s)) << text;
    EXPECT_EQ(fs::path(s.policy_file).lexically_normal(), fs::path(target.policy_file).lexically_normal());
    // Within the bounds.
    EXPECT_GE(s.workload.rate_per_hour, b.rate_min_per_hour);
    EXPECT_LE(s.workload.rate_per_hour, b.rate_max_per_hour);
    EXPECT_NE(std::find(b.durations.begin(), b.durations.end(), s.duration), b.durations.end());
    EXPECT_EQ(s.drain, b.drain);
    EXPECT_GE(s.faults.size(), b.faults_min);
    EXPECT_LE(s.faults.size(), b.faults_max);
    for (const auto& f : s.faults) {
      kinds_seen.insert(f.kind);
      targets_seen.insert(f.target);
      EXPECT_LE(f.end(), s.duration);
      EXPECT_GE(f.duration, std::min(b.window_min, s.duration));
      EXPECT_LE(f.duration, b.window_max);
      if (f.kind == faults::FaultKind::latency) {
        EXPECT_GT(f.delay, runtime::Duration::zero());
        EXPECT_LE(f.delay, b.latency_max);
      }
      if (f.kind == faults::FaultKind::saturation) {
        EXPECT_GE(f.multiplier, b.multiplier_min);
        EXPECT_LE(f.multiplier, b.multiplier_max);
      }
    }
    // The scenario read back is the candidate: nothing lost on the way to a file.
    ASSERT_EQ(s.faults.size(), c.faults.size());
    for (std::size_t k = 0; k < c.faults.size(); ++k) {
      EXPECT_EQ(faults::to_json(s.faults[k]), faults::to_json(c.faults[k])) << text;
    }
    EXPECT_EQ(s.seed, c.seed);
    EXPECT_EQ(s.workload.rate_per_hour, c.rate_per_hour);
  }
  // Swarm testing still covers everything over many runs.
  std::size_t sim_kinds = 0;  // explore runs the simulator: never a live-only kind, and never pause
  for (std::size_t i = 0; i < faults::kFaultKindCount; ++i) {
    const auto kind = static_cast<faults::FaultKind>(i);
    sim_kinds += faults::live_only_kind(kind) || kind == faults::FaultKind::pause ? 0 : 1;
  }
  EXPECT_EQ(kinds_seen.size(), sim_kinds);
  EXPECT_EQ(kinds_seen.count(faults::FaultKind::pause), 0u);
  EXPECT_EQ(targets_seen.size(), faults::known_targets().size());
}

TEST(Explore, OnlyTheFaultKindsAskedFor) {
  const runtime::RandomStreams streams(5);
  for (std::uint64_t i = 0; i < 300; ++i) {
    auto rng = streams.stream("explore/run/" + std::to_string(i));
    const auto c = generate_candidate(GenerationBounds{}, {faults::FaultKind::crash, faults::FaultKind::hang}, rng, i);
    for (const auto& f : c.faults) {
      EXPECT_TRUE(f.kind == faults::FaultKind::crash || f.kind == faults::FaultKind::hang) << faults::to_string(f.kind);
    }
  }
}

ExploreOptions saga_options(std::uint64_t runs, std::uint32_t jobs) {
  ExploreOptions o;
  o.target.policy_file = team("saga-without-compensation");
  o.seed = 1;
  o.runs = runs;
  o.jobs = jobs;
  return o;
}

// The planted bug: without compensation, a failed post leaves the budget
// reserved and a failed notification leaves the entry posted. Explore finds
// it and shrinks each failure to one ledger or notifier fault.
TEST(Explore, FindsTheSagaWithoutCompensationAndShrinksItToOneLedgerOrNotifierFault) {
  const auto r = explore(saga_options(10, 2));
  EXPECT_EQ(r.runs, 10u);
  EXPECT_EQ(r.exit_code(), 1);
  ASSERT_FALSE(r.found.empty());
  for (const auto& f : r.found) {
    EXPECT_TRUE(f.property == "exactly_once" || f.property == "conservation") << f.property;
    ASSERT_EQ(f.smallest.faults.size(), 1u) << describe_size(f.smallest);
    const auto& fault = f.smallest.faults.front();
    EXPECT_TRUE(fault.target == "ledger" || fault.target == "notifier") << describe_fault(fault);
    EXPECT_TRUE(f.shrink_complete);
    EXPECT_LE(f.smallest.faults.size(), f.original.faults.size());
    EXPECT_FALSE(f.message.empty());
  }
}

// The planted bug: a dead-letter queue of five fills under one outage, and
// the invoices that fail after it stay in flight.
TEST(Explore, FindsTheTinyDeadLetterQueueWithOneFault) {
  ExploreOptions o;
  o.target.policy_file = team("tiny-dead-letter");
  o.seed = 1;
  o.runs = 5;
  o.jobs = 2;
  const auto r = explore(o);
  ASSERT_FALSE(r.found.empty());
  for (const auto& f : r.found) {
    EXPECT_EQ(f.property, "conservation");
    EXPECT_EQ(f.smallest.faults.size(), 1u) << describe_size(f.smallest);
    EXPECT_NE(f.message.find("still in flight after the drain"), std::string::npos) << f.message;
  }
}

TEST(Explore, TheSameSeedAndRunsFindTheSameWhateverTheThreads) {
  const auto a = explore(saga_options(5, 1));
  const auto b = explore(saga_options(5, 3));
  EXPECT_EQ(a.runs, b.runs);
  EXPECT_EQ(a.passed, b.passed);
  EXPECT_EQ(a.failing, b.failing);
  // (shrink_runs counts what the threads ran, which a larger batch may exceed.)
  ASSERT_EQ(a.found.size(), b.found.size());
  ExploreTarget t = saga_options(1, 1).target;
  for (std::size_t i = 0; i < a.found.size(); ++i) {
    EXPECT_EQ(a.found[i].run, b.found[i].run);
    EXPECT_EQ(a.found[i].steps, b.found[i].steps);
    EXPECT_EQ(a.found[i].shrink_runs, b.found[i].shrink_runs);
    EXPECT_EQ(scenario_document(a.found[i].smallest, t, "x", "", "").dump(),
              scenario_document(b.found[i].smallest, t, "x", "", "").dump());
  }
  EXPECT_EQ(explore_json(a)["coverage"].dump(), explore_json(b)["coverage"].dump());
}

TEST(Explore, TheWrittenScenarioReplaysItsFailure) {
  auto r = explore(saga_options(5, 2));
  ASSERT_FALSE(r.found.empty());
  const fs::path dir = fs::temp_directory_path() / "faultline-explore-replay";
  fs::remove_all(dir);
  ASSERT_EQ(write_explore_files(r, dir.string()), "");
  EXPECT_TRUE(fs::exists(dir / "explore.md"));
  EXPECT_TRUE(fs::exists(dir / "explore.json"));
  for (const auto& f : r.found) {
    ASSERT_FALSE(f.file.empty());
    EXPECT_EQ(fs::path(f.file).parent_path().filename(), "found");
    EXPECT_EQ(fs::path(f.file).filename().string().rfind(f.property + "-", 0), 0u) << f.file;
    // Read from the file, as `faultline run` reads it, with its own policy.
    const Scenario s = load_scenario(f.file);
    const auto result = run_scenario(s, EngineOptions{});
    const auto broken = broken_properties(result, false);
    EXPECT_NE(std::find(broken.begin(), broken.end(), f.property), broken.end()) << f.file << ": " << result.verdict_reason;
  }
  fs::remove_all(dir);
}

TEST(Explore, BadInputIsAConfigErrorBeforeAnythingRuns) {
  ExploreOptions o;
  o.target.policy_file = "no/such/policy.json";
  o.runs = 1;
  EXPECT_THROW((void)explore(o), runtime::ConfigError);
  o.target.policy_file = source_path("scenarios/policies/recommended.json");
  o.target.world_file = "no/such/world.json";
  EXPECT_THROW((void)explore(o), runtime::ConfigError);
}

}  // namespace
}  // namespace faultline::harness
