// `faultline explore [--policy FILE] [--world FILE] [--budget 10m | --runs N]
//  [--seed S] [--faults KINDS] [--slo] [--out DIR] [--jobs J]`: generates
// random scenarios (harness/explore.h), runs each in sim against its
// fault-free baseline, shrinks every failure to the smallest scenario that
// still breaks the same invariant and writes it as DIR/found/<invariant>-<n>.json,
// which `faultline run` replays. Prints progress on a terminal (runs,
// failures, runs per second), each failure as it is shrunk, and a coverage
// summary; writes DIR/explore.md and DIR/explore.json. Exit 0 nothing broke,
// 1 something did, 2 bad input, 4 stopped by a signal (or nothing broke but
// some runs hit their safety limit), 5 internal error.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/args.h"
#include "cli/command.h"
#include "harness/explore.h"
#include "policy_check/policy_check.h"
#include "reports/escape.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::cli {
namespace {

using reports::printable;

struct ExploreCli {
  std::string policy = "scenarios/policies/recommended.json";
  std::string world;
  std::optional<std::string> budget;
  std::optional<std::string> runs;
  std::optional<std::string> seed;
  std::string faults;
  std::string out = "explore";
  std::uint32_t jobs = 0;
  std::uint64_t max_steps = 100'000'000;
  bool slo = false;
};

// "latency,hang,crash" -> kinds; nullopt (after saying why) when one is unknown.
std::optional<std::vector<faults::FaultKind>> parse_kinds(const std::string& text) {
  std::vector<faults::FaultKind> kinds;
  std::stringstream in(text);
  std::string name;
  while (std::getline(in, name, ',')) {
    const auto kind = faults::fault_kind_from(name);
    // explore runs the simulator: a live-only kind (network) is not one it can draw.
    if (!kind || faults::live_only_kind(*kind)) {
      std::string all;
      for (std::size_t i = 0; i < faults::kFaultKindCount; ++i) {
        if (faults::live_only_kind(static_cast<faults::FaultKind>(i))) continue;
        all += (all.empty() ? "" : ", ") + std::string(faults::to_string(static_cast<faults::FaultKind>(i)));
      }
      refuse("explore", "--faults", "fault kinds the simulator runs, separated by commas (" + all + ")", text);
      return std::nullopt;
    }
    if (*kind == faults::FaultKind::pause) {
      refuse("explore", "--faults",
             "fault kinds explore draws (pause is not one yet: its window may not overlap a crash or pause of its "
             "role, which the generator does not arrange)",
             text);
      return std::nullopt;
    }
    if (std::find(kinds.begin(), kinds.end(), *kind) == kinds.end()) kinds.push_back(*kind);
  }
  if (kinds.empty()) {
    refuse("explore", "--faults", "at least one fault kind", text);
    return std::nullopt;
  }
  return kinds;
}

// The policy limits the generated runs reached, from their event logs, as
// check-policy counts them.
class LimitTally {
 public:
  explicit LimitTally(const std::string& policy_file) {
    policy_check::LintOptions lint;
    lint.profile = policy_check::Profile::staging;
    lint_ = std::make_unique<policy_check::LintReport>(policy_check::lint_policy_file(policy_file, lint));
    coverage_.emplace(*lint_);
  }
  void observe(const runtime::EventLog& log, const reports::ScenarioResult& r) {
    if (r.verdict == reports::Verdict::kAborted) return;
    policy_check::PolicyCoverage one(*lint_);
    one.observe(log, fmt::format("{} (seed {})", r.name, r.seed));
    std::lock_guard<std::mutex> guard(lock_);
    coverage_->merge(one);
  }
  std::vector<harness::LimitCoverage> rows() const {
    std::vector<harness::LimitCoverage> out;
    for (const auto& i : coverage_->items()) {
      out.push_back(harness::LimitCoverage{i.path, i.what, i.times, i.scenarios.size() + i.scenarios_dropped});
    }
    return out;
  }

 private:
  std::mutex lock_;
  std::unique_ptr<policy_check::LintReport> lint_;
  std::optional<policy_check::PolicyCoverage> coverage_;
};

void print_found(const harness::FoundFailure& f) {
  fmt::print("FAIL  {:<28} {} (run {}, from {} fault(s), {} shrink runs{})\n", printable(f.property),
             printable(harness::describe_size(f.smallest)), f.run, f.original.faults.size(), f.shrink_runs,
             f.shrink_complete ? "" : ", cut short by the budget");
  for (const auto& x : f.smallest.faults) fmt::print("      {}\n", printable(harness::describe_fault(x)));
  fmt::print("      {}\n", printable(f.message));
  std::fflush(stdout);
}

int explore(const ExploreCli& cli) {
  harness::ExploreOptions o;
  if (cli.policy.empty()) return refuse("explore", "--policy", "a policy file", cli.policy);
  o.target.policy_file = cli.policy;
  o.target.world_file = cli.world;
  o.target.slo = cli.slo;
  if (cli.budget && cli.runs) return refuse("explore", "--runs", "either --budget or --runs, not both", *cli.runs);
  if (cli.budget) {
    runtime::Duration d{};
    if (!runtime::parse_duration(*cli.budget, d) || d <= runtime::Duration::zero()) {
      return refuse("explore", "--budget", "a positive duration such as \"60s\" or \"10m\"", *cli.budget);
    }
    o.budget = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
  if (cli.runs) {
    const auto runs = parse_u64(*cli.runs);
    if (!runs || *runs == 0) return refuse("explore", "--runs", "a number of runs above 0", *cli.runs);
    o.runs = *runs;
  }
  if (cli.seed) {
    const auto seed = parse_u64(*cli.seed);
    if (!seed) return refuse("explore", "--seed", "an integer from 0 to 18446744073709551615", *cli.seed);
    o.seed = *seed;
  }
  if (!cli.faults.empty()) {
    auto kinds = parse_kinds(cli.faults);
    if (!kinds) return kInputError;
    o.kinds = std::move(*kinds);
  }
  o.jobs = cli.jobs == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cli.jobs;
  o.step_budget = cli.max_steps;
  o.limits.stop = stop_on_signals();

  std::unique_ptr<LimitTally> tally;
  try {
    tally = std::make_unique<LimitTally>(cli.policy);
  } catch (const runtime::ConfigError&) {
    // explore() names the file and the path below.
  }
  if (tally) o.on_run_log = [&](const runtime::EventLog& log, const reports::ScenarioResult& r) { tally->observe(log, r); };

  const bool tty = isatty(fileno(stderr)) != 0 && isatty(fileno(stdout)) != 0;
  auto progress = [&](const harness::ExploreProgress& p) {
    if (!tty) return;
    fmt::print(stderr, "\r\033[Kexplore: {} runs, {} failing, {} found, {:.1f} runs/s, {:.0f}s: {}", p.runs, p.failing,
               p.found, p.elapsed_s > 0 ? static_cast<double>(p.runs) / p.elapsed_s : 0.0, p.elapsed_s, p.phase);
  };
  auto found = [&](const harness::FoundFailure& f) {
    if (tty) fmt::print(stderr, "\r\033[K");
    print_found(f);
  };
  harness::ExploreResult result;
  try {
    result = harness::explore(o, progress, found);
  } catch (const runtime::ConfigError& e) {
    if (tty) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr, "faultline explore: {}\n", printable_error(e));
    return kInputError;
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  if (tally) result.limits = tally->rows();

  const double cpu = result.cpu_s > 0 ? result.cpu_s : 1e-9;
  fmt::print("explore: {} runs and {} shrink runs in {:.1f} s ({:.1f} runs/s, {:.1f} per CPU second, {} job(s)): "
             "{} passed, {} inconclusive, {} failing, {} stopped by their safety limit\n",
             result.runs, result.shrink_runs, result.wall_s,
             result.wall_s > 0 ? static_cast<double>(result.runs + result.shrink_runs) / result.wall_s : 0.0,
             static_cast<double>(result.runs + result.shrink_runs) / cpu, o.jobs, result.passed, result.inconclusive,
             result.failing, result.aborted);
  std::string tried;
  for (std::size_t k = 0; k < result.kinds.size(); ++k) {
    if (result.kinds[k].tried == 0) continue;
    tried += fmt::format("{}{} {}", tried.empty() ? "" : ", ", faults::to_string(static_cast<faults::FaultKind>(k)),
                         result.kinds[k].tried);
  }
  fmt::print("coverage: faults tried: {}\n", tried.empty() ? "none" : tried);
  std::size_t never = 0;
  for (const auto& l : result.limits) never += l.times == 0 ? 1 : 0;
  if (!result.limits.empty()) {
    fmt::print("coverage: {} of {} policy limits reached ({} never; see explore.md)\n", result.limits.size() - never,
               result.limits.size(), never);
  }
  if (const auto problem = harness::write_explore_files(result, cli.out); !problem.empty()) {
    fmt::print(stderr, "faultline explore: cannot write the results: {}\n", printable(problem));
    return kInputError;
  }
  for (const auto& f : result.found) {
    fmt::print("found {}: {}\n      replay: faultline run {}\n", printable(f.property), printable(f.file),
               reports::shell_quote(f.file));
  }
  fmt::print("written: {}/explore.md, {}/explore.json\n", printable(cli.out), printable(cli.out));
  if (result.stopped == "signal") {
    fmt::print(stderr, "faultline explore: stopped by {}; what was found so far is written\n",
               stop_signal() == SIGINT ? "SIGINT" : "SIGTERM");
  }
  return result.exit_code();
}

Command explore_command{"explore", [](CLI::App& app) {
  auto cli = std::make_shared<ExploreCli>();
  auto* sub = app.add_subcommand(
      "explore", "Search random fault schedules for one that breaks the policy, and shrink it to the smallest");
  sub->add_option("--policy", cli->policy, "The policy to explore (default: scenarios/policies/recommended.json)");
  sub->add_option("--world", cli->world, "A world model (scenarios/models/); default: the built-in world");
  sub->add_option("--budget", cli->budget, "Wall-clock budget, search and shrinking, e.g. 60s or 10m (default 60s)");
  sub->add_option("--runs", cli->runs, "Exactly N generated runs instead of a budget (fully reproducible)");
  sub->add_option("--seed", cli->seed, "Root seed of the generated scenarios (default 1)");
  sub->add_option("--faults", cli->faults, "Fault kinds to draw from, comma-separated (default: all)");
  sub->add_flag("--slo", cli->slo, "Count SLO failures (the alert table's default thresholds) as failures too");
  sub->add_option("--out", cli->out, "Folder for found/, explore.md and explore.json (default: explore)");
  sub->add_option("--jobs,-j", cli->jobs, "Worker threads (default: one per core)")->check(CLI::Range(0u, 1024u));
  sub->add_option("--max-steps", cli->max_steps, "Safety limit: simulation steps per run (counted as aborted past it)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
  return [cli] { return explore(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
