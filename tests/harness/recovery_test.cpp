// Time to recover and time to detect, on synthetic histories whose answer
// is known: recovery is measured from event timestamps over a sliding
// window, at a resolution that does not change with the run's length, and
// detection is the system's first reaction attributable to the fault, never
// the fault itself or a failure it caused.
#include <gtest/gtest.h>

#include "faults/injector.h"
#include "harness/invariants.h"
#include "tests/harness/history.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
namespace he = harness_events;
namespace se = reference_system::system_events;
namespace pe = resilience::pattern_events;
using S = resilience::BreakerState;
using namespace std::chrono_literals;
using test_history::History;

constexpr auto kPosted = rs::InvoiceOutcome::posted;
constexpr auto kDeadLettered = rs::InvoiceOutcome::dead_lettered;

// The fault-free baseline: one invoice posted every 6 s for the whole run.
void steady_baseline(History& h, runtime::Duration until) {
  for (runtime::Duration t = 6s; t < until; t += 6s) h.evidence().baseline_outcomes.push_back({t, true});
}

// The faulty run: one invoice every 6 s, each ending as `ends(t)` says.
template <class F>
void run_outcomes(History& h, runtime::Duration until, F ends) {
  std::uint64_t id = 1;
  for (runtime::Duration t = 6s; t < until; t += 6s, ++id) {
    h.add(t, "orchestrator", id, se::TerminalOutcome{ends(t), 0s, 100});
  }
}

// An outage of the ledger from 1 min to 3 min; invoices fail from its start
// until 90 s after its end, then post again.
void recovers_90s_after(History& h, runtime::Duration run_end) {
  h.evidence().end = h.evidence().start + run_end;
  h.fault(faults::FaultKind::outage, "ledger", 1min, 2min);
  steady_baseline(h, 15min);
  run_outcomes(h, 15min, [](runtime::Duration t) { return t >= 1min && t < 3min + 90s ? kDeadLettered : kPosted; });
}

TEST(RecoveryTime, ASyntheticNinetySecondRecoveryReadsNinetySecondsWithinTheWindow) {
  History h;
  recovers_90s_after(h, 15min);
  const auto report = h.check_all("recovery_time");
  ASSERT_EQ(report.faults.size(), 1u);
  ASSERT_TRUE(report.faults[0].time_to_recover.has_value());
  const auto read = *report.faults[0].time_to_recover;
  const auto window = h.evidence().recovery_window;
  EXPECT_GE(read, 90s - window);
  EXPECT_LE(read, 90s + window);
  // The first 5 s step whose next minute is 80% recovered: 8 of 10 posted.
  EXPECT_EQ(read, 75s);
  EXPECT_TRUE(report.results.front().passed) << report.results.front().message;
}

TEST(RecoveryTime, ReadsTheSameWhateverTheRunsLength) {
  History a, b;
  recovers_90s_after(a, 15min);
  recovers_90s_after(b, 100h);
  const auto short_run = a.check_all("recovery_time");
  const auto long_run = b.check_all("recovery_time");
  ASSERT_TRUE(short_run.faults[0].time_to_recover.has_value());
  ASSERT_TRUE(long_run.faults[0].time_to_recover.has_value());
  EXPECT_EQ(*short_run.faults[0].time_to_recover, *long_run.faults[0].time_to_recover);
}

TEST(RecoveryTime, AFaultThatHurtNothingRecoversAtOnce) {
  History h;
  h.fault(faults::FaultKind::latency, "ocr_engine", 1min, 2min);
  steady_baseline(h, 15min);
  run_outcomes(h, 15min, [](runtime::Duration) { return kPosted; });
  const auto report = h.check_all("recovery_time");
  ASSERT_TRUE(report.faults[0].time_to_recover.has_value());
  EXPECT_EQ(*report.faults[0].time_to_recover, 0s);
}

TEST(RecoveryTime, CatchesARecoverySlowerThanTheScenarioAllows) {
  History h;
  recovers_90s_after(h, 15min);
  h.evidence().recovery_time_max = 1min;
  const auto report = h.check_all("recovery_time");
  const auto& r = report.results.front();
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.message.find("fault 0 (outage on ledger) took 75s to recover, the scenario allows 1m"),
            std::string::npos)
      << r.message;
  ASSERT_TRUE(report.faults[0].time_to_recover.has_value());  // measured, and too slow
}

TEST(RecoveryTime, CatchesASuccessRateThatNeverComesBack) {
  History h;
  h.fault(faults::FaultKind::outage, "ledger", 1min, 2min);
  steady_baseline(h, 15min);
  // Throughput is back (every invoice ends), but two in three fail.
  std::uint64_t n = 0;
  run_outcomes(h, 15min, [&](runtime::Duration t) { return t < 1min || ++n % 3 == 0 ? kPosted : kDeadLettered; });
  const auto report = h.check_all("recovery_time");
  EXPECT_TRUE(report.results.front().failed());
  EXPECT_NE(report.results.front().message.find("never returned"), std::string::npos) << report.results.front().message;
  EXPECT_FALSE(report.faults[0].time_to_recover.has_value());
}

TEST(RecoveryTime, CatchesAThroughputThatNeverComesBack) {
  History h;
  h.fault(faults::FaultKind::outage, "ledger", 1min, 2min);
  steady_baseline(h, 15min);
  // Every invoice that ends is posted, but only one in three ever ends.
  std::uint64_t id = 1;
  for (runtime::Duration t = 18s; t < 15min; t += 18s) h.add(t, "orchestrator", id++, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});
  const auto report = h.check_all("recovery_time");
  EXPECT_TRUE(report.results.front().failed());
  EXPECT_FALSE(report.faults[0].time_to_recover.has_value());
}

TEST(RecoveryTime, IsSkippedWithoutFaultsOrWithoutABaseline) {
  History h;
  h.clean_invoice(1, 1min);
  auto r = h.check("recovery_time");
  EXPECT_TRUE(r.skipped);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("no faults scheduled"), std::string::npos) << r.message;

  h.fault(faults::FaultKind::outage, "ledger", 1min, 2min);  // but the baseline completed nothing
  r = h.check("recovery_time");
  EXPECT_TRUE(r.skipped);
  EXPECT_NE(r.message.find("baseline completed no invoice"), std::string::npos) << r.message;
}

// ---- time to detect ----

runtime::Duration detected(History& h) {
  const auto report = h.check_all("recovery_time");
  EXPECT_EQ(report.faults.size(), 1u);
  return report.faults.at(0).time_to_detect.value_or(-1s);
}

TEST(TimeToDetect, AFailedCallOrAFailedInvoiceIsNotDetection) {
  History h;
  h.fault(faults::FaultKind::outage, "ocr_engine", 1min, 2min);
  h.add(1min, "", 1, he::Submitted{100});
  h.call(1min + 1s, "ocr_engine", 1, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);  // the fault striking
  h.add(1min + 3s, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 100});
  EXPECT_EQ(detected(h), -1s) << "a failure the fault caused is not the system noticing it";
}

TEST(TimeToDetect, IsTheTargetsFirstBreakerOpeningRetryOrFallback) {
  History h;
  h.fault(faults::FaultKind::outage, "ocr_engine", 1min, 2min);
  h.add(30s, "ocr_engine", 1, pe::RetryScheduled{2, 1s});  // before the fault
  h.call(1min + 1s, "ocr_engine", 2, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);
  h.add(1min + 4s, "po_database", 2, pe::RetryScheduled{2, 0s});       // another service
  h.add(1min + 5s, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::half_open});  // half-open is not open: no
  h.add(1min + 7s, "ocr_engine", 2, pe::RetryScheduled{2, 0s});
  EXPECT_EQ(detected(h), 7s);

  History g;
  g.fault(faults::FaultKind::hang, "ocr_engine", 1min, 2min);
  g.add(1min + 40s, "ocr", 3, se::OcrFallback{resilience::ErrorClass::timeout});
  g.add(1min + 50s, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});
  EXPECT_EQ(detected(g), 40s);

  History b;  // the breaker opening
  b.fault(faults::FaultKind::error, "ledger", 1min, 2min);
  b.add(1min + 12s, "ledger", 0, pe::BreakerTransition{S::closed, S::open});
  EXPECT_EQ(detected(b), 12s);
}

TEST(TimeToDetect, ACrashIsDetectedByTheOrchestratorOrTheRestartNotByItself) {
  History h;
  h.fault(faults::FaultKind::crash, "accounting", 2min, 5min);
  h.add(2min, "accounting", 0, se::AgentStopped{3});  // the crash itself
  h.add(2min + 45s, "step/accounting", 7, pe::RetryScheduled{2, 0s});
  h.add(7min, "accounting", 0, se::AgentStarted{2});
  EXPECT_EQ(detected(h), 45s);

  History g;  // nothing noticed until the agent was started again
  g.fault(faults::FaultKind::crash, "accounting", 2min, 5min);
  g.add(2min, "accounting", 0, se::AgentStopped{3});
  g.add(7min, "accounting", 0, se::AgentStarted{2});
  EXPECT_EQ(detected(g), 5min);
}

TEST(TimeToDetect, AReactionLongAfterTheFaultIsNotItsDetection) {
  History h;
  h.fault(faults::FaultKind::error, "ledger", 1min, 2min);
  h.add(3min + 1min + 1s, "ledger", 0, pe::BreakerTransition{S::closed, S::open});  // window + 1 s after
  EXPECT_EQ(detected(h), -1s);
}

TEST(TimeToDetect, CorruptedInputIsDetectedWhenACorruptedInvoiceIsRejected) {
  History h;
  h.fault(faults::FaultKind::corrupted_input, "workload", 1min, 2min);
  h.add(1min + 1s, "", 1, he::Submitted{100});
  h.add(1min + 2s, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::rejected_invalid, 0s, 100});  // a clean one rejected: not this fault
  h.add(1min + 5s, "fault/0/corrupted_input", 2,
        faults::fault_events::Touched{.fault_index = 0, .fault = faults::FaultKind::corrupted_input});
  h.add(1min + 5s, "", 2, he::Submitted{100, faults::Corruption::markup});
  h.add(1min + 9s, "orchestrator", 2, se::TerminalOutcome{rs::InvoiceOutcome::rejected_invalid, 0s, 100});
  EXPECT_EQ(detected(h), 9s);
}

TEST(TimeToDetect, ABusFaultIsDetectedOnlyOnAnInvoiceItTouched) {
  History h;
  h.fault(faults::FaultKind::reordering, "bus", 1min, 5min);
  h.add(1min + 10s, "fault/0/reordering", 7,
        faults::fault_events::Touched{.fault_index = 0, .fault = faults::FaultKind::reordering});
  h.add(2min, "orchestrator", 8, se::StaleReply{1, 5});  // another invoice's: an overlapping fault's
  EXPECT_EQ(detected(h), -1s);
  h.add(3min, "orchestrator", 7, se::StaleReply{1, 6});
  EXPECT_EQ(detected(h), 2min);
}

}  // namespace
}  // namespace faultline::harness
