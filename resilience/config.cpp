// JSON loaders for the patterns' options. Each reads its members with
// JsonView (which names file and path on a bad value), then runs the
// pattern's own check() and reports its problem at the member it names.
#include "resilience/config.h"

#include <string>

namespace faultline::resilience {

namespace {

// Throws at the member named by a ConfigProblem ("budget.ratio" walks down).
[[noreturn]] void fail_at(const runtime::JsonView& node, const ConfigProblem& problem) {
  runtime::JsonView at = node;
  std::string_view rest = problem.field;
  while (!rest.empty()) {
    const auto dot = rest.find('.');
    const std::string_view key = rest.substr(0, dot);
    auto child = at.find(key);
    if (!child) break;
    at = *child;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  if (!rest.empty()) {
    // The member was left to its default: name it under the node that lacks it.
    at.fail_with(std::string(rest) + ": expected " + problem.message);
  }
  at.fail_with("expected " + problem.message);
}

template <class Config>
void check_at(const runtime::JsonView& node, const Config& config) {
  if (auto problem = check(config)) fail_at(node, *problem);
}

// A non-negative duration; durations are strings ("250ms"), and a negative
// one is refused by the duration parser with the member's path.
Duration duration_or(const runtime::JsonView& node, std::string_view key, Duration fallback) {
  return node.duration_or(key, fallback);
}

std::uint32_t count_or(const runtime::JsonView& node, std::string_view key, std::uint32_t fallback,
                       std::int64_t lo) {
  return static_cast<std::uint32_t>(node.integer_or(key, fallback, lo, 1'000'000'000));
}

}  // namespace

ErrorClassSet load_error_classes(const runtime::JsonView& node) {
  if (!node.is_array()) node.fail("an array of error class names");
  ErrorClassSet out;
  for (const auto& element : node.elements()) {
    ErrorClass c{};
    if (!parse_error_class(element.as_string(), c)) {
      element.fail("an error class: transient, timeout, rate_limited, permanent, business, ...");
    }
    out.insert(c);
  }
  return out;
}

RetryBudgetConfig load_retry_budget_config(const runtime::JsonView& node) {
  node.expect_keys({"ratio", "min_retries", "window"});
  RetryBudgetConfig config;
  config.retry_ratio = node.number_or("ratio", config.retry_ratio, 0.0, 1.0);
  config.min_retries_per_window =
      count_or(node, "min_retries", config.min_retries_per_window, 0);
  config.window = duration_or(node, "window", config.window);
  check_at(node, config);
  return config;
}

std::optional<RetryBudgetConfig> load_retry_budget(const runtime::JsonView& retry_node) {
  auto budget = retry_node.find("budget");
  if (!budget) return std::nullopt;
  return load_retry_budget_config(*budget);
}

RetryPolicy load_retry_policy(const runtime::JsonView& node) {
  node.expect_keys({"max_attempts", "base_delay", "multiplier", "max_delay", "jitter", "jitter_applied",
                    "retry_on", "deadline", "budget"});
  RetryPolicy policy;
  // Required: an unbounded or implicit attempt limit is what the policy
  // linter exists to catch.
  policy.max_attempts = static_cast<std::uint32_t>(node.integer("max_attempts", 1, 1000));
  policy.base_delay = duration_or(node, "base_delay", policy.base_delay);
  policy.multiplier = node.number_or("multiplier", policy.multiplier, 1.0, 1e6);
  policy.max_delay = duration_or(node, "max_delay", std::max(policy.max_delay, policy.base_delay));
  if (auto jitter = node.find("jitter")) {
    if (!parse_jitter(jitter->as_string(), policy.jitter)) {
      jitter->fail("one of \"none\", \"full\", \"equal\", \"decorrelated\"");
    }
  }
  if (auto order = node.find("jitter_applied")) {
    if (!parse_jitter_order(order->as_string(), policy.jitter_order)) {
      order->fail("one of \"after_cap\", \"before_cap\"");
    }
  }
  if (auto retry_on = node.find("retry_on")) {
    policy.retry_on = load_error_classes(*retry_on);
    for (const auto& element : retry_on->elements()) {
      ErrorClass c{};
      if (parse_error_class(element.as_string(), c) && kNeverRetried.contains(c)) {
        element.fail_with("expected a retryable class: " + std::string(to_string(c)) +
                          " errors are never retried");
      }
    }
  }
  policy.deadline = duration_or(node, "deadline", policy.deadline);
  if (node.has("budget")) (void)load_retry_budget_config(node["budget"]);
  check_at(node, policy);
  return policy;
}

TimeoutPolicy load_timeout_policy(const runtime::JsonView& node) {
  node.expect_keys({"per_attempt", "overall"});
  TimeoutPolicy policy;
  policy.per_attempt = duration_or(node, "per_attempt", policy.per_attempt);
  policy.overall = duration_or(node, "overall", policy.overall);
  check_at(node, policy);
  return policy;
}

CircuitBreakerConfig load_circuit_breaker(const runtime::JsonView& node) {
  node.expect_keys({"mode", "failure_threshold", "failure_rate", "window", "window_calls",
                    "window_duration", "minimum_calls", "slow_call_threshold", "open_duration",
                    "half_open_probes", "probe_timeout", "failure_classes"});
  CircuitBreakerConfig c;
  const std::string mode = node.choice_or("mode", "consecutive", {"consecutive", "rate"});
  c.trip = mode == "rate" ? TripMode::failure_rate : TripMode::consecutive_failures;
  c.failure_threshold = count_or(node, "failure_threshold", c.failure_threshold, 0);
  if (auto rate = node.find("failure_rate")) {
    c.failure_rate_threshold = rate->as_number();
  }
  const std::string window = node.choice_or("window", "count", {"count", "time"});
  c.window = window == "time" ? WindowKind::time_based : WindowKind::count_based;
  c.window_calls = count_or(node, "window_calls", c.window_calls, 0);
  c.window_duration = duration_or(node, "window_duration", c.window_duration);
  c.minimum_calls = count_or(node, "minimum_calls", c.minimum_calls, 0);
  c.slow_call_threshold = duration_or(node, "slow_call_threshold", c.slow_call_threshold);
  c.open_duration = duration_or(node, "open_duration", c.open_duration);
  c.half_open_probes = count_or(node, "half_open_probes", c.half_open_probes, 0);
  c.probe_timeout = duration_or(node, "probe_timeout", c.probe_timeout);
  if (auto classes = node.find("failure_classes")) c.failure_classes = load_error_classes(*classes);
  // The rate is checked whatever the mode, so a typo never waits for a mode switch.
  if (node.has("failure_rate") && (!(c.failure_rate_threshold > 0.0) || c.failure_rate_threshold > 1.0)) {
    node["failure_rate"].fail("a ratio above 0 and at most 1");
  }
  check_at(node, c);
  return c;
}

BulkheadConfig load_bulkhead(const runtime::JsonView& node) {
  node.expect_keys({"max_concurrent", "max_queue"});
  BulkheadConfig c;
  c.max_concurrent = static_cast<std::size_t>(node.integer("max_concurrent", 0, 1'000'000));
  c.max_queue = static_cast<std::size_t>(
      node.integer_or("max_queue", static_cast<std::int64_t>(c.max_queue), 0, 1'000'000'000));
  check_at(node, c);
  return c;
}

DeadLetterConfig load_dead_letter(const runtime::JsonView& node) {
  node.expect_keys({"name", "capacity", "alert_threshold"});
  DeadLetterConfig c;
  c.name = node.string_or("name", c.name);
  c.capacity = static_cast<std::size_t>(
      node.integer_or("capacity", static_cast<std::int64_t>(c.capacity), 0, 1'000'000'000));
  c.alert_threshold = static_cast<std::size_t>(node.integer_or(
      "alert_threshold", static_cast<std::int64_t>(c.alert_threshold), 0, 1'000'000'000));
  check_at(node, c);
  return c;
}

PipelineConfig load_pipeline(const runtime::JsonView& node) {
  node.expect_keys({"retry", "timeout", "fallback_on"});
  PipelineConfig c;
  c.retry = load_retry_policy(node["retry"]);
  if (auto timeout = node.find("timeout")) c.timeout = load_timeout_policy(*timeout);
  if (auto fallback = node.find("fallback_on")) c.fallback_on = load_error_classes(*fallback);
  check_at(node, c);
  return c;
}

Criticality load_criticality(const runtime::JsonView& node) {
  Criticality c{};
  if (!parse_criticality(node.as_string(), c)) node.fail("\"critical\" or \"non_critical\"");
  return c;
}

}  // namespace faultline::resilience
