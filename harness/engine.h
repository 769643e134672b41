// The scenario engine: composes the reference system on a fresh SimRuntime
// with every port wrapped (system -> probe -> fault injector -> simulated
// service), drives the workload, plays the fault schedule, runs the
// scenario's duration and then its drain, and judges the run: the invariant
// checkers, the SLO checks against a fault-free baseline (the same scenario
// and seed with its faults removed, run here too), and a verdict.
//
//   Scenario s = load_scenario("scenarios/ocr-delay-30s.json");
//   EngineOptions o;                    // policy/seed overrides, safety limits
//   reports::ScenarioResult r = run_scenario(s, o);
//   r.verdict == reports::Verdict::kPass;
//
// A run is deterministic: one thread, virtual time, every random draw from
// a named stream of the seed. The same scenario, policy and seed give the
// same result, field for field.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "harness/scenario.h"
#include "reference_system/system.h"
#include "reports/result.h"
#include "runtime/event_log.h"
#include "runtime/sim_runtime.h"
#include "world/world_model.h"

namespace faultline::harness {

struct EngineOptions {
  std::optional<std::string> policy_file;  // instead of the scenario's
  std::optional<std::uint64_t> seed;       // instead of the scenario's
  // Safety limit: coroutine resumptions per simulated run; past it the run
  // is aborted (exit 4), never left to hang.
  std::uint64_t step_budget = 400'000'000;
  // Safety limits checked inside each simulated run (wall-clock deadline,
  // stop flag, event and memory budgets); reaching one aborts the run.
  runtime::AbortLimits limits;
  // How `faultline run` was asked to reproduce this (for the replay command).
  std::string replay_prefix = "faultline run";
  // For tests: wraps the ports after the probes are in place (system ->
  // wrapper -> probe -> fault -> service), to hand the checkers a system
  // that is broken on purpose. Applied to the faulty run, not the baseline.
  std::function<void(reference_system::SystemPorts&)> wrap_ports;
  // Called once the faulty run is judged, with its event log and result
  // (check-policy's coverage reads the log). Called on the runner's threads.
  std::function<void(const runtime::EventLog&, const reports::ScenarioResult&)> on_run_log;
};

// The world a scenario runs in: its world file (or the built-in one) with
// the scenario's model overrides and workload laid over it. Throws
// runtime::ConfigError naming the file at fault.
[[nodiscard]] world::WorldModel world_for(const Scenario& scenario);
// The same world's services as a world-model document (the world file with
// the scenario's model overrides merged in; the workload section as the
// file has it): what a live worker reads with --world.
[[nodiscard]] nlohmann::json world_document(const Scenario& scenario);

[[nodiscard]] reports::ScenarioResult run_scenario(const Scenario& scenario, const EngineOptions& options);

// The facts of one simulated run that tests look at directly.
struct RunDigest {
  std::uint64_t log_digest = 0;
  std::uint64_t events = 0;
  std::uint64_t submitted = 0;
  bool budget_exhausted = false;
};
// Runs the scenario once (faults on, no baseline, no checks): for tests.
[[nodiscard]] RunDigest simulate_only(const Scenario& scenario, const EngineOptions& options);

// The verdict of a run that completed, and its one-line reason: FAIL when
// an invariant or SLO broke, INCONCLUSIVE when nothing was submitted or a
// fault touched nothing (hit_count 0), else PASS, counting what held
// (`pass_prefix` before the count, `skipped_label` naming the invariants
// skipped). Reads r.invariants, r.slos, r.faults and r.outcomes.
void decide_verdict(reports::ScenarioResult& r, std::string_view pass_prefix, std::string_view skipped_label);

// A histogram as a report shows it (percentiles, max, mean).
[[nodiscard]] reports::LatencySummary summarize(const reference_system::LatencyHistogram& h);
// The system's end-to-end latency, per-agent results (the archive agent only
// when it worked) and retries (steps' and services') into `r`; what a
// simulated run reports and a live process's metrics endpoint serves.
void add_metrics(reports::ScenarioResult& r, const reference_system::SystemMetrics& m);

}  // namespace faultline::harness
