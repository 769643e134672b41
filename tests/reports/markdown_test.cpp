// summary.md: one row per scenario with the verdict first, replay commands
// for what did not pass, and hostile strings that cannot break the table or
// inject markup.
#include <gtest/gtest.h>

#include <sstream>

#include "reports/markdown.h"
#include "tests/reports/sample_runs.h"

namespace faultline::reports {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> table_rows(const std::string& text) {
  std::vector<std::string> rows;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("| ", 0) == 0 && line.rfind("| verdict", 0) != 0) rows.push_back(line);
  }
  return rows;
}

// Cells split on unescaped pipes.
std::size_t cell_count(const std::string& row) {
  std::size_t pipes = 0;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (row[i] == '|' && (i == 0 || row[i - 1] != '\\')) ++pipes;
  }
  return pipes - 1;
}

TEST(Markdown, OneRowPerScenarioVerdictFirst) {
  const std::string md = to_summary_markdown(testing::sample_run());
  EXPECT_EQ(md.rfind("# faultline: **FAIL**", 0), 0u);
  const auto rows = table_rows(md);
  ASSERT_EQ(rows.size(), 3u);
  // refused 0, lost 2 (the sample's conservation failure), then p99.
  EXPECT_EQ(rows[0], "| **FAIL** | ocr-outage-5m | 96.0% | 960/1000 | 0 | 2 | 5.10 s | 8 | 3.1 | 3 |");
  EXPECT_EQ(rows[1].rfind("| PASS | matching-delay-30s |", 0), 0u);
  EXPECT_EQ(rows[2].rfind("| **INCONCLUSIVE** | ledger-errors |", 0), 0u);
  EXPECT_NE(md.find("| verdict | scenario |"), std::string::npos);
}

TEST(Markdown, ReplayCommandForEachScenarioThatDidNotPass) {
  const std::string md = to_summary_markdown(testing::sample_run());
  EXPECT_NE(md.find("  - replay: `faultline run scenarios/ocr-outage-5m.json --policy "
                    "scenarios/policies/recommended.json --seed 424242`"),
            std::string::npos);
  EXPECT_NE(md.find("  - replay: `faultline run scenarios/ledger-errors.json --seed 99`"), std::string::npos);
  EXPECT_EQ(md.find("matching-delay-30s.json"), std::string::npos) << "a passing scenario needs no replay line";
  EXPECT_NE(md.find("  - invariant conservation: 2 invoices lost: inv-00417, inv-00733"), std::string::npos);
  EXPECT_NE(md.find("  - slo error\\_rate.ocr: observed 0.06154 ratio (at\\_most 0.05)"), std::string::npos);
}

TEST(Markdown, AllPassedRunHasNoFailureSection) {
  RunResult run = testing::sample_run();
  for (auto& s : run.scenarios) s.verdict = Verdict::kPass;
  const std::string md = to_summary_markdown(run);
  EXPECT_EQ(md.rfind("# faultline: PASS", 0), 0u);
  EXPECT_EQ(md.find("## Not passed"), std::string::npos);
}

TEST(Markdown, HostileStringsCannotBreakTheTableOrInjectMarkup) {
  const std::string md = to_summary_markdown(testing::hostile_run());
  const auto rows = table_rows(md);
  ASSERT_EQ(rows.size(), 3u) << md;
  for (const auto& row : rows) EXPECT_EQ(cell_count(row), 10u) << row;
  EXPECT_NE(rows[0].find("&lt;script&gt;document.title="), std::string::npos);
  // Outside code spans there is no raw tag, link or image opener.
  for (const auto& line : lines_of(md)) {
    if (line.find("replay: `") != std::string::npos) continue;
    EXPECT_EQ(line.find('<'), std::string::npos) << line;
    for (auto pos = line.find("]("); pos != std::string::npos; pos = line.find("](", pos + 1)) {
      EXPECT_EQ(line[pos - 1], '\\') << "unescaped link in: " << line;
    }
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
  // Line breaks inside strings did not start a heading or a row of their own.
  for (const auto& line : lines_of(md)) {
    EXPECT_NE(line.rfind("# heading", 0), 0u) << line;
    EXPECT_NE(line.rfind("| row |", 0), 0u) << line;
  }
  EXPECT_EQ(md.find('\0'), std::string::npos);
}

TEST(Markdown, ReplayCodeSpanSurvivesBackticks) {
  RunResult run = testing::sample_run();
  run.scenarios[0].replay_command = "faultline run `x` ``y``";
  const std::string md = to_summary_markdown(run);
  EXPECT_NE(md.find("replay: ``` faultline run `x` ``y`` ```\n"), std::string::npos)
      << md;
}

}  // namespace
}  // namespace faultline::reports
