// Backoff schedule, retry budget and the retry loop's stop rules. The delay
// arithmetic is done in integer nanoseconds after one capped floating-point
// product built by repeated multiplication (not std::pow), so a seed gives
// the same delays on every platform.
#include "resilience/retry.h"

#include <algorithm>
#include <array>
#include <limits>

#include "runtime/assert.h"

namespace faultline::resilience {

namespace {
constexpr std::array<std::string_view, 4> kJitterNames = {"none", "full", "equal", "decorrelated"};
}  // namespace

std::string_view to_string(Jitter j) noexcept {
  const auto i = static_cast<std::size_t>(j);
  return i < kJitterNames.size() ? kJitterNames[i] : std::string_view("unknown");
}

bool parse_jitter(std::string_view text, Jitter& out) noexcept {
  for (std::size_t i = 0; i < kJitterNames.size(); ++i) {
    if (kJitterNames[i] == text) {
      out = static_cast<Jitter>(i);
      return true;
    }
  }
  return false;
}

std::string_view to_string(JitterOrder o) noexcept {
  return o == JitterOrder::after_cap ? "after_cap" : "before_cap";
}

bool parse_jitter_order(std::string_view text, JitterOrder& out) noexcept {
  if (text == "after_cap") {
    out = JitterOrder::after_cap;
  } else if (text == "before_cap") {
    out = JitterOrder::before_cap;
  } else {
    return false;
  }
  return true;
}

std::optional<ConfigProblem> check(const RetryPolicy& policy) {
  if (policy.max_attempts < 1) {
    return ConfigProblem{"max_attempts", "at least 1 (it counts the first attempt)"};
  }
  if (policy.base_delay < Duration::zero()) {
    return ConfigProblem{"base_delay", "a non-negative delay"};
  }
  if (policy.max_delay < Duration::zero()) {
    return ConfigProblem{"max_delay", "a non-negative delay"};
  }
  if (policy.max_delay < policy.base_delay) {
    return ConfigProblem{"max_delay", "a delay at least base_delay"};
  }
  if (!(policy.multiplier >= 1.0) || policy.multiplier > 1e6) {
    return ConfigProblem{"multiplier", "a number from 1 to 1e6"};
  }
  if (policy.deadline < Duration::zero()) {
    return ConfigProblem{"deadline", "a non-negative duration (zero: none)"};
  }
  return std::nullopt;
}

Duration backoff_delay(const RetryPolicy& policy, std::uint32_t retry, Duration previous,
                       runtime::Rng& rng) noexcept {
  FAULTLINE_ASSERT(retry >= 1);
  const std::int64_t base_ns = policy.base_delay.count();
  const std::int64_t max_ns = policy.max_delay.count();
  FAULTLINE_ASSERT(base_ns >= 0 && max_ns >= base_ns);
  const bool before_cap = policy.jitter_order == JitterOrder::before_cap;
  if (policy.jitter == Jitter::decorrelated) {
    // Each delay is drawn between the base and three times the last one, capped.
    const std::int64_t prev_ns = std::max<std::int64_t>(previous.count(), base_ns);
    if (before_cap) {
      // Drawn up to three times the last delay, then clamped: the mass above
      // the cap lands on the cap.
      constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 3;
      const std::int64_t upper = prev_ns > kLimit ? std::numeric_limits<std::int64_t>::max() : prev_ns * 3;
      const auto drawn = static_cast<std::int64_t>(
          rng.uniform_int(static_cast<std::uint64_t>(base_ns), static_cast<std::uint64_t>(upper)));
      return Duration(std::min(drawn, max_ns));
    }
    const std::int64_t upper_ns = prev_ns > max_ns / 3 ? max_ns : std::min(max_ns, prev_ns * 3);
    const auto lo = static_cast<std::uint64_t>(base_ns);
    const auto hi = static_cast<std::uint64_t>(std::max(upper_ns, base_ns));
    return Duration(static_cast<std::int64_t>(rng.uniform_int(lo, hi)));
  }
  double exact = static_cast<double>(base_ns);
  const auto cap = static_cast<double>(max_ns);
  if (before_cap) {
    // The uncapped delay, bounded only so it stays a representable duration.
    constexpr double kLongest = 1e18;  // about 31 years
    for (std::uint32_t i = 1; i < retry && exact < kLongest; ++i) exact *= policy.multiplier;
    const auto uncapped_ns = static_cast<std::int64_t>(std::min(exact, kLongest));
    RetryPolicy after = policy;
    after.jitter_order = JitterOrder::after_cap;
    after.base_delay = Duration(uncapped_ns);
    after.max_delay = Duration(uncapped_ns);
    after.multiplier = 1.0;
    return std::min(backoff_delay(after, 1, previous, rng), policy.max_delay);
  }
  for (std::uint32_t i = 1; i < retry && exact < cap; ++i) exact *= policy.multiplier;
  const std::int64_t capped_ns = exact >= cap ? max_ns : static_cast<std::int64_t>(exact);
  switch (policy.jitter) {
    case Jitter::none:
      return Duration(capped_ns);
    case Jitter::full:
      return Duration(static_cast<std::int64_t>(
          rng.uniform_int(0, static_cast<std::uint64_t>(capped_ns))));
    case Jitter::equal: {
      const std::int64_t half_ns = capped_ns / 2;
      return Duration(half_ns + static_cast<std::int64_t>(rng.uniform_int(
                                    0, static_cast<std::uint64_t>(capped_ns - half_ns))));
    }
    case Jitter::decorrelated:
      break;
  }
  FAULTLINE_ASSERT(false && "unhandled jitter kind");
  return Duration(capped_ns);
}

// ---------------------------------------------------------------------------

std::optional<ConfigProblem> check(const RetryBudgetConfig& config) {
  if (!(config.retry_ratio >= 0.0) || config.retry_ratio > 1.0) {
    return ConfigProblem{"ratio", "a number from 0 to 1"};
  }
  if (config.window <= Duration::zero()) {
    return ConfigProblem{"window", "a duration above zero"};
  }
  return std::nullopt;
}

RetryBudget::RetryBudget(RetryBudgetConfig config) noexcept
    : config_(config), window_(config.window) {
  FAULTLINE_ASSERT(!check(config));
}

bool RetryBudget::try_spend_retry(Instant now) noexcept {
  const double allowed = static_cast<double>(config_.min_retries_per_window) +
                         config_.retry_ratio * static_cast<double>(window_.calls(now));
  if (static_cast<double>(window_.marked(now)) + 1.0 > allowed) {
    ++refused_;
    return false;
  }
  window_.add(now, 0, 1);
  return true;
}

std::uint64_t RetryBudget::calls_in_window(Instant now) noexcept {
  return window_.calls(now);
}

std::uint64_t RetryBudget::retries_in_window(Instant now) noexcept {
  return window_.marked(now);
}

// ---------------------------------------------------------------------------

std::optional<Duration> Retry::after_failure(runtime::Runtime& rt, runtime::Rng& rng,
                                             Backoff& backoff, std::uint32_t attempt,
                                             const Failure& failure, Instant deadline,
                                             std::uint64_t subject) {
  if (!retryable(policy_, failure.error_class)) {
    ++counters_.not_retryable;
    observer_.record(subject, pattern_events::RetriesExhausted{attempt, Duration::zero(), failure.error_class});
    return std::nullopt;
  }
  if (attempt >= policy_.max_attempts) {
    ++counters_.attempts_exhausted;
    observer_.record(subject, pattern_events::RetriesExhausted{attempt, Duration::zero(), failure.error_class});
    return std::nullopt;
  }
  Duration delay = backoff.next(rng);
  if (failure.error_class == ErrorClass::rate_limited && failure.retry_after > delay) {
    delay = failure.retry_after;
  }
  const Instant now = rt.now();
  if (deadline != Instant::max() && (deadline <= now || delay >= deadline - now)) {
    ++counters_.deadline_exceeded;
    observer_.record(subject, pattern_events::RetriesExhausted{attempt, delay, ErrorClass::deadline_exceeded});
    return std::nullopt;
  }
  if (budget_ != nullptr && !budget_->try_spend_retry(now)) {
    ++counters_.budget_exhausted;
    observer_.record(subject, pattern_events::RetryBudgetExhausted{budget_->retries_in_window(now),
                                                                   budget_->calls_in_window(now)});
    observer_.record(subject,
                     pattern_events::RetriesExhausted{attempt, Duration::zero(), ErrorClass::retry_budget_exhausted});
    return std::nullopt;
  }
  observer_.record(subject, pattern_events::RetryScheduled{attempt + 1, delay, failure.error_class});
  return delay;
}

}  // namespace faultline::resilience
