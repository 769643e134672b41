// `faultline explore` as CI runs it: exit 1 and a found/ scenario that
// `faultline run` replays (and `faultline validate` accepts) when a planted
// bug breaks an invariant, exit 0 when nothing broke, exit 2 for bad input.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"

namespace faultline::cli_testing {
namespace {

namespace fs = std::filesystem;

std::string policy(const std::string& relative) { return (source_dir() / "scenarios/policies" / relative).string(); }

// Exploring with its shrinking takes seconds, not the default alarm's minute, on a busy machine.
Options slow() {
  Options o;
  o.alarm = std::chrono::seconds(300);
  return o;
}

Options in(const fs::path& cwd) {
  Options o;
  o.cwd = cwd;
  return o;
}

TEST(Explore, APlantedBugExitsOneAndWritesAScenarioThatReplaysIt) {
  const auto dir = fresh_dir("explore-saga");
  const auto r = faultline({"explore", "--policy", policy("teams/saga-without-compensation.json"), "--runs", "5",
                            "--seed", "1", "--jobs", "2", "--out", (dir / "out").string()},
                           slow());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("replay: faultline run "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("coverage: faults tried:"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir / "out" / "explore.md"));
  const auto summary = nlohmann::json::parse(read_file(dir / "out" / "explore.json"));
  ASSERT_FALSE(summary["found"].empty()) << summary.dump(2);
  EXPECT_FALSE(summary["coverage"]["policy_limits"].empty()) << "the policy limits the runs reached";

  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "found")) files.push_back(entry.path().string());
  ASSERT_EQ(files.size(), summary["found"].size());
  std::vector<std::string> validate = {"validate"};
  validate.insert(validate.end(), files.begin(), files.end());
  const auto v = faultline(validate);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  for (const auto& found : summary["found"]) {
    const std::string file = found["file"];
    const std::string property = found["property"];
    // Replayed from another folder: the file names its policy relative to itself.
    const auto run = faultline({"run", file, "--no-write", "--jobs", "1"}, in(dir));
    EXPECT_EQ(run.exit_code, 1) << file << "\n" << run.out << run.err;
    EXPECT_NE(run.out.find("broken: "), std::string::npos) << run.out;
    EXPECT_NE(run.out.find(property), std::string::npos) << property << " in " << run.out;
  }
  fs::remove_all(dir);
}

TEST(Explore, NothingBrokenExitsZero) {
  const auto dir = fresh_dir("explore-ok");
  const auto r = faultline({"explore", "--policy", policy("recommended.json"), "--faults", "corrupted_input,invalid_output",
                            "--runs", "6", "--jobs", "2", "--out", dir.string()},
                           slow());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 failing"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_empty(dir / "found"));
  fs::remove_all(dir);
}

TEST(Explore, BadInputExitsTwoNamingWhatWasWrong) {
  const auto rec = policy("recommended.json");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"explore", "--policy", rec, "--faults", "latency,bogus", "--runs", "1"}, "--faults"},
      {{"explore", "--policy", rec, "--faults", "crash,pause", "--runs", "1"}, "pause is not one yet"},
      // network is live-only: the simulator explore runs cannot play it.
      {{"explore", "--policy", rec, "--faults", "network", "--runs", "1"}, "fault kinds the simulator runs"},
      {{"explore", "--policy", rec, "--runs", "3", "--budget", "1m"}, "either --budget or --runs"},
      {{"explore", "--policy", rec, "--budget", "0s"}, "--budget"},
      {{"explore", "--policy", rec, "--runs", "0"}, "--runs"},
      {{"explore", "--policy", rec, "--seed", "-1", "--runs", "1"}, "--seed"},
      {{"explore", "--policy", "no/such/policy.json", "--runs", "1"}, "no/such/policy.json"},
      {{"explore", "--policy", rec, "--world", "no/such/world.json", "--runs", "1"}, "no/such/world.json"},
  };
  for (const auto& c : cases) {
    const auto r = faultline(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.says << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
}

TEST(Explore, SigintStopsItAndWhatWasFoundIsWritten) {
  const auto dir = fresh_dir("explore-sigint");
  fs::create_directory(dir / "tmp");
  Options o;
  o.env["TMPDIR"] = (dir / "tmp").string();
  o.alarm = std::chrono::seconds(300);
  Child child({"explore", "--policy", policy("teams/saga-without-compensation.json"), "--budget", "10m", "--jobs", "2",
               "--out", (dir / "out").string()},
              o);
  // A failure is printed once shrunk; then the exploration is stopped.
  ASSERT_TRUE(child.wait_for_output("FAIL  ", std::chrono::seconds(240))) << child.out_so_far();
  ASSERT_EQ(::kill(child.pid(), SIGINT), 0);
  const auto r = child.wait();
  EXPECT_EQ(r.signal, 0) << "killed by the signal instead of stopping cleanly";
  EXPECT_EQ(r.exit_code, 4) << r.err << r.out;
  EXPECT_NE(r.err.find("stopped by SIGINT"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "explore.md"));
  EXPECT_FALSE(fs::is_empty(dir / "out" / "found"));
  const auto summary = nlohmann::json::parse(read_file(dir / "out" / "explore.json"));
  EXPECT_EQ(summary["stopped"], "signal");
  // No run's private checkpoint folder is left behind.
  EXPECT_TRUE(fs::is_empty(dir / "tmp"));
  fs::remove_all(dir);
}

TEST(CheckPolicyExplore, TheExploreOptionsParseAndBadOnesExitTwo) {
  const auto rec = policy("recommended.json");
  // A bare --explore takes the CI budget (not spent here: --lint-only runs nothing).
  const auto bare = faultline({"check-policy", rec, "--lint-only", "--explore", "--out", fresh_dir("cp-bare").string()});
  EXPECT_EQ(bare.exit_code, 0) << bare.out << bare.err;
  const auto zero = faultline({"check-policy", rec, "--explore=0s"});
  EXPECT_EQ(zero.exit_code, 2) << zero.out << zero.err;
  EXPECT_NE(zero.err.find("--explore"), std::string::npos) << zero.err;
  const auto both = faultline({"check-policy", rec, "--explore=1m", "--explore-runs", "3"});
  EXPECT_EQ(both.exit_code, 2) << both.out << both.err;
  const auto runs = faultline({"check-policy", rec, "--explore-runs", "x"});
  EXPECT_EQ(runs.exit_code, 2) << runs.out << runs.err;
}

}  // namespace
}  // namespace faultline::cli_testing
