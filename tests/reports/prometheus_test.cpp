// metrics.prom passes `promtool check metrics`; the alerting rules pass
// `promtool check rules` and fire as the alert table says (`promtool test
// rules`); every metric the rules and the Grafana dashboard query is one the
// writer emits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

#include "reports/prometheus.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

testing::CommandResult check_metrics(const std::string& promtool, const std::string& text) {
  const auto dir = testing::fresh_temp_dir("faultline-prom");
  testing::write_file(dir / "metrics.prom", text);
  auto result = testing::run_command(testing::shell_quote(promtool) + " check metrics < " +
                                     testing::shell_quote((dir / "metrics.prom").string()));
  std::filesystem::remove_all(dir);
  return result;
}

std::set<std::string> metric_names(const std::string& text) {
  std::set<std::string> names;
  const std::regex name(R"(faultline_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

TEST(Prometheus, WritesTheFinalMetrics) {
  const std::string text = to_prometheus_text(testing::sample_run());
  EXPECT_NE(text.find("faultline_invoices_total{scenario=\"ocr-outage-5m\",seed=\"424242\",outcome=\"posted_degraded\"} 55\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_agent_error_ratio{scenario=\"ocr-outage-5m\",seed=\"424242\",agent=\"ocr\"} 0.06153846153846154\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_end_to_end_latency_seconds{scenario=\"ocr-outage-5m\",seed=\"424242\",quantile=\"0.99\"} 5.100125\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_baseline_latency_p99_seconds{scenario=\"ocr-outage-5m\",seed=\"424242\"} 0.8\n"), std::string::npos);
  EXPECT_NE(text.find("faultline_circuit_breaker_transitions_total{scenario=\"ocr-outage-5m\",seed=\"424242\",service=\"ocr_engine\","
                      "to=\"open\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_circuit_breaker_open{scenario=\"ocr-outage-5m\",seed=\"424242\",service=\"ocr_engine\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_scenario_passed{scenario=\"matching-delay-30s\",seed=\"7\",verdict=\"pass\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_invariant_passed{scenario=\"ocr-outage-5m\",seed=\"424242\",invariant=\"conservation\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(text, to_prometheus_text(testing::sample_run()));
}

TEST(Prometheus, PromtoolAcceptsTheMetrics) {
  FAULTLINE_REQUIRE_TOOL(promtool, "promtool", "prometheus");
  const auto result = check_metrics(promtool, to_prometheus_text(testing::sample_run()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(Prometheus, PromtoolAcceptsHostileLabels) {
  FAULTLINE_REQUIRE_TOOL(promtool, "promtool", "prometheus");
  const std::string text = to_prometheus_text(testing::hostile_run());
  const auto result = check_metrics(promtool, text);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // One sample per line: no raw line break from a label survived.
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("faultline_", 0) == 0) << line;
    start = end + 1;
  }
}

// Each scenario three times, under three seeds, as `faultline run --seeds 3`
// writes it.
RunResult three_seeds() {
  const RunResult one = testing::sample_run();
  RunResult run = one;
  run.scenarios.clear();
  for (const auto& s : one.scenarios) {
    for (std::uint64_t k = 0; k < 3; ++k) {
      run.scenarios.push_back(s);
      run.scenarios.back().seed = s.seed + k;
    }
  }
  return run;
}

TEST(Prometheus, ASeveralSeedRunHasNoRepeatedSeries) {
  const std::string text = to_prometheus_text(three_seeds());
  std::set<std::string> series;
  std::size_t samples = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# ", 0) == 0) continue;
    ++samples;
    const std::string name_and_labels = line.substr(0, line.rfind(' '));
    EXPECT_TRUE(series.insert(name_and_labels).second) << "repeated series: " << name_and_labels;
  }
  EXPECT_GT(samples, 100u);
  EXPECT_NE(text.find("faultline_dlq_size{scenario=\"ocr-outage-5m\",seed=\"424244\"} "), std::string::npos);
}

TEST(Prometheus, PromtoolAcceptsASeveralSeedRun) {
  FAULTLINE_REQUIRE_TOOL(promtool, "promtool", "prometheus");
  const auto result = check_metrics(promtool, to_prometheus_text(three_seeds()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(Prometheus, PromtoolRejectsBrokenMetrics) {
  FAULTLINE_REQUIRE_TOOL(promtool, "promtool", "prometheus");
  EXPECT_NE(check_metrics(promtool, "faultline_dlq_size{scenario=\"a} 1\n").exit_code, 0);
}

TEST(Prometheus, AlertRulesPassPromtool) {
  FAULTLINE_REQUIRE_TOOL(promtool, "promtool", "prometheus");
  const auto rules = testing::source_dir() / "reports/prometheus/alerts.yml";
  const auto check = testing::run_command(testing::shell_quote(promtool) + " check rules " +
                                          testing::shell_quote(rules.string()));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("5 rules found"), std::string::npos) << check.output;
  const auto unit = testing::source_dir() / "tests/reports/alerts_test.yml";
  const auto test = testing::run_command(testing::shell_quote(promtool) + " test rules " +
                                         testing::shell_quote(unit.string()));
  EXPECT_EQ(test.exit_code, 0) << test.output;
}

TEST(Prometheus, RulesAndDashboardQueryOnlyEmittedMetrics) {
  const auto emitted = metric_names(to_prometheus_text(testing::sample_run()));
  const auto rules = testing::read_file(testing::source_dir() / "reports/prometheus/alerts.yml");
  std::set<std::string> queried;
  for (const auto& name : metric_names(rules)) {
    if (name.rfind("faultline_", 0) == 0 && name.find("Faultline") == std::string::npos) queried.insert(name);
  }
  const auto dashboard =
      nlohmann::json::parse(testing::read_file(testing::source_dir() / "reports/grafana/faultline-dashboard.json"));
  ASSERT_TRUE(dashboard.contains("panels"));
  std::size_t targets = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      ++targets;
      for (const auto& name : metric_names(target["expr"].get<std::string>())) queried.insert(name);
    }
  }
  EXPECT_GE(targets, 10u);
  EXPECT_GE(queried.size(), 10u);
  for (const auto& name : queried) EXPECT_TRUE(emitted.count(name)) << name << " is queried but never written";
}

}  // namespace
}  // namespace faultline::reports
