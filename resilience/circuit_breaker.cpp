// The breaker's state machine. Everything is driven by the `now` the caller
// passes; nothing here reads a clock or allocates after construction.
#include "resilience/circuit_breaker.h"

#include <algorithm>

#include "runtime/assert.h"

namespace faultline::resilience {

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

std::string_view to_string(TripMode m) noexcept {
  return m == TripMode::consecutive_failures ? "consecutive" : "rate";
}

std::string_view to_string(WindowKind k) noexcept {
  return k == WindowKind::count_based ? "count" : "time";
}

std::optional<ConfigProblem> check(const CircuitBreakerConfig& c) {
  if (c.trip == TripMode::consecutive_failures && c.failure_threshold == 0) {
    return ConfigProblem{"failure_threshold", "at least 1"};
  }
  if (c.trip == TripMode::failure_rate) {
    if (!(c.failure_rate_threshold > 0.0) || c.failure_rate_threshold > 1.0) {
      return ConfigProblem{"failure_rate", "a ratio above 0 and at most 1"};
    }
    if (c.window == WindowKind::count_based && c.window_calls == 0) {
      return ConfigProblem{"window_calls", "at least 1"};
    }
    if (c.window == WindowKind::time_based && c.window_duration <= Duration::zero()) {
      return ConfigProblem{"window_duration", "a duration above zero"};
    }
    if (c.minimum_calls == 0) return ConfigProblem{"minimum_calls", "at least 1"};
    if (c.window == WindowKind::count_based && c.minimum_calls > c.window_calls) {
      // The window could never hold enough calls: the breaker would never trip.
      return ConfigProblem{"minimum_calls", "at most window_calls"};
    }
  }
  if (c.slow_call_threshold < Duration::zero()) {
    return ConfigProblem{"slow_call_threshold", "a non-negative duration (zero: none)"};
  }
  if (c.open_duration < Duration::zero()) {
    return ConfigProblem{"open_duration", "a non-negative duration"};
  }
  if (c.half_open_probes == 0) return ConfigProblem{"half_open_probes", "at least 1"};
  if (c.probe_timeout <= Duration::zero()) {
    return ConfigProblem{"probe_timeout", "a duration above zero"};
  }
  return std::nullopt;
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, Observer observer)
    : config_(config), observer_(observer) {
  FAULTLINE_ASSERT(!check(config_) && "invalid CircuitBreakerConfig: see check()");
  if (config_.trip == TripMode::failure_rate && config_.window == WindowKind::count_based) {
    ring_.assign(config_.window_calls, 0);
  }
  time_window_ = internal::TimeWindow<std::uint32_t>(config_.window_duration);
  probes_.resize(config_.half_open_probes);
}

CircuitBreaker::Permit CircuitBreaker::try_acquire_slow(Instant now, std::uint64_t subject) {
  advance(now);
  switch (state_) {
    case BreakerState::closed:
      ++counters_.admitted;
      return Permit{true, false, 0, generation_, now};
    case BreakerState::half_open:
      if (probes_admitted_ < config_.half_open_probes) {
        const std::uint32_t slot = probes_admitted_++;
        probes_[slot] = Probe{true, now};
        ++counters_.admitted;
        return Permit{true, true, slot, generation_, now};
      }
      break;
    case BreakerState::open:
      break;
  }
  ++counters_.rejected;
  observer_.record(subject, pattern_events::BreakerRejected{state_});
  return Permit{};
}

void CircuitBreaker::on_result_slow(const Permit& permit, Instant now,
                                    const Failure* failure) {
  FAULTLINE_ASSERT(permit.admitted && "on_result for a refused call");
  advance(now);
  if (permit.generation != generation_) {
    ++counters_.stale_results;
    return;
  }
  bool failed = failure != nullptr && config_.failure_classes.contains(failure->error_class);
  if (!failed && config_.slow_call_threshold > Duration::zero() &&
      now - permit.started > config_.slow_call_threshold) {
    failed = true;
    ++counters_.slow_calls;
  }
  if (failed) {
    ++counters_.failures;
  } else {
    ++counters_.successes;
  }
  if (state_ == BreakerState::half_open) {
    FAULTLINE_ASSERT(permit.probe && permit.probe_slot < probes_.size());
    probes_[permit.probe_slot].outstanding = false;
    if (failed) {
      transition(BreakerState::open, now);
    } else if (++probes_succeeded_ >= config_.half_open_probes) {
      transition(BreakerState::closed, now);
    }
    return;
  }
  FAULTLINE_ASSERT(state_ == BreakerState::closed);
  record(now, failed);
  if (should_trip(now)) transition(BreakerState::open, now);
}

BreakerState CircuitBreaker::state(Instant now) {
  advance(now);
  return state_;
}

void CircuitBreaker::advance(Instant now) {
  if (state_ == BreakerState::open && now >= open_until_) {
    transition(BreakerState::half_open, now);
  }
  if (state_ != BreakerState::half_open) return;
  for (std::uint32_t i = 0; i < probes_admitted_; ++i) {
    const Probe& p = probes_[i];
    if (p.outstanding && now - p.started >= config_.probe_timeout) {
      ++counters_.probe_timeouts;
      ++counters_.failures;
      observer_.record(0, pattern_events::BreakerProbeTimeout{generation_});
      transition(BreakerState::open, now);
      return;
    }
  }
}

void CircuitBreaker::force(BreakerState to, Instant now) {
  if (to != state_) transition(to, now);
}

void CircuitBreaker::transition(BreakerState to, Instant now) {
  const BreakerState from = state_;
  state_ = to;
  ++generation_;
  switch (to) {
    case BreakerState::open:
      open_until_ = now + config_.open_duration;
      ++counters_.opened;
      break;
    case BreakerState::half_open:
      probes_admitted_ = 0;
      probes_succeeded_ = 0;
      std::fill(probes_.begin(), probes_.end(), Probe{});
      ++counters_.half_opened;
      break;
    case BreakerState::closed:
      reset_window();
      ++counters_.closed;
      break;
  }
  observer_.record(0, pattern_events::BreakerTransition{from, to});
}

void CircuitBreaker::record(Instant now, bool failure) {
  consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
  if (config_.trip != TripMode::failure_rate) return;
  if (config_.window == WindowKind::count_based) {
    ring_push(failure);
  } else {
    time_window_.add(now, 1, failure ? 1 : 0);
  }
}

bool CircuitBreaker::should_trip(Instant now) {
  if (config_.trip == TripMode::consecutive_failures) {
    return consecutive_failures_ >= config_.failure_threshold;
  }
  std::uint32_t calls = 0;
  std::uint32_t failures = 0;
  window_totals(now, calls, failures);
  if (calls < config_.minimum_calls || calls == 0 || failures == 0) return false;
  // A division, not rate * calls: 7/10 is exactly the double nearest 0.7,
  // whereas 0.7 * 10 is not 7, and a breaker set to 0.7 must trip at 7 of 10.
  return static_cast<double>(failures) / static_cast<double>(calls) >=
         config_.failure_rate_threshold;
}

void CircuitBreaker::reset_window() {
  consecutive_failures_ = 0;
  std::fill(ring_.begin(), ring_.end(), std::uint8_t{0});
  ring_next_ = 0;
  ring_calls_ = 0;
  ring_failures_ = 0;
  time_window_.clear();
}

void CircuitBreaker::window_totals(Instant now, std::uint32_t& calls, std::uint32_t& failures) {
  if (config_.window == WindowKind::count_based) {
    calls = ring_calls_;
    failures = ring_failures_;
    return;
  }
  calls = time_window_.calls(now);
  failures = time_window_.marked(now);
}

std::uint32_t CircuitBreaker::window_calls(Instant now) {
  std::uint32_t calls = 0;
  std::uint32_t failures = 0;
  window_totals(now, calls, failures);
  return calls;
}

std::uint32_t CircuitBreaker::window_failures(Instant now) {
  std::uint32_t calls = 0;
  std::uint32_t failures = 0;
  window_totals(now, calls, failures);
  return failures;
}

}  // namespace faultline::resilience
