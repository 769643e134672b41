// Run comparison and the regression gate: the case study's naive vs
// recommended figures come out as differences, bounds parse as documented,
// and the gate trips exactly when B is worse than A beyond a bound.
#include <gtest/gtest.h>

#include "reports/compare.h"
#include "reports/internal/text.h"
#include "tests/reports/sample_runs.h"

namespace faultline::reports {
namespace {

using namespace std::chrono_literals;

// The case study: before the patterns 78% succeed; after, 96% (the rest to
// manual review), processing takes 15% longer, and 23% more invoices are
// processed.
RunResult case_study(bool recommended) {
  RunResult run = testing::sample_run();
  run.scenarios.resize(1);
  auto& s = run.scenarios[0];
  s.name = "case-study";
  s.outcomes = recommended ? OutcomeCounts{1000, 900, 60, 0, 0, 40, 0, 0, 0} : OutcomeCounts{1000, 780, 0, 0, 220, 0, 0, 0, 0};
  s.end_to_end.count = 1000;
  s.end_to_end.mean = recommended ? 1150ms : 1000ms;
  s.end_to_end.p99 = recommended ? 4200ms : 4000ms;
  s.retries = recommended ? 120 : 0;
  s.dlq_size_final = recommended ? 0 : 220;
  return run;
}

const MetricDiff& metric(const ScenarioComparison& row, std::string_view id) {
  for (const auto& d : row.metrics) {
    if (d.metric == id) return d;
  }
  throw std::runtime_error("no metric " + std::string(id));
}

RegressionBounds bounds(std::string_view text) {
  auto parsed = parse_regression_bounds(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  return parsed.ok() ? *parsed.bounds : RegressionBounds{};
}

TEST(Compare, ReproducesTheCaseStudyDifferences) {
  const auto c = compare_runs(case_study(false), case_study(true), {}, "naive", "recommended");
  ASSERT_EQ(c.scenarios.size(), 1u);
  const auto& row = c.scenarios[0];
  EXPECT_DOUBLE_EQ(metric(row, "success_rate").a, 78.0);
  EXPECT_DOUBLE_EQ(metric(row, "success_rate").b, 96.0);
  EXPECT_NEAR(*metric(row, "processed").relative, 23.08, 0.01);
  EXPECT_NEAR(*metric(row, "mean").relative, 15.0, 1e-9);
  EXPECT_TRUE(metric(row, "mean").worse);
  EXPECT_FALSE(metric(row, "processed").worse);
  EXPECT_FALSE(c.regressed) << "no bounds, no gate";
  const std::string text = comparison_text(c);
  EXPECT_NE(text.find("invoices processed"), std::string::npos);
  EXPECT_NE(text.find("+23.1%"), std::string::npos) << text;
  EXPECT_NE(text.find("+15.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("+18.0 pp"), std::string::npos) << text;
  EXPECT_NE(text.find("no regression beyond the bounds"), std::string::npos);
}

TEST(Compare, GateTripsOnlyBeyondTheBound) {
  const RunResult a = case_study(false);
  const RunResult b = case_study(true);
  EXPECT_TRUE(compare_runs(a, b, bounds("mean=10%"), "a", "b").regressed);
  EXPECT_FALSE(compare_runs(a, b, bounds("mean=20%"), "a", "b").regressed);
  EXPECT_TRUE(compare_runs(a, b, bounds("mean=149ms"), "a", "b").regressed);
  EXPECT_FALSE(compare_runs(a, b, bounds("mean=150ms"), "a", "b").regressed) << "exactly at the bound is allowed";
  EXPECT_FALSE(compare_runs(a, b, bounds("mean=0.2s"), "a", "b").regressed);
  EXPECT_TRUE(compare_runs(a, b, bounds("retries=100"), "a", "b").regressed) << "0 -> 120";
  EXPECT_TRUE(compare_runs(a, b, bounds("retries=10%"), "a", "b").regressed) << "relative to 0: any worsening";
  // Improvements never trip a bound, however tight.
  EXPECT_FALSE(compare_runs(a, b, bounds("success_rate=0,processed=0,dlq=0"), "a", "b").regressed);
  // The other way round, success rate falls 18 points.
  const auto back = compare_runs(b, a, bounds("success_rate=0.5, p99=10%"), "recommended", "naive");
  EXPECT_TRUE(back.regressed);
  ASSERT_EQ(back.regressions.size(), 2u) << "the scenario and the total";
  EXPECT_NE(back.regressions[0].find("scenario case-study: success rate went from 96% to 78%"), std::string::npos)
      << back.regressions[0];
  EXPECT_TRUE(metric(back.total, "success_rate").regressed);
  EXPECT_FALSE(metric(back.total, "p99").regressed);
  EXPECT_FALSE(compare_runs(b, a, bounds("success_rate=18pp"), "b", "a").regressed);
  EXPECT_TRUE(compare_runs(b, a, bounds("success_rate=18%"), "b", "a").regressed) << "18 of 96 is 18.75%";
}

TEST(Compare, ParsesAndRejectsBounds) {
  const auto ok = parse_regression_bounds(" success_rate = 0.5pp , p99=10% ,mean=2s,dlq=0 ");
  ASSERT_TRUE(ok.ok()) << ok.error;
  ASSERT_EQ(ok.bounds->bounds.size(), 4u);
  EXPECT_FALSE(ok.bounds->bounds[0].relative);
  EXPECT_DOUBLE_EQ(ok.bounds->bounds[0].limit, 0.5);
  EXPECT_TRUE(ok.bounds->bounds[1].relative);
  EXPECT_DOUBLE_EQ(ok.bounds->bounds[2].limit, 2000);
  EXPECT_TRUE(parse_regression_bounds("").ok());
  for (const char* bad : {"p99", "latency=5%", "p99=-1", "p99=abc", "success_rate=1ms", "dlq=5s", "p99=10%%",
                          "p99=1,,mean=2", "p99=nan", "=3"}) {
    const auto parsed = parse_regression_bounds(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_FALSE(parsed.error.empty()) << bad;
  }
  EXPECT_NE(parse_regression_bounds("latency=5%").error.find("unknown metric 'latency'"), std::string::npos);
}

TEST(Compare, ScenariosInOneRunOnlyAreListedNotGated) {
  RunResult a = testing::sample_run();
  RunResult b = testing::sample_run();
  b.scenarios.erase(b.scenarios.begin() + 1);
  b.scenarios[0].name = "renamed";
  const auto c = compare_runs(a, b, bounds("processed=0"), "a", "b");
  EXPECT_FALSE(c.regressed) << comparison_text(c);
  ASSERT_EQ(c.scenarios.size(), 4u);
  EXPECT_FALSE(c.scenarios[0].in_b);
  EXPECT_FALSE(c.scenarios[3].in_a);
  EXPECT_NE(comparison_text(c).find("only in B"), std::string::npos);
}

TEST(Compare, RendersMarkdownAndHtmlEscaped) {
  RunResult a = testing::hostile_run();
  RunResult b = testing::hostile_run();
  b.scenarios[0].outcomes.posted -= 100;
  const auto c = compare_runs(a, b, bounds("processed=1%"), "<b>a</b>", "b|\x1b[2J");
  ASSERT_TRUE(c.regressed);
  const std::string md = comparison_markdown(c);
  EXPECT_EQ(md.rfind("# faultline compare: **REGRESSION**", 0), 0u);
  EXPECT_NE(md.find("| invoices processed | 960 | 860 | -100 | -10.4% | **REGRESSION (bound processed=1%)** |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("<script"), std::string::npos);
  EXPECT_EQ(md.find('\x1b'), std::string::npos);
  const std::string html = comparison_html(c);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>a</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("class=\"regressed\""), std::string::npos);
  const std::string text = comparison_text(c);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "no terminal escapes from input";
  EXPECT_EQ(internal::sanitize_utf8(text), text);
}

}  // namespace
}  // namespace faultline::reports
