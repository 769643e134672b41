// `faultline check-policy`: is a team's policy fit to deploy? Three parts
// and a verdict:
//   1. the lint (policy_check/policy_lint.h), before anything runs;
//   2. the suite (default scenarios/) run with the team's policy in place of
//      each scenario's own, on several seeds, invariants and SLOs checked;
//   3. coverage: which parts of the policy the runs exercised (each retry
//      limit reached, each breaker opened and closed again, each fallback and
//      default used, each compensation run, the DLQ used) and which they never
//      did, so the team knows what the suite did not prove;
//   4. with an explore budget, faultline explore (harness/explore.h) with the
//      team's policy after the suite: a shrunk failure makes it not fit;
//   5. field blame (blame.h): each failure (the smallest failing suite run
//      per broken property, each explore failure) is run again with every
//      setting that differs from the recommended policy set back, one at a
//      time, and the settings that turn it into a pass are named.
// The verdict lists its reasons in order of severity; it is written as
// check-policy.md and check-policy.json into the output folder.
//
//   CheckOptions o;
//   o.policy_file = "team.json";
//   o.suite = {"scenarios"};
//   CheckResult r = check_policy(o);    // throws runtime::ConfigError on bad input
//   r.fit;                              // exit 0 when fit, 1 when not
//   write_check_files(r, "out/");
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/explore.h"
#include "policy_check/blame.h"
#include "policy_check/policy_lint.h"
#include "reports/result.h"
#include "runtime/event_log.h"

namespace faultline::policy_check {

struct CheckOptions {
  std::string policy_file;
  std::vector<std::string> suite = {"scenarios"};
  std::uint32_t seeds = 3;
  std::uint32_t jobs = 1;
  std::uint64_t step_budget = 400'000'000;
  bool lint_only = false;
  LintOptions lint;
  // When false, lint.expected_rate_per_hour is the suite's lowest workload rate.
  bool rate_given = false;
  // Explore after the suite for this budget, or this many runs (neither: no exploring).
  std::optional<std::chrono::milliseconds> explore_budget;
  std::optional<std::uint64_t> explore_runs;
  std::uint64_t explore_seed = 1;
  // The recommended policy that field blame sets settings back to; when
  // the file does not exist, nothing is blamed (a warning says so).
  std::string recommended_file = "scenarios/policies/recommended.json";
  std::size_t blames_max = 8;  // failures blamed at most (each costs a run per differing setting)
};

// One part of the policy that a run can exercise.
struct CoverageItem {
  std::string id;    // "retry_limit:$.services.ocr_engine.retry", "breaker_opened:ocr_engine", ...
  std::string path;  // the JSON path of the policy setting
  std::string what;  // for people: "the OCR engine's retry limit (5 attempts) reached"
  // Whether the evidence the runs handed back can show this at all (some
  // facts are only in a run's event log).
  bool measured = false;
  std::uint64_t times = 0;             // how often the runs exercised it
  std::vector<std::string> scenarios;  // which runs did, "name (seed N)", at most kCoverageScenarios
  std::uint64_t scenarios_dropped = 0;

  bool exercised() const { return times > 0; }
};
inline constexpr std::size_t kCoverageScenarios = 8;

class PolicyCoverage {
 public:
  // The items this policy has (a breaker only where one is configured, ...).
  explicit PolicyCoverage(const LintReport& lint);

  // What a run's result model shows (breakers, DLQ, degraded outcomes).
  void observe(const reports::ScenarioResult& run);
  // What a run's event log shows (every item), for a run labelled `label`.
  void observe(const runtime::EventLog& log, const std::string& label);

  // Adds what another run's coverage (of the same policy) found.
  void merge(const PolicyCoverage& other);

  const std::vector<CoverageItem>& items() const { return items_; }
  std::vector<const CoverageItem*> never_exercised() const;

 private:
  CoverageItem* item(const std::string& id);
  void hit(const std::string& id, const std::string& label, std::uint64_t times = 1);

  std::vector<CoverageItem> items_;
  std::uint32_t dlq_alert_threshold_ = 0;
  std::vector<std::pair<std::string, std::uint32_t>> retry_limits_;  // log source -> max attempts
};

struct CheckReason {
  Severity severity = Severity::error;
  std::string source;  // "lint", "suite"
  std::string path;    // JSON path, or the scenario and seed
  std::string text;
};

struct CheckResult {
  std::string policy_file;
  LintReport lint;
  std::vector<std::string> suite_files;
  std::uint32_t seeds = 0;
  bool suite_ran = false;
  bool logs_seen = false;  // the runner handed over each run's event log
  reports::RunResult run;
  std::vector<CoverageItem> coverage;
  bool explored = false;
  harness::ExploreResult explore;  // when explored
  std::vector<Blame> blames;
  std::vector<CheckReason> reasons;  // blamed settings first, then other errors, then warnings
  bool fit = false;

  int exit_code() const { return fit ? 0 : 1; }
};

// Throws runtime::ConfigError for a bad policy, suite or scenario file.
[[nodiscard]] CheckResult check_policy(const CheckOptions& options);

// Decides reasons and verdict from the parts (check_policy calls it; tests
// may too, with a hand-made run).
void judge(CheckResult& result);

std::string check_markdown(const CheckResult& result);
nlohmann::json check_json(const CheckResult& result);
// Writes check-policy.md and check-policy.json into `dir` (created), the
// suite's run directory under suite/ and the exploration under explore/
// (explore.md, explore.json, found/); an empty string on success,
// otherwise what went wrong.
[[nodiscard]] std::string write_check_files(const CheckResult& result, const std::string& dir);

}  // namespace faultline::policy_check
