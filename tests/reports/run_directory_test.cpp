// Run directories: the five files side by side, readable back, and `latest`
// pointing at the newest run.
#include <gtest/gtest.h>

#include "reports/json_report.h"
#include "reports/run_directory.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

class RunDirectory : public ::testing::Test {
 protected:
  void SetUp() override { out_ = testing::fresh_temp_dir("faultline-out"); }
  void TearDown() override { fs::remove_all(out_); }
  fs::path out_;
};

TEST_F(RunDirectory, WritesAllFiveFiles) {
  const RunResult run = testing::sample_run();
  const auto dir = out_ / "2026-11-27T210000Z";
  ASSERT_TRUE(write_run_directory(run, dir));
  for (const auto name : {kReportJsonFile, kJunitFile, kSummaryFile, kHtmlFile, kMetricsFile}) {
    EXPECT_TRUE(fs::is_regular_file(dir / name)) << name;
    EXPECT_GT(fs::file_size(dir / name), 100u) << name;
  }
  EXPECT_EQ(read_report_json((dir / kReportJsonFile).string()), run);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 5u) << "no temporary files left behind";
}

TEST_F(RunDirectory, LatestFollowsTheNewestRun) {
  RunResult first = testing::sample_run();
  RunResult second = testing::sample_run();
  second.started_at = "2026-11-27T220000Z";
  ASSERT_TRUE(write_run_directory(first, out_ / "run-1"));
  ASSERT_TRUE(fs::is_symlink(out_ / kLatestLink));
  EXPECT_EQ(fs::read_symlink(out_ / kLatestLink), fs::path("run-1")) << "relative, so the folder can move";
  ASSERT_TRUE(write_run_directory(second, out_ / "run-2/"));
  EXPECT_EQ(fs::read_symlink(out_ / kLatestLink), fs::path("run-2"));
  EXPECT_EQ(read_report_json((out_ / kLatestLink / kReportJsonFile).string()).started_at, "2026-11-27T220000Z");
  EXPECT_FALSE(fs::exists(out_ / "latest.tmp"));
}

TEST_F(RunDirectory, SameRunGivesIdenticalFiles) {
  ASSERT_TRUE(write_run_directory(testing::hostile_run(), out_ / "a"));
  ASSERT_TRUE(write_run_directory(testing::hostile_run(), out_ / "b"));
  for (const auto name : {kReportJsonFile, kJunitFile, kSummaryFile, kHtmlFile, kMetricsFile}) {
    EXPECT_EQ(testing::read_file(out_ / "a" / name), testing::read_file(out_ / "b" / name)) << name;
  }
}

TEST_F(RunDirectory, RefusesToReplaceARealLatestDirectory) {
  fs::create_directories(out_ / kLatestLink);
  const auto status = write_run_directory(testing::sample_run(), out_ / "run-1");
  EXPECT_FALSE(status);
  EXPECT_NE(status.message.find("latest"), std::string::npos) << status.message;
  EXPECT_TRUE(fs::is_directory(out_ / kLatestLink));
}

TEST_F(RunDirectory, ReportsAFileItCannotWrite) {
  testing::write_file(out_ / "blocker", "a file where the directory should go");
  const auto status = write_run_directory(testing::sample_run(), out_ / "blocker" / "run");
  EXPECT_FALSE(status);
  EXPECT_NE(status.message.find("blocker"), std::string::npos) << status.message;
}

}  // namespace
}  // namespace faultline::reports
