// The engine end to end on small scenarios: same seed, same report bytes; a
// fault that touches nothing is inconclusive; a runaway run is aborted by
// its step budget; a system broken on purpose (a ledger that posts twice,
// an agent that retries ten times) fails the invariant it breaks; and the
// runner keeps job order, derives seeds and refuses bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <fmt/core.h>

#include "harness/engine.h"
#include "harness/runner.h"
#include "reports/json_report.h"
#include "reports/html.h"
#include "reports/junit.h"
#include "reports/markdown.h"
#include "reports/prometheus.h"
#include "resilience/checkpoint.h"
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

TEST(Engine, ACrashOfAnIdleAgentTouchesNothingAndIsInconclusive) {
  // Accounting is the last step: in the first two seconds no invoice has
  // reached it, so stopping it then stops nothing.
  const auto idle = run(small(R"([{"kind": "crash", "target": "accounting", "start": "0", "duration": "2s"}])"));
  ASSERT_EQ(idle.faults.size(), 1u);
  EXPECT_EQ(idle.faults[0].hit_count, 0u);
  EXPECT_EQ(idle.verdict, reports::Verdict::kInconclusive) << idle.verdict_reason;
  EXPECT_NE(idle.verdict_reason.find("crash on accounting"), std::string::npos) << idle.verdict_reason;

  // The same crash in the middle of the run holds or is sent work: touched.
  const auto busy = run(small(R"([{"kind": "crash", "target": "accounting", "start": "1m", "duration": "2m"}])"));
  ASSERT_EQ(busy.faults.size(), 1u);
  EXPECT_EQ(busy.faults[0].hit_count, 1u);
  EXPECT_NE(busy.verdict, reports::Verdict::kInconclusive) << busy.verdict_reason;
}

// A pause freezes the agent (faults/pause_faults.h): nothing it held is lost,
// every invoice ends in a terminal outcome, the same seed gives the same
// bytes; a pause of an idle agent touches nothing, like a crash of one.
TEST(Engine, APausedAgentLosesNothingAndAPauseOfAnIdleOneIsInconclusive) {
  // Two minutes of a six-minute run frozen: the p99 against the fault-free
  // baseline is not what this test is about.
  const auto s = small(R"([{"kind": "pause", "target": "accounting", "start": "1m", "duration": "2m"}])",
                       R"(, "expect": {"invariants": ["all"], "slo": {"enabled": false}})");
  reports::RunResult a, b;
  a.scenarios.push_back(run(s));
  b.scenarios.push_back(run(s));
  EXPECT_EQ(reports::to_report_json(a), reports::to_report_json(b));
  const auto& busy = a.scenarios[0];
  ASSERT_EQ(busy.faults.size(), 1u);
  EXPECT_EQ(busy.faults[0].kind, "pause");
  EXPECT_EQ(busy.faults[0].hit_count, 1u);
  EXPECT_EQ(busy.verdict, reports::Verdict::kPass) << busy.verdict_reason;
  EXPECT_GT(busy.outcomes.submitted, 20u);
  EXPECT_EQ(busy.outcomes.lost, 0u);
  EXPECT_EQ(busy.outcomes.in_flight, 0u);
  const auto* resumption = invariant(busy, "resumption");
  ASSERT_NE(resumption, nullptr);
  EXPECT_TRUE(resumption->passed);

  const auto idle = run(small(R"([{"kind": "pause", "target": "accounting", "start": "0", "duration": "2s"}])"));
  ASSERT_EQ(idle.faults.size(), 1u);
  EXPECT_EQ(idle.faults[0].hit_count, 0u);
  EXPECT_EQ(idle.verdict, reports::Verdict::kInconclusive) << idle.verdict_reason;
  EXPECT_NE(idle.verdict_reason.find("pause on accounting"), std::string::npos) << idle.verdict_reason;
}

// A paused orchestrator: the requests it makes in the window and the
// replies sent to it wait for the window's end; every invoice still ends in
// a terminal outcome.
TEST(Engine, APauseOfTheOrchestratorHoldsItsWorkflowsAndLosesNone) {
  const auto r = run(small(R"([{"kind": "pause", "target": "orchestrator", "start": "1m", "duration": "2m"}])"));
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].hit_count, 1u);
  EXPECT_EQ(r.outcomes.lost, 0u);
  EXPECT_EQ(r.outcomes.in_flight, 0u);
  EXPECT_NE(r.verdict, reports::Verdict::kInconclusive) << r.verdict_reason;
}

TEST(Engine, AWorkloadThatSubmitsNothingIsInconclusive) {
  const std::string text = R"({"name": "empty", "seed": 11, "duration": "6m", "drain": "4m",
    "workload": {"rate_per_hour": 0.001},
    "policy": ")" + root() + R"(/scenarios/policies/recommended.json"})";
  const auto r = run(parse_scenario(runtime::parse_json_text(text, "empty.json"), "empty.json"));
  EXPECT_EQ(r.outcomes.submitted, 0u);
  EXPECT_EQ(r.verdict, reports::Verdict::kInconclusive) << r.verdict_reason;
  EXPECT_NE(r.verdict_reason.find("submitted no invoice"), std::string::npos) << r.verdict_reason;
  EXPECT_EQ(exit_code_for(r.verdict), 3);

  // A success-rate floor over no invoice measures nothing: still
  // INCONCLUSIVE, not a FAIL on a rate of 0 of 0.
  const std::string floor_text = R"({"name": "empty", "seed": 11, "duration": "6m", "drain": "4m",
    "workload": {"rate_per_hour": 0.001}, "expect": {"success_rate_min": 0.95},
    "policy": ")" + root() + R"(/scenarios/policies/recommended.json"})";
  const auto f = run(parse_scenario(runtime::parse_json_text(floor_text, "empty.json"), "empty.json"));
  EXPECT_EQ(f.outcomes.submitted, 0u);
  EXPECT_EQ(f.verdict, reports::Verdict::kInconclusive) << f.verdict_reason;
  for (const auto& slo : f.slos) EXPECT_NE(slo.name, "success_rate") << "not measured over no invoice";
}

TEST(Engine, AScenarioWithoutFaultsSaysSoAndDoesNotPassWhatItCannotFail) {
  const auto r = run(small("[]"));
  EXPECT_EQ(r.verdict, reports::Verdict::kPass) << r.verdict_reason;
  EXPECT_NE(r.verdict_reason.find("no faults scheduled"), std::string::npos) << r.verdict_reason;
  EXPECT_EQ(r.verdict_reason.find("touched the system"), std::string::npos) << r.verdict_reason;
  const auto* recovery = invariant(r, "recovery_time");
  ASSERT_NE(recovery, nullptr);
  EXPECT_TRUE(recovery->skipped);
  EXPECT_FALSE(recovery->passed);
  EXPECT_NE(r.verdict_reason.find("not applicable: "), std::string::npos) << r.verdict_reason;
  // Every writer says skipped, none says passed.
  reports::RunResult run_result;
  run_result.scenarios.push_back(r);
  const auto json = nlohmann::json::parse(reports::to_report_json(run_result));
  bool found = false;
  for (const auto& inv : json["scenarios"][0]["invariants"]) {
    if (inv["id"] != "recovery_time") continue;
    found = true;
    EXPECT_EQ(inv["skipped"], true);
    EXPECT_EQ(inv["passed"], false);
  }
  EXPECT_TRUE(found);
  const auto junit = reports::to_junit_xml(run_result);
  EXPECT_NE(junit.find("name=\"invariant recovery_time\" classname=\"faultline.small\" time=\"0\">\n      <skipped"),
            std::string::npos)
      << junit;
  const auto markdown = reports::to_summary_markdown(run_result);
  EXPECT_NE(markdown.find("## Not applicable (skipped)"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("- small: "), std::string::npos) << markdown;
  const auto prom = reports::to_prometheus_text(run_result);
  EXPECT_NE(prom.find("invariant=\"recovery_time\"} 1"), std::string::npos) << prom;
  std::istringstream lines(prom);
  for (std::string line; std::getline(lines, line);) {
    const bool passed_sample = line.rfind("faultline_invariant_passed{", 0) == 0;
    EXPECT_FALSE(passed_sample && line.find("\"recovery_time\"") != std::string::npos) << line;
  }
  const auto html = reports::to_report_html(run_result);
  EXPECT_NE(html.find("<span class=\"skip\">skipped</span></td><td><code>recovery_time</code>"), std::string::npos);
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

// A policy file: `base` with `patch` merged over it, in a file of the test's own.
std::string policy_variant(const std::string& base, const std::string& patch, const std::string& name) {
  nlohmann::json doc = runtime::load_json_file(root() + "/scenarios/policies/" + base);
  doc.merge_patch(nlohmann::json::parse(patch));
  const fs::path dir = fs::temp_directory_path() / ("faultline-engine-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / (name + ".json");
  std::ofstream(file) << doc.dump(2);
  return file.string();
}

void expect_every_submission_accounted_for(const reports::ScenarioResult& r) {
  const auto& o = r.outcomes;
  EXPECT_EQ(o.submitted, o.terminal() + o.refused + o.lost + o.in_flight);
  EXPECT_EQ(o.dead_lettered, r.dlq_size_final) << "dead_lettered counts what the queue holds";
}

// A dead-letter queue too small for the run: the invoices it refuses must
// not be reported dead-lettered and then vanish. The reference system parks
// them (still in flight), and conservation says so.
TEST(Engine, AFullDeadLetterQueueIsNeverAPassWithNothingLost) {
  EngineOptions o;
  o.policy_file = policy_variant("naive.json", R"({"dead_letter": {"capacity": 5, "alert_threshold": 5}})",
                                 "naive-dlq-5");
  const auto r = run_scenario(load_scenario(root() + "/scenarios/ocr-delay-30s.json"), o);
  const auto* inv = invariant(r, "conservation");
  ASSERT_NE(inv, nullptr);
  EXPECT_FALSE(inv->passed);
  EXPECT_NE(inv->message.find("still in flight after the drain"), std::string::npos) << inv->message;
  EXPECT_EQ(r.dlq_size_final, 5u);
  EXPECT_EQ(r.outcomes.dead_lettered, 5u);
  EXPECT_GT(r.outcomes.in_flight, 0u);  // parked, waiting for room
  EXPECT_EQ(r.outcomes.lost, 0u);
  expect_every_submission_accounted_for(r);
}

// Shedding over the in-flight bound is a refusal the harness is told about
// and counts, never a "dead_lettered" outcome for a queue that stays empty.
TEST(Engine, SheddingOverTheInFlightBoundIsARefusalTheHarnessCounts) {
  EngineOptions o;
  o.policy_file = policy_variant("naive.json", R"({"workflow": {"max_in_flight": 8}})", "naive-in-flight-8");
  const auto r = run_scenario(load_scenario(root() + "/scenarios/saturation-10x.json"), o);
  EXPECT_GT(r.outcomes.refused, 0u);
  EXPECT_EQ(r.outcomes.lost, 0u);
  expect_every_submission_accounted_for(r);
  const auto* conservation = invariant(r, "conservation");
  ASSERT_NE(conservation, nullptr);
  EXPECT_TRUE(conservation->passed) << conservation->message;
  const auto* saturation = invariant(r, "saturation");
  ASSERT_NE(saturation, nullptr);
  EXPECT_NE(saturation->message.find(fmt::format("{} submission(s) refused over the in-flight bound",
                                                 r.outcomes.refused)),
            std::string::npos)
      << saturation->message;
}

// The article's saturation test against finite capacity: 10x arrivals meet
// OCR engines limited to 8 calls at once, and the recommended policy's
// intake bound. The surge must be refused at the door and counted, the
// in-flight bound reached and held, nothing lost, detection read from the
// refusals, throughput back within the scenario's bound; the naive policy
// (no intake bound, 64 OCR workers into the engines' 429s) must fail it.
TEST(Engine, TenTimesTheLoadIsRefusedAtTheDoorAndCountedAndNaiveFails) {
  const auto s = load_scenario(root() + "/scenarios/saturation-10x.json");
  const auto policy = rs::load_policy(root() + "/scenarios/policies/recommended.json");
  const auto r = run_scenario(s, {});
  EXPECT_EQ(r.verdict, reports::Verdict::kPass) << r.verdict_reason;
  EXPECT_GT(r.outcomes.refused, 0u);
  EXPECT_EQ(r.outcomes.lost, 0u);
  expect_every_submission_accounted_for(r);
  const auto* saturation = invariant(r, "saturation");
  ASSERT_NE(saturation, nullptr);
  EXPECT_TRUE(saturation->passed) << saturation->message;
  // The harness's own in-flight samples reached the policy's bound.
  EXPECT_NE(saturation->message.find(fmt::format("at most {} invoices in flight", policy.max_in_flight)),
            std::string::npos)
      << saturation->message;
  EXPECT_NE(saturation->message.find(fmt::format("{} submission(s) refused over the in-flight bound",
                                                 r.outcomes.refused)),
            std::string::npos)
      << saturation->message;
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_TRUE(r.faults[0].time_to_detect.has_value());  // the first refusal at intake
  ASSERT_TRUE(r.faults[0].time_to_recover.has_value());
  EXPECT_LE(*r.faults[0].time_to_recover, s.expect.recovery_time_max);

  EngineOptions naive;
  naive.policy_file = root() + "/scenarios/policies/naive.json";
  const auto bad = run_scenario(s, naive);
  EXPECT_EQ(bad.verdict, reports::Verdict::kFail) << bad.verdict_reason;
  EXPECT_EQ(bad.outcomes.lost, 0u);
}

// A checkpoint store that acknowledges dead-letter entries and keeps none:
// the queue believes it holds them, the outcome events say dead_lettered,
// and only reading the store shows they are gone.
class DroppingDeadLetterStore final : public resilience::CheckpointStore {
 public:
  explicit DroppingDeadLetterStore(std::shared_ptr<resilience::CheckpointStore> inner) : inner_(std::move(inner)) {}
  std::string_view kind() const noexcept override { return inner_->kind(); }
  runtime::Task<resilience::Outcome<std::uint64_t>> save(std::string id, std::uint64_t expected, std::string step,
                                                         std::string state) override {
    if (id.rfind("dlq/", 0) == 0) return runtime::Task<resilience::Outcome<std::uint64_t>>::ready(std::uint64_t{1});
    return inner_->save(std::move(id), expected, std::move(step), std::move(state));
  }
  runtime::Task<resilience::Outcome<std::optional<resilience::Checkpoint>>> load(std::string id) override {
    return inner_->load(std::move(id));
  }
  runtime::Task<resilience::Outcome<>> remove(std::string id, std::uint64_t expected) override {
    return inner_->remove(std::move(id), expected);
  }
  runtime::Task<resilience::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix,
                                                                               std::size_t limit) override {
    return inner_->list(std::move(prefix), limit);
  }

 private:
  std::shared_ptr<resilience::CheckpointStore> inner_;
};

TEST(Engine, ADeadLetterQueueThatSilentlyDropsFailsConservation) {
  EngineOptions o;
  o.wrap_ports = [](rs::SystemPorts& p) { p.checkpoints = std::make_shared<DroppingDeadLetterStore>(p.checkpoints); };
  const auto r = run_scenario(load_scenario(root() + "/scenarios/ledger-outage.json"), o);
  EXPECT_EQ(r.verdict, reports::Verdict::kFail);
  const auto* inv = invariant(r, "conservation");
  ASSERT_NE(inv, nullptr);
  EXPECT_FALSE(inv->passed);
  EXPECT_NE(inv->message.find("reported dead_lettered but no store holds it: lost"), std::string::npos)
      << inv->message;
  EXPECT_GT(r.outcomes.lost, 0u);
  EXPECT_EQ(r.outcomes.dead_lettered, 0u);
  EXPECT_EQ(r.outcomes.submitted, r.outcomes.terminal() + r.outcomes.refused + r.outcomes.lost + r.outcomes.in_flight);
  const auto* visibility = invariant(r, "visibility");
  ASSERT_NE(visibility, nullptr);
  EXPECT_FALSE(visibility->passed);
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
