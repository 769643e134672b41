// Running the reference system in simulation for a given load, policy, world
// and seed, and summarising what happened: the driver behind
// `faultline simulate`, the figure tests and the benchmark.
//
//   SimulationConfig config;
//   config.invoices = 100'000;
//   config.policy = load_policy("scenarios/policies/recommended.json");
//   config.world = load_world_model("scenarios/models/case_study.json");
//   SimulationResult r = run_simulation(config);
//   r.success_rate();   // (posted + posted_degraded) / submitted
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "reference_system/metrics.h"
#include "reference_system/policy.h"
#include "reference_system/system.h"
#include "runtime/time.h"
#include "world/world_model.h"

namespace faultline::world {

using reference_system::InvoiceOutcome;
using reference_system::Policy;
using reference_system::SystemBuilder;
using reference_system::SystemMetrics;
using reference_system::SystemOptions;

struct SimulationConfig {
  std::uint64_t seed = 1;
  // Exactly this many invoices when nonzero; otherwise every arrival in `hours`.
  std::uint64_t invoices = 0;
  double hours = 1.0;
  double rate_per_hour = 10'000.0;  // Poisson arrivals
  Policy policy = reference_system::naive_policy();
  WorldModel world = default_world_model();
  bool archive_stage = false;  // a fifth (critical) stage
  bool retain_events = false;  // keep the event log in memory (digest is kept either way)
  SystemOptions system;  // how the system runs: pattern events, a private checkpoint file
};

struct SimulationResult {
  SystemMetrics metrics;
  std::uint64_t submitted = 0;
  std::uint64_t unfinished = 0;  // in flight when the simulation ran out of work (should be 0)
  std::uint64_t ledger_entries = 0;
  std::uint64_t ledger_live_entries = 0;
  std::int64_t ledger_total_cents = 0;
  std::uint64_t ledger_digest = 0;
  std::uint64_t log_digest = 0;
  std::uint64_t events = 0;
  std::uint64_t sim_steps = 0;
  runtime::Duration simulated{};

  std::uint64_t outcome(InvoiceOutcome o) const { return metrics.outcome(o); }
  double share(InvoiceOutcome o) const;
  double success_rate() const;  // posted + posted_degraded
};

using Customize = std::function<void(SystemBuilder&)>;
// `customize` runs on the builder before build(): wrap ports or agents there.
SimulationResult run_simulation(const SimulationConfig& config, const Customize& customize = {});

}  // namespace faultline::world
