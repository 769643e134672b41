// Degradation: a non-critical failure yields the declared neutral default,
// marked degraded with its reason; a critical failure is returned as is.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "resilience/degradation.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using testing::run_task;
using runtime::SimRuntime;
using runtime::Task;

TEST(Degradation, NonCriticalFailureYieldsTheNeutralDefaultMarkedDegraded) {
  SimRuntime rt(1);
  StepPolicy<std::optional<std::string>> matching{"po-matching", Criticality::non_critical,
                                                  std::nullopt};
  auto r = run_task(rt, run_step(matching,
                                 []() -> Task<Outcome<std::optional<std::string>>> {
                                   co_return Failure{ErrorClass::timeout, "po db slow"};
                                 },
                                 Observer::named(rt.log(), "matching"), 17));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->degraded);
  EXPECT_EQ(r->value, std::nullopt) << "the default is no match, never an invented one";
  ASSERT_TRUE(r->reason.has_value());
  EXPECT_EQ(r->reason->error_class, ErrorClass::timeout);
  EXPECT_EQ(r->reason->message, "po db slow");
  ASSERT_EQ(rt.log().events().size(), 1u);
  EXPECT_EQ(rt.log().events()[0].kind, static_cast<std::uint16_t>(PatternEvent::degraded));
  EXPECT_EQ(rt.log().events()[0].subject, 17u);
}

TEST(Degradation, EmptyListDefault) {
  StepPolicy<std::vector<std::string>> candidates{"candidates", Criticality::non_critical, {}};
  auto r = degrade(candidates, Outcome<std::vector<std::string>>(Failure{ErrorClass::transient, "x"}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->degraded);
  EXPECT_TRUE(r->value.empty());
}

TEST(Degradation, SuccessIsNotDegraded) {
  StepPolicy<int> step{"s", Criticality::non_critical, 0};
  auto r = degrade(step, Outcome<int>(42));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->degraded);
  EXPECT_EQ(r->value, 42);
  EXPECT_FALSE(r->reason.has_value());
}

TEST(Degradation, CriticalFailureStopsWithTheFailure) {
  SimRuntime rt(1);
  StepPolicy<int> ocr{"ocr", Criticality::critical, 0};
  auto r = degrade(ocr, Outcome<int>(Failure{ErrorClass::permanent, "unreadable"}),
                   Observer::named(rt.log(), "ocr"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().message, "unreadable");
  EXPECT_EQ(rt.log().events()[0].kind, static_cast<std::uint16_t>(PatternEvent::critical_failure));
}

TEST(Degradation, CriticalityNames) {
  Criticality c{};
  EXPECT_TRUE(parse_criticality("non_critical", c));
  EXPECT_EQ(c, Criticality::non_critical);
  EXPECT_EQ(to_string(c), "non_critical");
  EXPECT_FALSE(parse_criticality("optional", c));
}

}  // namespace
}  // namespace faultline::resilience
