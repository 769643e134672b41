// The Redis client on the live runtime against a real server (the fixture's):
// binary-safe round trips, pipelining from many coroutines, the server's
// errors as values, and its fault model: refused, lost mid-command, closed
// while idle (reconnected before the next command), and a server that
// stops answering (timeout).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reference_system/live/redis_connection.h"
#include "runtime/live_runtime.h"
#include "tests/support/live_servers.h"
#include "tests/support/run_task.h"

namespace faultline::reference_system::live {
namespace {

using resilience::ErrorClass;
using resilience::Outcome;
using runtime::Task;
using test_support::run_task;

class RedisConnectionTest : public ::testing::Test {
 protected:
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().redis;
  const std::string prefix = test_support::unique_name("redis_test") + ":";
};

TEST(RedisUrl, ReadsHostPortDatabaseAndPassword) {
  auto a = parse_redis_url("redis://:secret@cache.example:6380/3");
  ASSERT_TRUE(a.ok()) << a.failure().message;
  EXPECT_EQ(a->host, "cache.example");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->database, 3);
  EXPECT_EQ(a->password, "secret");
  auto b = parse_redis_url("redis://127.0.0.1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(parse_redis_url("redis://[::1]:7000")->host, "::1");
  EXPECT_FALSE(parse_redis_url("http://127.0.0.1:6379").ok());
  EXPECT_FALSE(parse_redis_url("redis://127.0.0.1:99999").ok());
}

TEST_F(RedisConnectionTest, ValuesAreBinarySafe) {
  RedisConnection redis(rt, url);
  const std::string value("a\0b\xff\r\n", 6);
  auto set = run_task(rt, redis.command("SET", prefix + "k", value));
  ASSERT_TRUE(set.ok()) << set.failure().message;
  EXPECT_EQ(set->type, RedisReply::Type::status);
  EXPECT_EQ(set->text, "OK");
  auto get = run_task(rt, redis.command("GET", prefix + "k"));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->type, RedisReply::Type::string);
  EXPECT_EQ(get->text, value);
  auto missing = run_task(rt, redis.command("GET", prefix + "nothing"));
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());
  EXPECT_TRUE(redis.connected());
  EXPECT_EQ(redis.stats().connects, 1u);
}

TEST_F(RedisConnectionTest, ManyCoroutinesShareOneConnectionAndEachGetsItsOwnReply) {
  RedisConnection redis(rt, url);
  constexpr int kCommands = 200;
  std::vector<long long> seen;
  for (int i = 0; i < kCommands; ++i) {
    rt.spawn([](RedisConnection& r, std::string key, std::vector<long long>& out) -> Task<> {
      auto n = co_await r.command("INCR", key);
      if (n.ok() && n->type == RedisReply::Type::integer) out.push_back(n->integer);
    }(redis, prefix + "counter", seen));
  }
  rt.run();
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kCommands));
  // Pipelined in the order they were sent, answered in that order.
  for (int i = 0; i < kCommands; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i + 1);
  EXPECT_EQ(redis.stats().connects, 1u);
}

TEST_F(RedisConnectionTest, TheServersErrorIsAReplyNotAFailure) {
  RedisConnection redis(rt, url);
  auto r = run_task(rt, redis.command("NO-SUCH-COMMAND"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error());
  EXPECT_NE(r->text.find("unknown command"), std::string::npos) << r->text;
}

TEST_F(RedisConnectionTest, ARefusedConnectionIsTransient) {
  // Port 1 on 127.0.0.1: nothing listens there.
  RedisConnection redis(rt, "redis://127.0.0.1:1");
  auto r = run_task(rt, redis.command("PING"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::transient);
  EXPECT_NE(r.failure().message.find("127.0.0.1:1"), std::string::npos) << r.failure().message;
  EXPECT_FALSE(redis.connected());
}

TEST_F(RedisConnectionTest, AConnectionClosedWhileIdleIsReopenedBeforeTheNextCommand) {
  RedisConnection victim(rt, url);
  RedisConnection killer(rt, url);
  auto id = run_task(rt, victim.command("CLIENT", "ID"));
  ASSERT_TRUE(id.ok());
  auto killed = run_task(rt, killer.command("CLIENT", "KILL", "ID", id->integer));
  ASSERT_TRUE(killed.ok());
  ASSERT_EQ(killed->integer, 1);
  auto ping = run_task(rt, victim.command("PING"));
  ASSERT_TRUE(ping.ok()) << ping.failure().message;
  EXPECT_EQ(ping->text, "PONG");
  EXPECT_EQ(victim.stats().connects, 2u);
  EXPECT_EQ(victim.stats().connections_lost, 1u);
}

TEST_F(RedisConnectionTest, AConnectionLostMidCommandFailsItTransientlyAndTheNextCommandReconnects) {
  RedisConnection victim(rt, url);
  RedisConnection killer(rt, url);
  auto id = run_task(rt, victim.command("CLIENT", "ID"));
  ASSERT_TRUE(id.ok());
  std::optional<Outcome<RedisReply>> blocked;
  rt.spawn([](RedisConnection& r, std::string key, std::optional<Outcome<RedisReply>>& out) -> Task<> {
    out.emplace(co_await r.command("BLPOP", key, "0"));  // blocks until its connection goes
  }(victim, prefix + "never", blocked));
  rt.spawn([](runtime::LiveRuntime& rt, RedisConnection& r, long long victim_id) -> Task<> {
    // Until the server lists the victim as blocked (bounded: 10 s of 10 ms polls).
    for (int i = 0; i < 1000; ++i) {
      auto list = co_await r.command("CLIENT", "LIST", "ID", victim_id);
      if (list.ok() && list->text.find("cmd=blpop") != std::string::npos) break;
      co_await rt.sleep(std::chrono::milliseconds(10));
    }
    (void)co_await r.command("CLIENT", "KILL", "ID", victim_id);
  }(rt, killer, id->integer));
  rt.run();
  ASSERT_TRUE(blocked.has_value());
  ASSERT_FALSE(blocked->ok());
  EXPECT_EQ(blocked->error_class(), ErrorClass::transient) << blocked->failure().message;
  auto again = run_task(rt, victim.command("PING"));
  ASSERT_TRUE(again.ok()) << again.failure().message;
  EXPECT_EQ(victim.stats().connects, 2u);
}

TEST_F(RedisConnectionTest, NoReplyWithinTheCommandTimeoutDropsTheConnectionAsATimeout) {
  RedisOptions options;
  options.command_timeout = std::chrono::milliseconds(200);
  RedisConnection redis(rt, url, options);
  // Blocks forever: only the client's own timeout ends it.
  auto r = run_task(rt, redis.command("BLPOP", prefix + "never", "0"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::timeout) << r.failure().message;
  EXPECT_EQ(redis.stats().timeouts, 1u);
  auto ping = run_task(rt, redis.command("PING"));
  EXPECT_TRUE(ping.ok()) << "the next command reconnects";
}

TEST_F(RedisConnectionTest, CommandsBeyondTheInFlightBoundAreRefusedAndCounted) {
  RedisOptions options;
  options.max_in_flight = 3;
  RedisConnection redis(rt, url, options);
  std::vector<ErrorClass> failures;
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    rt.spawn([](RedisConnection& r, int& ok, std::vector<ErrorClass>& failures) -> Task<> {
      auto p = co_await r.command("PING");
      if (p.ok()) ++ok; else failures.push_back(p.error_class());
    }(redis, ok, failures));
  }
  rt.run();
  // All five wait for the connection, then three are sent before any reply.
  EXPECT_EQ(ok, 3);
  ASSERT_EQ(failures.size(), 2u);
  for (auto c : failures) EXPECT_EQ(c, ErrorClass::capacity_exceeded);
  EXPECT_EQ(redis.stats().refused_full, 2u);
}

}  // namespace
}  // namespace faultline::reference_system::live
