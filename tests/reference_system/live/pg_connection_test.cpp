// The PostgreSQL client on the live runtime against a real server (the
// fixture's): binary parameters and results, statements from many
// coroutines taking turns (queued ones in one batch, one transaction, each
// run alone again when one of them fails), errors classed by SQLSTATE, and
// its fault model:
// refused (transient), a backend terminated while idle (reconnected before
// the next statement) and mid-statement (an unknown outcome: timeout), a
// statement that makes no progress (timeout) and a caller abandoned
// mid-statement.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "reference_system/live/pg_connection.h"
#include "runtime/live_runtime.h"
#include "tests/support/live_servers.h"
#include "tests/support/run_task.h"

namespace faultline::reference_system::live {
namespace {

using resilience::ErrorClass;
using resilience::Outcome;
using runtime::Task;
using test_support::run_task;

class PgConnectionTest : public ::testing::Test {
 protected:
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().postgres;
};

TEST_F(PgConnectionTest, ParametersAndResultsAreBinary) {
  PgConnection pg(rt, url);
  const std::string bytes("a\0b\xff", 4);
  auto r = run_task(rt, pg.query("SELECT $1::bytea, $2::int8, length($1::bytea), $3::int8 IS NULL, $4::text",
                                 bytes, std::int64_t{-5'000'000'000}, PgParam::null(), "caf\xc3\xa9"));
  ASSERT_TRUE(r.ok()) << r.failure().message;
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(r->bytes(0, 0), bytes);
  EXPECT_EQ(r->integer(0, 1), -5'000'000'000);
  EXPECT_EQ(r->integer(0, 2), 4);
  EXPECT_EQ(r->integer(0, 3), 1);
  EXPECT_EQ(r->bytes(0, 4), "caf\xc3\xa9");
  EXPECT_EQ(pg.stats().connects, 1u);
}

TEST_F(PgConnectionTest, StatementsFromManyCoroutinesTakeTurns) {
  PgConnection pg(rt, url);
  std::vector<std::int64_t> doubled(50, -1);
  for (int i = 0; i < 50; ++i) {
    rt.spawn([](PgConnection& pg, int i, std::vector<std::int64_t>& out) -> Task<> {
      auto r = co_await pg.query("SELECT $1::int8 * 2", i);
      if (r.ok()) out[static_cast<std::size_t>(i)] = r->integer(0, 0);
    }(pg, i, doubled));
  }
  rt.run();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(doubled[static_cast<std::size_t>(i)], 2 * i);
  EXPECT_EQ(pg.stats().connects, 1u);
}

TEST_F(PgConnectionTest, QueuedStatementsGoInOneBatchAndAFailingOneLeavesTheOthersTheirOwnResults) {
  PgConnection pg(rt, url);
  const std::string table = test_support::unique_name("t");
  ASSERT_TRUE(run_task(rt, pg.execute("CREATE TABLE " + table + " (k int8 PRIMARY KEY)")).ok());
  ASSERT_TRUE(run_task(rt, pg.query("INSERT INTO " + table + " VALUES ($1)", 7)).ok());
  // Twenty inserts queued at once, the eighth a duplicate key: it alone fails,
  // every other row is there (the batch was rolled back and each ran again).
  std::vector<std::optional<Outcome<PgResult>>> out(20);
  for (int i = 0; i < 20; ++i) {
    rt.spawn([](PgConnection& pg, std::string table, int i, std::optional<Outcome<PgResult>>& out) -> Task<> {
      out.emplace(co_await pg.query("INSERT INTO " + table + " VALUES ($1) RETURNING k", i == 7 ? 7 : 100 + i));
    }(pg, table, i, out[static_cast<std::size_t>(i)]));
  }
  rt.run();
  for (int i = 0; i < 20; ++i) {
    const auto& r = out[static_cast<std::size_t>(i)];
    ASSERT_TRUE(r.has_value());
    if (i == 7) {
      ASSERT_FALSE(r->ok());
      EXPECT_EQ(r->error_class(), ErrorClass::conflict);
    } else {
      ASSERT_TRUE(r->ok()) << r->failure().message;
      EXPECT_EQ((*r)->integer(0, 0), 100 + i);
    }
  }
  EXPECT_GE(pg.stats().batches, 1u);
  EXPECT_GE(pg.stats().batches_rerun, 1u);
  auto count = run_task(rt, pg.query("SELECT count(*) FROM " + table));
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->integer(0, 0), 20);  // 7 and the nineteen others
  // Without a failure, a batch commits its statements together.
  const std::uint64_t reruns = pg.stats().batches_rerun;
  std::vector<std::int64_t> doubled(20, -1);
  for (int i = 0; i < 20; ++i) {
    rt.spawn([](PgConnection& pg, std::string table, int i, std::vector<std::int64_t>& out) -> Task<> {
      auto r = co_await pg.query("INSERT INTO " + table + " VALUES ($1) RETURNING k * 2", 1000 + i);
      if (r.ok()) out[static_cast<std::size_t>(i)] = r->integer(0, 0);
    }(pg, table, i, doubled));
  }
  rt.run();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(doubled[static_cast<std::size_t>(i)], 2 * (1000 + i));
  EXPECT_EQ(pg.stats().batches_rerun, reruns);
  EXPECT_EQ(pg.stats().connects, 1u);
}

TEST_F(PgConnectionTest, ACallerAbandonedInAnotherQuerysBatchLeavesTheBatchRunning) {
  PgConnection pg(rt, url);
  ASSERT_TRUE(run_task(rt, pg.query("SELECT 1")).ok());  // connected before the timings start
  std::optional<Outcome<PgResult>> first;
  std::optional<Outcome<PgResult>> leader;
  std::optional<runtime::TimeoutResult<Outcome<PgResult>>> follower;
  // The first statement holds the connection while the other two queue; the
  // second then leads a batch carrying the third, whose caller gives up
  // while the batch sleeps.
  rt.spawn([](PgConnection& pg, std::optional<Outcome<PgResult>>& out) -> Task<> {
    out.emplace(co_await pg.query("SELECT pg_sleep(0.3), $1::int8", 1));
  }(pg, first));
  rt.spawn([](PgConnection& pg, std::optional<Outcome<PgResult>>& out) -> Task<> {
    out.emplace(co_await pg.query("SELECT $1::int8 FROM pg_sleep(0.5)", 2));
  }(pg, leader));
  rt.spawn([](runtime::LiveRuntime& rt, PgConnection& pg,
              std::optional<runtime::TimeoutResult<Outcome<PgResult>>>& out) -> Task<> {
    out.emplace(co_await rt.with_timeout(pg.query("SELECT $1::int8 * 3", 3), std::chrono::milliseconds(600)));
  }(rt, pg, follower));
  rt.run();
  ASSERT_TRUE(first.has_value() && first->ok());
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(leader->ok()) << leader->failure().message;
  EXPECT_EQ((*leader)->integer(0, 0), 2);
  ASSERT_TRUE(follower.has_value());
  EXPECT_FALSE(follower->has_value()) << "the follower's caller gave up first";
  EXPECT_EQ(pg.stats().batches, 1u);
  EXPECT_EQ(pg.stats().abandoned, 1u);
  auto next = run_task(rt, pg.query("SELECT 42"));
  ASSERT_TRUE(next.ok()) << next.failure().message;
  EXPECT_EQ(pg.stats().connects, 1u) << "an abandoned follower does not drop the connection";
}

TEST_F(PgConnectionTest, ServerErrorsAreClassedBySqlstate) {
  PgConnection pg(rt, url);
  const std::string table = test_support::unique_name("t");
  auto syntax = run_task(rt, pg.query("SELEKT 1"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error_class(), ErrorClass::permanent);
  EXPECT_NE(syntax.failure().message.find("42601"), std::string::npos) << syntax.failure().message;
  ASSERT_TRUE(run_task(rt, pg.execute("CREATE TABLE " + table + " (k int8 PRIMARY KEY)")).ok());
  ASSERT_TRUE(run_task(rt, pg.query("INSERT INTO " + table + " VALUES ($1)", 1)).ok());
  auto twice = run_task(rt, pg.query("INSERT INTO " + table + " VALUES ($1)", 1));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error_class(), ErrorClass::conflict);
  // The connection stays usable after an error.
  auto count = run_task(rt, pg.query("SELECT count(*) FROM " + table));
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->integer(0, 0), 1);
}

TEST_F(PgConnectionTest, ARefusedConnectionIsTransient) {
  PgConnection pg(rt, "postgresql://faultline@127.0.0.1:1/faultline");
  auto r = run_task(rt, pg.query("SELECT 1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::transient);
  EXPECT_FALSE(pg.connected());
}

TEST_F(PgConnectionTest, ABackendTerminatedWhileIdleIsReplacedBeforeTheNextStatement) {
  PgConnection victim(rt, url);
  PgConnection killer(rt, url);
  auto pid = run_task(rt, victim.query("SELECT pg_backend_pid()"));
  ASSERT_TRUE(pid.ok());
  auto killed = run_task(rt, killer.query("SELECT pg_terminate_backend($1::int4, 10000)", pid->integer(0, 0)));
  ASSERT_TRUE(killed.ok()) << killed.failure().message;
  ASSERT_EQ(killed->integer(0, 0), 1);
  auto again = run_task(rt, victim.query("SELECT 7"));
  ASSERT_TRUE(again.ok()) << again.failure().message;
  EXPECT_EQ(again->integer(0, 0), 7);
  EXPECT_EQ(victim.stats().connects, 2u);
}

// Its statement had gone out: its outcome is unknown to the client (a
// backend may be terminated after its commit as well as before), so it fails
// with ErrorClass::timeout, as a lost reply does, never as transient.
TEST_F(PgConnectionTest, ABackendTerminatedMidStatementFailsItAsOfUnknownOutcome) {
  PgConnection victim(rt, url);
  PgConnection killer(rt, url);
  const std::string marker = test_support::unique_name("sleeper");
  std::optional<Outcome<PgResult>> slept;
  rt.spawn([](PgConnection& pg, std::string marker, std::optional<Outcome<PgResult>>& out) -> Task<> {
    out.emplace(co_await pg.query("SELECT pg_sleep(60) /* " + marker + " */"));
  }(victim, marker, slept));
  rt.spawn([](runtime::LiveRuntime& rt, PgConnection& pg, std::string marker) -> Task<> {
    for (int i = 0; i < 1000; ++i) {  // bounded: 10 s of 10 ms polls
      auto r = co_await pg.query(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%' || $1 || ' */'"
          " AND pid <> pg_backend_pid()",
          marker);
      if (r.ok() && r->integer(0, 0) > 0) break;
      co_await rt.sleep(std::chrono::milliseconds(10));
    }
  }(rt, killer, marker));
  rt.run();
  ASSERT_TRUE(slept.has_value());
  ASSERT_FALSE(slept->ok());
  EXPECT_EQ(slept->error_class(), ErrorClass::timeout) << slept->failure().message;
  EXPECT_EQ(victim.stats().replies_lost, 1u);
  EXPECT_TRUE(run_task(rt, victim.query("SELECT 1")).ok()) << "the next statement reconnects";
}

TEST_F(PgConnectionTest, AStatementWithoutProgressTimesOut) {
  PgOptions options;
  options.query_timeout = std::chrono::milliseconds(200);
  PgConnection pg(rt, url, options);
  auto r = run_task(rt, pg.query("SELECT pg_sleep(60)"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::timeout) << r.failure().message;
  EXPECT_EQ(pg.stats().timeouts, 1u);
  EXPECT_TRUE(run_task(rt, pg.query("SELECT 1")).ok());
}

TEST_F(PgConnectionTest, ACallerAbandonedMidStatementLeavesAConnectionThatStartsClean) {
  PgConnection pg(rt, url);
  auto abandoned = run_task(rt, [](runtime::LiveRuntime& rt, PgConnection& pg) -> Task<runtime::TimeoutResult<Outcome<PgResult>>> {
    co_return co_await rt.with_timeout(pg.query("SELECT pg_sleep(60)"), std::chrono::milliseconds(100));
  }(rt, pg));
  EXPECT_FALSE(abandoned.has_value());
  EXPECT_EQ(pg.stats().abandoned, 1u);
  auto next = run_task(rt, pg.query("SELECT 42"));
  ASSERT_TRUE(next.ok()) << next.failure().message;
  EXPECT_EQ(next->integer(0, 0), 42);
}

}  // namespace
}  // namespace faultline::reference_system::live
