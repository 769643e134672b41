// What the patterns tell the event log, and the counters each keeps. Every
// pattern records typed events in the resilience range 0x0100-0x01ff of
// runtime::EventLog, so the harness's invariant checkers can verify retries,
// timeouts, breaker states and compensations from the log rather than from
// the patterns' own say-so. Field use per kind is listed beside it
// (source = the pattern instance's interned name, subject = what the caller
// passed, usually an invoice id).
//
//   Observer obs = Observer::named(rt.log(), "ocr");   // or Observer{} for none
//   CircuitBreaker breaker(config, obs);
//   ... rt.log().events() now holds PatternEvent::breaker_transition records
//
// An Observer with no log costs one branch per would-be event: that is the
// configuration the happy-path benchmarks measure alongside the logged one.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/event_log.h"

namespace faultline::resilience {

enum class PatternEvent : std::uint16_t {
  // a = attempt number (1-based), b = 0; detail = 0
  attempt = 0x0100,
  // a = attempt number that failed, b = elapsed ns; detail = ErrorClass
  attempt_failed = 0x0101,
  // a = number of the attempt to come, b = delay before it in ns; detail = ErrorClass of the failure
  retry_scheduled = 0x0102,
  // a = attempts made; detail = ErrorClass of the last failure (or why no retry was allowed)
  retries_exhausted = 0x0103,
  // a = attempts made, b = elapsed ns since the first attempt
  call_succeeded = 0x0104,
  // a call abandoned at its limit; a = the limit in ns (an attempt's share of an overall
  // deadline when that was shorter)
  timeout = 0x0105,
  // a = from BreakerState, b = to BreakerState; detail = to BreakerState
  breaker_transition = 0x0106,
  // a call refused by the breaker; a = BreakerState at refusal
  breaker_rejected = 0x0107,
  // a probe not reported within its probe timeout, counted as a failure; a = probe generation
  breaker_probe_timeout = 0x0108,
  // a = in flight, b = queued at refusal
  bulkhead_rejected = 0x0109,
  // a retry was due but the budget refused it; a = retries in window, b = calls in window
  retry_budget_exhausted = 0x010a,
  // a = step index; detail = 0
  compensation_started = 0x010b,
  // a = step index
  compensation_succeeded = 0x010c,
  // a = step index; detail = ErrorClass
  compensation_failed = 0x010d,
  // a saga step failed and compensation begins; a = failed step index
  saga_aborted = 0x010e,
  // a = saga steps
  saga_committed = 0x010f,
  // a = sequence number in the queue, b = queue size after; detail = ErrorClass
  dead_lettered = 0x0110,
  // the queue was full; a = capacity
  dead_letter_rejected = 0x0111,
  // the queue reached its alert threshold; a = size, b = threshold
  dead_letter_alert = 0x0112,
  // a non-critical step failed and yielded its neutral default; detail = ErrorClass
  degraded = 0x0113,
  // a critical step failed and stopped the workflow; detail = ErrorClass
  critical_failure = 0x0114,
  // the fallback of a pipeline ran; detail = ErrorClass of the failure it replaced
  fallback_used = 0x0115,
  // a = new version
  checkpoint_saved = 0x0116,
  // a stale writer was refused; a = expected version, b = current version
  checkpoint_conflict = 0x0117,
};

static_assert(static_cast<std::uint16_t>(PatternEvent::attempt) >= 0x0100 &&
                  static_cast<std::uint16_t>(PatternEvent::checkpoint_conflict) <= 0x01ff,
              "resilience event kinds live in 0x0100-0x01ff");

// Where a pattern instance records: a log (or none) and its interned name.
struct Observer {
  runtime::EventLog* log = nullptr;
  std::uint32_t source = 0;

  static Observer named(runtime::EventLog& log, std::string_view name) {
    return Observer{&log, log.intern(name)};
  }
  bool enabled() const noexcept { return log != nullptr; }

  void record(PatternEvent kind, std::uint64_t subject, std::int64_t a = 0, std::int64_t b = 0,
              std::uint16_t detail = 0) const {
    if (log != nullptr) log->record(kind, source, subject, a, b, detail);
  }
};

}  // namespace faultline::resilience
