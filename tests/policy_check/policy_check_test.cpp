// check-policy's coverage and verdict: coverage read from a run's result and
// from its event log; the verdict's reasons and their order; and, end to
// end on a small suite, a policy whose flaw only shows under faults (an OCR
// breaker that counts only rate limits) is caught by the run while the lint
// finds no error in it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "policy_check/policy_check.h"
#include "reference_system/events.h"
#include "reference_system/orchestrator.h"
#include "resilience/events.h"
#include "runtime/json_config.h"
#include "tests/support/source_dir.h"

namespace faultline::policy_check {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string repo_file(const std::string& rel) { return test_support::source_path(rel); }

LintReport lint_team(const std::string& name) {
  return lint_policy_file(repo_file("scenarios/policies/teams/" + name + ".json"), {});
}

const CoverageItem& item(const std::vector<CoverageItem>& items, const std::string& id) {
  for (const auto& i : items) {
    if (i.id == id) return i;
  }
  ADD_FAILURE() << "no coverage item " << id;
  static const CoverageItem none;
  return none;
}

TEST(PolicyCoverage, ItemsFollowThePolicy) {
  const PolicyCoverage with(lint_team("rate-limit-only-breaker"));
  item(with.items(), "breaker_opened:ocr_engine");
  item(with.items(), "retry_limit:ocr_engine");
  item(with.items(), "retry_limit:step/ocr");
  item(with.items(), "fallback:ocr");
  item(with.items(), "compensation:accounting");
  item(with.items(), "checkpoint:resume");

  const auto naive = lint_policy_file(repo_file("scenarios/policies/naive.json"), {});
  const PolicyCoverage without(naive);
  // Naive has no retries, breakers, fallback, ...; its timeouts and bounds are limits all the same.
  for (const auto& i : without.items()) {
    const bool limit = i.id.rfind("dead_letter", 0) == 0 || i.id.rfind("timeout:", 0) == 0 || i.id.rfind("bound:", 0) == 0;
    EXPECT_TRUE(limit) << i.id;
  }
}

TEST(PolicyCoverage, ReadsEveryKindFromTheEventLog) {
  PolicyCoverage c(lint_team("rate-limit-only-breaker"));
  runtime::EventLog log;
  const auto ocr_engine = log.intern("ocr_engine");
  const auto notifier = log.intern("notifier");
  namespace pe = resilience::pattern_events;
  using S = resilience::BreakerState;
  namespace se = reference_system::system_events;
  log.record(ocr_engine, 1, pe::RetriesExhausted{.attempts = 5});  // the limit (5) reached
  log.record(notifier, 2, pe::RetriesExhausted{.attempts = 1});    // stopped early (not retryable): not the limit
  log.record(ocr_engine, 0, pe::BreakerTransition{S::closed, S::open});
  log.record(ocr_engine, 0, pe::BreakerTransition{S::open, S::half_open});
  log.record(ocr_engine, 0, pe::BreakerTransition{S::half_open, S::closed});
  log.record(log.intern("ocr"), 3, se::OcrFallback{});
  log.record(log.intern("accounting"), 4, se::Compensation{});
  log.record(log.intern("orchestrator"), 5, se::DeadLettered{1});
  log.record(notifier, 6, pe::Timeout{std::chrono::seconds(5)});
  log.record(log.intern("ocr"), 7, se::MessageRejected{.capacity = 200});
  log.record(log.intern("orchestrator"), 8,
             se::SubmissionRefused{200, reference_system::SubmitResult::refused_overloaded});
  log.record(log.intern("orchestrator"), 9,
             se::Parked{reference_system::InvoiceOutcome::dead_lettered, resilience::ErrorClass::capacity_exceeded});
  c.observe(log, "s (seed 1)");
  EXPECT_TRUE(item(c.items(), "timeout:notifier").exercised());
  EXPECT_FALSE(item(c.items(), "timeout:ledger").exercised());
  EXPECT_TRUE(item(c.items(), "bound:queue/ocr").exercised());
  EXPECT_TRUE(item(c.items(), "bound:intake").exercised());
  EXPECT_TRUE(item(c.items(), "bound:dead_letter").exercised());

  EXPECT_EQ(item(c.items(), "retry_limit:ocr_engine").times, 1u);
  EXPECT_FALSE(item(c.items(), "retry_limit:notifier").exercised());
  EXPECT_EQ(item(c.items(), "breaker_opened:ocr_engine").times, 1u);
  EXPECT_EQ(item(c.items(), "breaker_closed:ocr_engine").times, 1u);
  EXPECT_TRUE(item(c.items(), "fallback:ocr").exercised());
  EXPECT_TRUE(item(c.items(), "compensation:accounting").exercised());
  EXPECT_EQ(item(c.items(), "dead_letter:used").scenarios, std::vector<std::string>{"s (seed 1)"});
  bool listed = false;
  for (const auto* i : c.never_exercised()) {
    EXPECT_FALSE(i->exercised());
    listed = listed || i->id == "breaker_opened:po_database";
  }
  EXPECT_TRUE(listed);
}

TEST(PolicyCoverage, MergesRunsInTheOrderGiven) {
  const auto lint = lint_team("rate-limit-only-breaker");
  PolicyCoverage total(lint);
  for (const char* label : {"b (seed 2)", "a (seed 1)"}) {
    PolicyCoverage one(lint);
    runtime::EventLog log;
    log.record(log.intern("ocr"), 1, reference_system::system_events::OcrFallback{});
    log.record(log.intern("ocr"), 2, reference_system::system_events::OcrFallback{});
    one.observe(log, label);
    total.merge(one);
  }
  const auto& fallback = item(total.items(), "fallback:ocr");
  EXPECT_TRUE(fallback.measured);
  EXPECT_EQ(fallback.times, 4u);
  EXPECT_EQ(fallback.scenarios, (std::vector<std::string>{"b (seed 2)", "a (seed 1)"}));
}

reports::ScenarioResult outage_run(bool breaker_opened) {
  reports::ScenarioResult r;
  r.name = "ocr-outage";
  r.seed = 7;
  r.verdict = reports::Verdict::kPass;
  r.replay_command = "faultline run s.json --seed 7";
  r.faults.push_back(reports::FaultWindow{"outage", "ocr_engine", 2min, 6min, 40, {}, {}});
  auto& b = r.breakers.emplace_back();
  b.service = "ocr_engine";
  if (breaker_opened) {
    b.transitions.push_back({3min, reports::BreakerState::kClosed, reports::BreakerState::kOpen});
    b.transitions.push_back({4min, reports::BreakerState::kOpen, reports::BreakerState::kHalfOpen});
    b.transitions.push_back({4min, reports::BreakerState::kHalfOpen, reports::BreakerState::kClosed});
  }
  r.outcomes.posted_degraded = 3;
  return r;
}

CheckResult judged(bool breaker_opened) {
  CheckResult r;
  r.lint = lint_team("rate-limit-only-breaker");
  r.suite_ran = true;
  r.run.scenarios.push_back(outage_run(breaker_opened));
  PolicyCoverage c(r.lint);
  c.observe(r.run.scenarios.front());
  r.coverage = c.items();
  judge(r);
  return r;
}

TEST(PolicyCheck, ABreakerThatStaysClosedThroughAnOutageIsNotFit) {
  const auto bad = judged(false);
  EXPECT_FALSE(bad.fit);
  ASSERT_FALSE(bad.reasons.empty());
  EXPECT_EQ(bad.reasons.front().source, "suite");
  EXPECT_EQ(bad.reasons.front().severity, Severity::error);
  EXPECT_NE(bad.reasons.front().text.find("never opened"), std::string::npos);
  EXPECT_EQ(bad.exit_code(), 1);

  const auto good = judged(true);
  EXPECT_TRUE(good.fit) << good.reasons.front().text;
  EXPECT_EQ(good.exit_code(), 0);
  EXPECT_EQ(item(good.coverage, "breaker_opened:ocr_engine").times, 1u);
  EXPECT_EQ(item(good.coverage, "breaker_closed:ocr_engine").times, 1u);
  EXPECT_TRUE(item(good.coverage, "default:matching").exercised());
  EXPECT_FALSE(item(good.coverage, "fallback:ocr").measured);  // only an event log shows it
}

TEST(PolicyCheck, ReasonsPutErrorsFirstAndFilesSayTheVerdict) {
  CheckResult r;
  r.policy_file = "team.json";
  r.lint = lint_team("payments-retry-ledger");
  r.suite_ran = true;
  r.run.scenarios.push_back(outage_run(true));
  r.run.scenarios.back().verdict = reports::Verdict::kFail;
  r.run.scenarios.back().verdict_reason = "broken: exactly_once";
  PolicyCoverage c(r.lint);
  c.observe(r.run.scenarios.front());
  r.coverage = c.items();
  judge(r);
  ASSERT_GE(r.reasons.size(), 3u);
  bool warnings_started = false;
  for (const auto& x : r.reasons) {
    if (x.severity == Severity::warning) warnings_started = true;
    EXPECT_FALSE(warnings_started && x.severity == Severity::error);
  }
  EXPECT_FALSE(r.fit);

  const auto md = check_markdown(r);
  EXPECT_NE(md.find("is not fit"), std::string::npos);
  EXPECT_NE(md.find("non_idempotent_retry"), std::string::npos);
  EXPECT_NE(md.find("Never exercised"), std::string::npos);
  const auto j = check_json(r);
  EXPECT_EQ(j["verdict"], "not fit");
  EXPECT_EQ(j["fit"], false);
  EXPECT_EQ(j["suite"]["runs"][0]["verdict"], "fail");
  EXPECT_FALSE(j["coverage"]["never_exercised"].empty());

  const auto dir = (fs::temp_directory_path() / "faultline-policy-check-files").string();
  fs::remove_all(dir);
  ASSERT_EQ(write_check_files(r, dir), "");
  const auto back = runtime::load_json_file(dir + "/check-policy.json");
  EXPECT_EQ(back, j);
  EXPECT_TRUE(fs::exists(dir + "/check-policy.md"));
}

// A small suite: one scenario with a four-minute OCR engine outage.
std::string write_suite(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("faultline-policy-check-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "ocr-outage.json") << R"({
    "name": "ocr-outage",
    "seed": 11,
    "duration": "12m",
    "drain": "5m",
    "workload": {"rate_per_hour": 600},
    "policy": ")" << repo_file("scenarios/policies/recommended.json")
                                         << R"(",
    "faults": [{"kind": "outage", "target": "ocr_engine", "start": "2m", "duration": "4m"}]
  })";
  return dir.string();
}

TEST(PolicyCheck, TheRunCatchesABreakerFlawTheLintCannotSee) {
  CheckOptions o;
  o.suite = {write_suite("flawed")};
  o.policy_file = repo_file("scenarios/policies/teams/rate-limit-only-breaker.json");
  // The team keeps checkpoints in SQLite: the suite runs that very file, each
  // run on a private database, so none is left in the working folder.
  o.seeds = 1;
  const bool db_before = fs::exists("faultline-checkpoints.db");
  const auto r = check_policy(o);
  EXPECT_EQ(r.lint.policy.checkpoints, reference_system::CheckpointStoreKind::sqlite);
  EXPECT_EQ(fs::exists("faultline-checkpoints.db"), db_before);
  EXPECT_EQ(r.lint.errors(), 0u);
  ASSERT_TRUE(r.suite_ran);
  ASSERT_EQ(r.run.scenarios.size(), 1u);
  EXPECT_FALSE(r.fit);
  bool caught = false;
  for (const auto& x : r.reasons) caught = caught || (x.source == "suite" && x.text.find("never opened") != std::string::npos);
  EXPECT_TRUE(caught) << check_markdown(r);
  EXPECT_FALSE(item(r.coverage, "breaker_opened:ocr_engine").exercised());

  // The same suite with the breaker counting outages: it opens, and the run says so.
  o.policy_file = repo_file("scenarios/policies/teams/lockstep-retries.json");
  const auto ok = check_policy(o);
  EXPECT_TRUE(item(ok.coverage, "breaker_opened:ocr_engine").exercised()) << check_markdown(ok);
  for (const auto& x : ok.reasons) EXPECT_EQ(x.text.find("never opened"), std::string::npos) << x.text;
}

TEST(PolicyCheck, APolicyTheParserRefusesIsLintedButNotRun) {
  CheckOptions o;
  o.policy_file = repo_file("scenarios/policies/teams/eager-retries.json");
  o.suite = {write_suite("refused")};
  const auto r = check_policy(o);
  EXPECT_FALSE(r.suite_ran);
  EXPECT_FALSE(r.fit);
  EXPECT_TRUE(r.lint.has("permanent_errors_retried"));
  EXPECT_TRUE(r.lint.has("dead_letter_without_alert"));
}

TEST(PolicyCheck, BadInputIsAConfigError) {
  CheckOptions o;
  o.policy_file = repo_file("scenarios/policies/teams/absent.json");
  o.lint_only = true;
  EXPECT_THROW((void)check_policy(o), runtime::ConfigError);
  o.policy_file = repo_file("scenarios/policies/recommended.json");
  o.lint_only = false;
  o.suite = {"/nonexistent/suite"};
  EXPECT_THROW((void)check_policy(o), runtime::ConfigError);
}

TEST(PolicyCheck, TeamPoliciesHaveTheFlawsTheirReadmeNames) {
  EXPECT_TRUE(lint_team("payments-retry-ledger").has("non_idempotent_retry"));
  const auto lockstep = lint_team("lockstep-retries");
  EXPECT_EQ(lockstep.errors(), 0u);
  EXPECT_TRUE(lockstep.has("no_jitter"));
  EXPECT_TRUE(lint_team("nested-timeouts").has("timeouts_do_not_nest"));
  EXPECT_TRUE(lint_team("quiet-breaker").has("breaker_cannot_open"));
  EXPECT_EQ(lint_team("rate-limit-only-breaker").errors(), 0u);
  EXPECT_TRUE(lint_team("eager-retries").has("unbounded_retries"));
}

}  // namespace
}  // namespace faultline::policy_check
