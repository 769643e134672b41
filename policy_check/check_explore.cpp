// check-policy's exploring and field blame (internal/check_explore.h).
#include "policy_check/internal/check_explore.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/core.h>

#include "harness/scenario.h"

namespace faultline::policy_check::internal {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One failure to blame: the scenario, its seed, what it broke, what to call it.
struct Failing {
  harness::Scenario scenario;
  std::uint64_t seed = 0;
  std::string property;
  std::string label;
};

std::string md_cell(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// The smallest failing suite run per broken property (fewest faults, then
// shortest), in the order the properties first failed.
std::vector<Failing> suite_failures(const CheckResult& result) {
  std::vector<std::string> order;
  std::map<std::string, const reports::ScenarioResult*> smallest;
  for (const auto& r : result.run.scenarios) {
    const auto broken = harness::broken_properties(r, true);
    if (broken.empty()) continue;
    const auto& p = broken.front();
    auto& best = smallest[p];
    if (best == nullptr) order.push_back(p);
    if (best == nullptr || std::make_pair(r.faults.size(), r.duration) < std::make_pair(best->faults.size(), best->duration)) {
      best = &r;
    }
  }
  std::vector<Failing> out;
  for (const auto& p : order) {
    const auto* r = smallest[p];
    out.push_back(Failing{harness::load_scenario(r->scenario_file), r->seed, p,
                          fmt::format("{} (seed {})", r->name, r->seed)});
  }
  return out;
}

}  // namespace

std::string found_file(const harness::ExploreResult& explore, std::size_t i) {
  return "explore/found/" + harness::found_name(explore, i) + ".json";
}

void run_explore(const CheckOptions& options, CheckResult& result, PolicyCoverage& coverage) {
  if (!options.explore_budget && !options.explore_runs) return;
  harness::ExploreOptions eo;
  eo.target.policy_file = options.policy_file;
  eo.seed = options.explore_seed;
  eo.runs = options.explore_runs;
  if (options.explore_budget) eo.budget = *options.explore_budget;
  eo.jobs = std::max<std::uint32_t>(1, options.jobs);
  // What the explored runs exercise counts as covered too.
  std::mutex lock;
  eo.on_run_log = [&](const runtime::EventLog& log, const reports::ScenarioResult& r) {
    if (r.verdict == reports::Verdict::kAborted) return;
    PolicyCoverage one(result.lint);
    one.observe(log, fmt::format("{} (seed {})", r.name, r.seed));
    std::lock_guard<std::mutex> guard(lock);
    coverage.merge(one);
  };
  result.explore = harness::explore(eo);
  result.explored = true;
}

void blame_failures(const CheckOptions& options, CheckResult& result) {
  std::vector<CheckReason> first;
  if (result.explored) {
    const auto& x = result.explore;
    std::vector<CheckReason> errors;
    for (std::size_t i = 0; i < x.found.size(); ++i) {
      const auto& f = x.found[i];
      errors.push_back(CheckReason{Severity::error, "explore", found_file(x, i),
                                   fmt::format("{}: {} ({}, shrunk from {} fault(s)); replay: faultline run {}",
                                               f.property, f.message, harness::describe_size(f.smallest),
                                               f.original.faults.size(), found_file(x, i))});
    }
    if (x.found.empty() && x.failing > 0) {
      errors.push_back(CheckReason{Severity::error, "explore", "",
                                   fmt::format("{} explored run(s) failed (not shrunk)", x.failing)});
    }
    // After the other errors, before the warnings.
    const auto warnings = std::find_if(result.reasons.begin(), result.reasons.end(),
                                       [](const CheckReason& c) { return c.severity == Severity::warning; });
    result.reasons.insert(warnings, errors.begin(), errors.end());
    if (x.aborted > 0) {
      result.reasons.push_back(CheckReason{Severity::warning, "explore", "",
                                           fmt::format("{} explored run(s) stopped at their safety limit", x.aborted)});
    }
    if (!x.found.empty() || x.failing > 0) result.fit = false;
  }

  std::vector<Failing> failing;
  if (result.suite_ran) failing = suite_failures(result);
  if (result.explored) {
    for (std::size_t i = 0; i < result.explore.found.size(); ++i) {
      const auto& f = result.explore.found[i];
      failing.push_back(Failing{harness::to_scenario(f.smallest, result.explore.options.target, harness::found_name(result.explore, i)),
                                f.smallest.seed, f.property, found_file(result.explore, i)});
    }
  }
  if (failing.empty()) return;
  std::error_code ec;
  if (options.recommended_file.empty() || !fs::exists(options.recommended_file, ec)) {
    result.reasons.push_back(CheckReason{Severity::warning, "blame", options.recommended_file,
                                         "no recommended policy to compare with: the failures are not blamed on settings"});
    return;
  }
  BlameOptions bo;
  bo.team_file = options.policy_file;
  bo.recommended_file = options.recommended_file;
  bo.jobs = std::max<std::uint32_t>(1, options.jobs);
  bo.step_budget = options.step_budget;
  for (std::size_t i = 0; i < failing.size() && i < options.blames_max; ++i) {
    const auto& f = failing[i];
    result.blames.push_back(blame_fields(f.scenario, f.seed, f.property, f.label, bo));
  }
  for (const auto& b : result.blames) {
    if (b.blamed().empty()) continue;
    first.push_back(CheckReason{Severity::error, "blame", b.blamed().front(), b.sentence()});
  }
  result.reasons.insert(result.reasons.begin(), first.begin(), first.end());
}

std::string explore_and_blame_markdown(const CheckResult& r) {
  std::string md;
  if (r.explored) {
    const auto& x = r.explore;
    md += "\n## 4. Explore\n\n";
    md += fmt::format("{} generated run(s) with seed {}: {} passed, {} inconclusive, {} failing; {} failure(s) after "
                      "shrinking (explore/explore.md has the coverage and the shrink steps).\n\n",
                      x.runs, x.options.seed, x.passed, x.inconclusive, x.failing, x.found.size());
    if (!x.found.empty()) {
      md += "| file | breaks | shrunk to | message |\n|---|---|---|---|\n";
      for (std::size_t i = 0; i < x.found.size(); ++i) {
        const auto& f = x.found[i];
        std::string faults;
        for (const auto& ft : f.smallest.faults) faults += (faults.empty() ? "" : "; ") + harness::describe_fault(ft);
        md += fmt::format("| `{}` | {} | {} | {} |\n", found_file(x, i), f.property, md_cell(faults.empty() ? "no fault" : faults),
                          md_cell(f.message));
      }
    }
  }
  if (!r.blames.empty()) {
    md += "\n## 5. Blame\n\nEach failure run again with one setting that differs from the recommended policy set "
          "back at a time:\n";
    for (const auto& b : r.blames) {
      md += fmt::format("\n### {}: {}\n\n{}.\n\n", md_cell(b.label), b.property, md_cell(b.sentence()));
      if (b.trials.empty()) continue;
      md += "| setting | yours | recommended | the run |\n|---|---|---|---|\n";
      for (const auto& t : b.trials) {
        md += fmt::format("| `{}` | `{}` | `{}` | {} |\n", t.path, md_cell(t.team.dump()), md_cell(t.recommended.dump()),
                          md_cell(t.outcome));
      }
      if (b.fields_not_tried > 0) md += fmt::format("\n{} more setting(s) not tried.\n", b.fields_not_tried);
    }
  }
  return md;
}

void add_explore_and_blame_json(const CheckResult& r, json& j) {
  if (r.explored) {
    json found = json::array();
    for (std::size_t i = 0; i < r.explore.found.size(); ++i) {
      const auto& f = r.explore.found[i];
      found.push_back({{"file", found_file(r.explore, i)},
                       {"property", f.property},
                       {"message", f.message},
                       {"faults", f.smallest.faults.size()}});
    }
    j["explore"] = {{"runs", r.explore.runs}, {"failing", r.explore.failing}, {"seed", r.explore.options.seed},
                    {"found", std::move(found)}};
  }
  json blames = json::array();
  for (const auto& b : r.blames) {
    json trials = json::array();
    for (const auto& t : b.trials) {
      trials.push_back({{"path", t.path}, {"yours", t.team}, {"recommended", t.recommended}, {"passes", t.passes},
                        {"outcome", t.outcome}});
    }
    blames.push_back({{"failure", b.label},
                      {"property", b.property},
                      {"blamed", b.blamed()},
                      {"sentence", b.sentence()},
                      {"trials", std::move(trials)},
                      {"not_tried", b.fields_not_tried}});
  }
  j["blame"] = std::move(blames);
}

}  // namespace faultline::policy_check::internal
