// Blame the field, not only the invariant: which of a team's policy settings
// a failure comes from. The smallest scenario that fails with the team's
// policy is run again (same seed) once per setting that differs from the
// recommended policy, with that one setting set back to the recommended
// value (or removed, where the recommended policy has none); the settings
// whose reverting turns the failure into a pass are the ones to blame. When
// no single setting does, each object holding two or more of the
// differences (a whole "retry", a whole "circuit_breaker") is reverted as
// one, since some flaws are two settings together; and last the recommended
// policy whole, to tell a flaw of the team's from one the recommended
// policy shares.
//
//   BlameOptions o;
//   o.team_file = "team.json";
//   o.recommended_file = "scenarios/policies/recommended.json";
//   Blame b = blame_fields(scenario, seed, "exactly_once", o);
//   b.blamed();     // {"$.agents.accounting.compensation"}
//   b.sentence();   // "exactly_once: with $.agents.accounting.compensation = true (recommended; yours: false) the run passes"
//
// The values tried are the policy files' own JSON, so what is named is what
// the team wrote; name, description and the checkpoint file's path (the
// engine gives every run a private one) are not behaviour and are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/scenario.h"

namespace faultline::policy_check {

struct BlameOptions {
  std::string team_file;
  std::string recommended_file;
  std::uint32_t jobs = 1;
  std::uint64_t step_budget = 400'000'000;
  // At most this many settings tried, one run each (the rest are counted).
  std::size_t fields_max = 40;
};

struct FieldTrial {
  std::string path;          // "$.agents.accounting.compensation", an object's path, or "$": the recommended policy
  nlohmann::json team;        // the team's value (null: the team's file has none)
  nlohmann::json recommended; // the value tried (null: removed)
  bool passes = false;        // the run broke nothing with it
  std::string outcome;        // "passes", "still broken: exactly_once", "not judged: ..."
};

struct Blame {
  std::string label;     // what failed: "cascade (seed 606)", "explore/found/exactly_once-1.json"
  std::string property;  // what it broke
  std::vector<FieldTrial> trials;  // one per setting tried, then the objects (when no single setting passed)
  std::size_t fields_differing = 0;
  std::size_t fields_not_tried = 0;  // past fields_max

  // The paths whose reverting passes, in the order tried.
  std::vector<std::string> blamed() const;
  // One line for people: what to change, or that no single setting explains it.
  std::string sentence() const;
};

// Where two policy documents differ, leaf by leaf (an array counts as one
// value), as JSON paths "$.a.b": the team document's leaves in key order,
// then those only the recommended one has; name, description and
// checkpoints.path are skipped.
[[nodiscard]] std::vector<std::string> differing_fields(const nlohmann::json& team, const nlohmann::json& recommended);

// Throws runtime::ConfigError when either policy file cannot be read.
[[nodiscard]] Blame blame_fields(const harness::Scenario& failing, std::uint64_t seed, const std::string& property,
                                 const std::string& label, const BlameOptions& options);

}  // namespace faultline::policy_check
