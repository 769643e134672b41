// Loading each pattern's options from JSON (a team's policy file), through
// runtime/json_config.h: unknown members are refused, and an invalid value
// (negative delay, max below base, threshold 0, ratio above 1, a missing
// attempt limit, ...) throws runtime::ConfigError naming the file, the JSON
// path of the field and what was expected. Every loader ends with the same
// check(config) that code-built configurations go through.
//
//   const auto doc = runtime::load_json_file("scenarios/policies/recommended.json");
//   runtime::JsonView root(doc, "recommended.json");
//   RetryPolicy retry = load_retry_policy(root["services"]["ocr"]["retry"]);
//   CircuitBreakerConfig cb = load_circuit_breaker(root["services"]["ocr"]["circuit_breaker"]);
//
// The formats (durations as strings: "250ms", "1s", "5m"):
//   retry:           {"max_attempts": 3, "base_delay": "1s", "multiplier": 2,
//                     "max_delay": "30s", "jitter": "none|full|equal|decorrelated",
//                     "jitter_applied": "after_cap|before_cap",
//                     "retry_on": ["transient", "timeout", "rate_limited"],
//                     "deadline": "2m",
//                     "budget": {"ratio": 0.2, "min_retries": 10, "window": "10s"}}
//                    max_attempts is required; the rest default as in RetryPolicy.
//   timeout:         {"per_attempt": "30s", "overall": "2m"}
//   circuit_breaker: {"mode": "consecutive|rate", "failure_threshold": 5,
//                     "failure_rate": 0.5, "window": "count|time", "window_calls": 20,
//                     "window_duration": "10s", "minimum_calls": 10,
//                     "slow_call_threshold": "5s", "open_duration": "30s",
//                     "half_open_probes": 1, "probe_timeout": "10s",
//                     "failure_classes": ["transient", "timeout", "rate_limited", "permanent"]}
//   bulkhead:        {"max_concurrent": 8, "max_queue": 32}
//   dead_letter:     {"name": "invoices", "capacity": 10000, "alert_threshold": 100}
//   pipeline:        {"retry": {...}, "timeout": {...},
//                     "fallback_on": ["transient", ...]}
//   criticality:     "critical" | "non_critical"
#pragma once

#include <optional>

#include "resilience/bulkhead.h"
#include "resilience/circuit_breaker.h"
#include "resilience/dead_letter.h"
#include "resilience/degradation.h"
#include "resilience/pipeline.h"
#include "resilience/retry.h"
#include "resilience/timeout.h"
#include "runtime/json_config.h"

namespace faultline::resilience {

RetryPolicy load_retry_policy(const runtime::JsonView& node);
// The "budget" member of a retry object, if present.
std::optional<RetryBudgetConfig> load_retry_budget(const runtime::JsonView& retry_node);
RetryBudgetConfig load_retry_budget_config(const runtime::JsonView& node);
TimeoutPolicy load_timeout_policy(const runtime::JsonView& node);
CircuitBreakerConfig load_circuit_breaker(const runtime::JsonView& node);
BulkheadConfig load_bulkhead(const runtime::JsonView& node);
DeadLetterConfig load_dead_letter(const runtime::JsonView& node);
PipelineConfig load_pipeline(const runtime::JsonView& node);
Criticality load_criticality(const runtime::JsonView& node);
// A list of error class names.
ErrorClassSet load_error_classes(const runtime::JsonView& node);

}  // namespace faultline::resilience
