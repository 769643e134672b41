// `faultline run --mode live` (harness/live/live_run.h): the CLI side, called
// by run_command.cpp once it has read the options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

struct LiveRunCli {
  std::vector<std::string> paths;
  std::optional<std::string> policy;
  std::optional<std::uint64_t> seed;
  std::string time_scale = "60";
  bool start_servers = false;  // said explicitly (the default when no URL is given)
  std::string redis;
  std::string postgres;
  std::string drain_limit;  // real time, e.g. "2m"; default 5m
  std::string out = "runs";
  bool timestamp = false;
  std::vector<std::string> agents;        // --agent ROLE=COMMAND
  std::vector<std::string> command_line;  // the run's own command, for report.json
};

// Runs the scenarios live; the exit code (harness/exit_code.h).
int run_live(const LiveRunCli& cli);

}  // namespace faultline::cli
