// Run comparison, regression gate and its renderings (compare.h).
#include "reports/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include "reports/internal/text.h"
#include "runtime/random.h"

namespace faultline::reports {

namespace {

struct MetricSpec {
  std::string_view id;
  std::string_view label;
  std::string_view unit;
  Better better;
};

constexpr MetricSpec kMetrics[] = {
    {"success_rate", "success rate", "%", Better::kHigher}, {"p99", "p99 latency", "ms", Better::kLower},
    {"mean", "mean processing time", "ms", Better::kLower},  {"processed", "invoices processed", "count", Better::kHigher},
    {"retries", "retries", "count", Better::kLower},         {"dlq", "DLQ size", "count", Better::kLower},
};

const MetricSpec* find_metric(std::string_view id) {
  for (const auto& m : kMetrics) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string clean_line(std::string_view s) {
  std::string out = internal::sanitize_utf8(s, true);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

std::string signed_value(double v, std::string_view unit) {
  const std::string number = internal::format_fixed(v, unit == "count" ? 0 : 1);
  const std::string sign = v > 0 ? "+" : "";
  if (unit == "%") return sign + number + " pp";
  if (unit == "ms") return sign + number + " ms";
  return sign + number;
}

std::string plain_value(double v, std::string_view unit) {
  if (unit == "%") return internal::format_fixed(v, 1) + "%";
  if (unit == "ms") return internal::format_fixed(v, 1) + " ms";
  return internal::format_fixed(v, 0);
}

std::string signed_percent(double v) { return (v > 0 ? "+" : "") + internal::format_fixed(v, 1) + "%"; }

std::string relative_text(const MetricDiff& d) {
  if (!d.relative) return d.difference == 0 ? "0.0%" : "n/a";
  return signed_percent(*d.relative);
}

// "+18.0% [+9.0%, +27.0%]": the median change and its interval, relative to
// A's median where that is not 0, else in the metric's unit. One sample: the
// change alone.
std::string change_with_interval(const MetricDiff& d) {
  if (d.samples <= 1) return relative_text(d);
  if (d.a != 0) {
    const double scale = 100.0 / std::fabs(d.a);
    return fmt::format("{} [{}, {}]", signed_percent(d.difference * scale), signed_percent(d.interval_low * scale),
                       signed_percent(d.interval_high * scale));
  }
  return fmt::format("{} [{}, {}]", signed_value(d.difference, d.unit), signed_value(d.interval_low, d.unit),
                     signed_value(d.interval_high, d.unit));
}

// The figures of one scenario, or of the total over several, in table units.
struct Figures {
  std::uint64_t submitted = 0;
  std::uint64_t processed = 0;
  double p99_ms = 0;
  double mean_weighted_ms = 0;  // sum of mean * count
  std::uint64_t latency_count = 0;
  std::uint64_t retries = 0;
  std::uint64_t dlq = 0;

  void add(const ScenarioResult& s) {
    submitted += s.outcomes.submitted;
    processed += s.outcomes.processed();
    p99_ms = std::max(p99_ms, internal::to_ms(s.end_to_end.p99));
    mean_weighted_ms += internal::to_ms(s.end_to_end.mean) * static_cast<double>(s.end_to_end.count);
    latency_count += s.end_to_end.count;
    retries += s.retries;
    dlq += s.dlq_size_final;
  }
  double value(std::string_view id) const {
    if (id == "success_rate") {
      return submitted == 0 ? 0 : 100.0 * static_cast<double>(processed) / static_cast<double>(submitted);
    }
    if (id == "p99") return p99_ms;
    if (id == "mean") return latency_count == 0 ? 0 : mean_weighted_ms / static_cast<double>(latency_count);
    if (id == "processed") return static_cast<double>(processed);
    if (id == "retries") return static_cast<double>(retries);
    return static_cast<double>(dlq);
  }
};

// Appends a line to a bounded list, counting what the bound leaves out.
void append_bounded(std::vector<std::string>& lines, std::uint64_t& dropped, std::string line) {
  if (lines.size() < kComparisonLinesMax) {
    lines.push_back(std::move(line));
  } else {
    ++dropped;
  }
}

double median(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

// The seed every bootstrap stream is split from: fixed, so that an interval
// depends on the two runs and nothing else.
constexpr std::uint64_t kBootstrapRootSeed = 0x6661756c746c696eULL;  // "faultlin"

struct Interval {
  double low = 0;
  double high = 0;
};

// 95% percentile-bootstrap interval of the median of `differences`.
Interval bootstrap_median_interval(const std::vector<double>& differences, std::string_view stream_name) {
  const std::size_t n = differences.size();
  if (n == 1) return {differences[0], differences[0]};
  runtime::Rng rng = runtime::RandomStreams(kBootstrapRootSeed).stream(stream_name);
  std::vector<double> medians(kBootstrapResamples);
  std::vector<double> sample(n);
  for (double& m : medians) {
    for (double& x : sample) x = differences[rng.uniform_int(0, n - 1)];
    m = median(sample);
  }
  std::sort(medians.begin(), medians.end());
  // As many resamples cut off below as above: 50 of 2,000 on each side.
  const auto tail = static_cast<std::size_t>(
      std::llround((1 - kIntervalConfidence) / 2 * static_cast<double>(kBootstrapResamples)));
  return {medians[tail], medians[kBootstrapResamples - 1 - tail]};
}

std::string unit_suffix(std::string_view unit) { return unit == "count" ? "" : unit == "%" ? "%" : " ms"; }

// One metric over n paired samples.
MetricDiff diff_metric(const MetricSpec& spec, const std::vector<Figures>& a, const std::vector<Figures>& b,
                       const RegressionBounds& bounds, std::string_view where, std::string_view stream_scope,
                       RunComparison& c) {
  MetricDiff d;
  d.metric = spec.id;
  d.label = spec.label;
  d.unit = spec.unit;
  d.better = spec.better;
  d.samples = a.size();
  const bool live = c.runtime_a == "live" || c.runtime_b == "live";
  if (live && c.runtimes_differ() && !measured_live(spec.id)) {
    d.not_measured = true;
    return d;
  }
  std::vector<double> va;
  std::vector<double> vb;
  std::vector<double> differences;
  for (std::size_t i = 0; i < a.size(); ++i) {
    va.push_back(a[i].value(spec.id));
    vb.push_back(b[i].value(spec.id));
    differences.push_back(vb.back() - va.back());
  }
  const Interval interval =
      bootstrap_median_interval(differences, fmt::format("compare/bootstrap/{}/{}", stream_scope, spec.id));
  d.a = median(va);
  d.b = median(vb);
  d.difference = median(differences);
  d.interval_low = interval.low;
  d.interval_high = interval.high;
  if (d.a != 0) d.relative = 100.0 * d.difference / std::fabs(d.a);
  const double worsening = spec.better == Better::kHigher ? -d.difference : d.difference;
  d.worse = worsening > 0;
  // The gate reads the interval's end most favourable to B.
  const double worsening_at_best = spec.better == Better::kHigher ? -d.interval_high : d.interval_low;
  for (const auto& bound : bounds.bounds) {
    if (bound.metric != spec.id) continue;
    d.bound = bound.text;
    bool exceeded = false;
    if (bound.relative) {
      exceeded = worsening_at_best > 0 && (d.a == 0 || 100.0 * worsening_at_best / std::fabs(d.a) > bound.limit);
    } else {
      exceeded = worsening_at_best > bound.limit;
    }
    if (!exceeded) continue;
    d.regressed = true;
    const std::string unit = unit_suffix(spec.unit);
    std::string line =
        d.samples == 1
            ? fmt::format("{}: {} went from {}{} to {}{} (bound {})", where, spec.label, internal::format_short(d.a),
                          unit, internal::format_short(d.b), unit, bound.text)
            : fmt::format("{}: {} {} vs A over {} seeds, A's median {} (bound {})", where, spec.label,
                          change_with_interval(d), d.samples, plain_value(d.a, spec.unit), bound.text);
    append_bounded(c.regressions, c.regressions_dropped, std::move(line));
  }
  return d;
}

std::vector<MetricDiff> diff(const std::vector<Figures>& a, const std::vector<Figures>& b,
                             const RegressionBounds& bounds, std::string_view where, std::string_view stream_scope,
                             RunComparison& c) {
  std::vector<MetricDiff> out;
  for (const auto& spec : kMetrics) out.push_back(diff_metric(spec, a, b, bounds, where, stream_scope, c));
  return out;
}

std::string assessment(const MetricDiff& d) {
  if (d.not_measured) return "not measured live";
  if (d.regressed) return "REGRESSION (bound " + *d.bound + ")";
  if (d.difference == 0) return "same";
  return d.worse ? "worse" : "better";
}

// " (20 seeds paired)" when there is more than one.
std::string seeds_note(const ScenarioComparison& row) {
  return row.pairs > 1 ? fmt::format(" ({} seeds paired)", row.pairs) : "";
}

std::vector<const ScenarioComparison*> all_rows(const RunComparison& c) {
  std::vector<const ScenarioComparison*> rows;
  for (const auto& s : c.scenarios) rows.push_back(&s);
  rows.push_back(&c.total);
  return rows;
}

// " (sim)" after a label when the runs' runtimes differ.
std::string runtime_note(const RunComparison& c, const std::string& runtime) {
  return c.runtimes_differ() ? " (" + clean_line(runtime.empty() ? "unknown runtime" : runtime) + ")" : "";
}

// "seed 7" or "seed 7 (B 9)".
std::string seed_text(std::uint64_t a, std::uint64_t b) {
  return a == b ? fmt::format("seed {}", a) : fmt::format("seed {} (B {})", a, b);
}

}  // namespace

bool measured_live(std::string_view metric) noexcept {
  return metric == "success_rate" || metric == "processed" || metric == "dlq";
}

ParsedBounds parse_regression_bounds(std::string_view text) {
  RegressionBounds bounds;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) {
      if (comma == text.size()) break;
      return {std::nullopt, "empty item in the bound list"};
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return {std::nullopt, fmt::format("'{}': expected metric=limit, e.g. p99=10%", clean_line(item))};
    }
    const std::string_view metric = trim(item.substr(0, eq));
    std::string_view limit = trim(item.substr(eq + 1));
    const MetricSpec* spec = find_metric(metric);
    if (spec == nullptr) {
      return {std::nullopt, fmt::format("'{}': unknown metric '{}' (known: success_rate, p99, mean, processed, "
                                        "retries, dlq)",
                                        clean_line(item), clean_line(metric))};
    }
    RegressionBound bound;
    bound.metric = spec->id;
    bound.text = std::string(item);
    double scale = 1;
    if (ends_with(limit, "%")) {
      bound.relative = true;
      limit.remove_suffix(1);
    } else if (spec->unit == "%" && ends_with(limit, "pp")) {
      limit.remove_suffix(2);
    } else if (spec->unit == "ms" && ends_with(limit, "ms")) {
      limit.remove_suffix(2);
    } else if (spec->unit == "ms" && ends_with(limit, "s")) {
      limit.remove_suffix(1);
      scale = 1000;
    }
    limit = trim(limit);
    double value = 0;
    const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), value);
    if (limit.empty() || ec != std::errc{} || end != limit.data() + limit.size() || !std::isfinite(value) ||
        value < 0) {
      const std::string_view units = spec->unit == "%" ? "pp or %" : spec->unit == "ms" ? "ms, s or %" : "a count or %";
      return {std::nullopt, fmt::format("'{}': expected a non-negative number with {}", clean_line(item), units)};
    }
    bound.limit = value * scale;
    bounds.bounds.push_back(std::move(bound));
  }
  return {std::move(bounds), ""};
}

namespace {

// The runs of one scenario in one report, in report order.
struct ScenarioRuns {
  std::string name;
  std::vector<const ScenarioResult*> runs;
};

std::vector<ScenarioRuns> group_by_name(const RunResult& run) {
  std::vector<ScenarioRuns> groups;
  for (const auto& s : run.scenarios) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const ScenarioRuns& g) { return g.name == s.name; });
    if (it == groups.end()) {
      groups.push_back(ScenarioRuns{s.name, {}});
      it = groups.end() - 1;
    }
    it->runs.push_back(&s);
  }
  return groups;
}

const ScenarioRuns* find_group(const std::vector<ScenarioRuns>& groups, const std::string& name) {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string seed_list(const std::vector<std::uint64_t>& seeds) {
  constexpr std::size_t kShown = 5;
  std::string out;
  for (std::size_t i = 0; i < seeds.size() && i < kShown; ++i) out += (i == 0 ? "" : ", ") + std::to_string(seeds[i]);
  if (seeds.size() > kShown) out += fmt::format(" and {} more", seeds.size() - kShown);
  return out.empty() ? "none" : out;
}

std::string policy_text(const ScenarioResult& s) {
  return fmt::format("'{}' ({})", clean_line(s.policy_name), s.policy_digest.empty() ? "no digest" : clean_line(s.policy_digest));
}

using Pair = std::pair<const ScenarioResult*, const ScenarioResult*>;

// Pairs the runs of one scenario by seed; runs left over on both sides are
// paired in report order (what --allow-different compares), and every
// mismatch is noted in `c.differences`.
std::vector<Pair> pair_runs(const ScenarioRuns& a, const ScenarioRuns& b, RunComparison& c,
                            std::set<std::string>& policy_differences) {
  const std::string name = clean_line(a.name);
  const std::string& digest_a = a.runs.front()->scenario_digest;
  const std::string& digest_b = b.runs.front()->scenario_digest;
  if (digest_a != digest_b) {
    append_bounded(c.differences, c.differences_dropped,
                   fmt::format("scenario {}: the scenario files differ (A {}, B {})", name, clean_line(digest_a),
                               clean_line(digest_b)));
  }
  std::vector<Pair> pairs;
  std::vector<bool> used_b(b.runs.size(), false);
  std::vector<const ScenarioResult*> left_a;
  for (const ScenarioResult* ra : a.runs) {
    bool found = false;
    for (std::size_t j = 0; j < b.runs.size(); ++j) {
      if (!used_b[j] && b.runs[j]->seed == ra->seed) {
        used_b[j] = true;
        pairs.emplace_back(ra, b.runs[j]);
        found = true;
        break;
      }
    }
    if (!found) left_a.push_back(ra);
  }
  std::vector<const ScenarioResult*> left_b;
  for (std::size_t j = 0; j < b.runs.size(); ++j) {
    if (!used_b[j]) left_b.push_back(b.runs[j]);
  }
  if (!left_a.empty() || !left_b.empty()) {
    std::vector<std::uint64_t> seeds_a;
    std::vector<std::uint64_t> seeds_b;
    for (const auto* r : left_a) seeds_a.push_back(r->seed);
    for (const auto* r : left_b) seeds_b.push_back(r->seed);
    append_bounded(c.differences, c.differences_dropped,
                   fmt::format("scenario {}: the seeds differ: only in A {}; only in B {}", name, seed_list(seeds_a),
                               seed_list(seeds_b)));
    for (std::size_t i = 0; i < left_a.size() && i < left_b.size(); ++i) pairs.emplace_back(left_a[i], left_b[i]);
  }
  for (const auto& [ra, rb] : pairs) {
    if (ra->policy_name != rb->policy_name || ra->policy_digest != rb->policy_digest) {
      policy_differences.insert(fmt::format("policy: A ran {}, B ran {}", policy_text(*ra), policy_text(*rb)));
    }
  }
  return pairs;
}

bool passed_then_failed(const ScenarioResult& a, const ScenarioResult& b) {
  return a.verdict == Verdict::kPass &&
         (b.verdict == Verdict::kFail || b.verdict == Verdict::kAborted || b.verdict == Verdict::kError);
}

}  // namespace

RunComparison compare_runs(const RunResult& a, const RunResult& b, const RegressionBounds& bounds,
                           std::string label_a, std::string label_b) {
  RunComparison c;
  c.label_a = std::move(label_a);
  c.label_b = std::move(label_b);
  c.runtime_a = a.runtime;
  c.runtime_b = b.runtime;
  const std::vector<ScenarioRuns> groups_a = group_by_name(a);
  const std::vector<ScenarioRuns> groups_b = group_by_name(b);
  std::set<std::string> policy_differences;
  std::vector<std::vector<Pair>> paired;  // per scenario with pairs, in A's order
  for (const auto& ga : groups_a) {
    ScenarioComparison row;
    row.name = ga.name;
    const ScenarioRuns* gb = find_group(groups_b, ga.name);
    row.in_b = gb != nullptr;
    if (gb == nullptr) {
      append_bounded(c.differences, c.differences_dropped, fmt::format("scenario {}: only in A", clean_line(ga.name)));
    } else {
      std::vector<Pair> pairs = pair_runs(ga, *gb, c, policy_differences);
      row.pairs = pairs.size();
      if (!pairs.empty()) {
        std::vector<Figures> fa(pairs.size());
        std::vector<Figures> fb(pairs.size());
        for (std::size_t i = 0; i < pairs.size(); ++i) {
          fa[i].add(*pairs[i].first);
          fb[i].add(*pairs[i].second);
        }
        row.metrics = diff(fa, fb, bounds, "scenario " + clean_line(ga.name), "scenario/" + ga.name, c);
        for (const auto& [ra, rb] : pairs) {
          if (c.runtimes_differ()) {
            // Sim against live: the verdicts must agree, whichever way they differ.
            row.verdicts.push_back(VerdictPair{ra->seed, rb->seed, ra->verdict, rb->verdict, ra->verdict_reason,
                                               rb->verdict_reason});
            if (ra->verdict != rb->verdict) {
              append_bounded(c.regressions, c.regressions_dropped,
                             fmt::format("scenario {} {}: the verdicts disagree: {} in A{}, {} in B{} ({})",
                                         clean_line(ga.name), seed_text(ra->seed, rb->seed), to_string(ra->verdict),
                                         runtime_note(c, c.runtime_a), to_string(rb->verdict),
                                         runtime_note(c, c.runtime_b),
                                         clean_line(ra->verdict == Verdict::kPass ? rb->verdict_reason
                                                                                  : ra->verdict_reason)));
            }
            continue;
          }
          if (!passed_then_failed(*ra, *rb)) continue;
          row.verdict_regressions.push_back(VerdictChange{ra->seed, rb->seed, ra->verdict, rb->verdict,
                                                          rb->verdict_reason});
          append_bounded(c.regressions, c.regressions_dropped,
                         fmt::format("scenario {} seed {}: verdict went from {} to {} ({})", clean_line(ga.name),
                                     ra->seed == rb->seed ? std::to_string(ra->seed)
                                                          : fmt::format("{} (B {})", ra->seed, rb->seed),
                                     to_string(ra->verdict), to_string(rb->verdict), clean_line(rb->verdict_reason)));
        }
        paired.push_back(std::move(pairs));
      }
    }
    c.scenarios.push_back(std::move(row));
  }
  for (const auto& gb : groups_b) {
    if (find_group(groups_a, gb.name) != nullptr) continue;
    c.scenarios.push_back(ScenarioComparison{gb.name, false, true, 0, {}, {}, {}});
    append_bounded(c.differences, c.differences_dropped, fmt::format("scenario {}: only in B", clean_line(gb.name)));
  }
  for (const auto& line : policy_differences) append_bounded(c.differences, c.differences_dropped, line);

  // The totals: the k-th pair of every scenario is one sample, for k below
  // the smallest number of pairs a scenario has.
  std::size_t samples = paired.empty() ? 1 : paired.front().size();
  for (const auto& pairs : paired) samples = std::min(samples, pairs.size());
  std::vector<Figures> total_a(samples);
  std::vector<Figures> total_b(samples);
  for (const auto& pairs : paired) {
    for (std::size_t k = 0; k < samples; ++k) {
      total_a[k].add(*pairs[k].first);
      total_b[k].add(*pairs[k].second);
    }
  }
  c.total.name = "total";
  c.total.pairs = paired.empty() ? 0 : samples;
  c.total.metrics = diff(total_a, total_b, bounds, "total", "total", c);
  c.regressed = !c.regressions.empty() || c.regressions_dropped > 0;
  return c;
}

std::string comparison_text(const RunComparison& c) {
  std::string out = fmt::format("A: {}{}\nB: {}{}\n", clean_line(c.label_a), runtime_note(c, c.runtime_a),
                                clean_line(c.label_b), runtime_note(c, c.runtime_b));
  if (!c.differences.empty()) {
    out += "\nA and B are not the same experiment:\n";
    for (const auto& line : c.differences) out += "  " + line + "\n";
    if (c.differences_dropped > 0) out += fmt::format("  and {} more\n", c.differences_dropped);
  }
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("\n{}{}\n", row == &c.total ? "total (scenarios in both runs)" : "scenario " + clean_line(row->name),
                       seeds_note(*row));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("  only in {}\n", row->in_a ? "A" : "B");
      continue;
    }
    const bool intervals = row->pairs > 1;
    out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>{}}  {}\n", "metric", intervals ? "A median" : "A",
                       intervals ? "B median" : "B", "B - A", intervals ? "change [95% interval]" : "change",
                       intervals ? 28 : 9, "");
    for (const auto& v : row->verdicts) {
      out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>{}}  {}\n", "verdict", to_string(v.a), to_string(v.b), "",
                         seed_text(v.seed_a, v.seed_b), intervals ? 28 : 9, v.agree() ? "agree" : "DISAGREE");
    }
    for (const auto& d : row->metrics) {
      if (d.not_measured) {
        out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>{}}  {}\n", d.label, "-", "-", "", "", intervals ? 28 : 9,
                           assessment(d));
        continue;
      }
      out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>{}}  {}\n", d.label, plain_value(d.a, d.unit),
                         plain_value(d.b, d.unit), signed_value(d.difference, d.unit), change_with_interval(d),
                         intervals ? 28 : 9, assessment(d));
    }
    for (const auto& v : row->verdict_regressions) {
      out += fmt::format("  verdict on seed {}: {} -> {}\n", v.seed_a, to_string(v.a), to_string(v.b));
    }
  }
  if (c.runtimes_differ()) {
    out += c.regressed ? "\nFAILED: the sim and live runs disagree, or B is worse than A beyond the bounds:\n"
                       : "\nthe sim and live verdicts agree; no regression beyond the bounds\n";
  } else {
    out += c.regressed ? fmt::format("\nREGRESSION: B is worse than A beyond the bounds:\n") : "\nno regression beyond the bounds\n";
  }
  for (const auto& line : c.regressions) out += "  " + line + "\n";
  if (c.regressions_dropped > 0) out += fmt::format("  and {} more\n", c.regressions_dropped);
  return out;
}

std::string comparison_markdown(const RunComparison& c) {
  using internal::escape_markdown_cell;
  std::string out = fmt::format("# faultline compare: {}\n\nA: {}{}  \nB: {}{}\n", c.regressed ? "**REGRESSION**" : "ok",
                                escape_markdown_cell(c.label_a), escape_markdown_cell(runtime_note(c, c.runtime_a)),
                                escape_markdown_cell(c.label_b), escape_markdown_cell(runtime_note(c, c.runtime_b)));
  if (!c.differences.empty()) {
    out += "\n## A and B are not the same experiment\n\n";
    for (const auto& line : c.differences) out += "- " + escape_markdown_cell(line) + "\n";
    if (c.differences_dropped > 0) out += fmt::format("- and {} more\n", c.differences_dropped);
  }
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("\n## {}{}\n\n",
                       row == &c.total ? "Total (scenarios in both runs)" : "Scenario " + escape_markdown_cell(row->name),
                       seeds_note(*row));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("Only in {}.\n", row->in_a ? "A" : "B");
      continue;
    }
    out += row->pairs > 1 ? "| metric | A median | B median | B − A (median) | change [95% interval] | |\n|---|--:|--:|--:|--:|---|\n"
                          : "| metric | A | B | B − A | change | |\n|---|--:|--:|--:|--:|---|\n";
    for (const auto& v : row->verdicts) {
      out += fmt::format("| verdict ({}) | {} | {} | | | {} |\n", seed_text(v.seed_a, v.seed_b), to_string(v.a),
                         to_string(v.b), v.agree() ? "agree" : "**DISAGREE**");
    }
    for (const auto& d : row->metrics) {
      if (d.not_measured) {
        out += fmt::format("| {} | | | | | {} |\n", d.label, assessment(d));
        continue;
      }
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", d.label, plain_value(d.a, d.unit), plain_value(d.b, d.unit),
                         signed_value(d.difference, d.unit), change_with_interval(d),
                         d.regressed ? "**" + escape_markdown_cell(assessment(d)) + "**"
                                     : escape_markdown_cell(assessment(d)));
    }
  }
  if (c.regressed) {
    out += "\n## Regressions\n\n";
    for (const auto& line : c.regressions) out += "- " + escape_markdown_cell(line) + "\n";
    if (c.regressions_dropped > 0) out += fmt::format("- and {} more\n", c.regressions_dropped);
  }
  return out;
}

std::string comparison_html(const RunComparison& c) {
  const auto esc = [](std::string_view s) { return internal::escape_xml_text(s); };
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  out += fmt::format("<title>faultline compare: {}</title>\n", c.regressed ? "regression" : "ok");
  out += "<style>body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#1d2330}"
         "table{border-collapse:collapse;margin:.4rem 0 1.2rem}th,td{border:1px solid #d5d9e0;padding:.3rem .6rem}"
         "td.n{text-align:right;font-variant-numeric:tabular-nums}.better{color:#2e7d32}.worse{color:#8d6e00}"
         ".regressed{color:#fff;background:#c62828;font-weight:600}</style>\n</head>\n<body>\n";
  out += fmt::format("<h1>faultline compare: {}</h1>\n<p>A: <code>{}</code>{}<br>B: <code>{}</code>{}</p>\n",
                     c.regressed ? "regression" : "ok", esc(c.label_a), esc(runtime_note(c, c.runtime_a)),
                     esc(c.label_b), esc(runtime_note(c, c.runtime_b)));
  if (!c.differences.empty()) {
    out += "<h2>A and B are not the same experiment</h2>\n<ul>\n";
    for (const auto& line : c.differences) out += "<li>" + esc(line) + "</li>\n";
    if (c.differences_dropped > 0) out += fmt::format("<li>and {} more</li>\n", c.differences_dropped);
    out += "</ul>\n";
  }
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("<h2>{}{}</h2>\n",
                       row == &c.total ? std::string("Total (scenarios in both runs)") : "Scenario " + esc(row->name),
                       seeds_note(*row));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("<p>Only in {}.</p>\n", row->in_a ? "A" : "B");
      continue;
    }
    out += row->pairs > 1 ? "<table><thead><tr><th>metric</th><th>A median</th><th>B median</th><th>B &minus; A "
                            "(median)</th><th>change [95% interval]</th><th></th></tr></thead><tbody>\n"
                          : "<table><thead><tr><th>metric</th><th>A</th><th>B</th><th>B &minus; A</th><th>change</th>"
                            "<th></th></tr></thead><tbody>\n";
    for (const auto& v : row->verdicts) {
      out += fmt::format("<tr><td>verdict ({})</td><td>{}</td><td>{}</td><td></td><td></td><td class=\"{}\">{}</td></tr>\n",
                         esc(seed_text(v.seed_a, v.seed_b)), to_string(v.a), to_string(v.b),
                         v.agree() ? "same" : "regressed", v.agree() ? "agree" : "DISAGREE");
    }
    for (const auto& d : row->metrics) {
      if (d.not_measured) {
        out += fmt::format("<tr><td>{}</td><td></td><td></td><td></td><td></td><td class=\"same\">{}</td></tr>\n",
                           esc(d.label), esc(assessment(d)));
        continue;
      }
      const std::string_view cls = d.regressed ? "regressed" : d.difference == 0 ? "same" : d.worse ? "worse" : "better";
      out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>\n",
                         esc(d.label), esc(plain_value(d.a, d.unit)), esc(plain_value(d.b, d.unit)),
                         esc(signed_value(d.difference, d.unit)), esc(change_with_interval(d)), cls,
                         esc(assessment(d)));
    }
    out += "</tbody></table>\n";
  }
  if (c.regressed) {
    out += "<h2>Regressions</h2>\n<ul>\n";
    for (const auto& line : c.regressions) out += "<li>" + esc(line) + "</li>\n";
    if (c.regressions_dropped > 0) out += fmt::format("<li>and {} more</li>\n", c.regressions_dropped);
    out += "</ul>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace faultline::reports
