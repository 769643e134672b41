// The circuit breaker: closed, open, half-open. While closed it watches
// outcomes and trips on N consecutive failures or on a failure rate over a
// sliding window (count- or time-based) once the window holds a minimum
// number of calls; a call slower than the slow-call threshold counts as a
// failure. While open it refuses calls (a value, Failure{circuit_open}, never
// an exception) until the open duration has passed; then it lets a set number
// of probes through (half-open). Any failed probe reopens it; once every
// probe has succeeded it closes. A probe not reported within its probe
// timeout counts as a failure, so the breaker can never hang half-open.
//
//   CircuitBreakerConfig config;              // or load_circuit_breaker(json)
//   config.trip = TripMode::failure_rate;
//   config.failure_rate_threshold = 0.5;
//   config.window = WindowKind::count_based; config.window_calls = 20;
//   config.minimum_calls = 10;
//   CircuitBreaker breaker(config, Observer::named(rt.log(), "po-db"));
//
//   // Coroutine form: no frame of its own (an awaiter).
//   Outcome<Match> m = co_await breaker.call(rt, [&] { return po_db.match(invoice); }, id);
//
//   // Synchronous form, for any call the caller makes itself:
//   if (auto permit = breaker.try_acquire(rt.now())) {
//     Outcome<Match> m = ...;                  // make the call
//     breaker.on_result(permit, rt.now(), m.ok() ? nullptr : &m.failure());
//   } else {
//     ...                                      // refused: the circuit is open
//   }
//
// Time is whatever `now` the caller passes (the runtime's clock), so the
// state machine is deterministic and testable step by step. Transitions from
// open to half-open, and probe timeouts, are noticed on the next call (or
// state(now)); each transition is recorded as a breaker_transition event.
//
// Results are matched to the state they were admitted in: a late result of
// a call admitted before the last transition is ignored, so a slow call from
// the closed period cannot close a half-open breaker.
//
// Failure classes: by default transient, timeout, rate_limited and permanent
// count as failures; business errors (the request was bad, the service was
// fine) count as successes, as does any class outside failure_classes. An
// operation that throws (a broken contract: failures are values) counts as
// a failure in the coroutine form before the exception propagates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/internal/time_window.h"
#include "resilience/outcome.h"
#include "resilience/timeout.h"
#include "runtime/runtime.h"

namespace faultline::resilience {

enum class BreakerState : std::uint8_t { closed = 0, open = 1, half_open = 2 };
enum class TripMode : std::uint8_t { consecutive_failures, failure_rate };
enum class WindowKind : std::uint8_t { count_based, time_based };

std::string_view to_string(BreakerState s) noexcept;
std::string_view to_string(TripMode m) noexcept;
std::string_view to_string(WindowKind k) noexcept;

inline constexpr ErrorClassSet kBreakerFailuresByDefault{
    ErrorClass::transient, ErrorClass::timeout, ErrorClass::rate_limited, ErrorClass::permanent};

struct CircuitBreakerConfig {
  TripMode trip = TripMode::consecutive_failures;
  std::uint32_t failure_threshold = 5;  // consecutive_failures: failures in a row that trip it
  double failure_rate_threshold = 0.5;  // failure_rate: trips at a rate >= this, in (0, 1]
  WindowKind window = WindowKind::count_based;  // failure_rate only
  std::uint32_t window_calls = 20;              // count_based: the last N calls
  Duration window_duration = std::chrono::seconds(10);  // time_based: the last T (10 buckets)
  std::uint32_t minimum_calls = 10;  // failure_rate: no verdict on fewer calls in the window
  Duration slow_call_threshold = Duration::zero();  // zero: no slow-call rule
  Duration open_duration = std::chrono::seconds(30);
  std::uint32_t half_open_probes = 1;
  Duration probe_timeout = std::chrono::seconds(10);  // above zero
  ErrorClassSet failure_classes = kBreakerFailuresByDefault;
};
// Refuses: failure_threshold 0, a rate outside (0, 1], window_calls 0, a
// time window of zero, minimum_calls 0 or (count window) above window_calls,
// half_open_probes 0, a negative duration, probe_timeout 0.
std::optional<ConfigProblem> check(const CircuitBreakerConfig& config);

struct BreakerCounters {
  std::uint64_t admitted = 0;      // calls let through (probes included)
  std::uint64_t rejected = 0;      // calls refused while open or with every probe out
  std::uint64_t successes = 0;     // results counted as success
  std::uint64_t failures = 0;      // results counted as failure (slow calls included)
  std::uint64_t slow_calls = 0;    // successes turned failures by the slow-call rule
  std::uint64_t probe_timeouts = 0;
  std::uint64_t stale_results = 0;  // results of calls admitted before a transition, ignored
  std::uint64_t opened = 0;
  std::uint64_t half_opened = 0;
  std::uint64_t closed = 0;
};

class CircuitBreaker {
 public:
  // What try_acquire hands out; give it back to on_result.
  struct Permit {
    bool admitted = false;
    bool probe = false;
    std::uint32_t probe_slot = 0;
    std::uint64_t generation = 0;  // the state period it was admitted in
    Instant started{};
    explicit operator bool() const noexcept { return admitted; }
  };

  // Asserts that check(config) finds nothing.
  explicit CircuitBreaker(CircuitBreakerConfig config, Observer observer = {});

  // Admit or refuse a call at `now`. The closed-state path is inline and
  // touches two counters; everything else is out of line.
  // `subject` (an invoice id) goes into the breaker_rejected event.
  [[nodiscard]] Permit try_acquire(Instant now, std::uint64_t subject = 0) {
    if (state_ == BreakerState::closed) [[likely]] {
      ++counters_.admitted;
      return Permit{true, false, 0, generation_, now};
    }
    return try_acquire_slow(now, subject);
  }
  // The result of an admitted call: `failure` null for a success.
  void on_result(const Permit& permit, Instant now, const Failure* failure) {
    if (state_ == BreakerState::closed && permit.generation == generation_ &&
        failure == nullptr &&
        (config_.slow_call_threshold <= Duration::zero() ||
         now - permit.started <= config_.slow_call_threshold)) [[likely]] {
      // A success while closed: a success can trip a rate breaker only if
      // the window holds failures, so a healthy window costs no division.
      ++counters_.successes;
      consecutive_failures_ = 0;
      if (config_.trip == TripMode::consecutive_failures) return;
      if (config_.window == WindowKind::count_based) {
        ring_push(false);
        if (ring_failures_ != 0 && should_trip(now)) transition(BreakerState::open, now);
        return;
      }
      time_window_.add(now, 1, 0);
      if (time_window_.marked_so_far() != 0 && should_trip(now)) transition(BreakerState::open, now);
      return;
    }
    on_result_slow(permit, now, failure);
  }
  void on_success(const Permit& permit, Instant now) { on_result(permit, now, nullptr); }
  void on_failure(const Permit& permit, Instant now, const Failure& failure) {
    on_result(permit, now, &failure);
  }

  // The state at `now`, applying due transitions (open -> half-open, probe timeouts).
  BreakerState state(Instant now);
  // The state as of the last call, without advancing time.
  BreakerState last_state() const noexcept { return state_; }
  const BreakerCounters& counters() const noexcept { return counters_; }
  const CircuitBreakerConfig& config() const noexcept { return config_; }
  Duration probe_timeout() const noexcept { return config_.probe_timeout; }
  // Calls and failures in the current window (failure_rate mode).
  std::uint32_t window_calls(Instant now);
  std::uint32_t window_failures(Instant now);
  std::uint32_t consecutive_failures() const noexcept { return consecutive_failures_; }
  // When an open breaker lets its first probe through.
  Instant open_until() const noexcept { return open_until_; }

  // Forces a state (an operator's manual override; recorded as a transition).
  void force(BreakerState to, Instant now);

  // Guards `op()` (a Task<Outcome<T>>): refused calls give
  // Failure{circuit_open} without calling op; probes run under the probe
  // timeout. Returns an awaiter (no coroutine frame of its own).
  template <class Op>
  detail::GuardedCall<Op, CircuitBreaker> call(runtime::Runtime& rt, Op op,
                                               std::uint64_t subject = 0) {
    return detail::GuardedCall<Op, CircuitBreaker>(rt, std::move(op), this, nullptr,
                                                   Duration::zero(), subject);
  }
  // The same with a per-attempt time limit, counted on `timeout` (may be null).
  template <class Op>
  detail::GuardedCall<Op, CircuitBreaker> call_within(runtime::Runtime& rt, Op op, Duration limit,
                                                      Timeout* timeout,
                                                      std::uint64_t subject = 0) {
    if (timeout != nullptr) timeout->count_call();
    return detail::GuardedCall<Op, CircuitBreaker>(rt, std::move(op), this, timeout, limit,
                                                   subject);
  }

 private:
  Permit try_acquire_slow(Instant now, std::uint64_t subject);
  void on_result_slow(const Permit& permit, Instant now, const Failure* failure);
  void transition(BreakerState to, Instant now);
  void advance(Instant now);  // open -> half_open when due; probe timeouts
  void record(Instant now, bool failure);
  void ring_push(bool failure) noexcept {
    const auto size = static_cast<std::uint32_t>(ring_.size());
    if (ring_calls_ == size) {
      ring_failures_ -= ring_[ring_next_];
    } else {
      ++ring_calls_;
    }
    ring_[ring_next_] = failure ? 1 : 0;
    ring_failures_ += failure ? 1 : 0;
    ring_next_ = ring_next_ + 1 == size ? 0 : ring_next_ + 1;
  }
  bool should_trip(Instant now);
  void reset_window();

  void window_totals(Instant now, std::uint32_t& calls, std::uint32_t& failures);

  CircuitBreakerConfig config_;
  Observer observer_;
  BreakerState state_ = BreakerState::closed;
  std::uint64_t generation_ = 1;
  Instant open_until_{};
  std::uint32_t consecutive_failures_ = 0;

  // count_based window: a ring of the last window_calls outcomes.
  std::vector<std::uint8_t> ring_;
  std::uint32_t ring_next_ = 0;
  std::uint32_t ring_calls_ = 0;
  std::uint32_t ring_failures_ = 0;
  // time_based window: calls and failures over the last window_duration.
  internal::TimeWindow<std::uint32_t> time_window_;

  // half-open probes, one slot each.
  struct Probe {
    bool outstanding = false;
    Instant started{};
  };
  std::vector<Probe> probes_;
  std::uint32_t probes_admitted_ = 0;
  std::uint32_t probes_succeeded_ = 0;

  BreakerCounters counters_;
};

}  // namespace faultline::resilience
