#include "harness/live/agent_contract.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/core.h>

#include "reference_system/wire.h"

namespace faultline::harness {

namespace fs = std::filesystem;

std::string consumer_name(std::string_view role, std::size_t index) { return fmt::format("{}-{}", role, index); }

AgentEnvironment agent_environment(const AgentSettings& s) {
  return {
      {"FAULTLINE_REDIS_URL", s.redis_url},
      {"FAULTLINE_POSTGRES_URL", s.postgres_url},
      {"FAULTLINE_ROLE", s.role},
      {"FAULTLINE_STREAM", s.prefix + s.role},
      {"FAULTLINE_GROUP", s.role},
      {"FAULTLINE_CONSUMER", s.consumer},
      {"FAULTLINE_REPLY_STREAM", s.prefix + "replies"},
      {"FAULTLINE_EPOCH_KEY", s.prefix + "epoch_us"},
      {"FAULTLINE_PREFIX", s.prefix},
      {"FAULTLINE_TIME_SCALE", fmt::format("{}", s.time_scale)},
      {"FAULTLINE_CLAIM_IDLE_MS", std::to_string(s.claim_idle.count())},
      {"FAULTLINE_DELIVERY_LIMIT", std::to_string(s.delivery_limit)},
      {"FAULTLINE_PROTOCOL_VERSION", std::to_string(reference_system::kWireVersion)},
  };
}

std::vector<std::string> with_environment(const AgentEnvironment& environment,
                                          const std::vector<std::string>& command) {
  std::vector<std::string> argv{"/usr/bin/env"};
  for (const auto& [name, value] : environment) argv.push_back(name + "=" + value);
  // A first word holding '=' would be read by env as one more variable.
  if (!command.empty() && command.front().find('=') != std::string::npos &&
      command.front().find('/') == std::string::npos) {
    argv.push_back("./" + command.front());
    argv.insert(argv.end(), command.begin() + 1, command.end());
    return argv;
  }
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::optional<fs::path> find_program(const std::string& word) {
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (word.empty()) return std::nullopt;
  if (word.find('/') != std::string::npos) {
    if (executable(word)) return fs::path(word);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / word;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

ReadyLine parse_ready(std::string_view output, std::string_view consumer) {
  const std::string needle = std::string(consumer) + " ready";
  for (auto at = output.find(needle); at != std::string_view::npos; at = output.find(needle, at + 1)) {
    // The consumer's name must stand alone: "validation-0 ready", not "validation-01 ready".
    if (at > 0 && output[at - 1] != ' ' && output[at - 1] != '\n' && output[at - 1] != '\t' && output[at - 1] != ':') {
      continue;
    }
    ReadyLine line{true, std::nullopt};
    std::string_view rest = output.substr(at + needle.size());
    rest = rest.substr(0, rest.find('\n'));
    constexpr std::string_view kProtocol = " protocol ";
    if (rest.starts_with(kProtocol)) {
      rest.remove_prefix(kProtocol.size());
      std::uint64_t n = 0;
      std::size_t digits = 0;
      while (digits < rest.size() && digits < 10 && rest[digits] >= '0' && rest[digits] <= '9') {
        n = n * 10 + static_cast<std::uint64_t>(rest[digits] - '0');
        ++digits;
      }
      if (digits > 0 && n <= UINT32_MAX) line.protocol = static_cast<std::uint32_t>(n);
    }
    return line;
  }
  return {};
}

}  // namespace faultline::harness
