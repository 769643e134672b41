// `faultline run [FILE|DIR ...] [--policy FILE] [--seed N] [--seeds K]
//  [--shard K/N] [--out DIR] [--jobs J] [--time-limit D] [--max-events N]
//  [--max-memory-mb M] [--list]`: runs scenarios, prints one line per
// scenario with its verdict and replay command, writes a run directory
// (report.json, junit.xml, summary.md, report.html, metrics.prom) under DIR
// with a `latest` link, and exits with harness/exit_code.h's codes.
//
// On a terminal a progress line shows the run as it goes; on a pipe (a CI
// log) each scenario's verdict line is printed as it finishes. Either way
// the lines are printed again at the end in a stable order (scenario, then
// seed). SIGINT or SIGTERM stop the run inside its scenario: what was found
// so far is written, temporary files are removed, and the exit code is 4.
//
// `--shard K/N` runs the K-th of N slices of the runs (reports/shard.h), for
// a CI matrix whose run directories `faultline merge` puts back together;
// `--list` prints the runs a command would make and makes none.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/live_run.h"
#include "cli/verdicts.h"
#include "harness/runner.h"
#include "reports/escape.h"
#include "reports/run_directory.h"
#include "runtime/time.h"

namespace faultline::cli {
namespace {

using reports::printable;

struct RunCli {
  std::vector<std::string> paths;
  std::optional<std::string> policy;
  std::optional<std::string> seed;
  std::uint32_t seeds = 1;
  std::optional<std::string> shard;
  std::string out = "runs";
  std::uint32_t jobs = 0;
  std::uint64_t max_steps = 400'000'000;
  std::uint64_t max_events = 2'000'000'000;
  std::uint64_t max_memory_mb = 8192;
  std::string time_limit;
  bool no_write = false;
  bool timestamp = false;
  bool list = false;
  // --mode live (cli/live_run.h)
  std::string mode = "sim";
  std::optional<std::string> time_scale;
  bool start_servers = false;
  std::string redis;
  std::string postgres;
  std::string drain_limit;
  std::vector<std::string> agents;  // ROLE=COMMAND
};

// The live mode's options, refusing those that only the simulator has.
int run_live_mode(const RunCli& cli, const std::vector<std::string>& argv) {
  if (cli.shard) return refuse("run --mode live", "--shard", "no --shard: live runs are not sharded", *cli.shard);
  if (cli.seeds != 1) {
    return refuse("run --mode live", "--seeds", "1: a live run plays each scenario once", std::to_string(cli.seeds));
  }
  if (cli.no_write) {
    return refuse("run --mode live", "--no-write",
                  "no --no-write: a live run keeps each process's log in its run directory", "--no-write");
  }
  if (cli.list) return refuse("run --mode live", "--list", "no --list with --mode live", "--list");
  LiveRunCli live;
  live.paths = cli.paths;
  live.policy = cli.policy;
  if (cli.seed) {
    live.seed = parse_u64(*cli.seed);
    if (!live.seed) return refuse("run", "--seed", "an integer from 0 to 18446744073709551615", *cli.seed);
  }
  if (cli.time_scale) live.time_scale = *cli.time_scale;
  live.start_servers = cli.start_servers;
  live.redis = cli.redis;
  live.postgres = cli.postgres;
  live.drain_limit = cli.drain_limit;
  live.agents = cli.agents;
  live.out = cli.out;
  live.timestamp = cli.timestamp;
  live.command_line = argv;
  return run_live(live);
}

std::string iso_utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run(const RunCli& cli) {
  if (cli.mode == "live") {
    std::vector<std::string> argv = {"faultline", "run"};
    argv.insert(argv.end(), cli.paths.begin(), cli.paths.end());
    argv.insert(argv.end(), {"--mode", "live"});
    if (cli.time_scale) argv.insert(argv.end(), {"--time-scale", *cli.time_scale});
    if (cli.seed) argv.insert(argv.end(), {"--seed", *cli.seed});
    if (cli.policy) argv.insert(argv.end(), {"--policy", *cli.policy});
    for (const auto& agent : cli.agents) argv.insert(argv.end(), {"--agent", agent});
    return run_live_mode(cli, argv);
  }
  if (cli.mode != "sim") return refuse("run", "--mode", "sim or live", cli.mode);
  if (cli.time_scale || cli.start_servers || !cli.redis.empty() || !cli.postgres.empty() || !cli.drain_limit.empty() ||
      !cli.agents.empty()) {
    return refuse("run", "--mode", "live (--time-scale, --start-servers, --redis, --postgres, --drain-limit and --agent "
                  "are options of the live mode)", cli.mode);
  }
  harness::RunnerOptions o;
  o.paths = cli.paths.empty() ? std::vector<std::string>{"scenarios"} : cli.paths;
  if (cli.policy) {
    if (cli.policy->empty()) return refuse("run", "--policy", "a policy file", *cli.policy);
    o.policy_file = *cli.policy;
  }
  if (cli.seed) {
    const auto seed = parse_u64(*cli.seed);
    if (!seed) return refuse("run", "--seed", "an integer from 0 to 18446744073709551615", *cli.seed);
    o.seed = *seed;
  }
  o.seeds = cli.seeds;
  if (cli.shard) {
    o.shard = parse_shard(*cli.shard);
    if (!o.shard) {
      return refuse("run", "--shard", fmt::format("K/N, shard K of N with 1 <= K <= N <= {} (such as 2/3)",
                                                  reports::kShardCountMax),
                    *cli.shard);
    }
  }
  o.jobs = cli.jobs == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cli.jobs;
  o.step_budget = cli.max_steps;
  o.limits.events_max = cli.max_events;
  o.limits.resident_bytes_max = cli.max_memory_mb << 20;
  if (!cli.time_limit.empty()) {
    runtime::Duration d{};
    if (!runtime::parse_duration(cli.time_limit, d) || d <= runtime::Duration::zero()) {
      return refuse("run", "--time-limit", "a positive duration such as \"10m\"", cli.time_limit);
    }
    o.time_limit = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
  o.limits.stop = stop_on_signals();

  if (cli.list) {
    for (const auto& planned : harness::plan_suite(o)) {
      fmt::print("{} {}\n", printable(planned.scenario_file), planned.seed);
    }
    return kPass;
  }

  const bool tty = isatty(fileno(stderr)) != 0 && isatty(fileno(stdout)) != 0;
  const auto outcome = harness::run_suite(o, [&](const reports::ScenarioResult& r, std::size_t done,
                                                 std::size_t total) {
    if (tty) {
      fmt::print(stderr, "\r\033[K[{}/{}] {} {}", done, total, reports::label(r.verdict), printable(r.name));
      if (done == total) fmt::print(stderr, "\r\033[K");
    } else {
      // A CI log shows each verdict as it comes, not all of them at the end.
      print_verdict(r);
      std::fflush(stdout);
    }
  });
  if (tty) fmt::print(stderr, "\r\033[K");
  if (!tty) fmt::print("--- all runs, in order ---\n");
  for (const auto& r : outcome.run.scenarios) print_verdict(r);

  auto run_result = outcome.run;
  // report.json holds only what the inputs decide, so that the same inputs
  // give the same bytes; --timestamp adds the wall-clock start.
  if (cli.timestamp) run_result.started_at = iso_utc_now();
  int write_failed = 0;
  if (!cli.no_write) {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    const auto dir = reports::new_run_directory(cli.out, reports::run_directory_name(now));
    if (const auto status = reports::write_run_directory(run_result, dir); !status) {
      fmt::print(stderr, "faultline run: cannot write the run directory: {}\n", printable(status.message));
      write_failed = kInputError;
    } else {
      fmt::print("run directory: {}\n", printable(dir.string()));
    }
  }
  print_counts(outcome.run);
  if (const auto& shard = outcome.run.shard) {
    fmt::print("shard {}/{}: {} of the run's {} runs; `faultline merge` puts the {} shards together\n", shard->index,
               shard->count, outcome.run.scenarios.size(), shard->runs_in_set, shard->count);
  }
  if (const int signal = stop_signal(); signal != 0) {
    fmt::print(stderr, "faultline run: stopped by {}; the runs finished so far are reported\n",
               signal == SIGINT ? "SIGINT" : "SIGTERM");
    return kAborted;
  }
  if (outcome.internal_errors > 0) return kInternalError;
  if (write_failed != 0) return write_failed;
  return outcome.exit_code;
}

Command run_command{"run", [](CLI::App& app) {
  auto cli = std::make_shared<RunCli>();
  auto* sub = app.add_subcommand("run", "Run scenario files (or every *.json in a folder) and judge them");
  sub->add_option("paths", cli->paths, "Scenario files or folders (default: scenarios)");
  sub->add_option("--policy", cli->policy, "Policy file for every scenario (instead of each scenario's own)");
  sub->add_option("--seed", cli->seed, "Root seed, 0 to 2^64-1 (instead of each scenario's own)");
  sub->add_option("--seeds", cli->seeds, "Run each scenario under K seeds derived from the first")
      ->check(CLI::Range(1u, 10'000u));
  sub->add_option("--shard", cli->shard,
                  "Run only slice K of N (K/N, such as 2/3): run i of the whole set, in run order from 0, is "
                  "shard (i mod N) + 1's; `faultline merge` combines the N run directories");
  sub->add_option("--out", cli->out, "Folder for run directories (a new one per run, plus `latest`)");
  sub->add_option("--jobs,-j", cli->jobs, "Worker threads (default: one per core)")->check(CLI::Range(0u, 1024u));
  sub->add_option("--max-steps", cli->max_steps, "Safety limit: simulation steps per run (exit 4 past it)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
  sub->add_option("--max-events", cli->max_events, "Safety limit: event-log events per run (exit 4 past it)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
  sub->add_option("--max-memory-mb", cli->max_memory_mb,
                  "Safety limit: resident memory of the process in MiB (exit 4 past it; default 8192)")
      ->check(CLI::Range(std::uint64_t{16}, std::uint64_t{1} << 30));
  sub->add_option("--time-limit", cli->time_limit,
                  "Safety limit: wall-clock time for the suite, e.g. 10m; the run in progress stops too");
  sub->add_flag("--no-write", cli->no_write, "Print verdicts only; write no run directory");
  sub->add_flag("--list", cli->list,
                "Print the runs this command would make (scenario file and seed, one per line, in run order) "
                "and run nothing");
  sub->add_option("--mode", cli->mode,
                  "sim (default: the simulator, deterministic) or live (real processes on Redis and PostgreSQL)");
  sub->add_option("--time-scale", cli->time_scale,
                  "Live: scenario seconds per real second (default 60: a 30-minute scenario takes 30 s)");
  sub->add_flag("--start-servers", cli->start_servers,
                "Live: start private Redis and PostgreSQL servers (the default without --redis/--postgres)");
  sub->add_option("--redis", cli->redis, "Live: an existing Redis (redis://host:port); starts no server");
  sub->add_option("--postgres", cli->postgres,
                  "Live: an existing PostgreSQL (postgresql://user@host:port/db); starts no server");
  sub->add_option("--drain-limit", cli->drain_limit,
                  "Live: the longest real time to wait for the pipeline to drain after the workload (default 5m)");
  sub->add_option("--agent", cli->agents,
                  "Live: ROLE=COMMAND runs COMMAND (words split at spaces; quote with '...' or \"...\") in place of "
                  "the reference agent of ROLE (ocr, validation, matching, accounting, archive), told everything in "
                  "FAULTLINE_* variables (README, \"Test your own agent\"); repeatable, over a scenario's \"agents\"")
      ->expected(1)
      ->take_all();
  sub->add_flag("--timestamp", cli->timestamp, "Record the wall-clock start in report.json (not byte-reproducible)");
  return [cli] { return run(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
