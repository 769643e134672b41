// `faultline explore`: searches for the fault schedule that breaks a policy.
// Swarm testing: each run draws a palette (a random subset of the allowed
// fault kinds and of their targets), then a workload rate, a duration and a
// schedule of faults from that palette within GenerationBounds, runs the
// scenario in sim against its fault-free baseline (the engine's), and keeps
// every run that breaks an invariant (or, with `slo`, an SLO). Each failure
// is shrunk (harness/shrink.h) to the smallest scenario that still breaks the
// same invariant, and failures that shrink to the same scenario are kept
// once. Every generated scenario is an ordinary scenario document, read back
// through the scenario parser before it runs, so what explore writes is what
// `faultline run` reads.
//
//   ExploreOptions o;
//   o.policy_file = "scenarios/policies/teams/saga-without-compensation.json";
//   o.runs = 200;                        // or o.budget = 60s
//   ExploreResult r = explore(o);        // throws runtime::ConfigError on bad input
//   r.found[0].smallest.faults.size();   // 1
//   write_explore_files(r, "explore");   // explore/found/exactly_once-1.json, explore.md, explore.json
//
// Deterministic: run i's scenario is drawn from the stream "explore/run/<i>"
// of the root seed (runtime/random.h) and seeded with the i-th derived seed;
// results are taken in run order whatever the thread count; shrinking tries
// its candidates in a fixed order and keeps the first that still fails. So
// `--runs N` with a seed finds, shrinks and writes the same failures every
// time; with a wall-clock budget the runs are the same sequence and how far
// it gets depends on the machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faults/fault.h"
#include "harness/scenario.h"
#include "reference_system/policy.h"
#include "reports/result.h"
#include "runtime/event_log.h"
#include "runtime/random.h"
#include "runtime/sim_runtime.h"

namespace faultline::harness {

// Every bound a generated scenario stays within, in one place (the README's
// "Exploring" section quotes them). Durations are drawn on a 1 s grid,
// latencies and reordering windows on a 10 ms grid, so that a scenario
// written to a file reads back exactly.
struct GenerationBounds {
  // Workload: Poisson arrivals per hour, drawn log-uniformly (each decade as
  // likely as the next).
  double rate_min_per_hour = 60;
  double rate_max_per_hour = 1800;
  // How long the workload arrives: one of these, uniformly.
  std::vector<runtime::Duration> durations = {std::chrono::minutes(10), std::chrono::minutes(20),
                                              std::chrono::minutes(30)};
  // How long in-flight work may finish afterwards: longer than the
  // recommended policy's 30-minute workflow deadline, so a run is never
  // judged on work it was not given time to end.
  runtime::Duration drain = std::chrono::minutes(35);
  // Faults per scenario, uniformly.
  std::uint32_t faults_min = 1;
  std::uint32_t faults_max = 4;
  // The swarm palette: each allowed kind joins a run's palette with this
  // probability (at least one does), and each target of a palette kind with
  // the next (at least one per kind). A narrow palette lets a run hit one
  // part of the system hard instead of everything a little.
  double kind_in_palette = 0.5;
  double target_in_palette = 0.6;
  // A fault's window: its length log-uniform in [window_min, window_max]
  // (cut to the duration), its start uniform over what is left.
  runtime::Duration window_min = std::chrono::seconds(10);
  runtime::Duration window_max = std::chrono::minutes(15);
  // Probability a fault strikes: 1 for this share of faults, else one of
  // partial_probabilities, uniformly.
  double full_probability_share = 0.5;
  std::vector<double> partial_probabilities = {0.05, 0.1, 0.25, 0.5, 0.75};
  // latency: delay log-uniform in [latency_min, latency_max]; this share of
  // latency faults add a jitter uniform in [0, delay].
  runtime::Duration latency_min = std::chrono::milliseconds(100);
  runtime::Duration latency_max = std::chrono::minutes(2);
  double jitter_share = 0.5;
  // This share of latency faults draws instead a delay just under the
  // target's call timeout in the policy, [near_timeout_low x timeout,
  // timeout), without jitter: the call is answered just after its caller
  // gave up, so a request that took effect loses its reply, the case a
  // retry without an idempotency key turns into a second effect.
  double near_timeout_share = 0.25;
  double near_timeout_low = 0.97;
  // saturation: multiplier log-uniform in [multiplier_min, multiplier_max].
  double multiplier_min = 1.5;
  double multiplier_max = 10;
  // duplicate_delivery: copies uniform in [1, copies_max].
  std::uint32_t copies_max = 3;
  // reordering: window log-uniform in [reorder_min, reorder_max].
  runtime::Duration reorder_min = std::chrono::milliseconds(100);
  runtime::Duration reorder_max = std::chrono::minutes(1);
  // corrupted_input and invalid_output: every mode with this probability
  // (at least one).
  double mode_share = 0.5;
};

// What explore varies: a scenario minus what every run of one exploration
// shares (the policy, the world, the expectations).
struct Candidate {
  std::uint64_t seed = 1;
  runtime::Duration duration = std::chrono::minutes(30);
  runtime::Duration drain = std::chrono::minutes(35);
  double rate_per_hour = 600;
  std::vector<faults::FaultSpec> faults;
};

// What every run of one exploration shares.
struct ExploreTarget {
  std::string policy_file;  // as given
  std::string world_file;   // empty: the built-in world
  // Judge the SLOs (the alert table's default thresholds) too, not only the
  // invariants.
  bool slo = false;
};

// Draws one candidate. `kinds` are the allowed fault kinds (none: all);
// `policy`, when given, supplies the call timeouts near_timeout_share aims at.
[[nodiscard]] Candidate generate_candidate(const GenerationBounds& bounds, const std::vector<faults::FaultKind>& kinds,
                                           runtime::Rng& rng, std::uint64_t seed,
                                           const reference_system::Policy* policy = nullptr);

// The candidate as a scenario file's document (scenarios/README.md), its
// policy and world named relative to `folder` (where the file will live).
[[nodiscard]] nlohmann::ordered_json scenario_document(const Candidate& c, const ExploreTarget& target,
                                                       const std::string& name, const std::string& description,
                                                       const std::string& folder);
// The candidate read back through the scenario parser, as `faultline run`
// and `faultline validate` would read its file; throws runtime::ConfigError
// if it is not valid input (a bug in the generator or the shrinker).
[[nodiscard]] Scenario to_scenario(const Candidate& c, const ExploreTarget& target, const std::string& name);

// The invariants explore judges: all of them, but recovery_time only with
// `slo`: its bound (recovery_time_max) is an expectation a scenario sets,
// like an SLO threshold, and overlapping random faults exceed any fixed one.
[[nodiscard]] std::vector<std::string> explored_invariants(bool slo);

// What a run broke, in the order the checks run: invariant ids, then (with
// `slo`) "slo-<name>" for each failed SLO. Empty when nothing broke.
[[nodiscard]] std::vector<std::string> broken_properties(const reports::ScenarioResult& r, bool slo);

// A candidate's size, for reports: faults, their windows' total, the
// workload.
std::string describe_size(const Candidate& c);
// One fault for people: "error (transient) on notifier, 2m-2m30s, p=0.5".
std::string describe_fault(const faults::FaultSpec& f);

struct ExploreOptions {
  ExploreTarget target;
  std::uint64_t seed = 1;
  // Exactly this many generated runs, or (when unset) as many as `budget`
  // allows; the budget bounds shrinking too.
  std::optional<std::uint64_t> runs;
  std::chrono::milliseconds budget{60'000};
  std::vector<faults::FaultKind> kinds;  // allowed fault kinds; empty: all
  GenerationBounds bounds;
  std::uint32_t jobs = 1;
  // At most this many simulated runs to shrink one failure.
  std::uint32_t shrink_runs_max = 400;
  // At most this many failures shrunk; later ones are counted only.
  std::uint32_t shrunk_max = 50;
  // Safety limit per simulated run (coroutine resumptions); a run past it is
  // counted as aborted, not as a failure.
  std::uint64_t step_budget = 100'000'000;
  // The stop flag (SIGINT, SIGTERM) and event and memory budgets; the
  // deadline is set from `budget`.
  runtime::AbortLimits limits;
  // Called with each generated run's event log and result (not the
  // shrinker's), from the worker threads: must be thread-safe.
  std::function<void(const runtime::EventLog&, const reports::ScenarioResult&)> on_run_log;
};

// One failure, shrunk.
struct FoundFailure {
  std::string property;  // what it breaks: "exactly_once", "slo-error_rate.ocr"
  std::uint64_t run = 0;  // the generated run that found it
  Candidate original;
  Candidate smallest;
  std::string message;  // the property's failure message in the smallest scenario's run
  std::vector<std::string> steps;  // the shrink steps taken, in order
  std::uint32_t shrink_runs = 0;
  bool shrink_complete = true;  // false: the budget or a signal cut it short
  // Later runs whose failures shrank to this same scenario.
  std::vector<std::uint64_t> also_found_by;
  // Later runs breaking the same property with every fault of `smallest`
  // (same kind and target) in their schedule: taken as this failure and not
  // shrunk, so the budget goes to new ones.
  std::vector<std::uint64_t> probably_same;
  std::string file;  // "found/<property>-<n>.json", set when written
  // Wall-clock seconds from the start to its finding and to its shrinking's end.
  double found_after_s = 0;
  double shrunk_after_s = 0;
};

struct KindCoverage {
  std::uint64_t tried = 0;    // faults of this kind scheduled
  std::uint64_t touched = 0;  // of them, those that touched the system
  std::uint64_t runs = 0;     // runs with at least one
  std::map<std::string, std::uint64_t> targets;  // faults per target
};

// A policy limit and how often the runs reached it (filled by the caller,
// from on_run_log: check-policy's coverage reads the logs).
struct LimitCoverage {
  std::string path;  // "$.services.ledger.retry.max_attempts"
  std::string what;
  std::uint64_t times = 0;
  std::uint64_t runs = 0;
};

struct ExploreResult {
  ExploreOptions options;
  std::uint64_t runs = 0;  // generated runs judged
  std::uint64_t passed = 0;
  std::uint64_t inconclusive = 0;
  std::uint64_t failing = 0;
  std::uint64_t aborted = 0;          // stopped by their own safety limit
  std::vector<std::uint64_t> aborted_runs;  // the first few of them
  std::uint64_t internal_errors = 0;  // runs that threw (a bug in faultline)
  std::vector<std::string> internal_error_messages;  // the first few
  std::uint64_t failures_not_shrunk = 0;  // past shrunk_max
  std::uint64_t shrink_runs = 0;
  std::vector<FoundFailure> found;
  // Coverage: fault kinds (by faults::FaultKind), workload, policy limits.
  std::vector<KindCoverage> kinds;
  double rate_min_seen = 0;
  double rate_max_seen = 0;
  std::map<std::string, std::uint64_t> durations;  // runs per duration
  std::vector<LimitCoverage> limits;
  // Why it ended: "runs" (all done), "budget", "signal".
  std::string stopped;
  double wall_s = 0;
  double cpu_s = 0;  // the process's CPU time while exploring

  // 0 nothing broke; 1 something did; 4 stopped by a signal, or nothing
  // broke but some runs hit their safety limit; 5 a run threw.
  int exit_code() const;
};

struct ExploreProgress {
  std::uint64_t runs = 0;
  std::uint64_t failing = 0;
  std::uint64_t found = 0;
  std::string phase;  // "searching", "shrinking exactly_once (run 12)"
  double elapsed_s = 0;
};
using ExploreProgressFn = std::function<void(const ExploreProgress&)>;

// Called, in order, when a failure is shrunk and kept (not for duplicates).
using FoundFn = std::function<void(const FoundFailure&)>;

// Throws runtime::ConfigError when the policy or the world cannot be read.
[[nodiscard]] ExploreResult explore(const ExploreOptions& options, const ExploreProgressFn& progress = {},
                                    const FoundFn& on_found = {});

// The i-th failure's file name without ".json": "<property>-<n>", n counting
// the failures of that property from 1 in the order they were found.
std::string found_name(const ExploreResult& result, std::size_t i);

// Writes DIR/found/<property>-<n>.json (one scenario file per failure, its
// policy and world named relative to it), DIR/explore.md and
// DIR/explore.json; sets each failure's `file`. An empty string on success,
// otherwise what went wrong.
[[nodiscard]] std::string write_explore_files(ExploreResult& result, const std::string& dir);

std::string explore_markdown(const ExploreResult& result);
nlohmann::ordered_json explore_json(const ExploreResult& result);

}  // namespace faultline::harness
