// The launcher of private servers (harness/live_servers.h), on its own:
// both servers start on free ports of 127.0.0.1 in their own directories,
// answer, and leave nothing behind when stopped. What they hold surviving a
// crash of the server is tested with the stores
// (tests/reference_system/live/checkpoint_store_test.cpp).
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <regex>

#include "harness/live_servers.h"

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;

TEST(LiveServers, BothStartOnTheirOwnPortsAndDirectoriesAndStopWithoutATrace) {
  auto started = start_live_servers();
  ASSERT_TRUE(started.ok()) << started.failure().message;
  LiveServers servers = std::move(started).value();
  EXPECT_TRUE(std::regex_match(servers.redis->url(), std::regex(R"(redis://127\.0\.0\.1:[0-9]+)")))
      << servers.redis->url();
  EXPECT_TRUE(std::regex_match(servers.postgres->url(),
                               std::regex(R"(postgresql://faultline@127\.0\.0\.1:[0-9]+/faultline)")))
      << servers.postgres->url();
  EXPECT_NE(servers.redis->port(), servers.postgres->port());
  EXPECT_NE(servers.postgres->port(), 5432) << "never the system's PostgreSQL port";
  const fs::path redis_dir = servers.redis->dir();
  const fs::path postgres_dir = servers.postgres->dir();
  EXPECT_TRUE(fs::exists(redis_dir / "redis.log"));
  EXPECT_TRUE(fs::exists(postgres_dir / "data" / "PG_VERSION"));
  const pid_t redis_pid = servers.redis->pid();
  const pid_t postgres_pid = servers.postgres->pid();
  EXPECT_EQ(::kill(redis_pid, 0), 0);
  EXPECT_EQ(::kill(postgres_pid, 0), 0);

  EXPECT_TRUE(servers.redis->stop().ok());
  EXPECT_TRUE(servers.postgres->stop().ok());
  EXPECT_FALSE(fs::exists(redis_dir));
  EXPECT_FALSE(fs::exists(postgres_dir));
  EXPECT_NE(::kill(redis_pid, 0), 0) << "the server was reaped";
  EXPECT_NE(::kill(postgres_pid, 0), 0);
  EXPECT_TRUE(servers.redis->stop().ok()) << "stopping twice is harmless";
}

TEST(LiveServers, ADirectoryThatCannotBeMadeIsAFailureValue) {
  ServerLaunchOptions options;
  options.parent_dir = "/nonexistent-dir/faultline";
  auto started = PrivateServer::start(ServerKind::redis, options);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.failure().message.find("/nonexistent-dir/faultline"), std::string::npos)
      << started.failure().message;
}

}  // namespace
}  // namespace faultline::harness
