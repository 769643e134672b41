// `faultline run [FILE|DIR ...] [--policy FILE] [--seed N] [--seeds K]
//  [--out DIR] [--jobs J]`: runs scenarios, prints one line per scenario
// with its verdict and replay command, writes a run directory (report.json,
// junit.xml, summary.md, report.html, metrics.prom) under DIR with a
// `latest` link, and exits 0 pass, 1 failed, 2 input error, 3 inconclusive,
// 4 aborted by a safety limit.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>
#include <memory>

#include "harness/command.h"
#include "harness/runner.h"
#include "reports/run_directory.h"
#include "runtime/time.h"

namespace faultline::harness {
namespace {

struct RunCli {
  std::vector<std::string> paths;
  std::string policy;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::uint32_t seeds = 1;
  std::string out = "runs";
  std::uint32_t jobs = 0;
  std::uint64_t max_steps = 400'000'000;
  std::string time_limit;
  bool no_write = false;
  bool timestamp = false;
};

std::string utc_now(const char* format) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string_view label(reports::Verdict v) {
  switch (v) {
    case reports::Verdict::kPass: return "PASS";
    case reports::Verdict::kFail: return "FAIL";
    case reports::Verdict::kInconclusive: return "INCONCLUSIVE";
    case reports::Verdict::kAborted: return "ABORTED";
    case reports::Verdict::kError: return "ERROR";
  }
  return "?";
}

int run(const RunCli& cli) {
  RunnerOptions o;
  o.paths = cli.paths.empty() ? std::vector<std::string>{"scenarios"} : cli.paths;
  if (!cli.policy.empty()) o.policy_file = cli.policy;
  if (cli.seed_given) o.seed = cli.seed;
  o.seeds = cli.seeds;
  o.jobs = cli.jobs == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cli.jobs;
  o.step_budget = cli.max_steps;
  if (!cli.time_limit.empty()) {
    runtime::Duration d{};
    if (!runtime::parse_duration(cli.time_limit, d)) {
      fmt::print(stderr, "faultline run: --time-limit: expected a duration such as \"10m\", got \"{}\"\n",
                 cli.time_limit);
      return kInputError;
    }
    o.time_limit = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
  const bool tty = isatty(fileno(stderr)) != 0;
  const auto outcome = run_suite(o, [&](const reports::ScenarioResult& r, std::size_t done, std::size_t total) {
    if (tty) fmt::print(stderr, "\r\033[K[{}/{}] {} {}", done, total, label(r.verdict), r.name);
    if (tty && done == total) fmt::print(stderr, "\r\033[K");
  });
  for (const auto& r : outcome.run.scenarios) {
    fmt::print("{:<12} {:<28} seed={:<20} {}\n", label(r.verdict), r.name, r.seed, r.verdict_reason);
    if (!r.replay_command.empty()) fmt::print("{:<12} replay: {}\n", "", r.replay_command);
  }
  auto run_result = outcome.run;
  // report.json holds only what the inputs decide, so that the same inputs
  // give the same bytes; --timestamp adds the wall-clock start.
  if (cli.timestamp) run_result.started_at = utc_now("%Y-%m-%dT%H:%M:%SZ");
  if (!cli.no_write) {
    namespace fs = std::filesystem;
    const std::string stamp = utc_now("%Y%m%dT%H%M%SZ");
    fs::path dir = fs::path(cli.out) / stamp;
    for (int i = 2; fs::exists(dir); ++i) dir = fs::path(cli.out) / fmt::format("{}-{}", stamp, i);
    const auto status = reports::write_run_directory(run_result, dir);
    if (!status) {
      fmt::print(stderr, "faultline run: {}\n", status.message);
      return kAborted;
    }
    fmt::print("run directory: {}\n", dir.string());
  }
  std::size_t counts[5] = {};
  for (const auto& r : outcome.run.scenarios) ++counts[static_cast<int>(r.verdict)];
  fmt::print("{} run(s): {} passed, {} failed, {} inconclusive, {} aborted, {} errors\n",
             outcome.run.scenarios.size(), counts[0], counts[2], counts[1], counts[3], counts[4]);
  return outcome.exit_code;
}

Command run_command{"run", [](CLI::App& app) {
  auto cli = std::make_shared<RunCli>();
  auto* sub = app.add_subcommand("run", "Run scenario files (or every *.json in a folder) and judge them");
  sub->add_option("paths", cli->paths, "Scenario files or folders (default: scenarios)");
  sub->add_option("--policy", cli->policy, "Policy file for every scenario (instead of each scenario's own)");
  auto* seed = sub->add_option("--seed", cli->seed, "Root seed (instead of each scenario's own)");
  sub->add_option("--seeds", cli->seeds, "Run each scenario under K seeds derived from the first")
      ->check(CLI::Range(1u, 10'000u));
  sub->add_option("--out", cli->out, "Folder for run directories (a new one per run, plus `latest`)");
  sub->add_option("--jobs,-j", cli->jobs, "Worker threads (default: one per core)")->check(CLI::Range(0u, 1024u));
  sub->add_option("--max-steps", cli->max_steps, "Safety limit: simulation steps per run (exit 4 past it)");
  sub->add_option("--time-limit", cli->time_limit, "Safety limit: wall-clock time for the suite, e.g. 10m");
  sub->add_flag("--no-write", cli->no_write, "Print verdicts only; write no run directory");
  sub->add_flag("--timestamp", cli->timestamp, "Record the wall-clock start in report.json (not byte-reproducible)");
  return [cli, seed] {
    cli->seed_given = seed->count() > 0;
    return run(*cli);
  };
}};

}  // namespace
}  // namespace faultline::harness
