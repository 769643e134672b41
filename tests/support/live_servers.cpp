// The live servers' URLs for tests (tests/support/live_servers.h).
#include "tests/support/live_servers.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace faultline::test_support {

std::filesystem::path live_servers_file() {
  const char* file = std::getenv("FAULTLINE_LIVE_SERVERS");
  return (file != nullptr && *file != '\0') ? std::filesystem::path(file)
                                             : std::filesystem::path(FAULTLINE_CONFIGURED_LIVE_SERVERS_FILE);
}

LiveServerUrls live_servers() {
  const auto file = live_servers_file();
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error("no live servers: " + file.string() +
                             " is missing. Run this test through ctest (its fixture live_servers starts a private "
                             "Redis and PostgreSQL), or start them by hand: faultline_live_servers start " +
                             file.string());
  }
  LiveServerUrls urls;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("redis=", 0) == 0) urls.redis = line.substr(6);
    if (line.rfind("postgres=", 0) == 0) urls.postgres = line.substr(9);
  }
  if (urls.redis.empty()) throw std::runtime_error("no Redis URL in " + file.string());
  if (urls.postgres.empty()) throw std::runtime_error("no PostgreSQL URL in " + file.string());
  return urls;
}

std::string unique_name(std::string_view stem) {
  static std::atomic<unsigned> counter{0};
  return std::string(stem) + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

}  // namespace faultline::test_support
