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
// Pairing. A scenario run of A meets the run of B with the same scenario name
// and the same seed, so that each difference is one world under two systems.
// Two runs are the same experiment when they hold the same scenarios (name
// and file digest), each under the same seeds, with the same policy;
// `differences` lists every way in which they are not, and `faultline
// compare` refuses them (exit 2) unless given --allow-different (then runs of
// one scenario whose seeds do not match are paired in run order, and
// scenarios in only one run are listed and not gated).
//
// Several seeds. With n > 1 pairs for a scenario, a figure is the median over
// the seeds (A's, B's, and of the n paired differences B - A), with a 95%
// bootstrap interval of the median difference: 2,000 resamples of the n
// differences with replacement, drawn from a runtime::RandomStreams stream
// named after the scenario and the metric, so the same two runs always give
// the same interval. The totals row pairs the k-th seed of every scenario
// into one sample. Printed as "p99 latency +18.0% [+9.0%, +27.0%] vs A";
// relative figures are divided by A's median.
//
// The gate. Bounds (`faultline compare --max-regression`) are a
// comma-separated list of metric=limit; B regresses on a metric, for the
// total or any paired scenario, when the whole interval lies beyond the limit,
// i.e. even its end most favourable to B is worse than A by more than the
// limit. A difference the seeds cannot tell from noise does not trip the
// gate; more seeds narrow the interval. With one seed the interval is the
// difference itself.
//
//   success_rate=0.5     at most 0.5 percentage points lower (also "0.5pp")
//   success_rate=1%      at most 1% lower relative to A
//   p99=10%              at most 10% slower than A
//   p99=250ms, mean=2s   at most that much slower (a bare number is ms)
//   retries=20, dlq=0    at most that many more; processed=5% at most 5% fewer
//
// A relative limit on a metric whose A value is 0 is exceeded by any
// worsening. Whatever the bounds, a scenario and seed that passed in A and
// failed, aborted or errored in B is a regression.
//
// A sim run and a live run (report.json `runtime`: one "sim", one "live"):
// the same scenario files and seeds should reach the same verdict in both,
// so each pair's two verdicts are shown side by side and any disagreement
// (pass against inconclusive too, either way round) is a failure
// (`regressed`, exit 1). A live run measures the success rate, the invoices
// processed and the dead-letter queue from the stores, not latencies or
// retries (those need the simulator's per-call probes): those metrics are
// shown as "not measured live" and never gated.
//
//   auto bounds = reports::parse_regression_bounds("success_rate=0.5,p99=10%");
//   if (!bounds.ok()) ... bounds.error ...
//   auto cmp = reports::compare_runs(a, b, *bounds.bounds, "naive", "recommended");
//   if (!cmp.differences.empty()) ... not the same experiment ...
//   fmt::print("{}", reports::comparison_text(cmp));
//   return cmp.regressed ? 1 : 0;
#pragma once

#include <cstddef>
#include <cstdint>
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
  std::size_t samples = 0;  // paired seeds the figures are taken over
  double a = 0;             // in `unit` (success rate in percent); the median over seeds
  double b = 0;
  double difference = 0;    // the median of the paired differences b - a
  double interval_low = 0;  // 95% bootstrap interval of `difference`; both equal to it with one sample
  double interval_high = 0;
  std::optional<double> relative;  // difference / |a| in percent; empty when a == 0
  bool worse = false;                // b is worse than a at all (by the median)
  std::optional<std::string> bound;  // the bound that applied, as written
  bool regressed = false;            // the whole interval is worse than the bound allows
  bool not_measured = false;         // one run is live and does not measure it: no figures, no gate
};

// A live run measures `metric` (compare.h's ids).
bool measured_live(std::string_view metric) noexcept;

// One pair's two verdicts, when A and B ran on different runtimes.
struct VerdictPair {
  std::uint64_t seed_a = 0;
  std::uint64_t seed_b = 0;
  Verdict a = Verdict::kPass;
  Verdict b = Verdict::kPass;
  std::string reason_a;
  std::string reason_b;
  bool agree() const noexcept { return a == b; }
};

// A scenario and seed whose verdict went from pass in A to fail, aborted or
// error in B.
struct VerdictChange {
  std::uint64_t seed_a = 0;
  std::uint64_t seed_b = 0;
  Verdict a = Verdict::kPass;
  Verdict b = Verdict::kPass;
  std::string reason_b;  // B's verdict reason
};

struct ScenarioComparison {
  std::string name;  // "total" for the totals row
  bool in_a = true;
  bool in_b = true;
  std::size_t pairs = 0;            // seeds paired
  std::vector<MetricDiff> metrics;  // empty unless in both
  std::vector<VerdictChange> verdict_regressions;
  std::vector<VerdictPair> verdicts;  // every pair's, when the runtimes differ
};

struct RunComparison {
  std::string label_a;
  std::string label_b;
  std::string runtime_a;  // report.json's `runtime`: "sim" or "live"
  std::string runtime_b;
  bool runtimes_differ() const { return runtime_a != runtime_b; }
  ScenarioComparison total;
  std::vector<ScenarioComparison> scenarios;  // A's order, then those only in B
  // How A and B are not the same experiment (scenarios, digests, seeds,
  // policies), one line each; empty when they are.
  std::vector<std::string> differences;
  std::uint64_t differences_dropped = 0;
  bool regressed = false;
  std::vector<std::string> regressions;  // one line per bound exceeded or verdict lost
  std::uint64_t regressions_dropped = 0;
};

inline constexpr std::size_t kBootstrapResamples = 2000;
inline constexpr double kIntervalConfidence = 0.95;
inline constexpr std::size_t kComparisonLinesMax = 50;  // per list; the rest are counted

RunComparison compare_runs(const RunResult& a, const RunResult& b, const RegressionBounds& bounds,
                           std::string label_a, std::string label_b);

// Side by side, for a terminal; Markdown; one self-contained HTML page.
std::string comparison_text(const RunComparison& c);
std::string comparison_markdown(const RunComparison& c);
std::string comparison_html(const RunComparison& c);

}  // namespace faultline::reports
