// One contract, every CheckpointStore: the same typed test suite runs against
// the in-memory store, the SQLite store, and the PostgreSQL and Redis stores
// of reference_system/live on the live tests' servers (their factories wrap
// them so calls finish before they return: run_now drives them unchanged).
// Then what only a durable
// store can show: the SQLite file survives closing and reopening, a child
// process killed with SIGKILL right after a save loses nothing, and a stale
// writer in another process is refused.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "resilience/checkpoint.h"
#include "resilience/sqlite_checkpoint_store.h"
#include "tests/reference_system/live/live_checkpoint_stores.h"

namespace faultline::resilience {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "faultline-checkpoint-XXXXXX").string();
    const char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct MemoryStoreFactory {
  static constexpr const char* kName = "memory";
  std::unique_ptr<CheckpointStore> make() { return std::make_unique<InMemoryCheckpointStore>(); }
};

struct SqliteStoreFactory {
  static constexpr const char* kName = "sqlite";
  TempDir dir;
  std::unique_ptr<CheckpointStore> make() {
    auto opened = SqliteCheckpointStore::open((dir.path() / "checkpoints.db").string());
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.failure().message);
    return std::move(opened).value();
  }
};

// A run's own file: locked once, saves not waiting for the disk.
struct PrivateSqliteStoreFactory {
  static constexpr const char* kName = "sqlite_private";
  TempDir dir;
  std::unique_ptr<CheckpointStore> make() {
    SqliteOptions options;
    options.private_file = true;
    auto opened = SqliteCheckpointStore::open((dir.path() / "checkpoints.db").string(), {}, options);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.failure().message);
    return std::move(opened).value();
  }
};

template <class Factory>
class CheckpointContract : public ::testing::Test {
 protected:
  Factory factory;
  std::unique_ptr<CheckpointStore> store = factory.make();

  Outcome<std::uint64_t> save(const std::string& id, std::uint64_t expected,
                              const std::string& step, const std::string& state) {
    return run_now(store->save(id, expected, step, state));
  }
  std::optional<Checkpoint> load(const std::string& id) {
    auto r = run_now(store->load(id));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::nullopt;
  }
};

using PostgresStoreFactory = reference_system::live::testing::ContractFactory<reference_system::live::testing::PostgresStores>;
using RedisStoreFactory = reference_system::live::testing::ContractFactory<reference_system::live::testing::RedisStores>;
using StoreTypes = ::testing::Types<MemoryStoreFactory, SqliteStoreFactory, PrivateSqliteStoreFactory,
                                    PostgresStoreFactory, RedisStoreFactory>;
class StoreNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(CheckpointContract, StoreTypes, StoreNames);

TYPED_TEST(CheckpointContract, LoadOfAnUnknownWorkflowIsEmpty) {
  EXPECT_FALSE(this->load("nobody").has_value());
}

TYPED_TEST(CheckpointContract, SaveThenLoadGivesStepStateAndVersion) {
  auto v = this->save("inv-1", 0, "ocr", R"({"total":12.5})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 1u);
  const auto cp = this->load("inv-1");
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(*cp, (Checkpoint{"inv-1", 1, "ocr", R"({"total":12.5})"}));
}

TYPED_TEST(CheckpointContract, EachSaveAdvancesTheVersionByOne) {
  ASSERT_EQ(this->save("w", 0, "a", "1").value(), 1u);
  ASSERT_EQ(this->save("w", 1, "b", "2").value(), 2u);
  ASSERT_EQ(this->save("w", 2, "c", "3").value(), 3u);
  EXPECT_EQ(this->load("w")->step, "c");
  EXPECT_EQ(this->load("w")->version, 3u);
}

TYPED_TEST(CheckpointContract, AStaleWriterCannotOverwriteANewerCheckpoint) {
  ASSERT_TRUE(this->save("w", 0, "ocr", "old").ok());
  // Two workers both read version 1; the first one to write wins.
  ASSERT_TRUE(this->save("w", 1, "validate", "new").ok());
  auto stale = this->save("w", 1, "validate", "stale");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error_class(), ErrorClass::conflict);
  const auto cp = this->load("w");
  EXPECT_EQ(cp->state, "new");
  EXPECT_EQ(cp->version, 2u);
}

TYPED_TEST(CheckpointContract, CreatingWhatExistsIsAConflict) {
  ASSERT_TRUE(this->save("w", 0, "a", "first").ok());
  auto again = this->save("w", 0, "a", "second");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error_class(), ErrorClass::conflict);
  EXPECT_EQ(this->load("w")->state, "first");
}

TYPED_TEST(CheckpointContract, AVersionFromTheFutureIsAConflict) {
  auto v = this->save("w", 5, "a", "x");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error_class(), ErrorClass::conflict);
  EXPECT_FALSE(this->load("w").has_value());
}

TYPED_TEST(CheckpointContract, ACrashBetweenAStepAndItsCheckpointResumesFromTheLastOne) {
  // Steps ocr and validate completed and were checkpointed; matching ran and
  // the worker died before saving. The next worker must resume after validate.
  std::uint64_t v = 0;
  v = this->save("inv-7", v, "ocr", "s1").value();
  v = this->save("inv-7", v, "validate", "s2").value();
  // (matching ran here; no save)
  const auto resumed = this->load("inv-7");
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->step, "validate");
  EXPECT_EQ(resumed->state, "s2");
  // The new worker continues from the version it read.
  EXPECT_TRUE(this->save("inv-7", resumed->version, "matching", "s3").ok());
}

TYPED_TEST(CheckpointContract, RemoveOnlyAtTheExpectedVersion) {
  ASSERT_TRUE(this->save("w", 0, "a", "x").ok());
  auto wrong = run_now(this->store->remove("w", 7));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error_class(), ErrorClass::conflict);
  EXPECT_TRUE(this->load("w").has_value());
  EXPECT_TRUE(run_now(this->store->remove("w", 1)).ok());
  EXPECT_FALSE(this->load("w").has_value());
  EXPECT_TRUE(run_now(this->store->remove("w", 1)).ok()) << "removing nothing succeeds";
  EXPECT_EQ(this->save("w", 0, "a", "again").value(), 1u);
}

TYPED_TEST(CheckpointContract, ListGivesAPrefixInByteOrderUpToTheLimit) {
  for (const char* id : {"dlq/b/2", "dlq/a/3", "dlq/a/1", "dlq/a/2", "dlq/", "other"}) {
    ASSERT_TRUE(this->save(id, 0, "s", id).ok());
  }
  auto all = run_now(this->store->list("dlq/a/", 10));
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const auto& cp : all.value()) ids.push_back(cp.workflow_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"dlq/a/1", "dlq/a/2", "dlq/a/3"}));
  auto two = run_now(this->store->list("dlq/", 2));
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two.value().size(), 2u);
  EXPECT_EQ(two.value()[0].workflow_id, "dlq/");
  EXPECT_EQ(two.value()[1].workflow_id, "dlq/a/1");
  EXPECT_EQ(run_now(this->store->list("", 100)).value().size(), 6u);
}

TYPED_TEST(CheckpointContract, StateAndIdsAreOpaqueBytes) {
  const std::string id("inv-\xff\x00-x", 8);
  const std::string state("\x00\x01\xfe{not json", 12);
  ASSERT_TRUE(this->save(id, 0, "", state).ok());
  const auto cp = this->load(id);
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp->workflow_id, id);
  EXPECT_EQ(cp->state, state);
  EXPECT_EQ(cp->step, "");
}

TYPED_TEST(CheckpointContract, AWorkflowResumesAfterACrashAndItsStaleSelfIsRefused) {
  WorkflowCheckpointer first(*this->store, "inv-3");
  ASSERT_FALSE(run_now(first.resume()).value().has_value());
  ASSERT_TRUE(run_now(first.save("ocr", "a")).ok());
  ASSERT_TRUE(run_now(first.save("validate", "b")).ok());
  // The first worker hangs (say, SIGSTOP); a second one takes over from the checkpoint.
  WorkflowCheckpointer second(*this->store, "inv-3");
  const auto resumed = run_now(second.resume()).value();
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->step, "validate");
  ASSERT_TRUE(run_now(second.save("matching", "c")).ok());
  // The first worker wakes up and tries to write: refused, the newer state stays.
  auto stale = run_now(first.save("matching", "stale"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error_class(), ErrorClass::conflict);
  EXPECT_EQ(this->load("inv-3")->state, "c");
  EXPECT_TRUE(run_now(second.finish()).ok());
  EXPECT_FALSE(this->load("inv-3").has_value());
}

// ---------------------------------------------------------------------------
// Durable-store behaviour.

TEST(SqliteCheckpointStore, SurvivesReopeningTheFile) {
  TempDir dir;
  const std::string path = (dir.path() / "cp.db").string();
  {
    auto store = SqliteCheckpointStore::open(path).value();
    ASSERT_EQ(run_now(store->save("inv-1", 0, "ocr", "s1")).value(), 1u);
    ASSERT_EQ(run_now(store->save("inv-1", 1, "validate", "s2")).value(), 2u);
  }
  auto reopened = SqliteCheckpointStore::open(path).value();
  const auto cp = run_now(reopened->load("inv-1")).value();
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(*cp, (Checkpoint{"inv-1", 2, "validate", "s2"}));
  // The version survives too: a writer that read version 1 before the restart is stale.
  EXPECT_EQ(run_now(reopened->save("inv-1", 1, "x", "stale")).error_class(), ErrorClass::conflict);
}

TEST(SqliteCheckpointStore, AProcessKilledRightAfterASaveLosesNothing) {
  TempDir dir;
  const std::string path = (dir.path() / "cp.db").string();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The worker: save two steps, then die without closing anything.
    auto opened = SqliteCheckpointStore::open(path);
    if (!opened) _exit(2);
    auto store = std::move(opened).value();
    if (!run_now(store->save("inv-9", 0, "ocr", "a")).ok()) _exit(3);
    if (!run_now(store->save("inv-9", 1, "validate", "b")).ok()) _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto store = SqliteCheckpointStore::open(path).value();
  const auto cp = run_now(store->load("inv-9")).value();
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp->step, "validate");
  EXPECT_EQ(cp->version, 2u);
}

TEST(SqliteCheckpointStore, APrivateFileKilledRightAfterASaveLosesNothingAndIsNotShared) {
  TempDir dir;
  const std::string path = (dir.path() / "cp.db").string();
  SqliteOptions options;
  options.private_file = true;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto opened = SqliteCheckpointStore::open(path, {}, options);
    if (!opened) _exit(2);
    auto store = std::move(opened).value();
    if (!run_now(store->save("inv-9", 0, "ocr", "a")).ok()) _exit(3);
    if (!run_now(store->save("inv-9", 1, "validate", "b")).ok()) _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto store = SqliteCheckpointStore::open(path, {}, options).value();
  const auto cp = run_now(store->load("inv-9")).value();
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp->step, "validate");
  EXPECT_EQ(cp->version, 2u);
  // While this process holds the file, another connection cannot write to it.
  SqliteOptions impatient;
  impatient.busy_timeout_ms = 0;
  auto other = SqliteCheckpointStore::open(path, {}, impatient);
  if (other.ok()) {
    EXPECT_FALSE(run_now(other.value()->save("inv-10", 0, "ocr", "x")).ok());
  }
}

TEST(SqliteCheckpointStore, AStaleWriterInAnotherProcessIsRefused) {
  TempDir dir;
  const std::string path = (dir.path() / "cp.db").string();
  auto store = SqliteCheckpointStore::open(path).value();
  ASSERT_TRUE(run_now(store->save("w", 0, "a", "v1")).ok());
  // Another process takes the workflow over and writes version 2.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto opened = SqliteCheckpointStore::open(path);
    if (!opened) _exit(2);
    auto other = std::move(opened).value();
    _exit(run_now(other->save("w", 1, "b", "v2 by the new owner")).ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // This process still believes it owns version 1.
  auto stale = run_now(store->save("w", 1, "b", "v2 by the stale owner"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error_class(), ErrorClass::conflict);
  EXPECT_EQ(run_now(store->load("w")).value()->state, "v2 by the new owner");
}

TEST(SqliteCheckpointStore, AnUnopenableFileIsAFailureValue) {
  auto opened = SqliteCheckpointStore::open("/nonexistent-dir/faultline/cp.db");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.failure().message.find("/nonexistent-dir/faultline/cp.db"), std::string::npos);
}

TEST(InMemoryCheckpointStore, IsBoundedWhenAskedToBe) {
  InMemoryCheckpointStore store({}, 2);
  EXPECT_TRUE(run_now(store.save("a", 0, "", "")).ok());
  EXPECT_TRUE(run_now(store.save("b", 0, "", "")).ok());
  auto third = run_now(store.save("c", 0, "", ""));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error_class(), ErrorClass::capacity_exceeded);
  EXPECT_EQ(store.refused_full(), 1u);
  EXPECT_TRUE(run_now(store.save("a", 1, "", "")).ok()) << "updates need no new room";
}

}  // namespace
}  // namespace faultline::resilience
