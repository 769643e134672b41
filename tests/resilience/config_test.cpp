// Loading the patterns' options from JSON: a full valid document, then every
// invalid value refused with an error that names the field's JSON path.
#include <gtest/gtest.h>

#include <string>

#include "resilience/config.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using runtime::ConfigError;
using runtime::JsonView;

// Loads `text` with `loader` and returns the error's path and message.
template <class Loader>
std::pair<std::string, std::string> error_of(Loader loader, const std::string& text) {
  const auto doc = runtime::parse_json_text(text, "policy.json");
  try {
    (void)loader(JsonView(doc, "policy.json"));
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "policy.json");
    return {e.path(), e.message()};
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(Config, LoadsAFullRetryPolicy) {
  const auto doc = runtime::parse_json_text(R"({
    "max_attempts": 5, "base_delay": "1s", "multiplier": 3, "max_delay": "20s",
    "jitter": "decorrelated", "retry_on": ["transient", "rate_limited"], "deadline": "2m",
    "budget": {"ratio": 0.1, "min_retries": 5, "window": "30s"}})", "p.json");
  const JsonView node(doc, "p.json");
  const RetryPolicy p = load_retry_policy(node);
  EXPECT_EQ(p.max_attempts, 5u);
  EXPECT_EQ(p.base_delay, 1s);
  EXPECT_EQ(p.multiplier, 3.0);
  EXPECT_EQ(p.max_delay, 20s);
  EXPECT_EQ(p.jitter, Jitter::decorrelated);
  EXPECT_EQ(p.retry_on, (ErrorClassSet{ErrorClass::transient, ErrorClass::rate_limited}));
  EXPECT_EQ(p.deadline, 2min);
  const auto budget = load_retry_budget(node);
  ASSERT_TRUE(budget.has_value());
  EXPECT_EQ(budget->retry_ratio, 0.1);
  EXPECT_EQ(budget->min_retries_per_window, 5u);
  EXPECT_EQ(budget->window, 30s);
}

TEST(Config, LoadsABreakerTimeoutBulkheadDeadLetterAndPipeline) {
  const auto doc = runtime::parse_json_text(R"({
    "breaker": {"mode": "rate", "failure_rate": 0.5, "window": "time", "window_duration": "60s",
                "minimum_calls": 20, "slow_call_threshold": "5s", "open_duration": "30s",
                "half_open_probes": 3, "probe_timeout": "10s"},
    "timeout": {"per_attempt": "30s", "overall": "2m"},
    "bulkhead": {"max_concurrent": 8, "max_queue": 32},
    "dlq": {"name": "invoices", "capacity": 1000, "alert_threshold": 100},
    "pipeline": {"retry": {"max_attempts": 3}, "timeout": {"per_attempt": "1s"}},
    "criticality": "non_critical"})", "p.json");
  const JsonView root(doc, "p.json");
  const auto b = load_circuit_breaker(root["breaker"]);
  EXPECT_EQ(b.trip, TripMode::failure_rate);
  EXPECT_EQ(b.window, WindowKind::time_based);
  EXPECT_EQ(b.window_duration, 60s);
  EXPECT_EQ(b.minimum_calls, 20u);
  EXPECT_EQ(b.slow_call_threshold, 5s);
  EXPECT_EQ(b.half_open_probes, 3u);
  const auto t = load_timeout_policy(root["timeout"]);
  EXPECT_EQ(t.per_attempt, 30s);
  EXPECT_EQ(t.overall, 2min);
  const auto bh = load_bulkhead(root["bulkhead"]);
  EXPECT_EQ(bh.max_concurrent, 8u);
  EXPECT_EQ(bh.max_queue, 32u);
  const auto d = load_dead_letter(root["dlq"]);
  EXPECT_EQ(d.name, "invoices");
  EXPECT_EQ(d.alert_threshold, 100u);
  const auto p = load_pipeline(root["pipeline"]);
  EXPECT_EQ(p.retry.max_attempts, 3u);
  EXPECT_EQ(p.timeout.per_attempt, 1s);
  EXPECT_EQ(load_criticality(root["criticality"]), Criticality::non_critical);
}

TEST(Config, MissingAttemptLimitIsRefused) {
  const auto [path, message] = error_of(load_retry_policy, R"({"base_delay": "1s"})");
  EXPECT_EQ(path, "$");
  EXPECT_NE(message.find("max_attempts"), std::string::npos) << message;
}

TEST(Config, ZeroAttemptsIsRefused) {
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 0})").first, "$.max_attempts");
}

TEST(Config, NegativeDelayIsRefused) {
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "base_delay": "-1s"})").first,
            "$.base_delay");
  EXPECT_EQ(error_of(load_timeout_policy, R"({"per_attempt": "-5s"})").first, "$.per_attempt");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"open_duration": "-30s"})").first,
            "$.open_duration");
}

TEST(Config, MaxBelowBaseIsRefused) {
  const auto [path, message] = error_of(
      load_retry_policy, R"({"max_attempts": 3, "base_delay": "10s", "max_delay": "5s"})");
  EXPECT_EQ(path, "$.max_delay");
  EXPECT_NE(message.find("base_delay"), std::string::npos) << message;
}

TEST(Config, MultiplierBelowOneIsRefused) {
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "multiplier": 0.5})").first,
            "$.multiplier");
}

TEST(Config, JitterOrderIsReadAndCheckedByName) {
  const auto plain = runtime::parse_json_text(R"({"max_attempts": 3})", "p.json");
  EXPECT_EQ(load_retry_policy(JsonView(plain, "p.json")).jitter_order, JitterOrder::after_cap);
  const auto before =
      runtime::parse_json_text(R"({"max_attempts": 3, "jitter": "full", "jitter_applied": "before_cap"})", "p.json");
  EXPECT_EQ(load_retry_policy(JsonView(before, "p.json")).jitter_order, JitterOrder::before_cap);
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "jitter_applied": "sideways"})").first,
            "$.jitter_applied");
}

TEST(Config, UnknownJitterAndNeverRetriedClassesAreRefused) {
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "jitter": "random"})").first,
            "$.jitter");
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "retry_on": ["transient", "business"]})").first,
            "$.retry_on[1]");
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "retry_on": ["oops"]})").first,
            "$.retry_on[0]");
}

TEST(Config, ThresholdZeroIsRefused) {
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"failure_threshold": 0})").first,
            "$.failure_threshold");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"mode": "rate", "minimum_calls": 0})").first,
            "$.minimum_calls");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"mode": "rate", "window_calls": 10, "minimum_calls": 20})").first,
            "$.minimum_calls");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"half_open_probes": 0})").first,
            "$.half_open_probes");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"mode": "rate", "window_calls": 0})").first,
            "$.window_calls");
  EXPECT_EQ(error_of(load_dead_letter, R"({"capacity": 10, "alert_threshold": 0})").first,
            "$.alert_threshold");
  EXPECT_EQ(error_of(load_bulkhead, R"({"max_concurrent": 0})").first, "$.max_concurrent");
}

TEST(Config, RatioAboveOneIsRefused) {
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"mode": "rate", "failure_rate": 1.5})").first,
            "$.failure_rate");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"failure_rate": 2})").first, "$.failure_rate")
      << "checked even in consecutive mode";
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "budget": {"ratio": 1.2}})").first,
            "$.budget.ratio");
}

TEST(Config, AlertThresholdAboveCapacityIsRefused) {
  EXPECT_EQ(error_of(load_dead_letter, R"({"capacity": 10, "alert_threshold": 11})").first,
            "$.alert_threshold");
}

TEST(Config, OverallTimeoutBelowPerAttemptIsRefused) {
  EXPECT_EQ(error_of(load_timeout_policy, R"({"per_attempt": "10s", "overall": "5s"})").first,
            "$.overall");
}

TEST(Config, UnknownMembersAreRefused) {
  EXPECT_EQ(error_of(load_retry_policy, R"({"max_attempts": 3, "max_attempt": 4})").first,
            "$.max_attempt");
  EXPECT_EQ(error_of(load_circuit_breaker, R"({"treshold": 4})").first, "$.treshold");
}

TEST(Config, NestedPipelineErrorsNameTheNestedPath) {
  EXPECT_EQ(error_of(load_pipeline, R"({"retry": {"max_attempts": 3, "base_delay": "-1s"}})").first,
            "$.retry.base_delay");
  EXPECT_EQ(error_of(load_pipeline, R"({"retry": {}})").first, "$.retry");
  EXPECT_EQ(error_of(load_criticality, R"("optional")").first, "$");
}

}  // namespace
}  // namespace faultline::resilience
