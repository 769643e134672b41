// Each SLO check of the article's alert table made to fail by a run that
// breaks it (and to hold just inside its threshold): the SLOs are checks
// like the invariants, and each clause is proven able to fail.
#include <gtest/gtest.h>

#include "harness/checks/slo.h"
#include "reference_system/events.h"
#include "resilience/events.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
using namespace std::chrono_literals;
using runtime::Event;
using runtime::Instant;

class SloRun {
 public:
  SloRun() {
    in_.metrics = &metrics_;
    in_.log = &log_;
    in_.start = Instant{};
    in_.end = Instant{} + 30min;
    in_.success_rate = 0.99;
    in_.submitted = 300;
    expect_.success_rate_min = 0.95;
  }
  template <runtime::EventPayload P>
  void add(runtime::Duration t, std::string_view source, const P& payload) {
    log_.append(runtime::make_event(Instant{} + t, log_.intern(source), 0, payload));
  }
  const reports::SloResult& slo(std::string_view name) {
    results_ = check_slos(expect_, in_);
    for (const auto& r : results_) {
      if (r.name == name) return r;
    }
    ADD_FAILURE() << "no SLO named " << name;
    static const reports::SloResult none;
    return none;
  }
  rs::SystemMetrics& metrics() { return metrics_; }
  SloInputs& in() { return in_; }
  Expectations& expect() { return expect_; }

 private:
  runtime::EventLog log_;
  rs::SystemMetrics metrics_;
  SloInputs in_;
  Expectations expect_;
  std::vector<reports::SloResult> results_;
};

TEST(Slo, AnAgentErrorRateOverItsThreshold) {
  SloRun run;
  auto& ocr = run.metrics().agents[static_cast<std::size_t>(rs::AgentId::ocr)];
  ocr.step_attempts = 100;
  ocr.step_failures = 5;
  EXPECT_TRUE(run.slo("error_rate.ocr").passed);  // 5% is at the bound
  ocr.step_failures = 6;
  const auto& r = run.slo("error_rate.ocr");
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.observed, 0.06);
}

TEST(Slo, AP99MoreThanTwiceTheBaselines) {
  SloRun run;
  for (int i = 0; i < 100; ++i) run.metrics().end_to_end.record(10s);
  reports::Baseline base;
  base.p99 = 10s;
  run.in().baseline = base;
  EXPECT_TRUE(run.slo("p99_vs_baseline").passed);
  for (int i = 0; i < 100; ++i) run.metrics().end_to_end.record(60s);
  const auto& r = run.slo("p99_vs_baseline");
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.observed, 2.0);
}

TEST(Slo, MoreThanOneCircuitOpenAtOnce) {
  SloRun run;
  using resilience::pattern_events::BreakerTransition;
  constexpr auto open = resilience::BreakerState::open;
  constexpr auto closed = resilience::BreakerState::closed;
  run.add(1min, "ocr_engine", BreakerTransition{closed, open});
  run.add(2min, "ocr_engine", BreakerTransition{open, closed});
  run.add(3min, "ledger", BreakerTransition{closed, open});
  EXPECT_TRUE(run.slo("open_circuits").passed);  // one at a time
  run.add(4min, "po_database", BreakerTransition{closed, open});
  const auto& r = run.slo("open_circuits");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed, 2.0);
}

TEST(Slo, ADeadLetterQueueOverItsBound) {
  SloRun run;
  run.add(1min, "orchestrator", rs::system_events::DeadLettered{100});
  EXPECT_TRUE(run.slo("dlq_size").passed);
  run.add(2min, "orchestrator", rs::system_events::DeadLettered{101});
  EXPECT_FALSE(run.slo("dlq_size").passed);

  SloRun held;  // the queue's size at the end counts too
  held.metrics().dead_letter_size = 150;
  EXPECT_FALSE(held.slo("dlq_size").passed);
}

TEST(Slo, MoreRetriesInOneMinuteThanAllowed) {
  SloRun run;
  using resilience::pattern_events::RetryScheduled;
  for (int i = 0; i < 50; ++i) run.add(1min + std::chrono::seconds(i), "ocr_engine", RetryScheduled{2, 1s});
  EXPECT_TRUE(run.slo("retries_per_minute").passed);
  run.add(1min + 59s, "ocr_engine", RetryScheduled{2, 1s});
  const auto& r = run.slo("retries_per_minute");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed, 51.0);
}

TEST(Slo, ASuccessRateUnderTheScenariosTarget) {
  SloRun run;
  EXPECT_TRUE(run.slo("success_rate").passed);
  run.in().success_rate = 0.90;
  const auto& r = run.slo("success_rate");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("breaks"), std::string::npos) << r.message;
}

// Over no invoice the rate measures nothing: the SLO is left out (the
// verdict says the workload submitted nothing), not failed at 0 of 0.
TEST(Slo, NoSuccessRateOverNoInvoice) {
  SloRun run;
  run.in().success_rate = 0;
  run.in().submitted = 0;
  for (const auto& r : check_slos(run.expect(), run.in())) EXPECT_NE(r.name, "success_rate");
}

}  // namespace
}  // namespace faultline::harness
