// The runner behind `faultline run` and `faultline replay`: expands paths to
// scenario files, reads them all first (a bad file stops everything with
// exit code 2 before anything runs), runs each scenario under each seed on
// a pool of worker threads (each run on its own SimRuntime, so a run is
// deterministic whichever thread takes it), and assembles the results in
// job order, whatever order they finished in.
//
//   RunnerOptions o;
//   o.paths = {"scenarios/"};
//   o.jobs = 2;
//   RunOutcome out = run_suite(o, [](const reports::ScenarioResult& r, std::size_t done, std::size_t total) {...});
//   out.exit_code;   // harness/exit_code.h
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/engine.h"
#include "harness/exit_code.h"
#include "reports/result.h"
#include "reports/shard.h"
#include "runtime/event_log.h"

namespace faultline::harness {

struct RunnerOptions {
  std::vector<std::string> paths;
  std::optional<std::string> policy_file;
  std::optional<std::uint64_t> seed;
  std::uint32_t seeds = 1;
  // Run only this slice of the runs (reports/shard.h); the result records
  // the slice and the whole set.
  std::optional<reports::Shard> shard;
  std::uint32_t jobs = 1;
  std::uint64_t step_budget = 400'000'000;
  // Wall-clock budget for the whole suite (zero: none), checked inside each
  // simulated run as well as between them: the run in progress is aborted
  // with what it found so far, and runs not started are reported aborted.
  std::chrono::milliseconds time_limit{0};
  // The other limits checked inside each run (stop flag, event and memory
  // budgets); its deadline is set from time_limit.
  runtime::AbortLimits limits;
  // Handed to each run (EngineOptions::on_run_log); must be thread-safe.
  std::function<void(const runtime::EventLog&, const reports::ScenarioResult&)> on_run_log;
};

struct RunOutcome {
  reports::RunResult run;
  int exit_code = 0;
  // Runs that ended with an unexpected exception (a bug in faultline): the
  // exit code is then kInternalError.
  std::uint64_t internal_errors = 0;
};

// Called as each run finishes (from the thread that ran it, under a lock):
// the result, how many runs are done, and how many there are.
using ProgressFn = std::function<void(const reports::ScenarioResult&, std::size_t, std::size_t)>;

// Throws runtime::ConfigError for bad input (files, policies, world models),
// all of it read and checked before the first run starts.
[[nodiscard]] RunOutcome run_suite(const RunnerOptions& options, const ProgressFn& progress = {});

// The runs run_suite would make (this shard's, with `shard`), in run order,
// without running them. Throws runtime::ConfigError as run_suite does.
struct PlannedRun {
  std::string scenario_file;
  std::string scenario_name;
  std::uint64_t seed = 0;
};
[[nodiscard]] std::vector<PlannedRun> plan_suite(const RunnerOptions& options);

// The command that reproduces the run's results: the scenario paths and the
// options that change them (not --out, --jobs, --shard or progress flags).
std::vector<std::string> canonical_command(const RunnerOptions& options);

}  // namespace faultline::harness
