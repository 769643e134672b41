// The sim runtime's timer heap under heavy cancellation: a cancelled timer
// leaves the heap at once, and the timers left still fire in (deadline,
// registration) order, ties included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/sim_runtime.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

Task<void> wake_at(Runtime& rt, Instant at, std::vector<int>& order, int tag) {
  co_await rt.sleep_until(at);
  order.push_back(tag);
}

TEST(SimTimers, CancelledTimersLeaveTheHeapAndTheRestKeepTheirOrder) {
  SimRuntime rt(3);
  constexpr int kTasks = 2'000;
  std::vector<TaskId> ids;
  std::vector<Instant> deadlines;
  std::vector<int> order;
  std::uint64_t x = 12345;
  for (int i = 0; i < kTasks; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    // Few distinct deadlines: many ties, broken by registration order.
    const Instant at = kEpoch + std::chrono::milliseconds(1 + (x >> 33) % 50);
    deadlines.push_back(at);
    ids.push_back(rt.spawn(wake_at(rt, at, order, i)));
  }
  rt.run_until(kEpoch);  // every task has started and registered its timer
  ASSERT_EQ(rt.pending_timers(), static_cast<std::size_t>(kTasks));
  std::vector<bool> cancelled(kTasks, false);
  for (int i = 0; i < kTasks; i += 3) {
    ASSERT_TRUE(rt.cancel(ids[i]));
    cancelled[i] = true;
  }
  const auto kept = static_cast<std::size_t>(std::count(cancelled.begin(), cancelled.end(), false));
  EXPECT_EQ(rt.pending_timers(), kept);
  rt.run();

  std::vector<int> expected;
  for (int i = 0; i < kTasks; ++i) {
    if (!cancelled[i]) expected.push_back(i);
  }
  std::stable_sort(expected.begin(), expected.end(), [&](int a, int b) { return deadlines[a] < deadlines[b]; });
  EXPECT_EQ(order, expected);
  EXPECT_EQ(rt.pending_timers(), 0u);
}

}  // namespace
}  // namespace faultline::runtime
