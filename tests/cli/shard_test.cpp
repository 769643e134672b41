// `faultline run --shard K/N` and `faultline merge`, driven as a CI matrix
// drives them: N shards of a suite merged back are the unsharded run byte
// for byte (`cmp` on all five files), for N = 3, N = 1 and N larger than the
// set; the split is the documented round-robin in run order; bad --shard
// forms, and shard directories that do not make one run, are exit 2 naming
// the files; merge's exit code is the one the unsharded run had.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"
#include "tests/cli/quick_scenario.h"

namespace faultline::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRunFiles[] = {"report.json", "junit.xml", "summary.md", "report.html", "metrics.prom"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string shard_arg(int k, int n) { return std::to_string(k) + "/" + std::to_string(n); }

json report_of(const fs::path& out) { return json::parse(read_file(out / "latest" / "report.json")); }

// (scenario file, seed) of each run of a report, in its order.
std::vector<std::pair<std::string, std::uint64_t>> runs_of(const json& report) {
  std::vector<std::pair<std::string, std::uint64_t>> runs;
  for (const auto& s : report.at("scenarios")) {
    runs.emplace_back(s.at("scenario_file").get<std::string>(), s.at("seed").get<std::uint64_t>());
  }
  return runs;
}

class Sharding : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_dir("faultline-shard-test"); }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // faultline run from the repository root, as a CI job runs it.
  static Result in_repo(const std::vector<std::string>& args) {
    Options o;
    o.cwd = source_dir();
    return faultline(args, o);
  }
  fs::path out(const std::string& name) const { return dir_ / name; }

  // Every file of the two newest run directories is the same, byte for byte.
  static void expect_same_bytes(const fs::path& a_out, const fs::path& b_out) {
    for (const char* name : kRunFiles) {
      Options o;
      o.program = "/usr/bin/cmp";
      const auto a = (a_out / "latest" / name).string();
      const auto b = (b_out / "latest" / name).string();
      const auto r = faultline({a, b}, o);
      EXPECT_EQ(r.exit_code, 0) << "cmp " << a << " " << b << ": " << r.out << r.err;
    }
  }

  // Runs `command` unsharded into out/whole and as shards 1..n into
  // out/shard-K, merges these into out/merged and checks, shard by shard,
  // what each recorded. Returns the exit codes of the whole run and the merge.
  std::pair<int, int> whole_shards_and_merge(const std::vector<std::string>& command, int n) {
    const auto whole = in_repo(with(command, {"--out", out("whole").string()}));
    EXPECT_NE(whole.exit_code, 2) << whole.err;
    const json whole_report = report_of(out("whole"));
    const auto whole_runs = runs_of(whole_report);
    std::vector<std::string> merge = {"merge"};
    std::set<std::pair<std::string, std::uint64_t>> seen;
    std::size_t total = 0;
    for (int k = 1; k <= n; ++k) {
      const auto shard_out = out("shard-" + std::to_string(k));
      const auto r = in_repo(with(command, {"--shard", shard_arg(k, n), "--out", shard_out.string()}));
      EXPECT_NE(r.exit_code, 2) << r.err;
      const json report = report_of(shard_out);
      EXPECT_EQ(report.at("command_line"), whole_report.at("command_line")) << "a shard records the whole run's command";
      const json& shard = report.at("shard");
      EXPECT_EQ(shard.at("index"), k);
      EXPECT_EQ(shard.at("count"), n);
      EXPECT_EQ(shard.at("runs_in_set"), whole_runs.size());
      // Round-robin in run order: run i of the whole set is shard (i mod n) + 1's.
      const auto runs = runs_of(report);
      for (std::size_t j = 0; j < runs.size(); ++j) {
        const std::size_t i = j * n + static_cast<std::size_t>(k - 1);
        if (i >= whole_runs.size()) {
          ADD_FAILURE() << "shard " << k << "/" << n << " ran more than its slice";
          break;
        }
        EXPECT_EQ(runs[j], whole_runs[i]) << "shard " << k << "/" << n << ", its run " << j;
        EXPECT_TRUE(seen.insert(runs[j]).second) << "two shards ran " << runs[j].first << " " << runs[j].second;
      }
      total += runs.size();
      merge.push_back(shard_out.string());
    }
    EXPECT_EQ(total, whole_runs.size()) << "the shards together ran the whole set";
    const auto merged = in_repo(with(merge, {"--out", out("merged").string()}));
    EXPECT_EQ(merged.err, "");
    EXPECT_TRUE(fs::is_symlink(out("merged") / "latest")) << "merge points latest at its run directory, as run does";
    expect_same_bytes(out("whole"), out("merged"));
    return {whole.exit_code, merged.exit_code};
  }

  fs::path dir_;
};

// ---- merged shards are the unsharded run ----------------------------------

TEST_F(Sharding, ThreeShardsOfTheSuiteMergeIntoTheUnshardedRunByteForByte) {
  const auto [whole, merged] = whole_shards_and_merge({"run", "scenarios/", "--seeds", "2", "--jobs", "2"}, 3);
  EXPECT_EQ(whole, 0);
  EXPECT_EQ(merged, whole);
}

TEST_F(Sharding, OneShardIsTheUnshardedRunWithItsShardRecorded) {
  const auto [whole, merged] = whole_shards_and_merge({"run", "scenarios/", "--jobs", "2"}, 1);
  EXPECT_EQ(merged, whole);
  json shard = report_of(out("shard-1"));
  shard.erase("shard");
  EXPECT_EQ(shard, report_of(out("whole"))) << "shard 1/1 differs from the unsharded run by its shard member only";
}

TEST_F(Sharding, ShardsBeyondTheSetRunNothingAndStillWriteAndMerge) {
  // Two runs in five shards: shards 3, 4 and 5 get none.
  const auto [whole, merged] = whole_shards_and_merge({"run", "scenarios/cascade.json", "--seeds", "2"}, 5);
  EXPECT_EQ(merged, whole);
  for (int k = 3; k <= 5; ++k) {
    const auto shard_out = out("shard-" + std::to_string(k));
    EXPECT_TRUE(report_of(shard_out).at("scenarios").empty());
    for (const char* name : kRunFiles) EXPECT_TRUE(fs::is_regular_file(shard_out / "latest" / name)) << k << " " << name;
  }
}

TEST_F(Sharding, MergeEndsWithTheUnshardedRunsExitCode) {
  // Under the naive policy duplicate-delivery passes and ocr-delay-30s fails:
  // shard 1/2 passes, shard 2/2 fails, and so do the whole run and the merge.
  const std::vector<std::string> command = {"run", "scenarios/duplicate-delivery.json", "scenarios/ocr-delay-30s.json",
                                            "--policy", "scenarios/policies/naive.json"};
  const auto [whole, merged] = whole_shards_and_merge(command, 2);
  EXPECT_EQ(whole, 1);
  EXPECT_EQ(merged, 1);
  EXPECT_EQ(report_of(out("shard-1")).at("verdict"), "pass") << "the precondition: one shard passed on its own";
}

// ---- the split -------------------------------------------------------------

TEST_F(Sharding, ListPrintsEachShardsSliceOfTheRunsInRunOrderAndRunsNothing) {
  const std::vector<std::string> command = {"run", "scenarios/", "--seeds", "3", "--out", out("never").string(), "--list"};
  const auto whole = in_repo(command);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::vector<std::string> lines;
  for (std::size_t at = 0, end; (end = whole.out.find('\n', at)) != std::string::npos; at = end + 1) {
    lines.push_back(whole.out.substr(at, end - at));
  }
  ASSERT_EQ(lines.size(), 33u) << whole.out;  // 11 scenarios x 3 seeds
  EXPECT_EQ(lines[0].rfind("scenarios/", 0), 0u) << lines[0];
  for (int k = 1; k <= 4; ++k) {
    std::string expected;
    for (std::size_t i = static_cast<std::size_t>(k - 1); i < lines.size(); i += 4) expected += lines[i] + "\n";
    const auto shard = in_repo(with(command, {"--shard", shard_arg(k, 4), "--jobs", std::to_string(k)}));
    EXPECT_EQ(shard.exit_code, 0) << shard.err;
    EXPECT_EQ(shard.out, expected) << "shard " << k << "/4";
  }
  EXPECT_FALSE(fs::exists(out("never"))) << "--list ran and wrote something";
}

TEST_F(Sharding, BadShardFormsAreUsageErrorsNamingTheValue) {
  for (const std::string bad : {"0/3", "4/3", "3/0", "a/b", "1/3/2", "/3", "3/", "3", "", "-1/3", "1/+3", "1/10001"}) {
    const auto r = in_repo({"run", "scenarios/", "--shard", bad, "--out", out("never").string()});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("--shard: expected K/N"), std::string::npos) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("got \"" + bad + "\""), std::string::npos) << bad << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(out("never"))) << "a refused --shard still ran";
}

// ---- merge refuses what is not all the shards of one run -------------------

class MergeRefuses : public Sharding {
 protected:
  void SetUp() override {
    Sharding::SetUp();
    fs::create_directory(dir_ / "suite");
    write_file(dir_ / "suite" / "a.json", quick_scenario("a"));
    write_file(dir_ / "suite" / "b.json", quick_scenario("b"));
    // Four runs in three shards, an unsharded run, and a shard of another set.
    for (int k = 1; k <= 3; ++k) shard(k, "2", "shard-" + std::to_string(k));
    shard(2, "3", "other-2");
    const auto whole = faultline({"run", (dir_ / "suite").string(), "--seeds", "2", "--out", out("whole").string()});
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
  }
  void shard(int k, const std::string& seeds, const std::string& name) {
    const auto r = faultline({"run", (dir_ / "suite").string(), "--seeds", seeds, "--shard", shard_arg(k, 3), "--out",
                              out(name).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string report(const std::string& name) const { return (out(name) / "latest" / "report.json").string(); }
  // Merges the named folders; expects exit 2, an error naming each of
  // `named`, and no merged run directory.
  Result expect_refused(const std::vector<std::string>& names, const std::vector<std::string>& named) {
    std::vector<std::string> args = {"merge"};
    for (const auto& n : names) args.push_back(out(n).string());
    args.insert(args.end(), {"--out", out("merged").string()});
    auto r = faultline(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const auto& n : named) EXPECT_NE(r.err.find(n), std::string::npos) << "does not name " << n << ": " << r.err;
    EXPECT_FALSE(fs::exists(out("merged"))) << "a refused merge wrote a run directory";
    return r;
  }
  // A copy of shard-2 under `name`, its report.json passed through `edit`.
  template <typename Edit>
  void edited_shard_2(const std::string& name, Edit edit) {
    fs::create_directory(out(name));
    json doc = json::parse(read_file(report("shard-2")));
    edit(doc);
    write_file(out(name) / "report.json", doc.dump(2));
  }
};

TEST_F(MergeRefuses, TheFullSetMergesSoEachRefusalBelowIsItsOwn) {
  const auto r = faultline({"merge", out("shard-3").string(), out("shard-1").string(), out("shard-2").string(), "--out",
                            out("merged").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_same_bytes(out("whole"), out("merged"));
}

TEST_F(MergeRefuses, AMissingShardNamingTheShardsGiven) {
  const auto r = expect_refused({"shard-1", "shard-3"}, {report("shard-1"), report("shard-3")});
  EXPECT_NE(r.err.find("shard 2/3 missing"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AShardGivenTwiceNamingBoth) {
  fs::copy(out("shard-2"), out("copy-2"), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const auto r = expect_refused({"shard-1", "shard-2", "copy-2", "shard-3"}, {report("shard-2"), report("copy-2")});
  EXPECT_NE(r.err.find("shard 2/3 twice"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AShardOfAnotherRunNamingBoth) {
  const auto r = expect_refused({"shard-1", "other-2", "shard-3"}, {report("shard-1"), report("other-2")});
  EXPECT_NE(r.err.find("not shards of the same run"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AShardCutIntoADifferentCount) {
  edited_shard_2("four", [](json& doc) { doc["shard"]["count"] = 4; });
  const auto r = expect_refused({"shard-1", "four", "shard-3"}, {(out("four") / "report.json").string()});
  EXPECT_NE(r.err.find("$.shard.count"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AnUnshardedRun) {
  const auto r = expect_refused({"shard-1", "whole", "shard-3"}, {report("whole")});
  EXPECT_NE(r.err.find("not a shard's report"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AShardWhoseRunsAreNotItsSlice) {
  edited_shard_2("edited", [](json& doc) { doc["scenarios"][0]["seed"] = 12345; });
  const auto r = expect_refused({"shard-1", "edited", "shard-3"}, {report("shard-1")});
  EXPECT_NE(r.err.find("not the set they were cut from"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AFolderWithoutAReport) {
  fs::create_directory(out("empty"));
  expect_refused({"shard-1", "empty", "shard-3"}, {out("empty").string()});
  expect_refused({"shard-1", "no-such-folder", "shard-3"}, {out("no-such-folder").string()});
}

TEST_F(MergeRefuses, AFileThatIsNotAFaultlineReport) {
  fs::create_directory(out("junk"));
  write_file(out("junk") / "report.json", "{\"results\": []}\n");
  const auto r = expect_refused({"shard-1", "junk", "shard-3"}, {(out("junk") / "report.json").string()});
  EXPECT_NE(r.err.find("\"schema\""), std::string::npos) << r.err;
  write_file(out("junk") / "report.json", "not json");
  expect_refused({"shard-1", "junk", "shard-3"}, {(out("junk") / "report.json").string()});
}

TEST_F(MergeRefuses, AReportOfAnotherSchemaVersion) {
  edited_shard_2("future", [](json& doc) { doc["schema_version"] = 99; });
  const auto r = expect_refused({"shard-1", "future", "shard-3"}, {(out("future") / "report.json").string()});
  EXPECT_NE(r.err.find("schema_version"), std::string::npos) << r.err;
}

TEST_F(MergeRefuses, AnUnreadableShard) {
  fs::permissions(out("shard-2"), fs::perms::none);
  Options o;
  o.as_nobody = true;
  fs::permissions(dir_, fs::perms::all);
  const auto r = faultline({"merge", out("shard-1").string(), out("shard-2").string(), out("shard-3").string(), "--out",
                            out("merged").string()},
                           o);
  fs::permissions(out("shard-2"), fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(out("shard-2").string()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace faultline::cli_testing
