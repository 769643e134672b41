// Policy files: the shipped ones load with the intended meaning; bad values
// are refused with the file, the JSON path and what was expected.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "reference_system/policy.h"
#include "tests/support/source_dir.h"

namespace faultline::reference_system {
namespace {

using namespace std::chrono_literals;
using resilience::Criticality;

using test_support::source_path;

TEST(Policy, NaiveTurnsEveryPatternOff) {
  const Policy p = load_policy(source_path("scenarios/policies/naive.json"));
  EXPECT_EQ(p.name, "naive");
  EXPECT_EQ(p.checkpoints, CheckpointStoreKind::none);
  for (const auto& a : p.agents) {
    EXPECT_EQ(a.retry.max_attempts, 1u);
    EXPECT_EQ(a.criticality, Criticality::critical);
    EXPECT_FALSE(a.fallback);
    EXPECT_FALSE(a.degrade);
    EXPECT_FALSE(a.compensation);
    EXPECT_FALSE(a.idempotency_key);
  }
  for (const auto& s : p.services) {
    EXPECT_EQ(s.retry.max_attempts, 1u);
    EXPECT_FALSE(s.breaker.has_value());
  }
}

TEST(Policy, RecommendedFollowsTheArticle) {
  const Policy p = load_policy(source_path("scenarios/policies/recommended.json"));
  EXPECT_EQ(p.checkpoints, CheckpointStoreKind::sqlite);
  const auto& ocr = p.service(ServiceId::ocr_engine);
  EXPECT_EQ(ocr.retry.max_attempts, 5u);
  for (std::size_t i = 0; i < kServiceCount; ++i) {
    SCOPED_TRACE(to_string(static_cast<ServiceId>(i)));
    const auto& s = p.services[i];
    EXPECT_TRUE(s.breaker.has_value());
    if (s.retry.max_attempts > 1) {
      EXPECT_EQ(s.retry.jitter, resilience::Jitter::full);
      EXPECT_TRUE(s.retry_budget.has_value());
    }
  }
  // Retries at one layer where they multiply: 2 OCR steps x 5 engine calls,
  // 2 accounting steps x 1 ledger post.
  EXPECT_EQ(p.agent(AgentId::ocr).retry.max_attempts, 2u);
  EXPECT_EQ(p.agent(AgentId::accounting).retry.max_attempts, 2u);
  EXPECT_EQ(p.agent(AgentId::ocr).criticality, Criticality::critical);
  EXPECT_TRUE(p.agent(AgentId::ocr).fallback);
  const auto& budget = p.service(ServiceId::budget_service);
  EXPECT_EQ(budget.retry.max_attempts, 3u);
  EXPECT_EQ(budget.retry.base_delay, 1s);
  EXPECT_EQ(budget.retry.max_delay, 4s);
  EXPECT_EQ(p.service(ServiceId::ledger).retry.max_attempts, 1u);
  EXPECT_TRUE(p.agent(AgentId::accounting).idempotency_key);
  EXPECT_TRUE(p.agent(AgentId::accounting).compensation);
  EXPECT_EQ(p.agent(AgentId::matching).criticality, Criticality::non_critical);
  EXPECT_TRUE(p.agent(AgentId::matching).degrade);
  EXPECT_EQ(p.agent(AgentId::matching).manual_review_above_cents, 500'000);
  EXPECT_EQ(p.dead_letter.alert_threshold, 100u);
  EXPECT_EQ(p.workflow_deadline, 30min);
  EXPECT_EQ(p.bus.claim_idle, 30s);
  EXPECT_EQ(p.bus.delivery_limit, 5u);
}

std::string error_of(const std::string& text) {
  try {
    (void)parse_policy(runtime::JsonView(runtime::parse_json_text(text, "team.json"), "team.json"));
  } catch (const runtime::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Policy, ErrorsNameTheFileAndTheField) {
  EXPECT_NE(error_of(R"({"name": "t", "agents": {"ocr": {"timeout": "-5s"}}})").find("team.json: $.agents.ocr.timeout"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "agents": {"billing": {}}})").find("unknown agent \"billing\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "services": {"ocr_engine": {"retry": {"max_attempts": 0}}}})")
                .find("$.services.ocr_engine.retry"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "agents": {"matching": {"manual_review_above": "lots"}}})")
                .find("$.agents.matching.manual_review_above"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "agents": {"matching": {"degrade": true}}})").find("non_critical"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "checkpoints": {"store": "redis"}})").find("$.checkpoints.store"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "retries": 3})").find("retries"), std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "workflow": {"deadline": "0s"}})").find("team.json: $.workflow.deadline"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"name": "t", "workflow": {"deadline": "10m"}})"), "no error");
  EXPECT_NE(error_of(R"({"name": "t", "bus": {"delivery_limit": 0}})").find("team.json: $.bus.delivery_limit"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "bus": {"claim_idle": "0s"}})").find("team.json: $.bus.claim_idle"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "t", "bus": {"max_len": 5}})").find("max_len"), std::string::npos);
  EXPECT_EQ(error_of(R"({"name": "t"})"), "no error");
}

}  // namespace
}  // namespace faultline::reference_system

namespace faultline::reference_system {
namespace {

TEST(Policy, ARetryBudgetIsReadNotIgnored) {
  const auto doc = runtime::parse_json_text(
      R"({"name": "t", "services": {"ocr_engine": {"retry": {"max_attempts": 5, "base_delay": "1s", "max_delay": "8s",
          "budget": {"ratio": 0.2, "min_retries": 10, "window": "10s"}}}}})",
      "team.json");
  const Policy p = parse_policy(runtime::JsonView(doc, "team.json"));
  ASSERT_TRUE(p.service(ServiceId::ocr_engine).retry_budget.has_value());
  EXPECT_DOUBLE_EQ(p.service(ServiceId::ocr_engine).retry_budget->retry_ratio, 0.2);
  EXPECT_FALSE(p.service(ServiceId::po_database).retry_budget.has_value());
}

}  // namespace
}  // namespace faultline::reference_system
