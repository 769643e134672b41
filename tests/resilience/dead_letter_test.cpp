// The dead-letter queue: bounded (refusals counted), durable through the
// checkpoint store (a new queue on a reopened SQLite file sees every entry),
// alert threshold, FIFO pop, an encoding that keeps arbitrary bytes, and a
// push that landed though its reply was lost.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "resilience/dead_letter.h"
#include "resilience/sqlite_checkpoint_store.h"
#include "test_util.h"
#include "tests/support/lost_reply_checkpoint_store.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using testing::at;
namespace fs = std::filesystem;

Failure exhausted() { return Failure{ErrorClass::transient, "retries exhausted"}; }

TEST(DeadLetterQueue, BoundedWithRefusalsCounted) {
  InMemoryCheckpointStore store;
  DeadLetterQueue dlq(store, {.name = "inv", .capacity = 2, .alert_threshold = 2});
  ASSERT_TRUE(run_now(dlq.open()).ok());
  EXPECT_EQ(run_now(dlq.push("a", "pa", exhausted(), 3, at(1s))).value(), 1u);
  EXPECT_EQ(run_now(dlq.push("b", "pb", exhausted(), 3, at(2s))).value(), 2u);
  auto third = run_now(dlq.push("c", "pc", exhausted(), 3, at(3s)));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error_class(), ErrorClass::capacity_exceeded);
  EXPECT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq.counters().rejected_full, 1u);
  EXPECT_EQ(store.size(), 2u);
}

TEST(DeadLetterQueue, AlertsOnceWhenTheThresholdIsReached) {
  runtime::SimRuntime rt(1);
  InMemoryCheckpointStore store;
  DeadLetterQueue dlq(store, {.name = "inv", .capacity = 10, .alert_threshold = 3},
                      Observer::named(rt.log(), "dlq"));
  for (int i = 0; i < 2; ++i) (void)run_now(dlq.push("k", "p", exhausted(), 1, at(0s)));
  EXPECT_FALSE(dlq.alerting());
  (void)run_now(dlq.push("k", "p", exhausted(), 1, at(0s)));
  EXPECT_TRUE(dlq.alerting());
  (void)run_now(dlq.push("k", "p", exhausted(), 1, at(0s)));
  EXPECT_EQ(dlq.counters().alerts, 1u);
  std::size_t alerts = 0;
  std::size_t lettered = 0;
  for (const auto& e : rt.log().events()) {
    if (e.kind == static_cast<std::uint16_t>(PatternEvent::dead_letter_alert)) ++alerts;
    if (e.kind == static_cast<std::uint16_t>(PatternEvent::dead_lettered)) ++lettered;
  }
  EXPECT_EQ(alerts, 1u);
  EXPECT_EQ(lettered, 4u);
}

TEST(DeadLetterQueue, PopsOldestFirstAndRemovesFromTheStore) {
  InMemoryCheckpointStore store;
  DeadLetterQueue dlq(store, {.name = "inv", .capacity = 10, .alert_threshold = 5});
  (void)run_now(dlq.push("a", "1", exhausted(), 1, at(0s)));
  (void)run_now(dlq.push("b", "2", exhausted(), 1, at(0s)));
  auto first = run_now(dlq.pop()).value();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->key, "a");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(run_now(dlq.pop()).value()->key, "b");
  EXPECT_FALSE(run_now(dlq.pop()).value().has_value());
}

TEST(DeadLetterQueue, SurvivesAProcessRestartThroughTheSqliteStore) {
  std::string dir_pattern = (fs::temp_directory_path() / "faultline-dlq-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_pattern.data()), nullptr);
  const fs::path dir = dir_pattern;
  const std::string path = (dir / "dlq.db").string();
  const DeadLetterConfig config{.name = "invoices", .capacity = 100, .alert_threshold = 10};
  {
    auto store = SqliteCheckpointStore::open(path).value();
    DeadLetterQueue dlq(*store, config);
    ASSERT_TRUE(run_now(dlq.open()).ok());
    ASSERT_TRUE(run_now(dlq.push("inv-1", "{\"id\":1}", Failure{ErrorClass::timeout, "ocr", 0s}, 5, at(7s))).ok());
    ASSERT_TRUE(run_now(dlq.push("inv-2", "{\"id\":2}", exhausted(), 3, at(9s))).ok());
  }
  auto store = SqliteCheckpointStore::open(path).value();
  DeadLetterQueue reopened(*store, config);
  ASSERT_TRUE(run_now(reopened.open()).ok());
  ASSERT_EQ(reopened.size(), 2u);
  const DeadLetter& first = reopened.entries().front();
  EXPECT_EQ(first.key, "inv-1");
  EXPECT_EQ(first.payload, "{\"id\":1}");
  EXPECT_EQ(first.reason.error_class, ErrorClass::timeout);
  EXPECT_EQ(first.attempts, 5u);
  EXPECT_EQ(first.at, at(7s));
  // New entries continue the sequence.
  EXPECT_EQ(run_now(reopened.push("inv-3", "", exhausted(), 1, at(10s))).value(), 3u);
  fs::remove_all(dir);
}

// A push whose write landed but whose reply was lost (a networked store that
// went away mid-call: a PostgreSQL restart) failed; the next push of that key
// finds its own entry in the slot and takes it as pushed, once, and the pushes
// after it go on to the next slots instead of meeting the taken one forever.
TEST(DeadLetterQueue, APushThatLandedWithoutItsReplyIsFoundByTheNextPushOfItsKey) {
  InMemoryCheckpointStore store;
  test_support::LostReplyCheckpointStore lossy(store, "dlq/", 1);
  DeadLetterQueue dlq(lossy, {.name = "inv", .capacity = 10, .alert_threshold = 5});
  ASSERT_TRUE(run_now(dlq.open()).ok());
  auto lost = run_now(dlq.push("inv-7", "p7", exhausted(), 2, at(1s)));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error_class(), ErrorClass::timeout);
  EXPECT_EQ(store.size(), 1u) << "the write landed all the same";
  EXPECT_EQ(dlq.size(), 0u);

  auto again = run_now(dlq.push("inv-7", "p7", exhausted(), 2, at(5s)));
  ASSERT_TRUE(again.ok()) << again.failure().message;
  EXPECT_EQ(again.value(), 1u);
  EXPECT_EQ(store.size(), 1u) << "stored once";
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq.entries().front().at, at(1s)) << "the queue holds the entry the store holds";
  EXPECT_EQ(run_now(dlq.push("inv-8", "p8", exhausted(), 2, at(6s))).value(), 2u);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(dlq.counters().pushed, 2u);
}

// A slot another writer took after this queue opened (a second queue on the
// same store) moves the push on to the next free slot.
TEST(DeadLetterQueue, ASlotTakenByAnotherKeyMovesThePushOn) {
  InMemoryCheckpointStore store;
  const DeadLetterConfig config{.name = "inv", .capacity = 10, .alert_threshold = 5};
  DeadLetterQueue one(store, config);
  DeadLetterQueue other(store, config);
  ASSERT_TRUE(run_now(one.open()).ok());
  ASSERT_TRUE(run_now(other.open()).ok());
  EXPECT_EQ(run_now(one.push("a", "pa", exhausted(), 1, at(1s))).value(), 1u);
  EXPECT_EQ(run_now(other.push("b", "pb", exhausted(), 1, at(2s))).value(), 2u);
  EXPECT_EQ(run_now(other.push("c", "pc", exhausted(), 1, at(3s))).value(), 3u);
  EXPECT_EQ(store.size(), 3u);
  DeadLetterQueue reopened(store, config);
  ASSERT_TRUE(run_now(reopened.open()).ok());
  ASSERT_EQ(reopened.size(), 3u);
  EXPECT_EQ(reopened.entries()[1].key, "b");
}

TEST(DeadLetterQueue, EncodingKeepsArbitraryBytes) {
  DeadLetter e{42, std::string("k\0\xff:", 4), std::string("5:x\n\0", 5),
               Failure{ErrorClass::rate_limited, "m:1", 3s}, 9, at(11s)};
  const auto back = DeadLetterQueue::decode(DeadLetterQueue::encode(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(DeadLetterQueue::decode("dlq1\n3:abc").has_value());
  EXPECT_FALSE(DeadLetterQueue::decode("garbage").has_value());
}

TEST(DeadLetterConfigCheck, RefusesEachInvalidValue) {
  EXPECT_EQ(check(DeadLetterConfig{.capacity = 0})->field, "capacity");
  EXPECT_EQ(check(DeadLetterConfig{.capacity = 5, .alert_threshold = 0})->field, "alert_threshold");
  EXPECT_EQ(check(DeadLetterConfig{.capacity = 5, .alert_threshold = 6})->field, "alert_threshold");
  EXPECT_EQ(check(DeadLetterConfig{.name = ""})->field, "name");
}

}  // namespace
}  // namespace faultline::resilience
