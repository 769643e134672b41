// Run comparison and the regression gate: the case study's naive vs
// recommended figures come out as differences, bounds parse as documented,
// runs pair by (scenario, seed), runs that are not the same experiment are
// named, a verdict lost is a regression, and with several seeds the gate
// reads the bootstrap interval of the median difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "reports/compare.h"
#include "reports/internal/text.h"
#include "tests/reports/sample_runs.h"

namespace faultline::reports {
namespace {

using namespace std::chrono_literals;

// The article's case-study figures, typed in as inputs (nothing here is
// simulated): before the patterns 78% succeed; after, 96% (the rest to
// manual review), processing takes 15% longer, and 23% more invoices are
// processed. What the tests below check is compare's arithmetic on them.
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

TEST(Compare, ComputesTheDifferencesOfTheArticlesFiguresTypedInAsInputs) {
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

// `seeds` runs of each sample scenario, seed k's figures made different from
// seed k+1's so that pairing the wrong seeds shows.
RunResult multi_seed_run(std::size_t seeds) {
  const RunResult one = testing::sample_run();
  RunResult run = one;
  run.scenarios.clear();
  for (const auto& s : one.scenarios) {
    for (std::size_t k = 0; k < seeds; ++k) {
      ScenarioResult copy = s;
      copy.seed = s.seed + 1000 * k;
      copy.outcomes.posted -= 10 * k;
      copy.end_to_end.p99 += std::chrono::milliseconds(300 * k);
      copy.retries += 7 * k;
      run.scenarios.push_back(copy);
    }
  }
  return run;
}

// One scenario, `seeds` seeds; A's p99 is 1 s on every seed, B's is
// 1 s + b_minus_a_ms(k) on seed k.
template <typename F>
std::pair<RunResult, RunResult> p99_runs(std::size_t seeds, F b_minus_a_ms) {
  RunResult a = testing::sample_run();
  a.scenarios.resize(1);
  a.scenarios[0].name = "case-study";
  RunResult one = a;
  a.scenarios.clear();
  RunResult b = a;
  for (std::size_t k = 0; k < seeds; ++k) {
    ScenarioResult sa = one.scenarios[0];
    sa.seed = 100 + k;
    sa.end_to_end.p99 = std::chrono::milliseconds(1000);
    ScenarioResult sb = sa;
    sb.end_to_end.p99 = std::chrono::milliseconds(1000 + b_minus_a_ms(k));
    a.scenarios.push_back(sa);
    b.scenarios.push_back(sb);
  }
  return {a, b};
}

TEST(Compare, ARunWithSeveralSeedsMatchesItself) {
  const RunResult a = multi_seed_run(3);
  RunResult b = a;
  std::reverse(b.scenarios.begin(), b.scenarios.end());  // pairing is by seed, not by position
  const auto c = compare_runs(a, b, bounds("success_rate=0,p99=0,mean=0,processed=0,retries=0,dlq=0"), "a", "a");
  EXPECT_FALSE(c.regressed) << comparison_text(c);
  EXPECT_TRUE(c.differences.empty()) << c.differences.front();
  ASSERT_EQ(c.scenarios.size(), 3u) << "one row per scenario, not per seed";
  for (const auto& row : c.scenarios) {
    EXPECT_EQ(row.pairs, 3u);
    for (const auto& d : row.metrics) {
      EXPECT_EQ(d.samples, 3u);
      EXPECT_EQ(d.difference, 0) << row.name << " " << d.metric;
      EXPECT_EQ(d.interval_low, 0);
      EXPECT_EQ(d.interval_high, 0);
    }
  }
  EXPECT_EQ(c.total.pairs, 3u);
  EXPECT_NE(comparison_text(c).find("scenario ocr-outage-5m (3 seeds paired)"), std::string::npos)
      << comparison_text(c);
}

TEST(Compare, NamesEveryWayTwoRunsAreNotTheSameExperiment) {
  const RunResult a = multi_seed_run(2);
  EXPECT_TRUE(compare_runs(a, a, {}, "a", "b").differences.empty());

  RunResult other_seeds = a;
  other_seeds.scenarios[1].seed = 5;  // ocr-outage-5m's second seed
  auto c = compare_runs(a, other_seeds, {}, "a", "b");
  ASSERT_EQ(c.differences.size(), 1u);
  EXPECT_EQ(c.differences[0], "scenario ocr-outage-5m: the seeds differ: only in A 425242; only in B 5");
  EXPECT_EQ(c.scenarios[0].pairs, 2u) << "the leftover seeds pair in run order";

  RunResult other_policy = a;
  for (auto& s : other_policy.scenarios) {
    if (s.policy_name != "recommended") continue;  // ledger-errors names none
    s.policy_name = "naive";
    s.policy_digest = "sha256:0ddba11";
  }
  c = compare_runs(a, other_policy, {}, "a", "b");
  ASSERT_EQ(c.differences.size(), 1u) << "one line per distinct pair of policies";
  EXPECT_EQ(c.differences[0], "policy: A ran 'recommended' (sha256:5e1f0c0ffee), B ran 'naive' (sha256:0ddba11)");

  RunResult other_scenarios = a;
  other_scenarios.scenarios.erase(other_scenarios.scenarios.begin(), other_scenarios.scenarios.begin() + 2);
  other_scenarios.scenarios[0].scenario_digest = "sha256:edited";
  c = compare_runs(a, other_scenarios, {}, "a", "b");
  ASSERT_EQ(c.differences.size(), 2u);
  EXPECT_EQ(c.differences[0], "scenario ocr-outage-5m: only in A");
  EXPECT_NE(c.differences[1].find("scenario matching-delay-30s: the scenario files differ"), std::string::npos)
      << c.differences[1];
  EXPECT_NE(comparison_text(c).find("A and B are not the same experiment:"), std::string::npos);
}

TEST(Compare, AVerdictGoingFromPassToFailIsARegression) {
  const RunResult a = multi_seed_run(3);
  RunResult b = a;
  ASSERT_EQ(b.scenarios[4].verdict, Verdict::kPass);  // matching-delay-30s, second seed
  b.scenarios[4].verdict = Verdict::kFail;
  b.scenarios[4].verdict_reason = "exactly_once failed";
  const auto c = compare_runs(a, b, {}, "a", "b");
  EXPECT_TRUE(c.regressed) << "no bound is needed: losing a pass is a regression";
  ASSERT_EQ(c.regressions.size(), 1u);
  EXPECT_EQ(c.regressions[0], "scenario matching-delay-30s seed 1007: verdict went from pass to fail (exactly_once failed)");
  ASSERT_EQ(c.scenarios[1].verdict_regressions.size(), 1u);
  // Failing where A failed already, or passing where A failed, is no regression.
  EXPECT_FALSE(compare_runs(b, a, {}, "b", "a").regressed);
  RunResult inconclusive = a;
  inconclusive.scenarios[4].verdict = Verdict::kInconclusive;
  EXPECT_FALSE(compare_runs(a, inconclusive, {}, "a", "b").regressed);
}

// A sim run against a live run of the same scenario and seed: the two
// verdicts side by side, any disagreement a failure (either way round, and
// inconclusive against pass too), and the metrics a live run does not
// measure shown as such and never gated.
TEST(Compare, SimAgainstLiveShowsBothVerdictsAndFailsOnADisagreement) {
  RunResult sim = case_study(true);
  sim.scenarios[0].verdict = Verdict::kPass;
  RunResult live = sim;
  live.runtime = "live";
  live.scenarios[0].end_to_end = {};  // no per-call probes live
  live.scenarios[0].retries = 0;
  const auto agree = compare_runs(sim, live, bounds("p99=1%,retries=0,success_rate=0.5"), "sim-run", "live-run");
  EXPECT_FALSE(agree.regressed) << comparison_text(agree);
  ASSERT_EQ(agree.scenarios[0].verdicts.size(), 1u);
  EXPECT_TRUE(agree.scenarios[0].verdicts[0].agree());
  EXPECT_TRUE(metric(agree.scenarios[0], "p99").not_measured);
  EXPECT_TRUE(metric(agree.scenarios[0], "retries").not_measured);
  EXPECT_TRUE(metric(agree.total, "mean").not_measured);
  EXPECT_FALSE(metric(agree.scenarios[0], "success_rate").not_measured);
  EXPECT_DOUBLE_EQ(metric(agree.scenarios[0], "success_rate").b, 96.0);
  const std::string text = comparison_text(agree);
  EXPECT_NE(text.find("A: sim-run (sim)"), std::string::npos) << text;
  EXPECT_NE(text.find("B: live-run (live)"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("verdict +pass +pass .*agree"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("p99 latency .*not measured live"))) << text;
  EXPECT_NE(comparison_markdown(agree).find("| p99 latency | | | | | not measured live |"), std::string::npos);
  EXPECT_NE(comparison_html(agree).find("not measured live"), std::string::npos);

  for (const Verdict other : {Verdict::kFail, Verdict::kInconclusive}) {
    RunResult differs = live;
    differs.scenarios[0].verdict = other;
    differs.scenarios[0].verdict_reason = "touched nothing: fault 0";
    const auto c = compare_runs(sim, differs, {}, "sim-run", "live-run");
    EXPECT_TRUE(c.regressed) << to_string(other);
    ASSERT_EQ(c.regressions.size(), 1u);
    EXPECT_EQ(c.regressions[0], "scenario case-study seed " + std::to_string(sim.scenarios[0].seed) +
                                    ": the verdicts disagree: pass in A (sim), " + std::string(to_string(other)) +
                                    " in B (live) (touched nothing: fault 0)");
    EXPECT_NE(comparison_text(c).find("DISAGREE"), std::string::npos);
    // Live first, sim second: the same disagreement.
    EXPECT_TRUE(compare_runs(differs, sim, {}, "live-run", "sim-run").regressed);
  }
  // Both on one runtime: no verdict rows, every metric measured.
  const auto same = compare_runs(sim, sim, {}, "a", "b");
  EXPECT_TRUE(same.scenarios[0].verdicts.empty());
  EXPECT_FALSE(metric(same.scenarios[0], "p99").not_measured);
}

TEST(Compare, SeveralSeedsGateOnTheIntervalOfTheMedianDifference) {
  // B is 100..290 ms slower than A's 1 s, in steps of 10: median +19.5%.
  const auto [a, b] = p99_runs(20, [](std::size_t k) { return 100 + 10 * static_cast<int>(k); });
  const auto c = compare_runs(a, b, {}, "a", "b");
  const MetricDiff& p99 = metric(c.scenarios[0], "p99");
  EXPECT_EQ(p99.samples, 20u);
  EXPECT_DOUBLE_EQ(p99.a, 1000);
  EXPECT_DOUBLE_EQ(p99.difference, 195);
  EXPECT_NEAR(*p99.relative, 19.5, 1e-9);
  EXPECT_GE(p99.interval_low, 100);
  EXPECT_LT(p99.interval_low, 195);
  EXPECT_GT(p99.interval_high, 195);
  EXPECT_LE(p99.interval_high, 290);
  // The interval is the same on every run, and is printed with the median.
  const auto again = compare_runs(a, b, {}, "a", "b");
  EXPECT_EQ(metric(again.scenarios[0], "p99").interval_low, p99.interval_low);
  EXPECT_EQ(metric(again.scenarios[0], "p99").interval_high, p99.interval_high);
  const std::regex printed(R"(p99 latency .* \+19\.5% \[\+1[0-9]\.[0-9]%, \+2[0-9]\.[0-9]%\])");
  EXPECT_TRUE(std::regex_search(comparison_text(c), printed)) << comparison_text(c);

  // The gate trips when the whole interval is beyond the bound: not at a
  // bound the median exceeds but the interval's low end does not.
  const double low_percent = p99.interval_low / 10;
  EXPECT_TRUE(compare_runs(a, b, bounds("p99=5%"), "a", "b").regressed);
  EXPECT_TRUE(compare_runs(a, b, bounds("p99=" + internal::format_fixed(low_percent - 0.1, 1) + "%"), "a", "b").regressed);
  EXPECT_FALSE(compare_runs(a, b, bounds("p99=" + internal::format_fixed(low_percent + 0.1, 1) + "%"), "a", "b").regressed);
  EXPECT_FALSE(compare_runs(a, b, bounds("p99=19%"), "a", "b").regressed);
  const auto gated = compare_runs(a, b, bounds("p99=5%"), "a", "b");
  ASSERT_FALSE(gated.regressions.empty());
  EXPECT_EQ(gated.regressions[0].rfind("scenario case-study: p99 latency +19.5% [+", 0), 0u) << gated.regressions[0];
  EXPECT_NE(gated.regressions[0].find("vs A over 20 seeds, A's median 1000.0 ms (bound p99=5%)"), std::string::npos)
      << gated.regressions[0];
  const std::string md = comparison_markdown(gated);
  EXPECT_NE(md.find("## Scenario case-study (20 seeds paired)"), std::string::npos) << md;
  EXPECT_NE(md.find("| change [95% interval] |"), std::string::npos) << md;
  EXPECT_NE(comparison_html(gated).find("<th>change [95% interval]</th>"), std::string::npos);

  // Noise around zero does not trip even a zero bound.
  const auto [na, nb] = p99_runs(15, [](std::size_t k) { return static_cast<int>(k % 5) * 40 - 80; });
  const auto noisy = compare_runs(na, nb, bounds("p99=0"), "a", "b");
  EXPECT_FALSE(noisy.regressed) << comparison_text(noisy);
  EXPECT_LT(metric(noisy.scenarios[0], "p99").interval_low, 0);
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
