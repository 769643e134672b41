// Names and small computations of the result model (result.h).
#include "reports/result.h"

#include <algorithm>
#include <array>
#include <utility>

namespace faultline::reports {

namespace {

template <typename E, std::size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<Verdict, std::string_view>, 5> kVerdictNames{{
    {Verdict::kPass, "pass"},
    {Verdict::kInconclusive, "inconclusive"},
    {Verdict::kFail, "fail"},
    {Verdict::kAborted, "aborted"},
    {Verdict::kError, "error"},
}};

constexpr std::array<std::pair<BreakerState, std::string_view>, 3> kBreakerNames{{
    {BreakerState::kClosed, "closed"},
    {BreakerState::kOpen, "open"},
    {BreakerState::kHalfOpen, "half_open"},
}};

constexpr std::array<std::pair<Comparison, std::string_view>, 2> kComparisonNames{{
    {Comparison::kAtMost, "at_most"},
    {Comparison::kAtLeast, "at_least"},
}};

}  // namespace

std::string_view to_string(Verdict v) { return name_of(kVerdictNames, v); }
std::optional<Verdict> parse_verdict(std::string_view text) { return parse_name(kVerdictNames, text); }

std::string_view to_string(BreakerState s) { return name_of(kBreakerNames, s); }
std::optional<BreakerState> parse_breaker_state(std::string_view text) { return parse_name(kBreakerNames, text); }

std::string_view to_string(Comparison c) { return name_of(kComparisonNames, c); }
std::optional<Comparison> parse_comparison(std::string_view text) { return parse_name(kComparisonNames, text); }

double success_rate(const OutcomeCounts& outcomes) {
  if (outcomes.submitted == 0) return 0;
  return static_cast<double>(outcomes.processed()) / static_cast<double>(outcomes.submitted);
}

std::string_view label(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kInconclusive: return "INCONCLUSIVE";
    case Verdict::kFail: return "FAIL";
    case Verdict::kAborted: return "ABORTED";
    case Verdict::kError: return "ERROR";
  }
  return "?";
}

VerdictCounts count_verdicts(const RunResult& run) {
  VerdictCounts c;
  for (const auto& s : run.scenarios) {
    switch (s.verdict) {
      case Verdict::kPass: ++c.passed; break;
      case Verdict::kInconclusive: ++c.inconclusive; break;
      case Verdict::kFail: ++c.failed; break;
      case Verdict::kAborted: ++c.aborted; break;
      case Verdict::kError: ++c.errors; break;
    }
  }
  return c;
}

Verdict overall_verdict(const RunResult& run) {
  Verdict worst = Verdict::kPass;
  for (const auto& s : run.scenarios) {
    worst = std::max(worst, s.verdict);
  }
  return worst;
}

}  // namespace faultline::reports
