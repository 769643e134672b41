// A team's policy: how the reference system uses the resilience patterns,
// per agent and per external service. Read from JSON (DESIGN.md, "Policy");
// every bad value is a runtime::ConfigError naming the file, the JSON path
// and what was expected. scenarios/policies/naive.json turns every pattern
// off; recommended.json follows the article's guidance.
//
//   {
//     "name": "recommended",
//     "description": "...",
//     "checkpoints": {"store": "memory"},          // "none" | "memory" | "sqlite" (+ "path")
//     "dead_letter": {"name": "invoices", "capacity": 100000, "alert_threshold": 100},
//     "manual_review": {"capacity": 100000},
//     "workflow": {"max_in_flight": 50000, "deadline": "30m"},
//     "bus": {"claim_idle": "30s", "delivery_limit": 5},   // the live (Redis Streams) bus
//     "agents": {
//       "ocr":        {"criticality": "critical", "timeout": "5m", "workers": 64, "queue_bound": 10000,
//                      "retry": {...}, "fallback": true},
//       "validation": {"criticality": "critical", ...},
//       "matching":   {"criticality": "non_critical", "default": "no_match", "degrade": true,
//                      "manual_review_above": "5000.00"},
//       "accounting": {"criticality": "critical", "compensation": true, "idempotency_key": true},
//       "archive":    {...}                          // the optional fifth stage
//     },
//     "services": {
//       "ocr_engine": {"timeout": "10s", "retry": {...}, "circuit_breaker": {...}},
//       "backup_ocr": {...}, "po_database": {...}, "budget_service": {...},
//       "ledger": {...}, "notifier": {...}
//     }
//   }
//
// "retry" and "circuit_breaker" use resilience/config.h's formats; an absent
// "circuit_breaker" means none; an absent "retry" means one attempt. An agent's
// "timeout" is how long the orchestrator waits for its reply to one request
// (queueing included); a service's "timeout" bounds one call attempt.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reference_system/ids.h"
#include "resilience/circuit_breaker.h"
#include "resilience/dead_letter.h"
#include "resilience/degradation.h"
#include "resilience/retry.h"
#include "runtime/json_config.h"

namespace faultline::reference_system {


struct AgentPolicy {
  resilience::Criticality criticality = resilience::Criticality::critical;
  runtime::Duration timeout = std::chrono::minutes(10);
  resilience::RetryPolicy retry = one_attempt();
  std::uint32_t workers = 64;
  std::size_t queue_bound = 10'000;
  // ocr: fall back to the backup engine when the primary fails.
  bool fallback = false;
  // matching: when the PO database fails, suggest candidates and mark the
  // result degraded instead of failing the step.
  bool degrade = false;
  // matching: a failed match on an invoice above this goes to manual review
  // (only when degrading; 0: never).
  std::int64_t manual_review_above_cents = 0;
  // accounting: undo completed saga steps when a later one fails.
  bool compensation = false;
  // accounting: post to the ledger with the invoice's idempotency key.
  bool idempotency_key = false;

  static resilience::RetryPolicy one_attempt() {
    resilience::RetryPolicy p;
    p.max_attempts = 1;
    return p;
  }
};

struct ServicePolicy {
  runtime::Duration timeout = std::chrono::seconds(30);
  resilience::RetryPolicy retry = AgentPolicy::one_attempt();
  // "retry.budget": retries at most a share of this service's calls.
  std::optional<resilience::RetryBudgetConfig> retry_budget;
  std::optional<resilience::CircuitBreakerConfig> breaker;
};

enum class CheckpointStoreKind : std::uint8_t { none, memory, sqlite };

// How the live bus (Redis Streams, reference_system/live/redis_stream_bus.h)
// recovers messages. The in-process bus of the simulator has no other
// processes whose consumers can die: it reclaims at once and has no limit.
struct BusPolicy {
  // A message pending this long with a consumer that no longer touches it
  // (a dead or stopped worker) is taken over by another consumer of its
  // group. Scenario time: the live runtime scales it like every duration.
  runtime::Duration claim_idle = std::chrono::minutes(1);
  // Deliveries a message gets; the next one sends it to the dead stream
  // instead (a message that crashes every worker that takes it).
  std::uint32_t delivery_limit = 10;
};

struct Policy {
  std::string name;
  std::string description;
  CheckpointStoreKind checkpoints = CheckpointStoreKind::none;
  std::string checkpoint_path = "faultline-checkpoints.db";
  resilience::DeadLetterConfig dead_letter{"invoices", 1'000'000, 100};
  std::size_t manual_review_capacity = 1'000'000;
  std::size_t max_in_flight = 100'000;
  // How long one invoice's workflow may run, from submission, before the
  // orchestrator stops it (dead-lettered); zero: no deadline. Each step's
  // wait is cut to what is left of it, no agent acts on a request past it,
  // and a committed saga's checkpoint (its marker against a second
  // delivery) is removed once it has passed.
  runtime::Duration workflow_deadline = runtime::Duration::zero();
  BusPolicy bus;
  std::array<AgentPolicy, kAgentCount> agents{};
  std::array<ServicePolicy, kServiceCount> services{};

  const AgentPolicy& agent(AgentId a) const { return agents[static_cast<std::size_t>(a)]; }
  AgentPolicy& agent(AgentId a) { return agents[static_cast<std::size_t>(a)]; }
  const ServicePolicy& service(ServiceId s) const { return services[static_cast<std::size_t>(s)]; }
  ServicePolicy& service(ServiceId s) { return services[static_cast<std::size_t>(s)]; }
};

// Every pattern off: one attempt, no breaker, no checkpoints, no fallback,
// no degradation, no compensation, no idempotency key.
Policy naive_policy();
Policy parse_policy(const runtime::JsonView& root);
Policy load_policy(const std::string& file);

}  // namespace faultline::reference_system
