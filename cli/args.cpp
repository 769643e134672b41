#include "cli/args.h"

#include <fmt/core.h>
#include <signal.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "reports/escape.h"

namespace faultline::cli {

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_finite(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<reports::Shard> parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto index = parse_u64(text.substr(0, slash));
  const auto count = parse_u64(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *count > reports::kShardCountMax || *index < 1 || *index > *count) {
    return std::nullopt;
  }
  return reports::Shard{static_cast<std::uint32_t>(*index), static_cast<std::uint32_t>(*count)};
}

int refuse(std::string_view command, std::string_view option, std::string_view expected, std::string_view value) {
  fmt::print(stderr, "faultline {}: {}: expected {}, got \"{}\"\n", command, option, expected,
             reports::printable(value));
  return kInputError;
}

std::string printable_error(const runtime::ConfigError& e) {
  return reports::printable(e.file()) + ": " + reports::printable(e.path()) + ": " + reports::printable(e.message());
}

namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signal) {
  g_signal.store(signal);
  g_stop.store(true);
  // A second signal is not caught: it ends the process as it would have.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGINT, &dfl, nullptr);
  sigaction(SIGTERM, &dfl, nullptr);
}
}  // namespace

const std::atomic<bool>* stop_on_signals() {
  static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return &g_stop;
}

int stop_signal() { return g_signal.load(); }

}  // namespace faultline::cli
