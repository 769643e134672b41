// `faultline run --mode live` (live_run.h, harness/live/live_run.h).
#include "cli/live_run.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/args.h"
#include "cli/verdicts.h"
#include "harness/exit_code.h"
#include "harness/live/agent_contract.h"
#include "harness/live/live_run.h"
#include "harness/live/server_faults.h"
#include "harness/scenario.h"
#include "reference_system/policy.h"
#include "reports/escape.h"
#include "reports/run_directory.h"
#include "runtime/time.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kCommand = "run --mode live";

// faultline-agent beside this program.
fs::path agent_binary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("faultline-agent") : self.parent_path() / "faultline-agent";
}

// COMMAND's words: split at blanks, '...' and "..." keep theirs (no
// escapes, no expansion). nullopt for an unclosed quote.
std::optional<std::vector<std::string>> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (const char c : text) {
    if (quote != 0) {
      if (c == quote) quote = 0; else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) return std::nullopt;
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace

int run_live(const LiveRunCli& cli) {
  harness::LiveRunOptions o;
  const auto scale = parse_finite(cli.time_scale);
  if (!scale || *scale <= 0.0 || *scale > 1e6) {
    return refuse(kCommand, "--time-scale", "a number above 0, at most 1e6 (scenario seconds per real second)",
                  cli.time_scale);
  }
  o.time_scale = *scale;
  if (cli.redis.empty() != cli.postgres.empty()) {
    return refuse(kCommand, cli.redis.empty() ? "--redis" : "--postgres",
                  "both --redis and --postgres, or neither (--start-servers)", "");
  }
  if (!cli.redis.empty() && cli.start_servers) {
    return refuse(kCommand, "--start-servers", "either --start-servers or --redis/--postgres URLs, not both",
                  "--start-servers");
  }
  if (!cli.redis.empty()) {
    if (!cli.redis.starts_with("redis://")) return refuse(kCommand, "--redis", "a URL redis://host:port[/db]", cli.redis);
    if (!cli.postgres.starts_with("postgresql://") && !cli.postgres.starts_with("postgres://")) {
      return refuse(kCommand, "--postgres", "a URL postgresql://user@host:port/database", cli.postgres);
    }
    o.start_servers = false;
    o.redis_url = cli.redis;
    o.postgres_url = cli.postgres;
  }
  if (!cli.drain_limit.empty()) {
    runtime::Duration d{};
    if (!runtime::parse_duration(cli.drain_limit, d) || d <= runtime::Duration::zero()) {
      return refuse(kCommand, "--drain-limit", "a positive duration of real time such as \"2m\"", cli.drain_limit);
    }
    o.drain_limit = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
  for (const auto& agent : cli.agents) {
    const auto eq = agent.find('=');
    const std::string role = agent.substr(0, eq);
    static constexpr std::string_view kRoles[] = {"ocr", "validation", "matching", "accounting", "archive"};
    if (eq == std::string::npos || std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
      return refuse(kCommand, "--agent",
                    "ROLE=COMMAND, ROLE one of ocr, validation, matching, accounting, archive (the orchestrator is "
                    "the system's own)", agent);
    }
    auto words = split_words(std::string_view(agent).substr(eq + 1));
    if (!words || words->empty()) return refuse(kCommand, "--agent", "ROLE=COMMAND with a command (quotes closed)", agent);
    if (!harness::find_program(words->front())) {
      return refuse(kCommand, "--agent", "a COMMAND whose program exists (a path, or a name in PATH)", agent);
    }
    o.agents[role].command = std::move(words).value();
  }
  o.policy_file = cli.policy;
  o.seed = cli.seed;
  o.agent_binary = agent_binary();
  if (::access(o.agent_binary.c_str(), X_OK) != 0) {
    fmt::print(stderr, "faultline {}: the worker program {} is missing (it is built beside faultline)\n", kCommand,
               reports::printable(o.agent_binary.string()));
    return harness::kInputError;
  }

  // Every input read and checked before anything starts (ConfigError: exit 2).
  std::vector<harness::Scenario> scenarios;
  for (const auto& file : harness::expand_scenario_paths(cli.paths.empty() ? std::vector<std::string>{"scenarios"}
                                                                          : cli.paths)) {
    scenarios.push_back(harness::load_scenario(file));
    harness::check_live_scenario(scenarios.back(), o.agents);
    harness::check_server_faults(scenarios.back(), o.start_servers);
    (void)reference_system::load_policy(cli.policy.value_or(scenarios.back().policy_file));
  }

  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  const fs::path dir = reports::new_run_directory(cli.out, reports::run_directory_name(now));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    fmt::print(stderr, "faultline {}: cannot make the run directory {}: {}\n", kCommand,
               reports::printable(dir.string()), ec.message());
    return harness::kInputError;
  }
  o.run_dir = dir;
  o.stop = stop_on_signals();
  o.replay_prefix = "faultline run";

  reports::RunResult run;
  run.tool_version = "0.1.0";
  run.command_line = cli.command_line;
  run.runtime = "live";
  if (cli.timestamp) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    run.started_at = buf;
  }
  {
    auto harness = harness::LiveHarness::open(o);
    if (!harness) {
      fmt::print(stderr, "faultline {}: {}\n", kCommand, reports::printable(harness.failure().message));
      return harness::kInputError;
    }
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      if (o.stop->load()) break;
      auto r = harness.value()->run(scenarios[i], i);
      print_verdict(r);
      std::fflush(stdout);
      run.scenarios.push_back(std::move(r));
    }
    harness.value()->close();
    run.live = harness.value()->info();
  }
  int exit_code = harness::exit_code_for(reports::overall_verdict(run));
  if (const auto status = reports::write_run_directory(run, dir); !status) {
    fmt::print(stderr, "faultline {}: cannot write the run directory: {}\n", kCommand,
               reports::printable(status.message));
    exit_code = harness::kInputError;
  } else {
    fmt::print("run directory: {}\n", reports::printable(dir.string()));
  }
  print_counts(run);
  if (const int signal = stop_signal(); signal != 0) {
    fmt::print(stderr, "faultline {}: stopped by {}; every worker and server it started was stopped\n", kCommand,
               signal == SIGINT ? "SIGINT" : "SIGTERM");
    return harness::kAborted;
  }
  return exit_code;
}

}  // namespace faultline::cli
