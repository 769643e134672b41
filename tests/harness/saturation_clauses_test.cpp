// The saturation checker's clauses that invariants_test.cpp does not already
// break: a topic over its queue bound, live tasks past the memory bound, a
// task that died under load, and a run that itself failed.
#include <gtest/gtest.h>

#include "harness/invariants.h"
#include "tests/harness/history.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
namespace he = harness_events;
using namespace std::chrono_literals;
using test_history::expect_clause;
using test_history::History;


TEST(SaturationClauses, ATopicAboveItsQueueBound) {
  History h;
  h.policy().agent(rs::AgentId::ocr).queue_bound = 10;
  h.add(1min, "ocr", 0, he::QueueSample{10, 0});  // at the bound: fine
  EXPECT_TRUE(h.check("saturation").passed);
  h.add(2min, "ocr", 0, he::QueueSample{50, 3});
  expect_clause(h.check("saturation"), "topic ocr held 50 messages at t=120.000s, above its bound 10");
}

TEST(SaturationClauses, LiveTasksPastTheMemoryBound) {
  History h;
  h.evidence().live_tasks_bound = 100;
  h.add(1min, "", 0, he::Sample{1, 500});
  expect_clause(h.check("saturation"), "500 live tasks at t=60.000s: memory is not bounded (bound 100)");
}

TEST(SaturationClauses, ATaskThatDiedUnderLoadOrARunThatFailed) {
  History h;
  h.add(1min, "", 0, runtime::runtime_events::TaskFailed{});
  expect_clause(h.check("saturation"), "a task of the system failed with an exception under load");

  History g;
  g.evidence().harness_failure = "the run hit its safety limit";
  expect_clause(g.check("saturation"), "the run itself failed");
}

}  // namespace
}  // namespace faultline::harness
