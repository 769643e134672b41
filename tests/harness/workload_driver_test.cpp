// The workload driver (harness/workload_driver.h): workload_schedule, which
// live mode replays, gives exactly the submissions the simulated run makes
// for the same seed: as many, as many added by the saturation, as many
// damaged by the corruption, and (with other ids) the same documents.
#include <gtest/gtest.h>

#include <string>

#include "harness/engine.h"
#include "harness/scenario.h"
#include "harness/workload_driver.h"
#include "tests/support/source_dir.h"

namespace {

using namespace faultline;
using namespace faultline::harness;

std::string root() { return test_support::source_dir().string(); }

struct Tally {
  std::uint64_t submitted = 0;
  std::uint64_t extra = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t touches = 0;
};

Tally tally(const std::vector<ScheduledSubmission>& schedule) {
  Tally t;
  for (const auto& s : schedule) {
    ++t.submitted;
    t.extra += s.submission.extra ? 1 : 0;
    t.corrupted += s.submission.corruption ? 1 : 0;
    t.touches += s.touched_by.size();
  }
  return t;
}

TEST(WorkloadSchedule, SubmitsWhatTheSimulatedRunSubmits) {
  for (const char* file : {"/scenarios/saturation-10x.json", "/scenarios/corrupted-input.json"}) {
    const Scenario s = load_scenario(root() + file);
    const auto world = world_for(s);
    const auto schedule = workload_schedule(s, world, s.seed, WorkloadIds{});
    const auto r = run_scenario(s, EngineOptions{});
    const Tally t = tally(schedule);
    ASSERT_EQ(r.faults.size(), 1u);
    EXPECT_EQ(t.submitted, r.outcomes.submitted) << file;
    EXPECT_EQ(t.touches, r.faults[0].hit_count) << file;
    if (s.faults[0].kind == faults::FaultKind::saturation) {
      EXPECT_EQ(t.extra, r.faults[0].hit_count) << file;
      EXPECT_GT(t.extra, 500u);
    } else {
      EXPECT_EQ(t.corrupted, r.faults[0].hit_count) << file;
      EXPECT_GT(t.corrupted, 30u);
    }
    // Arrival times in order within the workload's duration.
    for (std::size_t i = 1; i < schedule.size(); ++i) EXPECT_LE(schedule[i - 1].at, schedule[i].at);
    ASSERT_FALSE(schedule.empty());
    EXPECT_LT(schedule.back().at, s.duration);
  }
}

TEST(WorkloadSchedule, OtherIdsGiveTheSameInvoicesAndOrders) {
  const Scenario s = load_scenario(root() + "/scenarios/saturation-10x.json");
  const auto world = world_for(s);
  std::vector<reference_system::PurchaseOrder> orders_a;
  std::vector<reference_system::PurchaseOrder> orders_b;
  const auto a = workload_schedule(s, world, s.seed, WorkloadIds{}, &orders_a);
  const auto b = workload_schedule(s, world, s.seed, WorkloadIds{101, 101, kExtraIdBase + 100}, &orders_b);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].at, b[i].at);
    EXPECT_EQ(a[i].submission.invoice.id + 100, b[i].submission.invoice.id);
    EXPECT_EQ(a[i].submission.invoice.total_cents, b[i].submission.invoice.total_cents);
    EXPECT_EQ(a[i].submission.extra, b[i].submission.extra);
  }
  // Every referenced order is there once, numbered from first_po.
  ASSERT_EQ(orders_a.size(), orders_b.size());
  ASSERT_FALSE(orders_a.empty());
  for (std::size_t i = 0; i < orders_a.size(); ++i) {
    EXPECT_EQ(orders_a[i].number, i + 1);
    EXPECT_EQ(orders_b[i].number, i + 101);
    EXPECT_EQ(orders_a[i].amount_cents, orders_b[i].amount_cents);
  }
}

}  // namespace
