// The invariant checkers: the eleven recovery invariants of DESIGN.md,
// decided from evidence the harness gathered itself (its probes' records in
// the event log, the fault injectors' records) and from the stores (ledger,
// budget, dead-letter and review queues), never from what the agents say
// about themselves. The system's own outcome and metric events are used only
// to be checked against that evidence (conservation, visibility).
//
//   Evidence ev = ...;                       // filled by the engine, or by a test
//   auto results = check_invariants(ev, {"conservation", "exactly_once"});
//   // results[i].passed, .message ("invoice 42: ..."), .evidence (log lines)
//
// The checkers live in harness/checks/ (checkers.h says which file reads
// which evidence). A failed result names the invariant, the first offending
// invoice or call, and up to kEvidenceLines event-log lines that show it.
//
// How each is decided ("probe" = the harness's own call records, probe.h):
//   conservation     per invoice id, every submission the harness made (its
//                    own submit records) is found in exactly one place at the
//                    end: a refusal submit() returned to the harness, the
//                    ledger (a live entry), the dead-letter queue's store, the
//                    review queue or the rejection records. Found nowhere is
//                    lost; still in the inbox after the drain is in flight;
//                    both fail. The system's outcome events are checked
//                    against the stores (no more outcomes than accepted
//                    submissions; an invoice said posted or dead-lettered is
//                    in the ledger or the dead-letter store).
//   exactly_once     the ledger store holds at most one live entry per
//                    invoice, with the posted amount; posted invoices hold a
//                    budget reservation, the others hold neither (saga
//                    committed or compensated); ledger total == posted total.
//   bounded_retries  probe calls per (service, invoice, operation) <= service
//                    attempts x step attempts x runs (1 + restarts of the
//                    owning agent + duplicate deliveries + resubmissions); a
//                    retry after a failure waits at least the shortest delay
//                    the policy's schedule and jitter allow.
//   timeouts         every probe call ended (answered or abandoned) within its
//                    service timeout; a call still open at the end outlived it.
//   circuit_breaker  no probe call while the service's breaker is open, at
//                    most half_open_probes while half-open; a consecutive-
//                    failure breaker is open before the call after its
//                    threshold-th failure in a row; a fault that made
//                    >= threshold calls fail opened it; closed again at the end
//                    when the last fault left it time; a service that failed
//                    under a fault with no breaker at all is a violation.
//   resumption       no second notification; no call to a step's service after
//                    the workflow checkpointed that step complete; without any
//                    checkpoint store, a call answered before a crash and
//                    made again after it (work started over).
//   degradation      posted_degraded carries no PO (never an invented match);
//                    nothing posted when every OCR call failed; nothing
//                    posted as fully matched when every PO lookup failed.
//   validation       corrupted input (the harness knows which) is never posted
//                    unless its mode can leave a truthful document, and then
//                    only at its true amount; no task died of an exception.
//   visibility       the metrics count at least the failed answers the probes
//                    saw per service and every outcome the log shows; the
//                    dead-letter invoices the system reports (its outcome
//                    events, its dead_letter_size) are the ones its store
//                    holds, and the review queue's size the one it reports.
//   saturation       sampled in-flight invoices (the inbox) and live tasks
//                    stay under the policy's bounds, queue samples under each
//                    topic's bound; submissions refused to the harness and
//                    publishes refused by the bus are counted in the metrics.
//   recovery_time    time to recover: from a fault's end to the first moment
//                    t from which the next recovery_window (1 min) of terminal
//                    outcomes has a throughput and a success rate of at least
//                    recovered_share of the fault-free baseline's over the
//                    same window, t stepped every recovery_step (5 s) from
//                    event timestamps; it must not exceed recovery_time_max.
//                    Time to detect (reported, not judged): from a fault's
//                    start to the system's first reaction attributable to it
//                    (recovery.cpp lists them), up to a window after its end.
// A checker with nothing to examine (no faults for recovery_time, no policy,
// no calls, a breaker nothing exercised) is marked skipped, not passed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault.h"
#include "reference_system/metrics.h"
#include "reference_system/policy.h"
#include "reports/result.h"
#include "runtime/event_log.h"

namespace faultline::harness {

inline constexpr std::size_t kEvidenceLines = 12;

struct LedgerRecord {
  std::uint64_t invoice_id = 0;
  std::int64_t amount_cents = 0;
  std::uint64_t po_number = 0;
  bool reversed = false;
};

// One terminal outcome: when (since the run's start) and whether it succeeded.
struct OutcomePoint {
  runtime::Duration at{};
  bool success = false;
};

// What the engine gathered; a test can build one by hand.
struct Evidence {
  const runtime::EventLog* log = nullptr;
  runtime::Instant start{};
  runtime::Instant workload_end{};
  runtime::Instant end{};
  const reference_system::Policy* policy = nullptr;
  std::vector<faults::FaultSpec> faults;  // as scheduled (times since start)
  std::vector<std::uint64_t> fault_touches;  // per fault

  // Stores, read at the end of the run.
  std::vector<LedgerRecord> ledger;
  std::vector<std::uint64_t> budget_held;  // invoices holding a budget reservation
  // Where each accepted invoice ended up, one id per entry: the dead-letter
  // queue's entries as listed from its store (not its own word), the
  // manual-review queue, the rejection records, and the durable inbox
  // (accepted, no terminal outcome: parked or unfinished).
  std::vector<std::uint64_t> dead_letter_ids;
  std::vector<std::uint64_t> manual_review_ids;
  std::vector<std::uint64_t> rejected_ids;
  std::vector<std::uint64_t> in_flight_ids;
  // Set when a store could not be read at the end: nothing can be reconciled.
  std::optional<std::string> stores_unreadable;
  // The system's own metrics, to be checked against the evidence.
  const reference_system::SystemMetrics* metrics = nullptr;

  // The fault-free baseline's terminal outcomes (same scenario and seed,
  // faults removed), in time order. Recovery compares the run with it over
  // a sliding window, evaluated every recovery_step from event timestamps:
  // its resolution does not depend on how long the scenario runs.
  std::vector<OutcomePoint> baseline_outcomes;
  runtime::Duration recovery_window = std::chrono::minutes(1);
  runtime::Duration recovery_step = std::chrono::seconds(5);
  // Within tolerance: the window's throughput and success rate at this
  // share of the baseline's over the same window.
  double recovered_share = 0.8;
  runtime::Duration recovery_time_max = std::chrono::minutes(10);

  // Bounds for the saturation invariant.
  std::uint64_t live_tasks_bound = 0;  // 0: derived from the policy
  // Publishes the bus fault injector made itself that a full queue refused
  // (the log shows them as refusals; the system never made them).
  std::uint64_t injected_refusals = 0;

  // The run itself went wrong (an exception escaped, a safety limit hit).
  std::optional<std::string> harness_failure;
};

// Per fault, what the checkers measured (for the report's fault windows).
struct FaultMeasure {
  std::optional<runtime::Duration> time_to_detect;
  std::optional<runtime::Duration> time_to_recover;
};

struct InvariantReport {
  std::vector<reports::InvariantResult> results;
  std::vector<FaultMeasure> faults;  // one per Evidence::faults entry
  reports::OutcomeCounts outcomes;   // reconcile_outcomes(), whichever checkers ran
};

// Runs the checkers named in `ids` (all when empty), in the order of
// harness::invariant_ids().
[[nodiscard]] InvariantReport check_invariants(const Evidence& evidence, const std::vector<std::string>& ids);

// Where the harness found each submission at the end (conservation's
// reconciliation, shared with the report). Per invoice id, each submission is
// matched with one place: first the refusals the submitter was told about
// (HarnessEvent::refused), then the inbox (still in flight), then one store (ledger,
// manual review, dead-letter queue, rejection records, in that order); a
// submission matched with nothing is lost. So submitted == posted +
// posted_degraded + rejected_invalid + dead_lettered + manual_review +
// refused + lost + in_flight. posted and posted_degraded split the ledger's
// invoices by the system's outcome event (degraded only if it said so).
[[nodiscard]] reports::OutcomeCounts reconcile_outcomes(const Evidence& evidence);

// One event as a line a person can read: "t=12.500s ledger_posted ledger invoice=42 a=1250 b=1 d=0".
std::string describe_event(const runtime::EventLog& log, const runtime::Event& e, runtime::Instant start);
// The name of an event kind of any layer ("call_begin", "breaker_transition", ...).
std::string kind_name(std::uint16_t kind);

// A run's terminal outcomes in time order, from its outcome events (for baselines).
std::vector<OutcomePoint> outcome_points(const runtime::EventLog& log, runtime::Instant start);

}  // namespace faultline::harness
