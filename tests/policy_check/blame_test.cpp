// Field blame and check-policy's exploring: the settings two policies differ
// in; a failure blamed on the one setting that causes it; a failure the
// recommended policy shares blamed on none; and check-policy --explore
// finding, shrinking and blaming a planted bug end to end.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/scenario.h"
#include "policy_check/blame.h"
#include "policy_check/policy_check.h"
#include "runtime/json_config.h"
#include "tests/support/source_dir.h"

namespace faultline::policy_check {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::source_path;

TEST(Blame, DifferingFieldsAreLeavesWithArraysWholeAndNamesSkipped) {
  const json team = json::parse(R"({"name": "team", "description": "ours",
    "checkpoints": {"store": "sqlite", "path": "mine.db"},
    "services": {"ledger": {"timeout": "5s", "retry": {"max_attempts": 3, "retry_on": ["transient"]}}},
    "agents": {"accounting": {"compensation": false}}})");
  const json rec = json::parse(R"({"name": "recommended", "description": "theirs",
    "checkpoints": {"store": "sqlite", "path": "faultline-checkpoints.db"},
    "services": {"ledger": {"timeout": "5s", "retry": {"max_attempts": 1}}},
    "agents": {"accounting": {"compensation": true, "idempotency_key": true}}})");
  EXPECT_EQ(differing_fields(team, rec),
            (std::vector<std::string>{"$.agents.accounting.compensation", "$.services.ledger.retry.max_attempts",
                                      "$.services.ledger.retry.retry_on", "$.agents.accounting.idempotency_key"}));
  EXPECT_TRUE(differing_fields(rec, rec).empty());
}

// Six minutes at 300 invoices an hour with the AP notifier failing from
// 2 to 4 minutes: entries posted before a failed notification must be reversed.
harness::Scenario notifier_failing(const std::string& policy) {
  const auto doc = json::parse(R"({"name": "notifier-failing", "seed": 3, "duration": "6m", "drain": "35m",
    "workload": {"rate_per_hour": 300}, "policy": ")" + policy + R"(",
    "faults": [{"kind": "error", "target": "notifier", "start": "2m", "duration": "2m"}],
    "expect": {"slo": {"enabled": false}}})");
  return harness::parse_scenario(doc, "notifier-failing.json");
}

TEST(Blame, NamesTheOneSettingWhoseReturnMakesTheRunPass) {
  BlameOptions o;
  o.team_file = source_path("scenarios/policies/teams/saga-without-compensation.json");
  o.recommended_file = source_path("scenarios/policies/recommended.json");
  o.jobs = 2;
  const auto b = blame_fields(notifier_failing(o.team_file), 3, "exactly_once", "notifier-failing", o);
  EXPECT_EQ(b.fields_differing, 1u);
  EXPECT_EQ(b.blamed(), (std::vector<std::string>{"$.agents.accounting.compensation"}));
  EXPECT_NE(b.sentence().find("with `$.agents.accounting.compensation` = true (recommended; yours: false) the run "
                              "passes"),
            std::string::npos)
      << b.sentence();
}

TEST(Blame, AFailureTheRecommendedPolicySharesIsBlamedOnNoSetting) {
  // The same policy as the recommended one in all that matters: nothing to blame.
  BlameOptions o;
  o.team_file = source_path("scenarios/policies/recommended.json");
  o.recommended_file = o.team_file;
  const auto b = blame_fields(notifier_failing(o.team_file), 3, "exactly_once", "x", o);
  EXPECT_EQ(b.fields_differing, 0u);
  EXPECT_TRUE(b.blamed().empty());
  EXPECT_NE(b.sentence().find("recommended policy"), std::string::npos) << b.sentence();
}

TEST(CheckPolicy, ExploreFindsShrinksAndBlamesAPlantedBug) {
  const auto dir = fs::temp_directory_path() / "faultline-check-explore";
  fs::remove_all(dir);
  fs::create_directories(dir / "suite");
  // A suite the planted bug passes (no fault reaches the saga), so what fails is explore's.
  std::ofstream(dir / "suite" / "quiet.json") << R"({"name": "quiet", "seed": 5, "duration": "5m", "drain": "5m",
    "workload": {"rate_per_hour": 120}, "policy": ")" << source_path("scenarios/policies/recommended.json") << R"(",
    "faults": [{"kind": "latency", "target": "ocr_engine", "start": "1m", "duration": "2m", "delay": "1s"}],
    "expect": {"slo": {"enabled": false}}})";
  CheckOptions o;
  o.policy_file = source_path("scenarios/policies/teams/saga-without-compensation.json");
  o.recommended_file = source_path("scenarios/policies/recommended.json");
  o.suite = {(dir / "suite").string()};
  o.seeds = 1;
  o.jobs = 2;
  o.explore_runs = 5;
  const auto r = check_policy(o);
  ASSERT_TRUE(r.explored);
  ASSERT_FALSE(r.explore.found.empty());
  EXPECT_FALSE(r.fit);
  ASSERT_FALSE(r.reasons.empty());
  EXPECT_EQ(r.reasons.front().source, "blame");
  EXPECT_NE(r.reasons.front().text.find("$.agents.accounting.compensation"), std::string::npos) << r.reasons.front().text;
  bool explore_reason = false;
  for (const auto& x : r.reasons) explore_reason = explore_reason || x.source == "explore";
  EXPECT_TRUE(explore_reason);
  EXPECT_NE(check_markdown(r).find("## 5. Blame"), std::string::npos);
  EXPECT_FALSE(check_json(r)["blame"].empty());

  ASSERT_EQ(write_check_files(r, (dir / "out").string()), "");
  for (const auto& x : r.reasons) {
    if (x.source == "explore") {
      EXPECT_TRUE(fs::exists(dir / "out" / x.path)) << x.path;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faultline::policy_check
