// `faultline check-agent ROLE -- COMMAND...`: a short, fixed conformance
// battery for an agent process in any language (agent_contract.h says how
// it is started, protocol/README.md what it must do). Private Redis and
// PostgreSQL servers are started (live_servers.h), the command is started
// with the contract's environment and must say ready with this harness's
// protocol version; then requests built with the reference codec
// (reference_system/wire.h) are added to its stream and what it does is read
// from Redis, never from the agent's word:
//
//   happy_path         a request is answered (same request_id, a reply the
//                      codec decodes, the role's expected status) and acked
//   redelivery         the same request added again gets no other status;
//                      an entry a consumer read and never acked (it died)
//                      is claimed after the claim time and answered
//   crash_mid_message  an entry pending with the agent when it is SIGKILLed
//                      is answered by its restart under the same name; and,
//                      from a MONITOR of the server during the whole battery,
//                      no request entry is acked before its reply is added
//   past_deadline      a request whose deadline passed while the agent was
//                      stopped is acked and not answered
//   malformed_request  entries of another version, with a missing field and
//                      with a body that is not JSON end in <stream>:dead,
//                      acked; the agent keeps running and answers the next
//
//   auto report = check_agent(options);   // Outcome: fails if the servers cannot start
//   fmt::print("{}", format_table(report.value()));
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "resilience/outcome.h"

namespace faultline::harness {

struct AgentCheckOptions {
  std::string role;                   // ocr .. archive
  std::vector<std::string> command;   // the agent; command[0] a program path or a name in PATH
  std::filesystem::path work_dir;     // the agent's working directory
  std::filesystem::path log_file;     // the agent's stdout and stderr go here
  // Real-time bounds: hang guards with slack for a loaded machine.
  std::chrono::milliseconds ready_within{20'000};
  std::chrono::milliseconds answer_within{15'000};
  std::chrono::milliseconds claim_idle{300};
  std::uint32_t delivery_limit = 10;
};

struct AgentCheck {
  std::string name;
  bool passed = false;
  std::string detail;  // one line
};

struct AgentCheckReport {
  std::string role;
  std::string consumer;
  // Empty when the agent said ready with this harness's version; else why
  // not (it exited, was silent, or speaks another version): no check ran.
  std::string start_failure;
  std::vector<AgentCheck> checks;
  bool passed() const;
};

// Where check_agent writes the server's MONITOR output (every command, in
// the server's order): beside the agent's log, `<log_file>.monitor`.
std::filesystem::path monitor_log_of(const std::filesystem::path& log_file);

// The roles check-agent knows.
bool is_agent_role(const std::string& role);

resilience::Outcome<AgentCheckReport> check_agent(const AgentCheckOptions& options);

// A table, one check a line: name, PASS or FAIL, detail.
std::string format_table(const AgentCheckReport& report);
// JUnit XML: one testsuite, one testcase a check.
std::string format_junit(const AgentCheckReport& report);

}  // namespace faultline::harness
