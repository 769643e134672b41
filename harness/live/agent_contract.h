// The contract between the harness and an agent process it starts, in any
// language (protocol/README.md is the wire protocol it speaks): its
// settings arrive in FAULTLINE_* environment variables, and once it works
// it prints a line containing `<consumer> ready protocol <N>` on stdout.
// `faultline check-agent` (agent_check.h) and the live mode's workers
// build and read both through this header.
//
//   AgentSettings s{.role = "validation", .consumer = consumer_name("validation", 0), ...};
//   auto argv = with_environment(agent_environment(s), {"/usr/bin/python3", "agent.py"});
//   spawn_supervised(argv, cwd, log);                    // harness/live_servers.h
//   ReadyLine r = parse_ready(log_text, s.consumer);     // {ready, protocol version or none}
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::harness {

// What an agent process is told.
struct AgentSettings {
  std::string role;          // ocr | validation | matching | accounting | archive
  std::string consumer;      // consumer_name(role, i): the same when worker i restarts
  std::string prefix = "faultline:";
  std::string redis_url;     // redis://host:port
  std::string postgres_url;  // postgresql://user@host:port/database
  double time_scale = 1.0;   // scenario seconds per real second
  std::chrono::milliseconds claim_idle{60'000};  // real time
  std::uint32_t delivery_limit = 10;
};

// `<role>-<index>`.
std::string consumer_name(std::string_view role, std::size_t index);

// The variables, in this order: FAULTLINE_REDIS_URL, FAULTLINE_POSTGRES_URL,
// FAULTLINE_ROLE, FAULTLINE_STREAM (<prefix><role>), FAULTLINE_GROUP (the
// role), FAULTLINE_CONSUMER, FAULTLINE_REPLY_STREAM (<prefix>replies),
// FAULTLINE_EPOCH_KEY (<prefix>epoch_us), FAULTLINE_PREFIX,
// FAULTLINE_TIME_SCALE, FAULTLINE_CLAIM_IDLE_MS, FAULTLINE_DELIVERY_LIMIT,
// FAULTLINE_PROTOCOL_VERSION (kWireVersion).
using AgentEnvironment = std::vector<std::pair<std::string, std::string>>;
AgentEnvironment agent_environment(const AgentSettings& settings);

// An argv for spawn_supervised that runs `command` with `environment` added
// to this process's own: `/usr/bin/env NAME=VALUE... command...`. The
// command's first word is looked up in PATH by env when it has no '/'.
std::vector<std::string> with_environment(const AgentEnvironment& environment,
                                          const std::vector<std::string>& command);

// The program a command's first word names: itself when it holds a '/'
// (if it is an executable file), else the first executable of that name
// in PATH; nullopt when there is none.
std::optional<std::filesystem::path> find_program(const std::string& word);

// What an agent's output says: whether it holds `<consumer> ready`, and the
// protocol version that follows it (` protocol <N>`), none when the line
// names none. The first such line of `output` counts.
struct ReadyLine {
  bool ready = false;
  std::optional<std::uint32_t> protocol;
};
ReadyLine parse_ready(std::string_view output, std::string_view consumer);

}  // namespace faultline::harness
