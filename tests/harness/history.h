// The History builder the checker tests share: a hand-written event log and
// stores of what a system did, as the probes and the system would have
// logged it, to hand a checker a doctored history and watch it fail.
#pragma once

#include <gtest/gtest.h>

#include "harness/invariants.h"
#include "harness/probe.h"
#include "harness/scenario.h"
#include "reference_system/events.h"
#include "resilience/events.h"

namespace faultline::harness::test_history {

namespace rs = reference_system;
using namespace std::chrono_literals;
using runtime::Event;
using runtime::Instant;

constexpr Instant at(runtime::Duration d) { return Instant{} + d; }

// A hand-written history: what a system did, as the probes and the system
// would have logged it.
class History {
 public:
  History() {
    policy_ = rs::naive_policy();
    ev_.log = &log_;
    ev_.policy = &policy_;
    ev_.start = at(0s);
    ev_.workload_end = at(10min);
    ev_.end = at(15min);
    ev_.metrics = &metrics_;
  }
  // The evidence points into the history itself.
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // One event at `t` (from the start), as `source` would have recorded it.
  template <runtime::EventPayload P>
  void add(runtime::Duration t, std::string_view source, std::uint64_t subject, const P& payload) {
    log_.append(runtime::make_event(at(t), log_.intern(source), subject, payload));
  }

  // An invoice that went through cleanly: submitted, one call to each
  // service, posted to the ledger, counted in the metrics.
  void clean_invoice(std::uint64_t id, runtime::Duration t, std::int64_t cents = 10'000) {
    add(t, "", id, harness_events::Submitted{cents});
    call(t + 1s, "ocr_engine", id, rs::ServiceOp::recognize, 2s);
    call(t + 4s, "po_database", id, rs::ServiceOp::po_lookup, 100ms);
    call(t + 5s, "budget_service", id, rs::ServiceOp::budget_reserve, 50ms);
    call(t + 6s, "ledger", id, rs::ServiceOp::ledger_post, 120ms);
    call(t + 7s, "notifier", id, rs::ServiceOp::notify, 40ms);
    add(t + 8s, "orchestrator", id, rs::system_events::TerminalOutcome{rs::InvoiceOutcome::posted, 8s, cents});
    ev_.ledger.push_back(LedgerRecord{id, cents, 7, false});
    ev_.budget_held.push_back(id);
    ++metrics_.outcomes[0];
  }

  // An invoice whose retries ran out: the system says dead_lettered; the
  // queue's store holds it unless `in_store` is false (a queue that dropped it).
  void dead_lettered_invoice(std::uint64_t id, runtime::Duration t, bool in_store = true) {
    add(t, "", id, harness_events::Submitted{500});
    add(t + 30s, "orchestrator", id, rs::system_events::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 30s, 500});
    ++metrics_.outcomes[3];
    if (in_store) {
      ev_.dead_letter_ids.push_back(id);
      ++metrics_.dead_letter_size;
    }
  }

  // One call as the probes record it, failed if it has a failure class.
  void call(runtime::Duration t, std::string_view service, std::uint64_t invoice, rs::ServiceOp op,
            runtime::Duration latency, std::optional<resilience::ErrorClass> failure = std::nullopt) {
    const auto id = ++call_id_;
    add(t, service, invoice, harness_events::CallBegin{id, op});
    add(t + latency, service, invoice, harness_events::CallEnd{id, latency, failure});
    if (failure) ++metrics_.services[service_index(service)].errors;
  }

  static std::size_t service_index(std::string_view name) {
    constexpr std::array<std::string_view, 6> names = {"ocr_engine",     "backup_ocr", "po_database",
                                                       "budget_service", "ledger",     "notifier"};
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return i;
    }
    return 0;
  }

  reports::InvariantResult check(const std::string& id) {
    auto report = check_invariants(ev_, {id});
    EXPECT_EQ(report.results.size(), 1u);
    return report.results.front();
  }
  InvariantReport check_all(const std::string& id) { return check_invariants(ev_, {id}); }

  // A fault of `kind` on `target` over [start, start + duration), touched once.
  faults::FaultSpec& fault(faults::FaultKind kind, std::string_view target, runtime::Duration start,
                           runtime::Duration duration) {
    faults::FaultSpec f;
    f.kind = kind;
    f.target = std::string(target);
    f.start = start;
    f.duration = duration;
    ev_.faults.push_back(f);
    ev_.fault_touches.push_back(1);
    return ev_.faults.back();
  }

  Evidence& evidence() { return ev_; }
  const runtime::EventLog& log() const { return log_; }
  rs::Policy& policy() { return policy_; }
  rs::SystemMetrics& metrics() { return metrics_; }

 private:
  runtime::EventLog log_;
  rs::Policy policy_;
  rs::SystemMetrics metrics_;
  Evidence ev_;
  std::uint64_t call_id_ = 0;
};

// A checker result that failed, with `clause` in its message.
inline void expect_clause(const reports::InvariantResult& r, std::string_view clause) {
  EXPECT_TRUE(r.failed()) << r.id << " passed: " << r.message;
  EXPECT_NE(r.message.find(clause), std::string::npos) << r.message;
}

}  // namespace faultline::harness::test_history
