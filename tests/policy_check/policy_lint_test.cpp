// The policy linter: for every rule, an edit of the real recommended.json
// that triggers it (with its severity and JSON path) and a near miss that
// does not; recommended.json itself has no finding at all; a file
// that is not a policy is a ConfigError naming the file and the path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "policy_check/policy_lint.h"
#include "runtime/json_config.h"

namespace faultline::policy_check {
namespace {

using nlohmann::json;

std::string repo_file(const std::string& rel) {
  const char* root = std::getenv("FAULTLINE_SOURCE_DIR");
  return (std::filesystem::path(root != nullptr ? root : ".") / rel).string();
}

json recommended() { return runtime::load_json_file(repo_file("scenarios/policies/recommended.json")); }

// Every rule's trigger and near miss is an edit of recommended.json, which
// itself has no finding at all.
json clean() { return recommended(); }

LintReport lint(const json& doc, LintOptions o = {}) { return lint_policy(doc, "team.json", o); }

const LintFinding* find(const LintReport& r, std::string_view rule) {
  for (const auto& f : r.findings) {
    if (f.rule == rule) return &f;
  }
  return nullptr;
}

std::string dump(const LintReport& r) {
  std::string out;
  for (const auto& f : r.findings) out += std::string(to_string(f.severity)) + " " + f.rule + " " + f.path + "\n";
  return out;
}

TEST(PolicyLint, RecommendedHasNoFindingsInEitherProfile) {
  const auto prod = lint(recommended());
  EXPECT_TRUE(prod.findings.empty()) << dump(prod);
  EXPECT_EQ(prod.policy_name, "recommended");
  EXPECT_EQ(prod.policy.checkpoints, reference_system::CheckpointStoreKind::sqlite);
  LintOptions staging;
  staging.profile = Profile::staging;
  const auto r = lint(recommended(), staging);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(PolicyLint, NaiveHasTheErrorsItWasWrittenToHave) {
  const auto r = lint(runtime::load_json_file(repo_file("scenarios/policies/naive.json")));
  EXPECT_TRUE(r.has("checkpointing_off")) << dump(r);
  EXPECT_TRUE(r.has("llm_attempts"));
  EXPECT_TRUE(r.has("no_circuit_breaker"));
  EXPECT_FALSE(r.has("non_idempotent_retry"));  // one attempt everywhere: nothing is retried
  EXPECT_FALSE(r.has("no_jitter"));
}

struct Case {
  std::string name;
  std::string rule;
  std::function<void(json&)> trigger;
  std::string path;
  Severity severity;
  std::function<void(json&)> near_miss;
  LintOptions options{};
};

std::vector<Case> cases() {
  LintOptions staging;
  staging.profile = Profile::staging;
  LintOptions busy;
  busy.expected_rate_per_hour = 36'000;
  auto time_window = [](json& p, const char* window, int minimum) {
    auto& b = p["services"]["po_database"]["circuit_breaker"];
    b["window"] = "time";
    b["window_duration"] = window;
    b["minimum_calls"] = minimum;
  };
  return {
      {"no_attempt_limit", "unbounded_retries", [](json& p) { p["services"]["notifier"]["retry"].erase("max_attempts"); },
       "$.services.notifier.retry", Severity::error,
       [](json& p) { p["services"]["notifier"]["retry"]["max_attempts"] = 3; }},
      {"too_many_attempts", "unbounded_retries",
       [](json& p) { p["services"]["notifier"]["retry"]["max_attempts"] = 11; },
       "$.services.notifier.retry.max_attempts", Severity::error,
       [](json& p) { p["services"]["notifier"]["retry"]["max_attempts"] = 10; }},
      {"attempts_past_parser_limit", "unbounded_retries",
       [](json& p) { p["services"]["notifier"]["retry"]["max_attempts"] = 1'000'000; },
       "$.services.notifier.retry.max_attempts", Severity::error, [](json&) {}},
      {"no_delay_cap", "unbounded_retries", [](json& p) { p["services"]["notifier"]["retry"].erase("max_delay"); },
       "$.services.notifier.retry", Severity::error,
       [](json& p) {
         auto& r = p["services"]["notifier"]["retry"];
         r.erase("max_delay");
         r.erase("jitter");
         r.erase("budget");
         r["max_attempts"] = 1;
       }},
      {"service_timeout", "no_timeout", [](json& p) { p["services"]["ledger"].erase("timeout"); },
       "$.services.ledger.timeout", Severity::error, [](json& p) { p["services"]["ledger"]["timeout"] = "2s"; }},
      {"agent_timeout", "no_timeout", [](json& p) { p["agents"]["validation"].erase("timeout"); },
       "$.agents.validation.timeout", Severity::error, [](json&) {}},
      {"missing_service", "no_timeout", [](json& p) { p["services"].erase("notifier"); },
       "$.services.notifier.timeout", Severity::error, [](json&) {}},
      {"probe", "probe_without_timeout",
       [](json& p) { p["services"]["ocr_engine"]["circuit_breaker"].erase("probe_timeout"); },
       "$.services.ocr_engine.circuit_breaker.probe_timeout", Severity::error,
       [](json& p) { p["services"]["ocr_engine"]["circuit_breaker"]["probe_timeout"] = "1s"; }},
      {"per_attempt_above_step", "timeouts_do_not_nest", [](json& p) { p["services"]["po_database"]["timeout"] = "3m"; },
       "$.services.po_database.timeout", Severity::error,
       [](json& p) { p["services"]["po_database"]["timeout"] = "10s"; }},
      {"attempts_beyond_step", "timeouts_do_not_nest", [](json& p) { p["services"]["ocr_engine"]["timeout"] = "40s"; },
       "$.agents.ocr.timeout", Severity::error,
       // 5 x 30 s + 4 x 8 s on the engine and 98 s on the backup: 280 s, under the step's 5 m.
       [](json& p) { p["services"]["ocr_engine"]["timeout"] = "30s"; }},
      {"per_attempt_above_deadline", "timeouts_do_not_nest",
       [](json& p) { p["services"]["notifier"]["retry"]["deadline"] = "3s"; }, "$.services.notifier.timeout",
       Severity::error, [](json& p) { p["services"]["notifier"]["retry"]["deadline"] = "30s"; }},
      // The steps' worst cases add up to 28 min 32 s (OCR 10m4s, validation
      // 3m8s, matching 6m8s, accounting 6m4s, archive 3m8s).
      {"steps_beyond_workflow_deadline", "timeouts_do_not_nest",
       [](json& p) { p["workflow"]["deadline"] = "20m"; }, "$.workflow.deadline", Severity::error,
       [](json& p) { p["workflow"]["deadline"] = "29m"; }},
      {"amplified_without_breaker", "retry_amplification",
       [](json& p) {
         p["agents"]["ocr"]["retry"]["max_attempts"] = 3;
         p["services"]["ocr_engine"].erase("circuit_breaker");
       },
       "$.services.ocr_engine.retry", Severity::error,
       [](json& p) { p["services"]["ocr_engine"].erase("circuit_breaker"); }},
      {"amplified_behind_breaker", "retry_amplification",
       [](json& p) { p["agents"]["ocr"]["retry"]["max_attempts"] = 3; }, "$.services.ocr_engine.retry",
       Severity::warning, [](json&) {}},
      {"permanent", "permanent_errors_retried",
       [](json& p) { p["services"]["po_database"]["retry"]["retry_on"] = {"transient", "permanent"}; },
       "$.services.po_database.retry.retry_on[1]", Severity::error,
       [](json& p) { p["services"]["po_database"]["retry"]["retry_on"] = {"transient", "timeout"}; }},
      {"business", "permanent_errors_retried",
       [](json& p) { p["agents"]["validation"]["retry"]["retry_on"] = {"business"}; },
       "$.agents.validation.retry.retry_on[0]", Severity::error, [](json&) {}},
      {"step_retry_reposts", "non_idempotent_retry",
       [](json& p) { p["agents"]["accounting"]["idempotency_key"] = false; },
       "$.agents.accounting.retry.max_attempts", Severity::error,
       [](json& p) {
         p["agents"]["accounting"]["idempotency_key"] = false;
         p["agents"]["accounting"]["retry"] = {{"max_attempts", 1}};
       }},
      {"call_retry_reposts", "non_idempotent_retry",
       [](json& p) {
         p["agents"]["accounting"]["idempotency_key"] = false;
         p["agents"]["accounting"]["retry"] = {{"max_attempts", 1}};
         p["services"]["ledger"]["retry"] = {{"max_attempts", 2}, {"max_delay", "2s"}, {"jitter", "full"},
                                             {"budget", {{"ratio", 0.1}}}};
       },
       "$.services.ledger.retry.max_attempts", Severity::error,
       [](json& p) {
         p["agents"]["accounting"]["retry"] = {{"max_attempts", 1}};
         p["services"]["ledger"]["retry"] = {{"max_attempts", 2}, {"max_delay", "2s"}, {"jitter", "full"},
                                             {"budget", {{"ratio", 0.1}}}};
       }},
      {"payment", "payment_attempts", [](json& p) { p["agents"]["accounting"]["retry"]["max_attempts"] = 3; },
       "$.services.ledger.retry.max_attempts", Severity::warning, [](json&) {}},
      {"llm", "llm_attempts", [](json& p) { p["services"]["ocr_engine"]["retry"]["max_attempts"] = 4; },
       "$.services.ocr_engine.retry.max_attempts", Severity::warning, [](json&) {}},
      {"breaker", "no_circuit_breaker", [](json& p) { p["services"]["notifier"].erase("circuit_breaker"); },
       "$.services.notifier", Severity::warning,
       // Without the fallback the backup engine is never called: no breaker needed.
       [](json& p) {
         p["agents"]["ocr"]["fallback"] = false;
         p["services"]["backup_ocr"].erase("circuit_breaker");
       }},
      {"count_window_minimum", "breaker_cannot_open",
       [](json& p) { p["services"]["po_database"]["circuit_breaker"]["minimum_calls"] = 21; },
       "$.services.po_database.circuit_breaker.minimum_calls", Severity::error,
       [](json& p) { p["services"]["po_database"]["circuit_breaker"]["minimum_calls"] = 20; }},
      {"time_window_traffic", "breaker_cannot_open", [&](json& p) { time_window(p, "10s", 5); },
       "$.services.po_database.circuit_breaker.minimum_calls", Severity::error,
       // A minute holds about 10 calls at 600 invoices an hour.
       [&](json& p) { time_window(p, "60s", 5); }},
      {"window_short", "breaker_window_too_short", [&](json& p) { time_window(p, "8s", 5); },
       "$.services.po_database.circuit_breaker.window_duration", Severity::error,
       [&](json& p) { time_window(p, "10s", 5); }, busy},
      {"non_neutral", "no_neutral_default", [](json& p) { p["agents"]["matching"]["default"] = "best_candidate"; },
       "$.agents.matching.default", Severity::error, [](json&) {}},
      {"no_default", "no_neutral_default", [](json& p) { p["agents"]["matching"].erase("default"); },
       "$.agents.matching", Severity::error, [](json&) {}},
      {"non_critical_without_default", "no_neutral_default",
       [](json& p) { p["agents"]["validation"]["criticality"] = "non_critical"; }, "$.agents.validation.criticality",
       Severity::error, [](json&) {}},
      {"checkpoints", "checkpointing_off", [](json& p) { p["checkpoints"]["store"] = "none"; }, "$.checkpoints",
       Severity::error,
       [](json& p) {
         p["checkpoints"]["store"] = "none";
         for (auto a : {"ocr", "validation", "matching", "accounting", "archive"}) {
           p["agents"][a]["timeout"] = "20s";
           p["agents"][a]["retry"] = {{"max_attempts", 1}};
         }
       }},
      {"memory", "memory_checkpoints_in_production", [](json& p) { p["checkpoints"] = {{"store", "memory"}}; },
       "$.checkpoints.store", Severity::error, [](json&) {}},
      {"no_dlq", "no_dead_letter_queue", [](json& p) { p.erase("dead_letter"); }, "$.dead_letter", Severity::error,
       [](json&) {}},
      {"dlq_alert", "dead_letter_without_alert", [](json& p) { p["dead_letter"].erase("alert_threshold"); },
       "$.dead_letter", Severity::error, [](json&) {}},
      {"dlq_late", "dead_letter_alert_late", [](json& p) { p["dead_letter"]["alert_threshold"] = 500; },
       "$.dead_letter.alert_threshold", Severity::warning, [](json& p) { p["dead_letter"]["alert_threshold"] = 100; }},
      {"jitter_absent", "no_jitter", [](json& p) { p["services"]["notifier"]["retry"].erase("jitter"); },
       "$.services.notifier.retry", Severity::warning,
       [](json& p) { p["services"]["notifier"]["retry"]["jitter"] = "equal"; }},
      {"jitter_none", "no_jitter", [](json& p) { p["services"]["notifier"]["retry"]["jitter"] = "none"; },
       "$.services.notifier.retry.jitter", Severity::warning,
       [](json& p) { p["services"]["notifier"]["retry"]["jitter"] = "decorrelated"; }},
      // The notifier retries twice, after 1 s and 2 s: a 1 s cap clamps the
      // second; under its own 4 s cap neither delay reaches it, and the
      // order does no harm.
      {"jitter_before_cap", "jitter_before_cap",
       [](json& p) {
         auto& r = p["services"]["notifier"]["retry"];
         r["max_delay"] = "1s";
         r["jitter_applied"] = "before_cap";
       },
       "$.services.notifier.retry.jitter_applied", Severity::warning,
       [](json& p) {
         auto& r = p["services"]["notifier"]["retry"];
         r["jitter_applied"] = "before_cap";
       }},
      {"budget", "no_retry_budget", [](json& p) { p["services"]["notifier"]["retry"].erase("budget"); },
       "$.services.notifier.retry", Severity::warning,
       // Four workers: not enough callers to need a budget.
       [](json& p) {
         p["services"]["notifier"]["retry"].erase("budget");
         p["agents"]["accounting"]["workers"] = 4;
       }},
  };
}

TEST(PolicyLint, EveryRuleFiresOnItsFlawAndNotOnTheNearMiss) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto doc = clean();
    c.trigger(doc);
    const auto r = lint(doc, c.options);
    const auto* f = find(r, c.rule);
    ASSERT_NE(f, nullptr) << dump(r);
    EXPECT_EQ(f->path, c.path);
    EXPECT_EQ(f->severity, c.severity);
    EXPECT_FALSE(f->reason.empty());
    EXPECT_FALSE(f->fix.empty());

    auto near = clean();
    c.near_miss(near);
    EXPECT_FALSE(lint(near, c.options).has(c.rule)) << dump(lint(near, c.options));
  }
}

TEST(PolicyLint, EveryCatalogueRuleHasATriggeringCase) {
  std::set<std::string> covered;
  for (const auto& c : cases()) covered.insert(c.rule);
  for (const auto& rule : lint_rules()) EXPECT_TRUE(covered.count(std::string(rule.id))) << rule.id;
}

TEST(PolicyLint, ErrorsComeBeforeWarnings) {
  auto doc = clean();
  doc["services"]["notifier"]["retry"].erase("jitter");
  doc.erase("dead_letter");
  const auto r = lint(doc);
  ASSERT_EQ(r.findings.size(), 2u) << dump(r);
  EXPECT_EQ(r.findings[0].severity, Severity::error);
  EXPECT_EQ(r.findings[1].severity, Severity::warning);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const runtime::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PolicyLint, NotAPolicyNamesFileAndPath) {
  EXPECT_EQ(error_of([] { (void)lint(json::array({1, 2})); }).rfind("team.json: $: ", 0), 0u);
  auto doc = clean();
  doc["services"]["ledger"]["timeout"] = 5;
  EXPECT_NE(error_of([&] { (void)lint(doc); }).find("team.json: $.services.ledger.timeout: "), std::string::npos);
  doc = clean();
  doc["agents"]["billing"] = json::object();
  EXPECT_NE(error_of([&] { (void)lint(doc); }).find("$.agents.billing"), std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / "faultline-policy-lint-test";
  std::filesystem::create_directories(dir);
  const auto bad = (dir / "broken.json").string();
  std::ofstream(bad) << "{\"name\": \"x\",\n \"agents\": {";
  const auto message = error_of([&] { (void)lint_policy_file(bad, {}); });
  EXPECT_EQ(message.rfind(bad, 0), 0u) << message;
  EXPECT_NE(error_of([&] { (void)lint_policy_file((dir / "absent.json").string(), {}); }), "no error");
}

}  // namespace
}  // namespace faultline::policy_check
