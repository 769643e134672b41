// The live clients behind the TCP fault proxy (harness/live/tcp_fault_proxy.h),
// against the fixture's PostgreSQL and Redis: PgConnection fails a statement
// transiently while the proxy refuses or resets and reconnects once it
// passes again, also after a reset in the middle of a statement; the
// PostgreSQL checkpoint store loses nothing across an outage; a Redis
// command held in a black hole is answered when the partition heals, and
// one on a connection reset fails and the next reconnects. LiveProxies (the
// live run's use of the proxy) counts a checkpoint outage's touches and a
// partition's held chunks. And url_through, without servers.
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "faults/fault.h"
#include "harness/live/live_proxies.h"
#include "harness/live/tcp_fault_proxy.h"
#include "reference_system/live/pg_checkpoint_store.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/redis_connection.h"
#include "runtime/live_runtime.h"
#include "tests/support/live_servers.h"
#include "tests/support/run_task.h"

namespace faultline::harness {
namespace {

using namespace std::chrono_literals;
namespace live = reference_system::live;
using resilience::ErrorClass;
using resilience::Outcome;
using runtime::Task;
using test_support::run_task;

std::uint16_t port_of(const std::string& url) {
  std::smatch m;
  if (!std::regex_search(url, m, std::regex(R"(:([0-9]+)(/|$))"))) throw std::runtime_error("no port in " + url);
  return static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

std::unique_ptr<TcpFaultProxy> proxy_to(const std::string& url) {
  ProxyOptions o;
  o.upstream_port = port_of(url);
  auto started = TcpFaultProxy::start(o);
  if (!started) throw std::runtime_error(started.failure().message);
  return std::move(started).value();
}

TEST(TcpFaultProxyUrls, UrlThroughReplacesHostAndPortOnly) {
  EXPECT_EQ(url_through("postgresql://faultline@127.0.0.1:5432/faultline", "127.0.0.1", 40001),
            "postgresql://faultline@127.0.0.1:40001/faultline");
  EXPECT_EQ(url_through("redis://127.0.0.1:6379", "127.0.0.1", 40002), "redis://127.0.0.1:40002");
  EXPECT_EQ(url_through("redis://:secret@db.example:6379/2", "127.0.0.1", 40003), "redis://:secret@127.0.0.1:40003/2");
  EXPECT_EQ(url_through("postgresql://u:p@host/db?sslmode=disable", "127.0.0.1", 40004),
            "postgresql://u:p@127.0.0.1:40004/db?sslmode=disable");
  EXPECT_EQ(url_through("redis://[::1]:6379", "::1", 40005), "redis://[::1]:40005");
}

TEST(TcpFaultProxyUrls, ScenariosWithoutProxiedFaultsStartNoProxy) {
  faults::FaultSpec crash;
  crash.kind = faults::FaultKind::crash;
  crash.target = "ocr";
  auto proxies = LiveProxies::open({crash}, "redis://127.0.0.1:1", "postgresql://x@127.0.0.1:2/db");
  ASSERT_TRUE(proxies.ok()) << proxies.failure().message;
  EXPECT_EQ(proxies.value()->redis_url_for("ocr"), "redis://127.0.0.1:1");
  EXPECT_EQ(proxies.value()->postgres_url_for("ocr"), "postgresql://x@127.0.0.1:2/db");
  EXPECT_EQ(proxies.value()->checkpoint_postgres_url_for("ocr"), "postgresql://x@127.0.0.1:2/db");
  EXPECT_TRUE(proxies.value()->evidence().empty());
  EXPECT_FALSE(live_proxy_fault(crash));
}

faults::FaultSpec network(std::string role, faults::NetworkLink to, faults::NetworkMode mode) {
  faults::FaultSpec f;
  f.kind = faults::FaultKind::network;
  f.target = std::move(role);
  f.link = to;
  f.network_mode = mode;
  f.delay = 200ms;
  f.bytes_per_second = 2'000;
  return f;
}

// A network fault proxies its role's link only; the other roles keep their
// URLs (direct, or the shared proxies'). A role's Redis proxy leads into the
// bus_partition proxy, its checkpoint connections into the
// checkpoint_outage proxy, so the faults compose.
TEST(TcpFaultProxyUrls, ANetworkFaultProxiesItsRolesLinkOnlyAndComposesWithTheSharedProxies) {
  const std::string redis = "redis://127.0.0.1:1";
  const std::string postgres = "postgresql://x@127.0.0.1:2/db";
  {
    auto opened = LiveProxies::open({network("validation", faults::NetworkLink::redis, faults::NetworkMode::black_hole),
                                     network("accounting", faults::NetworkLink::postgres, faults::NetworkMode::delay)},
                                    redis, postgres);
    ASSERT_TRUE(opened.ok()) << opened.failure().message;
    const LiveProxies& p = *opened.value();
    EXPECT_NE(p.redis_url_for("validation"), redis);
    EXPECT_EQ(p.postgres_url_for("validation"), postgres);
    EXPECT_NE(p.postgres_url_for("accounting"), postgres);
    EXPECT_EQ(p.checkpoint_postgres_url_for("accounting"), p.postgres_url_for("accounting")) << "one proxy for both";
    EXPECT_EQ(p.redis_url_for("accounting"), redis);
    for (const char* role : {"ocr", "matching", "orchestrator", "archive"}) {
      EXPECT_EQ(p.redis_url_for(role), redis) << role;
      EXPECT_EQ(p.postgres_url_for(role), postgres) << role;
      EXPECT_EQ(p.checkpoint_postgres_url_for(role), postgres) << role;
    }
    const auto lines = p.evidence();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("fault proxy (validation's Redis) -> 127.0.0.1:1:"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("fault proxy (accounting's PostgreSQL) -> 127.0.0.1:2:"), std::string::npos) << lines[1];
  }
  faults::FaultSpec outage;
  outage.kind = faults::FaultKind::checkpoint_outage;
  outage.target = "checkpoint_store";
  faults::FaultSpec partition;
  partition.kind = faults::FaultKind::bus_partition;
  partition.target = "bus";
  auto opened = LiveProxies::open({network("validation", faults::NetworkLink::redis, faults::NetworkMode::reset),
                                   outage, partition,
                                   network("accounting", faults::NetworkLink::postgres, faults::NetworkMode::bandwidth)},
                                  redis, postgres);
  ASSERT_TRUE(opened.ok()) << opened.failure().message;
  const LiveProxies& p = *opened.value();
  const std::string bus = p.redis_url_for("ocr");
  const std::string checkpoints = p.checkpoint_postgres_url_for("ocr");
  EXPECT_NE(bus, redis);
  EXPECT_NE(checkpoints, postgres);
  EXPECT_EQ(p.postgres_url_for("ocr"), postgres);
  EXPECT_NE(p.redis_url_for("validation"), bus);
  EXPECT_EQ(p.redis_url_for("accounting"), bus);
  EXPECT_NE(p.postgres_url_for("accounting"), postgres);
  EXPECT_NE(p.checkpoint_postgres_url_for("accounting"), checkpoints);
  EXPECT_NE(p.checkpoint_postgres_url_for("accounting"), p.postgres_url_for("accounting"));
  const auto lines = p.evidence();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[2].find("(validation's Redis) -> the workers' Redis proxy -> 127.0.0.1:1:"), std::string::npos)
      << lines[2];
  EXPECT_NE(lines[3].find("(accounting's PostgreSQL, --postgres) -> 127.0.0.1:2:"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find("(accounting's PostgreSQL, --checkpoint-postgres) -> the checkpoint store's proxy -> "
                          "127.0.0.1:2:"),
            std::string::npos)
      << lines[4];
}

TEST(TcpFaultProxyLive, PgConnectionFailsWhileRefusedOrResetAndReconnectsAfter) {
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().postgres;
  auto proxy = proxy_to(url);
  live::PgOptions options;
  options.connect_timeout = 5'000ms;
  options.query_timeout = 10'000ms;
  live::PgConnection pg(rt, url_through(url, proxy->host(), proxy->port()), options);
  auto first = run_task(rt, pg.query("SELECT 1::int8"));
  ASSERT_TRUE(first.ok()) << first.failure().message;

  proxy->refuse();
  auto refused = run_task(rt, pg.query("SELECT 2::int8"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error_class(), ErrorClass::permanent) << refused.failure().message;
  EXPECT_EQ(proxy->counts().reset, 1u) << "the open connection";
  EXPECT_GE(proxy->counts().refused, 1u) << "the reconnection";

  proxy->pass();
  auto back = run_task(rt, pg.query("SELECT 3::int8"));
  ASSERT_TRUE(back.ok()) << back.failure().message;
  EXPECT_EQ(back->integer(0, 0), 3);

  // Reset while idle: found before the next statement, which reconnects.
  proxy->reset();
  proxy->pass();
  auto after_idle_reset = run_task(rt, pg.query("SELECT 4::int8"));
  ASSERT_TRUE(after_idle_reset.ok()) << after_idle_reset.failure().message;

  // Reset in the middle of a statement: that statement fails, its outcome
  // unknown (it had gone out: timeout, not transient), the next one runs.
  std::optional<Outcome<live::PgResult>> slow;
  rt.spawn([](live::PgConnection& pg, std::optional<Outcome<live::PgResult>>& out) -> Task<void> {
    out.emplace(co_await pg.query("SELECT pg_sleep(2)::text"));
  }(pg, slow));
  rt.spawn([](runtime::LiveRuntime& rt, TcpFaultProxy& proxy) -> Task<void> {
    co_await rt.sleep(300ms);
    proxy.reset();
    proxy.pass();
  }(rt, *proxy));
  rt.run();
  ASSERT_TRUE(slow.has_value());
  ASSERT_FALSE(slow->ok());
  EXPECT_EQ(slow->error_class(), ErrorClass::timeout) << slow->failure().message;
  EXPECT_EQ(proxy->counts().reset_busy, 1u) << "a statement was unanswered";
  auto last = run_task(rt, pg.query("SELECT 5::int8"));
  ASSERT_TRUE(last.ok()) << last.failure().message;
  EXPECT_EQ(last->integer(0, 0), 5);
}

// An insert whose connection is cut after it went out commits all the same
// (the server finishes it, then cannot answer): the client must report that
// as an unknown outcome (timeout), never as transient ("nothing happened"),
// or a saga would leave the effect in place while undoing the rest (a post
// left live after its reservation was released: live-postgres-restart.json).
TEST(TcpFaultProxyLive, AStatementCutOffAfterItWentOutIsOfUnknownOutcomeAndMayHaveCommitted) {
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().postgres;
  const std::string table = test_support::unique_name("cut_off");
  live::PgConnection direct(rt, url);
  auto made = run_task(rt, direct.execute("CREATE TABLE " + table + " (id bigint)"));
  ASSERT_TRUE(made.ok()) << made.failure().message;
  auto proxy = proxy_to(url);
  live::PgConnection pg(rt, url_through(url, proxy->host(), proxy->port()));
  ASSERT_TRUE(run_task(rt, pg.query("SELECT 1::int8")).ok());

  std::optional<Outcome<live::PgResult>> insert;
  rt.spawn([](live::PgConnection& pg, std::string table, std::optional<Outcome<live::PgResult>>& out) -> Task<void> {
    out.emplace(co_await pg.query("INSERT INTO " + table + " SELECT $1::int8 FROM pg_sleep(0.5)", 7));
  }(pg, table, insert));
  rt.spawn([](runtime::LiveRuntime& rt, TcpFaultProxy& proxy) -> Task<void> {
    co_await rt.sleep(150ms);  // the insert is in the server, sleeping
    proxy.reset();
    proxy.pass();
  }(rt, *proxy));
  rt.run();
  ASSERT_TRUE(insert.has_value());
  ASSERT_FALSE(insert->ok());
  EXPECT_EQ(insert->error_class(), ErrorClass::timeout) << insert->failure().message;
  EXPECT_EQ(pg.stats().replies_lost, 1u);

  // The server went on without its client: the row is there.
  std::int64_t rows = 0;
  for (int i = 0; i < 100 && rows == 0; ++i) {  // bounded: 10 s of 100 ms polls
    auto counted = run_task(rt, direct.query("SELECT count(*) FROM " + table));
    ASSERT_TRUE(counted.ok()) << counted.failure().message;
    rows = counted->integer(0, 0);
    if (rows == 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(rows, 1) << "the statement whose reply was lost committed";
  (void)run_task(rt, direct.execute("DROP TABLE " + table));

  // Refused before a statement could go out: transient (nothing was sent).
  proxy->refuse();
  auto refused = run_task(rt, pg.query("SELECT 2::int8"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error_class(), ErrorClass::transient) << refused.failure().message;
}

TEST(TcpFaultProxyLive, TheCheckpointStoreLosesNothingAcrossAnOutage) {
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().postgres;
  auto proxy = proxy_to(url);
  live::PgConnection pg(rt, url_through(url, proxy->host(), proxy->port()));
  auto opened = run_task(rt, live::PgCheckpointStore::open(pg, test_support::unique_name("proxy_cp")));
  ASSERT_TRUE(opened.ok()) << opened.failure().message;
  auto& store = *opened.value();
  auto v1 = run_task(rt, store.save("wf/1", 0, "ocr", "state one"));
  ASSERT_TRUE(v1.ok()) << v1.failure().message;

  proxy->refuse();
  auto refused_save = run_task(rt, store.save("wf/1", v1.value(), "validation", "state two"));
  EXPECT_FALSE(refused_save.ok());
  auto refused_load = run_task(rt, store.load("wf/1"));
  EXPECT_FALSE(refused_load.ok());
  auto refused_remove = run_task(rt, store.remove("wf/1", v1.value()));
  EXPECT_FALSE(refused_remove.ok());

  proxy->pass();
  auto loaded = run_task(rt, store.load("wf/1"));
  ASSERT_TRUE(loaded.ok()) << loaded.failure().message;
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->state, "state one");
  EXPECT_EQ(loaded.value()->version, v1.value());
  auto v2 = run_task(rt, store.save("wf/1", v1.value(), "validation", "state two"));
  ASSERT_TRUE(v2.ok()) << v2.failure().message;
  EXPECT_GT(v2.value(), v1.value());
}

TEST(TcpFaultProxyLive, ARedisCommandHeldInABlackHoleIsAnsweredWhenItHealsAndAResetOneFails) {
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().redis;
  const std::string key = test_support::unique_name("proxy") + ":k";
  auto proxy = proxy_to(url);
  live::RedisConnection redis(rt, url_through(url, proxy->host(), proxy->port()));
  auto set = run_task(rt, redis.command("SET", key, "v1"));
  ASSERT_TRUE(set.ok() && !set->is_error());

  proxy->black_hole();
  std::optional<Outcome<live::RedisReply>> got;
  bool answered_in_partition = false;
  rt.spawn([](live::RedisConnection& redis, std::string key,
              std::optional<Outcome<live::RedisReply>>& out) -> Task<void> {
    out.emplace(co_await redis.command("GET", key));
  }(redis, key, got));
  rt.spawn([](runtime::LiveRuntime& rt, TcpFaultProxy& proxy, std::optional<Outcome<live::RedisReply>>& out,
              bool& early) -> Task<void> {
    co_await rt.sleep(800ms);
    early = out.has_value();
    proxy.pass();
  }(rt, *proxy, got, answered_in_partition));
  rt.run();
  EXPECT_FALSE(answered_in_partition);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->failure().message;
  EXPECT_EQ(got->value().text, "v1");
  EXPECT_GE(proxy->counts().chunks_held, 1u);
  EXPECT_EQ(proxy->counts().bytes_dropped, 0u);

  // Reset with the command unanswered: it fails, the next one reconnects.
  std::optional<Outcome<live::RedisReply>> lost;
  proxy->black_hole();
  rt.spawn([](live::RedisConnection& redis, std::string key,
              std::optional<Outcome<live::RedisReply>>& out) -> Task<void> {
    out.emplace(co_await redis.command("GET", key));
  }(redis, key, lost));
  rt.spawn([](runtime::LiveRuntime& rt, TcpFaultProxy& proxy) -> Task<void> {
    co_await rt.sleep(200ms);
    proxy.reset();
    proxy.pass();
  }(rt, *proxy));
  rt.run();
  ASSERT_TRUE(lost.has_value());
  ASSERT_FALSE(lost->ok());
  EXPECT_EQ(lost->error_class(), ErrorClass::transient) << lost->failure().message;
  auto again = run_task(rt, redis.command("GET", key));
  ASSERT_TRUE(again.ok()) << again.failure().message;
  EXPECT_EQ(again->text, "v1");
  EXPECT_EQ(redis.stats().connects, 2u);
}

TEST(TcpFaultProxyLive, LiveProxiesCountAnOutagesAndAPartitionsTouchesInTheirWindows) {
  runtime::LiveRuntime rt{1};
  const auto servers = test_support::live_servers();
  faults::FaultSpec outage;
  outage.kind = faults::FaultKind::checkpoint_outage;
  outage.target = "checkpoint_store";
  faults::FaultSpec partition;
  partition.kind = faults::FaultKind::bus_partition;
  partition.target = "bus";
  auto opened = LiveProxies::open({outage, partition}, servers.redis, servers.postgres);
  ASSERT_TRUE(opened.ok()) << opened.failure().message;
  LiveProxies& proxies = *opened.value();
  EXPECT_NE(proxies.redis_url_for("ocr"), servers.redis);
  EXPECT_NE(proxies.checkpoint_postgres_url_for("ocr"), servers.postgres);
  EXPECT_EQ(proxies.postgres_url_for("ocr"), servers.postgres) << "the ledger's connections stay direct";

  live::PgConnection pg(rt, proxies.checkpoint_postgres_url_for("ocr"));
  live::RedisConnection redis(rt, proxies.redis_url_for("ocr"));
  ASSERT_TRUE(run_task(rt, pg.query("SELECT 1::int8")).ok());
  ASSERT_TRUE(run_task(rt, redis.command("PING")).ok());
  EXPECT_EQ(proxies.touched(0), 0u) << "no window yet";

  proxies.begin(0);
  EXPECT_EQ(proxies.touched(0), 0u) << "an idle connection reset is not a touch";
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(run_task(rt, pg.query("SELECT 1::int8")).ok());
  const std::uint64_t outage_touches = proxies.touched(0);
  EXPECT_GE(outage_touches, 3u) << "each attempt refused";
  proxies.end(0);
  ASSERT_TRUE(run_task(rt, pg.query("SELECT 1::int8")).ok());
  EXPECT_EQ(proxies.touched(0), outage_touches) << "counted in the window only";

  proxies.begin(1);
  std::optional<Outcome<live::RedisReply>> pong;
  rt.spawn([](live::RedisConnection& redis, std::optional<Outcome<live::RedisReply>>& out) -> Task<void> {
    out.emplace(co_await redis.command("PING"));
  }(redis, pong));
  rt.spawn([](runtime::LiveRuntime& rt, LiveProxies& proxies) -> Task<void> {
    co_await rt.sleep(300ms);
    proxies.end(1);
  }(rt, proxies));
  rt.run();
  ASSERT_TRUE(pong.has_value() && pong->ok());
  EXPECT_EQ(proxies.touched(1), 1u) << "one chunk (the PING) held";
  const auto lines = proxies.evidence();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("refused"), std::string::npos) << lines[0];
  proxies.stop();
}

// A network fault's touches by mode, on the fixture's servers: delay counts
// the chunks delayed (a PING and its PONG), reset the busy connection reset
// at its start (an idle one is not a touch) and each new connection reset,
// bandwidth the chunks paced on the role's PostgreSQL link. The other
// roles' URLs are not proxied.
TEST(TcpFaultProxyLive, ANetworkFaultCountsWhatItsModeDidOnItsRolesLinkInItsWindow) {
  runtime::LiveRuntime rt{1};
  const auto servers = test_support::live_servers();
  auto opened = LiveProxies::open({network("validation", faults::NetworkLink::redis, faults::NetworkMode::delay),
                                   network("validation", faults::NetworkLink::redis, faults::NetworkMode::reset),
                                   network("accounting", faults::NetworkLink::postgres, faults::NetworkMode::bandwidth)},
                                  servers.redis, servers.postgres);
  ASSERT_TRUE(opened.ok()) << opened.failure().message;
  LiveProxies& proxies = *opened.value();
  EXPECT_EQ(proxies.redis_url_for("ocr"), servers.redis);
  EXPECT_EQ(proxies.postgres_url_for("ocr"), servers.postgres);
  live::RedisOptions redis_options;
  redis_options.command_timeout = 2'000ms;
  live::RedisConnection redis(rt, proxies.redis_url_for("validation"), redis_options);
  ASSERT_TRUE(run_task(rt, redis.command("PING")).ok());

  proxies.begin(0);
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_task(rt, redis.command("PING")).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 380ms) << "200 ms each way";
  proxies.end(0);
  EXPECT_EQ(proxies.touched(0), 2u) << "the PING and the PONG";
  ASSERT_TRUE(run_task(rt, redis.command("PING")).ok());
  EXPECT_EQ(proxies.touched(0), 2u) << "counted in the window only";

  proxies.begin(1);
  EXPECT_EQ(proxies.touched(1), 0u) << "an idle connection reset is not a touch";
  EXPECT_FALSE(run_task(rt, redis.command("PING")).ok()) << "reset";
  EXPECT_FALSE(run_task(rt, redis.command("PING")).ok()) << "its reconnection reset too";
  const std::uint64_t resets = proxies.touched(1);
  EXPECT_GE(resets, 1u) << "the new connections reset";
  proxies.end(1);
  ASSERT_TRUE(run_task(rt, redis.command("PING")).ok()) << "passes again";
  EXPECT_EQ(proxies.touched(1), resets);

  live::PgConnection pg(rt, proxies.postgres_url_for("accounting"));
  ASSERT_TRUE(run_task(rt, pg.query("SELECT 1::int8")).ok());
  proxies.begin(2);
  auto paced = run_task(rt, pg.query("SELECT repeat('x', 3000)"));
  ASSERT_TRUE(paced.ok()) << paced.failure().message;
  proxies.end(2);
  EXPECT_GE(proxies.touched(2), 2u) << "the query and its answer went at 2 kB/s";
  const auto lines = proxies.evidence();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("(validation's Redis)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("(accounting's PostgreSQL)"), std::string::npos) << lines[1];
  proxies.stop();
}

}  // namespace
}  // namespace faultline::harness
