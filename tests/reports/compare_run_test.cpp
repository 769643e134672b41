// The compare command's work: files or run directories in, table out,
// Markdown and HTML written, exit 0 / 1 / 2 as documented; a run with several
// seeds against itself passes the tightest gate, and two runs that are not
// the same experiment are refused unless --allow-different.
#include <gtest/gtest.h>

#include <sstream>

#include "reports/compare_run.h"
#include "reports/json_report.h"
#include "reports/run_directory.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

class CompareRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::fresh_temp_dir("faultline-compare");
    RunResult worse = testing::sample_run();
    worse.scenarios[0].outcomes.posted -= 200;
    worse.scenarios[0].end_to_end.p99 *= 2;
    ASSERT_TRUE(write_run_directory(testing::sample_run(), dir_ / "runs" / "a"));
    ASSERT_TRUE(write_run_directory(worse, dir_ / "runs" / "b"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  int run(CompareOptions options) {
    out_.str("");
    err_.str("");
    return run_compare(options, out_, err_);
  }
  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CompareRun, DirectoriesFilesAndLatestLink) {
  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "runs/b/report.json").string(), "", ""}), kCompareNoRegression)
      << err_.str();
  EXPECT_NE(out_.str().find("scenario ocr-outage-5m"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("-200"), std::string::npos) << out_.str();
  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "runs/latest").string(), "", ""}), kCompareNoRegression);
  EXPECT_NE(out_.str().find("-200"), std::string::npos) << "latest is run b";
}

TEST_F(CompareRun, GateExitsOneAndWritesTheComparison) {
  const auto out_dir = dir_ / "cmp";
  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "runs/b").string(), out_dir.string(), "p99=10%"}),
            kCompareRegressed);
  EXPECT_NE(out_.str().find("REGRESSION"), std::string::npos);
  for (const auto name : {kComparisonTextFile, kComparisonMarkdownFile, kComparisonHtmlFile}) {
    EXPECT_TRUE(fs::is_regular_file(out_dir / name)) << name;
  }
  EXPECT_NE(testing::read_file(out_dir / kComparisonMarkdownFile).find("**REGRESSION"), std::string::npos);
  EXPECT_EQ(testing::read_file(out_dir / kComparisonTextFile), out_.str());
  // B against itself, or better than A, passes the same gate.
  EXPECT_EQ(run({(dir_ / "runs/b").string(), (dir_ / "runs/a").string(), "", "p99=10%,processed=0"}),
            kCompareNoRegression);
}

// Three seeds of each sample scenario, each seed's figures its own.
RunResult three_seeds(const RunResult& one) {
  RunResult run = one;
  run.scenarios.clear();
  for (const auto& s : one.scenarios) {
    for (std::uint64_t k = 0; k < 3; ++k) {
      ScenarioResult copy = s;
      copy.seed = s.seed + k;
      copy.outcomes.posted -= 25 * k;
      copy.end_to_end.p99 += std::chrono::seconds(k);
      run.scenarios.push_back(copy);
    }
  }
  return run;
}

TEST_F(CompareRun, ASeveralSeedRunAgainstItselfPasses) {
  ASSERT_TRUE(write_run_directory(three_seeds(testing::sample_run()), dir_ / "runs" / "seeds3"));
  const std::string seeds3 = (dir_ / "runs/seeds3").string();
  EXPECT_EQ(run({seeds3, seeds3, "", "success_rate=0,p99=0,mean=0,processed=0,retries=0,dlq=0"}),
            kCompareNoRegression)
      << out_.str() << err_.str();
  EXPECT_NE(out_.str().find("no regression beyond the bounds"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("(3 seeds paired)"), std::string::npos) << out_.str();
}

TEST_F(CompareRun, RunsThatAreNotTheSameExperimentAreRefusedUnlessAllowed) {
  RunResult naive = testing::sample_run();
  for (auto& s : naive.scenarios) s.policy_name = "naive";
  ASSERT_TRUE(write_run_directory(naive, dir_ / "runs" / "naive"));
  CompareOptions options{(dir_ / "runs/a").string(), (dir_ / "runs/naive").string(), "", ""};
  EXPECT_EQ(run(options), kCompareInputError);
  EXPECT_NE(err_.str().find("are not the same experiment"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("policy: A ran 'recommended'"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--allow-different"), std::string::npos) << err_.str();
  EXPECT_TRUE(out_.str().empty()) << "nothing compared";
  options.allow_different = true;
  EXPECT_EQ(run(options), kCompareNoRegression) << err_.str();
  EXPECT_NE(out_.str().find("A and B are not the same experiment:"), std::string::npos) << out_.str();

  ASSERT_TRUE(write_run_directory(three_seeds(testing::sample_run()), dir_ / "runs" / "seeds3"));
  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "runs/seeds3").string(), "", ""}), kCompareInputError);
  EXPECT_NE(err_.str().find("the seeds differ: only in A none; only in B 424243, 424244"), std::string::npos)
      << err_.str();
}

TEST_F(CompareRun, BadInputExitsTwoNamingTheFile) {
  EXPECT_EQ(run({(dir_ / "missing").string(), (dir_ / "runs/b").string(), "", ""}), kCompareInputError);
  EXPECT_NE(err_.str().find((dir_ / "missing").string()), std::string::npos) << err_.str();

  testing::write_file(dir_ / "broken.json", "{\"schema\": \"faultline.report\", \"schema_version\": 1");
  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "broken.json").string(), "", ""}), kCompareInputError);
  EXPECT_NE(err_.str().find("broken.json"), std::string::npos) << err_.str();

  testing::write_file(dir_ / "other.json", "{\"schema\": \"something-else\"}");
  EXPECT_EQ(run({(dir_ / "other.json").string(), (dir_ / "runs/a").string(), "", ""}), kCompareInputError);
  EXPECT_NE(err_.str().find("other.json: $.schema"), std::string::npos) << err_.str();

  EXPECT_EQ(run({(dir_ / "runs/a").string(), (dir_ / "runs/b").string(), "", "p99=fast"}), kCompareInputError);
  EXPECT_NE(err_.str().find("--max-regression: 'p99=fast'"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace faultline::reports
