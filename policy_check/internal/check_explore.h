// check-policy's parts 4 and 5 (policy_check.h): exploring with the team's
// policy after the suite, and blaming the settings each failure comes from;
// and how both read in check-policy.md and check-policy.json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "policy_check/policy_check.h"

namespace faultline::policy_check::internal {

// Runs explore when the options ask for it; what its runs exercise joins
// `coverage`.
void run_explore(const CheckOptions& options, CheckResult& result, PolicyCoverage& coverage);

// Adds the explore failures to the reasons (after judge()), blames the
// failures and puts the blamed settings first among the reasons.
void blame_failures(const CheckOptions& options, CheckResult& result);

// "found/<property>-<n>.json" under the explore folder, as write_explore_files names it.
std::string found_file(const harness::ExploreResult& explore, std::size_t i);

std::string explore_and_blame_markdown(const CheckResult& result);
void add_explore_and_blame_json(const CheckResult& result, nlohmann::json& j);

}  // namespace faultline::policy_check::internal
