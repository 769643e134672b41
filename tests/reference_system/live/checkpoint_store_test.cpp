// What the PostgreSQL and Redis checkpoint stores show beyond the contract
// suite (tests/resilience/checkpoint_contract_test.cpp runs that on them):
// a worker process killed with SIGKILL right after a save loses nothing, a
// stale writer in another process is refused by the database, two writers
// racing from two connections get exactly one success, an acknowledged
// save survives the server itself being killed (on a private server, since
// the fixture's is shared), and the same store carries on after the crash
// on a new connection.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "harness/live_servers.h"
#include "tests/reference_system/live/live_checkpoint_stores.h"
#include "tests/support/run_task.h"

namespace faultline::reference_system::live {
namespace {

using resilience::CheckpointStore;
using resilience::ErrorClass;
using runtime::Task;
using test_support::run_task;

template <class Stores>
class DurableCheckpointStore : public ::testing::Test {
 protected:
  const std::string url = Stores::url();
  const std::string name = test_support::unique_name("durable");
};

class StoreNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Kinds = ::testing::Types<testing::PostgresStores, testing::RedisStores>;
TYPED_TEST_SUITE(DurableCheckpointStore, Kinds, StoreNames);

TYPED_TEST(DurableCheckpointStore, AProcessKilledRightAfterASaveLosesNothing) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The worker: its own runtime and connection; save two steps, then die.
    runtime::LiveRuntime rt(2);
    auto opened = TypeParam::open(rt, this->url, this->name);
    if (!run_task(rt, opened.store->save("inv-9", 0, "ocr", "a")).ok()) _exit(3);
    if (!run_task(rt, opened.store->save("inv-9", 1, "validate", "b")).ok()) _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  runtime::LiveRuntime rt(1);
  auto opened = TypeParam::open(rt, this->url, this->name);
  const auto cp = run_task(rt, opened.store->load("inv-9"));
  ASSERT_TRUE(cp.ok()) << cp.failure().message;
  ASSERT_TRUE(cp.value().has_value());
  EXPECT_EQ(cp.value()->step, "validate");
  EXPECT_EQ(cp.value()->state, "b");
  EXPECT_EQ(cp.value()->version, 2u);
}

TYPED_TEST(DurableCheckpointStore, AStaleWriterInAnotherProcessIsRefused) {
  runtime::LiveRuntime rt(1);
  auto opened = TypeParam::open(rt, this->url, this->name);
  ASSERT_TRUE(run_task(rt, opened.store->save("w", 0, "a", "v1")).ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    runtime::LiveRuntime child_rt(2);
    auto other = TypeParam::open(child_rt, this->url, this->name);
    _exit(run_task(child_rt, other.store->save("w", 1, "b", "v2 by the new owner")).ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto stale = run_task(rt, opened.store->save("w", 1, "b", "v2 by the stale owner"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error_class(), ErrorClass::conflict);
  EXPECT_EQ(run_task(rt, opened.store->load("w")).value()->state, "v2 by the new owner");
}

TYPED_TEST(DurableCheckpointStore, TwoWritersRacingFromTwoConnectionsGetExactlyOneSuccess) {
  runtime::LiveRuntime rt(1);
  auto a = TypeParam::open(rt, this->url, this->name);
  auto b = TypeParam::open(rt, this->url, this->name);
  constexpr int kWorkflows = 50;
  int successes = 0;
  int conflicts = 0;
  for (int i = 0; i < kWorkflows; ++i) {
    for (CheckpointStore* store : {a.store.get(), b.store.get()}) {
      rt.spawn([](CheckpointStore& s, std::string id, int& ok, int& conflict) -> Task<> {
        auto r = co_await s.save(id, 0, "ocr", "x");
        if (r.ok()) ++ok;
        else if (r.error_class() == ErrorClass::conflict) ++conflict;
      }(*store, "race-" + std::to_string(i), successes, conflicts));
    }
  }
  rt.run();
  EXPECT_EQ(successes, kWorkflows);
  EXPECT_EQ(conflicts, kWorkflows);
}

TYPED_TEST(DurableCheckpointStore, AnAcknowledgedSaveSurvivesTheServerBeingKilled) {
  const auto kind = std::string(TypeParam::kName) == "redis" ? harness::ServerKind::redis : harness::ServerKind::postgres;
  auto started = harness::PrivateServer::start(kind);
  ASSERT_TRUE(started.ok()) << started.failure().message;
  auto server = std::move(started).value();
  runtime::LiveRuntime rt(1);
  auto opened = TypeParam::open(rt, server->url(), this->name);
  ASSERT_TRUE(run_task(rt, opened.store->save("inv-1", 0, "ocr", "acknowledged")).ok());
  auto restarted = server->crash_and_restart();  // SIGKILL, then the same directory again
  ASSERT_TRUE(restarted.ok()) << restarted.failure().message;
  // The same store, on a connection the crash closed: it reconnects.
  const auto cp = run_task(rt, opened.store->load("inv-1"));
  ASSERT_TRUE(cp.ok()) << cp.failure().message;
  ASSERT_TRUE(cp.value().has_value());
  EXPECT_EQ(cp.value()->state, "acknowledged");
}

}  // namespace
}  // namespace faultline::reference_system::live
