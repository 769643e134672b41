// Judging a live run from store evidence (harness/live/live_judge.h): the
// submissions the harness recorded against crafted store readings. A
// corrupted invoice posted at a wrong amount, or posted at all when its
// damage leaves no truthful document, fails validation; refusals are
// matched by intake entry; a submission found nowhere is unaccounted for.
#include <gtest/gtest.h>

#include "harness/live/live_judge.h"

namespace {

using faultline::faults::Corruption;
using faultline::harness::account_submissions;
using faultline::harness::judge_validation;
using faultline::harness::LiveStores;
using faultline::harness::LiveSubmission;

LiveSubmission sub(std::uint64_t id, std::string entry, std::int64_t truth,
                   std::optional<Corruption> corruption = std::nullopt) {
  return LiveSubmission{id, std::move(entry), truth, corruption, false};
}

TEST(LiveJudge, ACorruptedInvoicePostedAtAWrongAmountFailsValidation) {
  // Bit flips may leave a truthful document: posting is right only at the
  // true total. The ledger holds 12,345 cents for an invoice worth 10,000.
  const std::vector<LiveSubmission> subs = {sub(1, "1-0", 10'000, Corruption::bit_flips), sub(2, "2-0", 500)};
  LiveStores stores;
  stores.posted = {1, 2};
  stores.ledger_cents = {{1, 12'345}, {2, 500}};
  const auto account = account_submissions(subs, stores);
  EXPECT_TRUE(account.unaccounted.empty());
  const auto v = judge_validation(subs, stores, account, true);
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(v.skipped);
  EXPECT_EQ(v.message, "invoice 1: bit_flips input posted 12345 cents, its true total is 10000") << v.message;

  // At its true amount the same posting is right.
  stores.ledger_cents[1] = 10'000;
  const auto ok = judge_validation(subs, stores, account_submissions(subs, stores), true);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_NE(ok.message.find("1 corrupted invoices"), std::string::npos) << ok.message;
  EXPECT_NE(ok.message.find("1 posted at their true amount"), std::string::npos) << ok.message;
}

TEST(LiveJudge, DamageThatLeavesNoTruthfulDocumentMustNotBePostedAtAll) {
  const std::vector<LiveSubmission> subs = {sub(3, "3-0", 7'000, Corruption::negative_amount)};
  LiveStores stores;
  stores.posted = {3};
  stores.ledger_cents = {{3, 7'000}};  // even at the true amount
  const auto v = judge_validation(subs, stores, account_submissions(subs, stores), true);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "invoice 3: negative_amount input was posted (7000 cents) instead of rejected");

  stores = {};
  stores.rejected = {3};
  const auto ok = judge_validation(subs, stores, account_submissions(subs, stores), true);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_NE(ok.message.find("1 rejected"), std::string::npos) << ok.message;
}

TEST(LiveJudge, ADuplicateIdIsJudgedAgainstTheSubmissionThatWasNotRefused) {
  // Invoice 4 first (accepted, posted at its total), then a second document
  // under id 4 (duplicate_id, another total) refused at the door.
  const std::vector<LiveSubmission> subs = {sub(4, "4-0", 900), sub(4, "9-0", 55'500, Corruption::duplicate_id)};
  LiveStores stores;
  stores.posted = {4};
  stores.ledger_cents = {{4, 900}};
  stores.refused = {{"9-0", "refused_duplicate"}};
  const auto account = account_submissions(subs, stores);
  EXPECT_TRUE(account.unaccounted.empty());
  EXPECT_TRUE(account.excess.empty());
  EXPECT_EQ(account.counts.submitted, 2u);
  EXPECT_EQ(account.counts.refused, 1u);
  EXPECT_EQ(account.counts.posted, 1u);
  EXPECT_TRUE(judge_validation(subs, stores, account, true).passed);
  // Posted at the duplicate's amount instead: wrong.
  stores.ledger_cents[4] = 55'500;
  const auto v = judge_validation(subs, stores, account_submissions(subs, stores), true);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "invoice 4: duplicate_id input posted 55500 cents, its true total is 900");
}

TEST(LiveJudge, ACorruptedInvoiceFoundNowhereIsLostOnceTheSystemIsIdle) {
  const std::vector<LiveSubmission> subs = {sub(5, "5-0", 100, Corruption::truncated)};
  const LiveStores stores;
  const auto account = account_submissions(subs, stores);
  ASSERT_EQ(account.unaccounted, std::vector<std::uint64_t>{5});
  EXPECT_TRUE(judge_validation(subs, stores, account, false).passed) << "still in flight: conservation's to judge";
  const auto v = judge_validation(subs, stores, account, true);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "invoice 5: truncated input found in no store and not refused: lost");
}

TEST(LiveJudge, AccountingMatchesRefusalsByEntryAndFlagsExcessAndForeignIds) {
  const std::vector<LiveSubmission> subs = {sub(6, "6-0", 1), sub(7, "7-0", 1), sub(8, "8-0", 1)};
  LiveStores stores;
  stores.refused = {{"6-0", "refused_overloaded"}, {"7-0", "refused_overloaded"}};
  stores.posted = {7, 99};        // 7 was refused yet posted; 99 was never submitted
  stores.rejected = {8};
  stores.manual_review = {8};     // 8 in two stores
  const auto a = account_submissions(subs, stores);
  EXPECT_EQ(a.counts.submitted, 3u);
  EXPECT_EQ(a.counts.refused, 2u);
  EXPECT_TRUE(a.unaccounted.empty());
  ASSERT_EQ(a.excess.size(), 2u);
  EXPECT_EQ(a.excess[0], "invoice 7: submitted 1 time(s), 1 refused at the door, yet in the ledger");
  EXPECT_EQ(a.excess[1], "invoice 8: submitted 1 time(s), 0 refused at the door, yet in manual review, rejections");
  EXPECT_EQ(a.foreign, std::vector<std::uint64_t>{99});
}

}  // namespace
