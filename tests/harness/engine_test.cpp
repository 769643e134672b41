// The engine end to end on small scenarios: same seed, same report bytes; a
// fault that touches nothing is inconclusive; a runaway run is aborted by
// its step budget; a system broken on purpose (a ledger that posts twice,
// an agent that retries ten times) fails the invariant it breaks; and the
// runner keeps job order, derives seeds and refuses bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/engine.h"
#include "harness/runner.h"
#include "reports/json_report.h"
#include "runtime/json_config.h"
#include "tests/support/source_dir.h"

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;
namespace rs = reference_system;

std::string root() { return test_support::source_dir().string(); }

Scenario small(const std::string& faults, const std::string& extra = "") {
  const std::string text = R"({"name": "small", "seed": 11, "duration": "6m", "drain": "4m",
    "world": ")" + root() + R"(/scenarios/models/baseline.json",
    "workload": {"rate_per_hour": 600},
    "policy": ")" + root() + R"(/scenarios/policies/recommended.json",
    "faults": )" + faults + extra + "}";
  return parse_scenario(runtime::parse_json_text(text, "small.json"), "small.json");
}

const char* kOcrDelay = R"([{"kind": "latency", "target": "ocr_engine", "start": "1m", "duration": "3m", "delay": "30s"}])";

reports::ScenarioResult run(const Scenario& s, EngineOptions o = {}) { return run_scenario(s, o); }

const reports::InvariantResult* invariant(const reports::ScenarioResult& r, std::string_view id) {
  for (const auto& i : r.invariants) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

TEST(Engine, TheSameScenarioAndSeedGiveByteIdenticalReports) {
  const auto s = small(kOcrDelay);
  reports::RunResult a, b;
  a.scenarios.push_back(run(s));
  b.scenarios.push_back(run(s));
  EXPECT_EQ(reports::to_report_json(a), reports::to_report_json(b));
  EXPECT_GT(a.scenarios[0].outcomes.submitted, 20u);
  ASSERT_EQ(a.scenarios[0].faults.size(), 1u);
  EXPECT_GT(a.scenarios[0].faults[0].hit_count, 0u);
  // Another seed is another run.
  EngineOptions other;
  other.seed = 12;
  reports::RunResult c;
  c.scenarios.push_back(run(s, other));
  EXPECT_NE(reports::to_report_json(a), reports::to_report_json(c));
}

TEST(Engine, RecommendedPolicyRidesOutTheDelayAndNaiveDoesNot) {
  const auto s = small(kOcrDelay, R"(, "expect": {"success_rate_min": 0.9, "slo": {"p99_ratio_max": 50}})");
  const auto good = run(s);
  EXPECT_EQ(good.verdict, reports::Verdict::kPass) << good.verdict_reason;
  EngineOptions naive;
  naive.policy_file = root() + "/scenarios/policies/naive.json";
  const auto bad = run(s, naive);
  EXPECT_EQ(bad.verdict, reports::Verdict::kFail) << bad.verdict_reason;
  const auto* breaker = invariant(bad, "circuit_breaker");
  ASSERT_NE(breaker, nullptr);
  EXPECT_FALSE(breaker->passed);
  EXPECT_NE(bad.replay_command.find("--policy"), std::string::npos);
}

TEST(Engine, AFaultThatTouchesNothingIsInconclusiveNeverPass) {
  // The backup engine is only called when the primary fails; here it never does.
  const auto s = small(R"([{"kind": "error", "target": "backup_ocr", "start": "1m", "duration": "2m"}])");
  const auto r = run(s);
  EXPECT_EQ(r.verdict, reports::Verdict::kInconclusive) << r.verdict_reason;
  EXPECT_NE(r.verdict_reason.find("backup_ocr"), std::string::npos);
  EXPECT_EQ(exit_code_for(r.verdict), 3);
}

TEST(Engine, AStepBudgetAbortsARunawayRun) {
  EngineOptions o;
  o.step_budget = 500;
  const auto r = run(small(kOcrDelay), o);
  EXPECT_EQ(r.verdict, reports::Verdict::kAborted);
  EXPECT_EQ(exit_code_for(r.verdict), 4);
}

// A ledger client that posts every entry twice, each with its own key.
class DoublePostingLedger final : public rs::Ledger {
 public:
  explicit DoublePostingLedger(std::shared_ptr<rs::Ledger> inner) : inner_(std::move(inner)) {}
  runtime::Task<rs::Outcome<rs::LedgerReceipt>> post(rs::LedgerPost entry) override {
    rs::LedgerPost twice = entry;
    twice.idempotency_key += "-again";
    auto first = co_await inner_->post(std::move(entry));
    (void)co_await inner_->post(std::move(twice));
    co_return first;
  }
  runtime::Task<rs::Outcome<>> reverse(std::uint64_t invoice_id) override { co_return co_await inner_->reverse(invoice_id); }

 private:
  std::shared_ptr<rs::Ledger> inner_;
};

// An OCR client that asks ten times for every request.
class TenTimesOcr final : public rs::OcrEngine {
 public:
  explicit TenTimesOcr(std::shared_ptr<rs::OcrEngine> inner) : inner_(std::move(inner)) {}
  runtime::Task<rs::Outcome<std::string>> recognize(rs::OcrRequest request) override {
    for (int i = 0; i < 9; ++i) (void)co_await inner_->recognize(request);
    co_return co_await inner_->recognize(request);
  }

 private:
  std::shared_ptr<rs::OcrEngine> inner_;
};

TEST(Engine, ALedgerThatPostsTwiceFailsExactlyOnce) {
  EngineOptions o;
  o.wrap_ports = [](rs::SystemPorts& p) { p.ledger = std::make_shared<DoublePostingLedger>(p.ledger); };
  const auto r = run(small(kOcrDelay), o);
  EXPECT_EQ(r.verdict, reports::Verdict::kFail);
  const auto* inv = invariant(r, "exactly_once");
  ASSERT_NE(inv, nullptr);
  EXPECT_FALSE(inv->passed);
  EXPECT_NE(inv->message.find("2 live ledger entries"), std::string::npos) << inv->message;
  EXPECT_FALSE(inv->evidence.empty());
}

TEST(Engine, AnAgentThatRetriesTenTimesFailsBoundedRetries) {
  EngineOptions o;
  o.policy_file = root() + "/scenarios/policies/naive.json";  // one attempt per call
  o.wrap_ports = [](rs::SystemPorts& p) { p.ocr_engine = std::make_shared<TenTimesOcr>(p.ocr_engine); };
  const auto r = run(small("[]"), o);
  const auto* inv = invariant(r, "bounded_retries");
  ASSERT_NE(inv, nullptr);
  EXPECT_FALSE(inv->passed);
  EXPECT_NE(inv->message.find("10 attempts of ocr_engine"), std::string::npos) << inv->message;
}

TEST(Runner, RunsInJobOrderWithDerivedSeedsAndRefusesBadInput) {
  const fs::path dir = fs::temp_directory_path() / "faultline-runner-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string body = R"(, "duration": "3m", "drain": "2m", "world": ")" + root() +
                           R"(/scenarios/models/baseline.json", "workload": {"rate_per_hour": 300}, "policy": ")" +
                           root() + R"(/scenarios/policies/recommended.json"})";
  std::ofstream(dir / "b.json") << R"({"name": "bee", "seed": 5)" << body;
  std::ofstream(dir / "a.json") << R"({"name": "ay", "seed": 7)" << body;
  RunnerOptions o;
  o.paths = {dir.string()};
  o.seeds = 2;
  o.jobs = 2;
  const auto out = run_suite(o);
  ASSERT_EQ(out.run.scenarios.size(), 4u);
  EXPECT_EQ(out.run.scenarios[0].name, "ay");
  EXPECT_EQ(out.run.scenarios[0].seed, 7u);
  EXPECT_EQ(out.run.scenarios[1].seed, runtime::RandomStreams::derive_seed(7, 1));
  EXPECT_EQ(out.run.scenarios[2].name, "bee");
  EXPECT_EQ(out.exit_code, 0) << out.run.scenarios[0].verdict_reason;
  // Parallel or not, the same bytes.
  o.jobs = 1;
  EXPECT_EQ(reports::to_report_json(run_suite(o).run), reports::to_report_json(out.run));

  std::ofstream(dir / "c.json") << R"({"name": "broken", "seed": "x"})";
  EXPECT_THROW((void)run_suite(o), runtime::ConfigError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faultline::harness
