// What the patterns tell the event log, and the counters each keeps. Every
// pattern records typed events in the resilience range 0x0100-0x01ff of
// runtime::EventLog, so the harness's invariant checkers can verify retries,
// timeouts, breaker states and compensations from the log rather than from
// the patterns' own say-so. Each kind's fields are the payload struct of the
// same name in `pattern_events` (source = the pattern instance's interned
// name, subject = what the caller passed, usually an invoice id).
//
//   Observer obs = Observer::named(rt.log(), "ocr");   // or Observer{} for none
//   CircuitBreaker breaker(config, obs);
//   ... rt.log().events() now holds pattern_events::BreakerTransition records:
//   namespace pe = pattern_events;
//   if (is<pe::BreakerTransition>(e)) show(read<pe::BreakerTransition>(e).to);
//
// An Observer with no log costs one branch per would-be event: that is the
// configuration the happy-path benchmarks measure alongside the logged one.
#pragma once

#include <cstdint>
#include <string_view>

#include "resilience/outcome.h"
#include "runtime/event_log.h"

namespace faultline::resilience {

enum class PatternEvent : std::uint16_t {
  attempt = 0x0100,
  attempt_failed = 0x0101,
  retry_scheduled = 0x0102,
  retries_exhausted = 0x0103,
  call_succeeded = 0x0104,
  timeout = 0x0105,
  breaker_transition = 0x0106,
  breaker_rejected = 0x0107,
  breaker_probe_timeout = 0x0108,
  bulkhead_rejected = 0x0109,
  retry_budget_exhausted = 0x010a,
  compensation_started = 0x010b,
  compensation_succeeded = 0x010c,
  compensation_failed = 0x010d,
  saga_aborted = 0x010e,
  saga_committed = 0x010f,
  dead_lettered = 0x0110,
  dead_letter_rejected = 0x0111,
  dead_letter_alert = 0x0112,
  degraded = 0x0113,
  critical_failure = 0x0114,
  fallback_used = 0x0115,
  checkpoint_saved = 0x0116,
  checkpoint_conflict = 0x0117,
};

static_assert(static_cast<std::uint16_t>(PatternEvent::attempt) >= 0x0100 &&
                  static_cast<std::uint16_t>(PatternEvent::checkpoint_conflict) <= 0x01ff,
              "resilience event kinds live in 0x0100-0x01ff");

// Defined in circuit_breaker.h, which records through this header.
enum class BreakerState : std::uint8_t;

namespace pattern_events {

using runtime::Duration;

// A call attempt begins (1-based).
struct Attempt {
  static constexpr PatternEvent kind = PatternEvent::attempt;
  std::uint32_t attempt = 0;
  constexpr void slots(auto& s) { s.word0(attempt); }
};

struct AttemptFailed {
  static constexpr PatternEvent kind = PatternEvent::attempt_failed;
  std::uint32_t attempt = 0;
  Duration elapsed{};
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(attempt).word1(elapsed).narrow(cause); }
};

struct RetryScheduled {
  static constexpr PatternEvent kind = PatternEvent::retry_scheduled;
  std::uint32_t next_attempt = 0;
  Duration delay{};
  ErrorClass cause{};  // of the failure being retried
  constexpr void slots(auto& s) { s.word0(next_attempt).word1(delay).narrow(cause); }
};

// No further attempt: `reason` is the last failure's class, or why no retry
// was allowed (deadline_exceeded, retry_budget_exhausted).
struct RetriesExhausted {
  static constexpr PatternEvent kind = PatternEvent::retries_exhausted;
  std::uint32_t attempts = 0;
  Duration refused_delay{};  // the backoff the deadline had no room for; zero otherwise
  ErrorClass reason{};
  constexpr void slots(auto& s) { s.word0(attempts).word1(refused_delay).narrow(reason); }
};

struct CallSucceeded {
  static constexpr PatternEvent kind = PatternEvent::call_succeeded;
  std::uint32_t attempts = 0;
  Duration elapsed{};  // since the first attempt
  constexpr void slots(auto& s) { s.word0(attempts).word1(elapsed); }
};

// A call abandoned at its limit (an attempt's share of an overall deadline
// when that was shorter).
struct Timeout {
  static constexpr PatternEvent kind = PatternEvent::timeout;
  Duration limit{};
  constexpr void slots(auto& s) { s.word0(limit); }
};

// `to` is stored twice, in the narrow slot and in the second word, which
// is the one read back.
struct BreakerTransition {
  static constexpr PatternEvent kind = PatternEvent::breaker_transition;
  BreakerState from{};
  BreakerState to{};
  constexpr void slots(auto& s) { s.word0(from).narrow(to).word1(to); }
};

// A call refused by the breaker.
struct BreakerRejected {
  static constexpr PatternEvent kind = PatternEvent::breaker_rejected;
  BreakerState state{};
  constexpr void slots(auto& s) { s.word0(state); }
};

// A probe not reported within its probe timeout, counted as a failure.
struct BreakerProbeTimeout {
  static constexpr PatternEvent kind = PatternEvent::breaker_probe_timeout;
  std::uint64_t probe_generation = 0;
  constexpr void slots(auto& s) { s.word0(probe_generation); }
};

// At the refusal.
struct BulkheadRejected {
  static constexpr PatternEvent kind = PatternEvent::bulkhead_rejected;
  std::uint64_t in_flight = 0;
  std::uint64_t queued = 0;
  constexpr void slots(auto& s) { s.word0(in_flight).word1(queued); }
};

// A retry was due but the budget refused it.
struct RetryBudgetExhausted {
  static constexpr PatternEvent kind = PatternEvent::retry_budget_exhausted;
  std::uint64_t retries_in_window = 0;
  std::uint64_t calls_in_window = 0;
  constexpr void slots(auto& s) { s.word0(retries_in_window).word1(calls_in_window); }
};

template <PatternEvent K>
struct CompensationOf {
  static constexpr PatternEvent kind = K;
  std::uint64_t step = 0;
  constexpr void slots(auto& s) { s.word0(step); }
};
using CompensationStarted = CompensationOf<PatternEvent::compensation_started>;
using CompensationSucceeded = CompensationOf<PatternEvent::compensation_succeeded>;

// One try of a compensation failed. A saga that retries its compensations
// records one per failed try; the compensation succeeded if a
// CompensationSucceeded of its step follows.
struct CompensationFailed {
  static constexpr PatternEvent kind = PatternEvent::compensation_failed;
  std::uint64_t step = 0;
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(step).narrow(cause); }
};

// A saga step failed and compensation begins.
struct SagaAborted {
  static constexpr PatternEvent kind = PatternEvent::saga_aborted;
  std::uint64_t failed_step = 0;
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(failed_step).narrow(cause); }
};

struct SagaCommitted {
  static constexpr PatternEvent kind = PatternEvent::saga_committed;
  std::uint64_t steps = 0;
  constexpr void slots(auto& s) { s.word0(steps); }
};

struct DeadLettered {
  static constexpr PatternEvent kind = PatternEvent::dead_lettered;
  std::uint64_t sequence = 0;
  std::uint64_t queue_size = 0;  // after this entry
  ErrorClass reason{};
  constexpr void slots(auto& s) { s.word0(sequence).word1(queue_size).narrow(reason); }
};

// The queue was full.
struct DeadLetterRejected {
  static constexpr PatternEvent kind = PatternEvent::dead_letter_rejected;
  std::uint64_t capacity = 0;
  constexpr void slots(auto& s) { s.word0(capacity); }
};

// The queue reached its alert threshold.
struct DeadLetterAlert {
  static constexpr PatternEvent kind = PatternEvent::dead_letter_alert;
  std::uint64_t queue_size = 0;
  std::uint64_t threshold = 0;
  constexpr void slots(auto& s) { s.word0(queue_size).word1(threshold); }
};

// A non-critical step failed and yielded its neutral default.
struct Degraded {
  static constexpr PatternEvent kind = PatternEvent::degraded;
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.narrow(cause); }
};

// A critical step failed and stopped the workflow.
struct CriticalFailure {
  static constexpr PatternEvent kind = PatternEvent::critical_failure;
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.narrow(cause); }
};

// The fallback of a pipeline ran in place of a failure.
struct FallbackUsed {
  static constexpr PatternEvent kind = PatternEvent::fallback_used;
  ErrorClass replaced{};
  constexpr void slots(auto& s) { s.narrow(replaced); }
};

struct CheckpointSaved {
  static constexpr PatternEvent kind = PatternEvent::checkpoint_saved;
  std::uint64_t version = 0;  // the new one
  constexpr void slots(auto& s) { s.word0(version); }
};

// A stale writer was refused.
struct CheckpointConflict {
  static constexpr PatternEvent kind = PatternEvent::checkpoint_conflict;
  std::uint64_t expected_version = 0;
  std::uint64_t current_version = 0;
  constexpr void slots(auto& s) { s.word0(expected_version).word1(current_version); }
};

}  // namespace pattern_events

// Where a pattern instance records: a log (or none) and its interned name.
struct Observer {
  runtime::EventLog* log = nullptr;
  std::uint32_t source = 0;

  static Observer named(runtime::EventLog& log, std::string_view name) {
    return Observer{&log, log.intern(name)};
  }
  bool enabled() const noexcept { return log != nullptr; }

  template <runtime::EventPayload P>
  void record(std::uint64_t subject, const P& payload) const {
    if (log != nullptr) log->record(source, subject, payload);
  }
};

}  // namespace faultline::resilience
