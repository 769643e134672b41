// Each simulated service alone, against its stated fault model.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "reference_system/events.h"
#include "resilience/timeout.h"
#include "runtime/sim_runtime.h"
#include "tests/support/run_task.h"
#include "world/service_models.h"

namespace faultline::world {
namespace {

using namespace reference_system;

using namespace std::chrono_literals;

using test_support::run_task;

const std::string kDocument = "INVOICE/1\nid: 1\nvendor: V1\npo: PO-000001\ncurrency: EUR\nline: x; 1; 1.00\ntotal: 1.00\n";

// Mean log-latency of `n` calls at quality q.
double mean_log_seconds(runtime::SimRuntime& rt, SimOcrEngine& engine, double q, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const auto start = rt.now();
    auto r = run_task(rt, engine.recognize({1, kDocument, q}));
    EXPECT_TRUE(r.ok());
    sum += std::log(runtime::to_seconds(rt.now() - start));
  }
  return sum / n;
}

TEST(ServiceModels, OcrLatencyGrowsAsScanQualityFalls) {
  runtime::SimRuntime rt(1);
  OcrEngineModel m;
  m.latency = {2s, 0.3};
  m.quality_slowdown = 1.5;
  SimOcrEngine engine(rt, "ocr_engine", m);
  const double good = mean_log_seconds(rt, engine, 1.0, 400);
  const double poor = mean_log_seconds(rt, engine, 0.2, 400);
  EXPECT_NEAR(good, std::log(2.0), 0.05);                     // median 2 s at quality 1
  EXPECT_NEAR(poor - good, 1.5 * 0.8, 0.07);                  // exp(1.5 * (1 - 0.2)) slower
  EXPECT_EQ(engine.median_latency(0.2), runtime::Duration(static_cast<std::int64_t>(2e9 * std::exp(1.2))));
}

TEST(ServiceModels, OcrPoorScansMayGoUnansweredGoodOnesNever) {
  runtime::SimRuntime rt(2);
  OcrEngineModel m;
  m.no_answer_below_quality = 0.3;
  m.no_answer_probability_at_zero = 1.0;
  m.hang_duration = 10min;
  SimOcrEngine engine(rt, "ocr_engine", m);
  const auto start = rt.now();
  auto hung = run_task(rt, engine.recognize({1, kDocument, 0.0}));  // probability 1 at quality 0
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error_class(), ErrorClass::timeout);
  EXPECT_EQ(rt.now() - start, 10min);
  int unanswered = 0;
  for (int i = 0; i < 200; ++i) unanswered += run_task(rt, engine.recognize({1, kDocument, 0.15})).ok() ? 0 : 1;
  EXPECT_NEAR(unanswered / 200.0, 0.5, 0.12);  // (0.3 - 0.15) / 0.3
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(run_task(rt, engine.recognize({1, kDocument, 0.5})).ok());
}

TEST(ServiceModels, OcrUnreadableScansAndInvalidOutputAreNotDocuments) {
  runtime::SimRuntime rt(3);
  OcrEngineModel m;
  m.unreadable_below_quality = 0.1;
  SimOcrEngine engine(rt, "ocr_engine", m);
  auto unreadable = run_task(rt, engine.recognize({1, kDocument, 0.05}));
  ASSERT_TRUE(unreadable.ok());
  EXPECT_FALSE(looks_like_document(unreadable.value()));
  auto readable = run_task(rt, engine.recognize({1, kDocument, 0.5}));
  ASSERT_TRUE(readable.ok());
  EXPECT_EQ(readable.value(), kDocument);

  m.unreadable_below_quality = 0.0;
  m.invalid_output_probability = 1.0;
  SimOcrEngine refusing(rt, "backup_ocr", m);
  auto refusal = run_task(rt, refusing.recognize({1, kDocument, 0.9}));
  ASSERT_TRUE(refusal.ok());
  EXPECT_FALSE(looks_like_document(refusal.value()));
}

TEST(ServiceModels, OcrOverItsConcurrencyLimitAnswersRateLimitedAtOnce) {
  runtime::SimRuntime rt(4);
  OcrEngineModel m;
  m.concurrency_max = 2;
  SimOcrEngine engine(rt, "ocr_engine", m);
  std::vector<std::optional<Outcome<std::string>>> results(3);
  std::vector<runtime::Instant> answered_at(3);
  for (std::size_t i = 0; i < 3; ++i) {
    rt.spawn([](SimOcrEngine& e, runtime::SimRuntime& rt, std::optional<Outcome<std::string>>& out,
                runtime::Instant& at) -> Task<void> {
      out.emplace(co_await e.recognize({1, kDocument, 0.9}));
      at = rt.now();
    }(engine, rt, results[i], answered_at[i]));
  }
  rt.run();
  ASSERT_TRUE(results[0]->ok());
  ASSERT_TRUE(results[1]->ok());
  ASSERT_FALSE(results[2]->ok());
  EXPECT_EQ(results[2]->error_class(), ErrorClass::rate_limited);
  EXPECT_EQ(answered_at[2], runtime::Instant{});  // refused at once, before the others answered
  EXPECT_EQ(engine.refused(), 1u);
  EXPECT_EQ(engine.in_service(), 0u);
  // Capacity comes back as calls answer.
  EXPECT_TRUE(run_task(rt, engine.recognize({1, kDocument, 0.9})).ok());
}

TEST(ServiceModels, OcrAbandonedCallGivesBackItsPlace) {
  runtime::SimRuntime rt(4);
  OcrEngineModel m;
  m.concurrency_max = 1;
  m.latency = {std::chrono::minutes(5), 0.01};
  SimOcrEngine engine(rt, "ocr_engine", m);
  resilience::Timeout timeout(std::chrono::seconds(1));
  auto call = [&] { return engine.recognize({1, kDocument, 1.0}); };
  const auto first = run_task(rt, [](resilience::Timeout& t, runtime::SimRuntime& rt, decltype(call)& c)
                                 -> Task<Outcome<std::string>> { co_return co_await t.call(rt, c, 1); }(timeout, rt, call));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error_class(), ErrorClass::timeout);
  EXPECT_EQ(engine.in_service(), 0u);
  EXPECT_EQ(engine.refused(), 0u);
}

TEST(ServiceModels, PoDatabaseFindsCanonicalReferencesAndMayRejectOthers) {
  runtime::SimRuntime rt(4);
  PoCatalogue catalogue;
  catalogue.add({1, "V1", 100});
  PoDatabaseModel m;
  m.malformed_reference_error_probability = 1.0;
  SimPoDatabase db(rt, m, catalogue);
  auto found = run_task(rt, db.lookup(1, "PO-000001"));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found.value().has_value());
  EXPECT_EQ(found.value()->vendor, "V1");
  auto absent = run_task(rt, db.lookup(1, "PO-000002"));
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent.value().has_value());
  auto malformed = run_task(rt, db.lookup(1, "PO 000001"));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error_class(), ErrorClass::permanent);
  auto candidates = run_task(rt, db.candidates(1, "V1", 101));
  ASSERT_TRUE(candidates.ok());
  EXPECT_EQ(candidates.value(), (std::vector<std::uint64_t>{1}));

  m.malformed_reference_error_probability = 0.0;
  SimPoDatabase lenient(rt, m, catalogue);
  auto not_found = run_task(rt, lenient.lookup(1, "PO 000001"));
  ASSERT_TRUE(not_found.ok());
  EXPECT_FALSE(not_found.value().has_value());
}

TEST(ServiceModels, LedgerIdempotencyKeyKeepsOneLiveEntry) {
  runtime::SimRuntime rt(5);
  SimLedger ledger(rt, ServiceModel{});
  auto first = run_task(rt, ledger.post({7, "inv-7", "V1", 0, 500}));
  auto second = run_task(rt, ledger.post({7, "inv-7", "V1", 0, 500}));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first.value().duplicate);
  EXPECT_TRUE(second.value().duplicate);
  EXPECT_EQ(second.value().sequence, first.value().sequence);
  EXPECT_EQ(ledger.entries().size(), 1u);
  EXPECT_EQ(ledger.live_total_cents(), 500);

  // Without a key every post is an entry: what the naive policy risks.
  (void)run_task(rt, ledger.post({8, "", "V1", 0, 300}));
  (void)run_task(rt, ledger.post({8, "", "V1", 0, 300}));
  EXPECT_EQ(ledger.live_entries(8), 2u);

  // A reversed entry no longer counts, and its key may post again.
  EXPECT_TRUE(run_task(rt, ledger.reverse(7)).ok());
  EXPECT_EQ(ledger.live_entries(7), 0u);
  auto again = run_task(rt, ledger.post({7, "inv-7", "V1", 0, 500}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value().duplicate);
  EXPECT_EQ(ledger.live_entries(7), 1u);
  EXPECT_EQ(ledger.live_total_cents(), 500 + 600);
}

TEST(ServiceModels, ErrorsFollowTheirRate) {
  runtime::SimRuntime rt(6);
  ServiceModel m;
  m.error_probability = 0.2;
  SimNotifier notifier(rt, m);
  int failed = 0;
  for (int i = 0; i < 1000; ++i) failed += run_task(rt, notifier.notify({1, 1, ""})).ok() ? 0 : 1;
  EXPECT_NEAR(failed / 1000.0, 0.2, 0.05);
  EXPECT_EQ(notifier.delivered(), 1000u - static_cast<unsigned>(failed));
}

TEST(ServiceModels, NotifierDeliversAKeyedNoticeOnce) {
  runtime::SimRuntime rt(6);
  SimNotifier notifier(rt, ServiceModel{});
  EXPECT_TRUE(run_task(rt, notifier.notify({7, 500, "inv-7"})).ok());
  // The same key again (a saga redone without its progress record): not
  // sent, and the caller is told why.
  const auto again = run_task(rt, notifier.notify({7, 500, "inv-7"}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error_class(), ErrorClass::conflict);
  EXPECT_EQ(notifier.delivered(), 1u);
  EXPECT_EQ(notifier.duplicates_refused(), 1u);
  std::size_t notified = 0;
  for (const auto& e : rt.log().events()) notified += e.kind == static_cast<std::uint16_t>(SystemEvent::notified) ? 1 : 0;
  EXPECT_EQ(notified, 1u);

  // Without a key every notice goes out: what the naive policy risks.
  EXPECT_TRUE(run_task(rt, notifier.notify({8, 300, ""})).ok());
  EXPECT_TRUE(run_task(rt, notifier.notify({8, 300, ""})).ok());
  EXPECT_EQ(notifier.delivered(), 3u);

  // A key is kept for its retention, then forgotten (the record is bounded).
  rt.run_for(SimNotifier::kKeyRetention + std::chrono::minutes(1));
  EXPECT_TRUE(run_task(rt, notifier.notify({7, 500, "inv-7"})).ok());
  EXPECT_EQ(notifier.delivered(), 4u);
}

TEST(ServiceModels, BudgetReservationsAreIdempotent) {
  runtime::SimRuntime rt(7);
  SimBudgetService budget(rt, ServiceModel{});
  EXPECT_TRUE(run_task(rt, budget.reserve(1, 100)).ok());
  EXPECT_TRUE(run_task(rt, budget.reserve(1, 100)).ok());
  EXPECT_EQ(budget.reserved_cents(), 100);
  EXPECT_TRUE(run_task(rt, budget.release(1)).ok());
  EXPECT_TRUE(run_task(rt, budget.release(1)).ok());
  EXPECT_EQ(budget.reserved_cents(), 0);
  EXPECT_FALSE(budget.has_reservation(1));
}

}  // namespace
}  // namespace faultline::world
