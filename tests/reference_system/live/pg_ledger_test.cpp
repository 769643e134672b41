// The ledger and budget service on PostgreSQL against the fixture's server,
// each test in its own schema: the in-memory models' semantics
// (world/service_models.h), and exactly-once checked against the rows when two
// connections post the same keys at once.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "reference_system/live/pg_ledger.h"
#include "runtime/live_runtime.h"
#include "tests/support/live_servers.h"
#include "tests/support/run_task.h"

namespace faultline::reference_system::live {
namespace {

using test_support::run_task;

class PgLedgerTest : public ::testing::Test {
 protected:
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().postgres;
  const std::string schema = test_support::unique_name("ledger");
  PgConnection pg{rt, url};

  std::unique_ptr<PgLedger> open_ledger(PgConnection& on) {
    auto opened = run_task(rt, PgLedger::open(on, schema));
    if (!opened) throw std::runtime_error(opened.failure().message);
    return std::move(opened).value();
  }
  std::vector<LedgerRow> rows(PgLedger& ledger) {
    auto r = run_task(rt, ledger.entries());
    if (!r) throw std::runtime_error(r.failure().message);
    return std::move(r).value();
  }
};

LedgerPost post_of(std::uint64_t invoice, std::string key, std::int64_t cents = 1250) {
  return LedgerPost{invoice, std::move(key), "ACME \xff GmbH", 77, cents};
}

TEST_F(PgLedgerTest, ARepeatedKeyGivesTheFirstEntryBackAndAddsNothing) {
  auto ledger = open_ledger(pg);
  auto first = run_task(rt, ledger->post(post_of(1, "inv-1")));
  ASSERT_TRUE(first.ok()) << first.failure().message;
  EXPECT_FALSE(first->duplicate);
  auto again = run_task(rt, ledger->post(post_of(1, "inv-1", 9999)));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->sequence, first->sequence);
  const auto all = rows(*ledger);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].amount_cents, 1250) << "the first post's entry stands";
  EXPECT_EQ(all[0].vendor, "ACME \xff GmbH");
  EXPECT_EQ(all[0].idempotency_key, "inv-1");
  EXPECT_EQ(ledger->duplicates_refused(), 1u);
}

TEST_F(PgLedgerTest, PostsWithoutAKeyAlwaysMakeAnEntry) {
  auto ledger = open_ledger(pg);
  auto a = run_task(rt, ledger->post(post_of(2, "")));
  auto b = run_task(rt, ledger->post(post_of(2, "")));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_FALSE(b->duplicate);
  EXPECT_LT(a->sequence, b->sequence) << "sequences increase in posting order";
  EXPECT_EQ(rows(*ledger).size(), 2u);
}

TEST_F(PgLedgerTest, ReverseMarksTheInvoicesLiveEntriesAndItsKeyMayPostAgain) {
  auto ledger = open_ledger(pg);
  ASSERT_TRUE(run_task(rt, ledger->post(post_of(3, "inv-3"))).ok());
  ASSERT_TRUE(run_task(rt, ledger->post(post_of(4, "inv-4"))).ok());
  ASSERT_TRUE(run_task(rt, ledger->reverse(3)).ok());
  auto reposted = run_task(rt, ledger->post(post_of(3, "inv-3")));
  ASSERT_TRUE(reposted.ok());
  EXPECT_FALSE(reposted->duplicate) << "a reversed entry's key posts again";
  ASSERT_TRUE(run_task(rt, ledger->reverse(99)).ok()) << "reversing nothing succeeds";
  const auto all = rows(*ledger);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0].reversed);
  EXPECT_FALSE(all[1].reversed) << "another invoice's entry is untouched";
  EXPECT_FALSE(all[2].reversed);
  EXPECT_EQ(all[2].invoice_id, 3u);
}

TEST_F(PgLedgerTest, TwoConnectionsPostingTheSameKeysAtOnceLeaveOneRowPerKey) {
  PgConnection other(rt, url);
  auto a = open_ledger(pg);
  auto b = open_ledger(other);
  constexpr int kInvoices = 100;
  std::map<std::string, std::vector<LedgerReceipt>> receipts;
  int failures = 0;
  for (int i = 0; i < kInvoices; ++i) {
    for (PgLedger* ledger : {a.get(), b.get()}) {
      rt.spawn([](PgLedger& l, int i, std::map<std::string, std::vector<LedgerReceipt>>& out, int& failed)
                   -> runtime::Task<> {
        const std::string key = "inv-" + std::to_string(i);
        auto r = co_await l.post(post_of(static_cast<std::uint64_t>(i), key));
        if (r.ok()) out[key].push_back(r.value());
        else ++failed;
      }(*ledger, i, receipts, failures));
    }
  }
  rt.run();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(receipts.size(), static_cast<std::size_t>(kInvoices));
  for (const auto& [key, got] : receipts) {
    ASSERT_EQ(got.size(), 2u) << key;
    EXPECT_NE(got[0].duplicate, got[1].duplicate) << key << ": one entry, one duplicate";
    EXPECT_EQ(got[0].sequence, got[1].sequence) << key;
  }
  // Against the rows themselves.
  const auto all = rows(*a);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kInvoices));
  std::set<std::string> keys;
  for (const auto& row : all) EXPECT_TRUE(keys.insert(row.idempotency_key).second) << row.idempotency_key;
}

TEST_F(PgLedgerTest, TheBudgetKeepsOneReservationPerInvoiceAndReleasesIt) {
  auto opened = run_task(rt, PgBudgetService::open(pg, schema));
  ASSERT_TRUE(opened.ok()) << opened.failure().message;
  auto& budget = *opened.value();
  ASSERT_TRUE(run_task(rt, budget.reserve(1, 500)).ok());
  ASSERT_TRUE(run_task(rt, budget.reserve(1, 900)).ok()) << "reserving twice keeps the first";
  ASSERT_TRUE(run_task(rt, budget.reserve(2, 250)).ok());
  EXPECT_EQ(run_task(rt, budget.reserved_cents()).value(), 750);
  EXPECT_TRUE(run_task(rt, budget.has_reservation(1)).value());
  ASSERT_TRUE(run_task(rt, budget.release(1)).ok());
  EXPECT_FALSE(run_task(rt, budget.has_reservation(1)).value());
  EXPECT_TRUE(run_task(rt, budget.release(1)).ok()) << "releasing nothing succeeds";
  EXPECT_EQ(run_task(rt, budget.reserved_cents()).value(), 250);
}

}  // namespace
}  // namespace faultline::reference_system::live
