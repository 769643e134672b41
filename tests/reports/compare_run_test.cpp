// The compare command's work: files or run directories in, table out,
// Markdown and HTML written, exit 0 / 1 / 2 as documented.
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
