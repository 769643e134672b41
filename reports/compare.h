// Comparing two runs, and the regression gate.
//
// How a team benchmarks recovery overhead between two policies or two
// commits: the same scenarios run twice (A, the baseline; B, the candidate)
// and these figures are set side by side, per scenario and in total:
//
//   metric       unit   better   total over the scenarios both runs have
//   success_rate %      higher   sum(processed) / sum(submitted)
//   p99          ms     lower    the largest scenario p99 (percentiles do not add)
//   mean         ms     lower    mean processing time, weighted by invoice count
//   processed    count  higher   sum of posted + posted_degraded
//   retries      count  lower    sum
//   dlq          count  lower    sum of final dead-letter queue sizes
//
// Regression bounds (`faultline compare --max-regression`) are a
// comma-separated list of metric=limit; B regresses when, for the total or
// any scenario in both runs, it is worse than A by more than the limit:
//
//   success_rate=0.5     at most 0.5 percentage points lower (also "0.5pp")
//   success_rate=1%      at most 1% lower relative to A
//   p99=10%              at most 10% slower than A
//   p99=250ms, mean=2s   at most that much slower (a bare number is ms)
//   retries=20, dlq=0    at most that many more; processed=5% at most 5% fewer
//
// A relative limit on a metric whose A value is 0 is exceeded by any
// worsening. Scenarios in only one run are listed and not gated.
//
//   auto bounds = reports::parse_regression_bounds("success_rate=0.5,p99=10%");
//   if (!bounds.ok()) ... bounds.error ...
//   auto cmp = reports::compare_runs(a, b, *bounds.bounds, "naive", "recommended");
//   fmt::print("{}", reports::comparison_text(cmp));
//   return cmp.regressed ? 1 : 0;
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reports/result.h"

namespace faultline::reports {

enum class Better { kHigher, kLower };

struct RegressionBound {
  std::string metric;  // one of the ids above
  bool relative = false;  // limit is a percentage of A's value
  double limit = 0;       // in the metric's unit (success_rate: percentage points), or percent
  std::string text;       // as written, for messages
};

struct RegressionBounds {
  std::vector<RegressionBound> bounds;
};

struct [[nodiscard]] ParsedBounds {
  std::optional<RegressionBounds> bounds;
  std::string error;  // what is wrong with which item
  bool ok() const { return bounds.has_value(); }
};
ParsedBounds parse_regression_bounds(std::string_view text);

struct MetricDiff {
  std::string metric;  // "success_rate"
  std::string label;   // "success rate"
  std::string unit;    // "%", "ms", "count"
  Better better = Better::kHigher;
  double a = 0;  // in `unit` (success rate in percent)
  double b = 0;
  double difference = 0;            // b - a
  std::optional<double> relative;   // (b - a) / |a| in percent; empty when a == 0
  bool worse = false;               // b is worse than a at all
  std::optional<std::string> bound; // the bound that applied, as written
  bool regressed = false;           // worse beyond the bound
};

struct ScenarioComparison {
  std::string name;  // "total" for the totals row
  bool in_a = true;
  bool in_b = true;
  std::vector<MetricDiff> metrics;  // empty unless in both
};

struct RunComparison {
  std::string label_a;
  std::string label_b;
  ScenarioComparison total;
  std::vector<ScenarioComparison> scenarios;  // A's order, then those only in B
  bool regressed = false;
  std::vector<std::string> regressions;  // one line per bound exceeded
};

RunComparison compare_runs(const RunResult& a, const RunResult& b, const RegressionBounds& bounds,
                           std::string label_a, std::string label_b);

// Side by side, for a terminal; Markdown; one self-contained HTML page.
std::string comparison_text(const RunComparison& c);
std::string comparison_markdown(const RunComparison& c);
std::string comparison_html(const RunComparison& c);

}  // namespace faultline::reports
