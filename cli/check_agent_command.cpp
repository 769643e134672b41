// `faultline check-agent ROLE -- COMMAND...`: runs the conformance battery
// of harness/live/agent_check.h against an agent process in any language
// and prints a pass/fail table. Exit 0 every check passed, 1 one failed
// (or the agent never said ready with this protocol version), 2 bad usage
// (unknown role, no command, a command not found) or servers that cannot
// start.
//
//   faultline check-agent validation -- /usr/bin/python3 examples/agents/validation_agent.py
//   faultline check-agent validation --junit check.xml -- ./my-agent --verbose
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "harness/live/agent_check.h"
#include "harness/live/agent_contract.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;

struct CheckAgentCli {
  std::string role;
  std::vector<std::string> command;
  std::string junit;
  std::string log;
  unsigned ready_seconds = 20;
};

std::string quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

int check_agent(const CheckAgentCli& cli) {
  constexpr std::string_view kName = "check-agent";
  if (!harness::is_agent_role(cli.role)) {
    return refuse(kName, "ROLE", "ocr|validation|matching|accounting|archive", cli.role);
  }
  if (cli.command.empty()) return refuse(kName, "COMMAND", "the agent's command after --", "");
  if (!harness::find_program(cli.command.front())) {
    fmt::print(stderr, "faultline check-agent: command not found: {}\n", cli.command.front());
    return kInputError;
  }
  harness::AgentCheckOptions options;
  options.role = cli.role;
  options.command = cli.command;
  options.work_dir = fs::current_path();
  options.ready_within = std::chrono::seconds(cli.ready_seconds);
  fs::path temp_dir;
  if (cli.log.empty()) {
    temp_dir = fs::temp_directory_path() / fmt::format("faultline-check-agent-{}", ::getpid());
    fs::create_directories(temp_dir);
    options.log_file = temp_dir / "agent.log";
  } else {
    options.log_file = fs::absolute(cli.log);
  }
  fmt::print("check-agent {}: {}\n", cli.role, quoted(cli.command));
  std::fflush(stdout);
  auto report = harness::check_agent(options);
  if (!report) {
    fmt::print(stderr, "faultline check-agent: {}\n", report.failure().message);
    if (!temp_dir.empty()) fs::remove_all(temp_dir);
    return kInputError;
  }
  fmt::print("{}", harness::format_table(report.value()));
  if (!cli.junit.empty()) {
    std::ofstream out(cli.junit);
    out << harness::format_junit(report.value());
    if (!out) {
      fmt::print(stderr, "faultline check-agent: --junit: cannot write {}\n", cli.junit);
      return kInputError;
    }
  }
  const bool passed = report.value().passed();
  if (!passed) {
    fmt::print("agent output: {}\nserver commands (MONITOR): {}\n", options.log_file.string(),
               harness::monitor_log_of(options.log_file).string());
  } else if (!temp_dir.empty()) {
    fs::remove_all(temp_dir);
  }
  return passed ? kPass : kFailed;
}

Command check_agent_command{"check-agent", [](CLI::App& app) {
  auto cli = std::make_shared<CheckAgentCli>();
  auto* sub = app.add_subcommand(
      "check-agent", "Run a conformance battery against an agent process: faultline check-agent ROLE -- COMMAND...");
  sub->add_option("role", cli->role, "The role the agent plays: ocr|validation|matching|accounting|archive")
      ->required();
  sub->add_option("command", cli->command, "The agent's command and its arguments, after --");
  sub->add_option("--junit", cli->junit, "Also write the results as JUnit XML to this file");
  sub->add_option("--log", cli->log,
                  "Keep the agent's output in this file (default: a temporary file, kept on failure)");
  sub->add_option("--ready-within", cli->ready_seconds, "Seconds the agent has to say ready (default 20)")
      ->check(CLI::Range(1u, 600u));
  return [cli] { return check_agent(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
