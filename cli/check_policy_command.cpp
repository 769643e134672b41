// `faultline check-policy POLICY.json [--suite DIR ...] [--out DIR]
//  [--seeds K] [--profile production|staging] [--rate N] [--lint-only]
//  [--explore[=BUDGET] | --explore-runs N] [--explore-seed S] [--recommended FILE]`:
// lints a team's policy, runs the suite with it, explores random fault
// schedules with it when asked (a CI-sized budget of 2 minutes by default),
// blames each failure on the settings that differ from the recommended
// policy, reports what the runs exercised, and says whether the policy is
// fit to deploy. Writes check-policy.md and check-policy.json (and the
// suite's run directory, and the exploration's found/ scenarios) into DIR;
// exit 0 fit, 1 not fit, 2 bad input.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "cli/args.h"
#include "cli/command.h"
#include "reports/escape.h"
#include "policy_check/policy_check.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::cli {
using namespace policy_check;
namespace {

struct CheckCli {
  std::string policy;
  std::vector<std::string> suite;
  std::string out = "check-policy";
  std::uint32_t seeds = 3;
  std::uint32_t jobs = 0;
  std::string profile = "production";
  std::optional<std::string> rate_per_hour;
  bool lint_only = false;
  std::vector<std::string> explore;  // --explore given: its budget, if any
  bool explore_given = false;
  std::optional<std::string> explore_runs;
  std::optional<std::string> explore_seed;
  std::string recommended = "scenarios/policies/recommended.json";
};

// The budget of a bare --explore: what a CI job can spend on it.
constexpr const char* kCiExploreBudget = "2m";

int check(const CheckCli& cli) {
  CheckOptions o;
  o.policy_file = cli.policy;
  if (!cli.suite.empty()) o.suite = cli.suite;
  o.seeds = cli.seeds;
  o.jobs = cli.jobs == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cli.jobs;
  o.lint_only = cli.lint_only;
  if (!parse_profile(cli.profile, o.lint.profile)) {
    fmt::print(stderr, "faultline check-policy: --profile: expected production or staging, got \"{}\"\n",
               cli.profile);
    return kInputError;
  }
  if (cli.rate_per_hour) {
    const auto rate = parse_finite(*cli.rate_per_hour);
    if (!rate || *rate <= 0) return refuse("check-policy", "--rate", "invoices per hour above 0", *cli.rate_per_hour);
    o.lint.expected_rate_per_hour = *rate;
    o.rate_given = true;
  }
  if (cli.policy.empty()) return refuse("check-policy", "policy", "a policy file", cli.policy);
  if (cli.explore_given && cli.explore_runs) {
    return refuse("check-policy", "--explore-runs", "either --explore BUDGET or --explore-runs, not both", *cli.explore_runs);
  }
  if (cli.explore_given) {
    const std::string text = cli.explore.empty() || cli.explore.front().empty() ? kCiExploreBudget : cli.explore.front();
    runtime::Duration d{};
    if (!runtime::parse_duration(text, d) || d <= runtime::Duration::zero()) {
      return refuse("check-policy", "--explore", "a positive duration such as \"2m\"", text);
    }
    o.explore_budget = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }
  if (cli.explore_runs) {
    const auto runs = parse_u64(*cli.explore_runs);
    if (!runs || *runs == 0) return refuse("check-policy", "--explore-runs", "a number of runs above 0", *cli.explore_runs);
    o.explore_runs = *runs;
  }
  if (cli.explore_seed) {
    const auto seed = parse_u64(*cli.explore_seed);
    if (!seed) return refuse("check-policy", "--explore-seed", "an integer from 0 to 18446744073709551615", *cli.explore_seed);
    o.explore_seed = *seed;
  }
  o.recommended_file = cli.recommended;
  CheckResult r;
  try {
    r = check_policy(o);
  } catch (const runtime::ConfigError& e) {
    fmt::print(stderr, "faultline check-policy: {}\n", printable_error(e));
    return kInputError;
  }
  // Errors one by one; a warning that recurs (no jitter on ten retries) once,
  // with its paths. check-policy.md lists every finding.
  const auto& findings = r.lint.findings;
  for (std::size_t i = 0; i < findings.size();) {
    const auto& f = findings[i];
    std::size_t j = i + 1;
    std::string paths = f.path;
    if (f.severity == Severity::warning) {
      for (; j < findings.size() && findings[j].rule == f.rule; ++j) paths += ", " + findings[j].path;
    }
    fmt::print("{:<8} {:<34} {}\n         {}\n         fix: {}\n", to_string(f.severity), f.rule,
               reports::printable(paths), reports::printable(f.reason), reports::printable(f.fix));
    i = j;
  }
  for (const auto& s : r.run.scenarios) {
    fmt::print("{:<13} {:<28} seed={:<20} {}\n", reports::label(s.verdict), reports::printable(s.name), s.seed,
               reports::printable(s.verdict_reason));
  }
  if (r.explored) {
    const auto& x = r.explore;
    fmt::print("explore: {} run(s), {} failing, {} failure(s) after shrinking\n", x.runs, x.failing, x.found.size());
    for (std::size_t i = 0; i < x.found.size(); ++i) {
      fmt::print("FAIL          {:<28} {}\n              {}\n", reports::printable(x.found[i].property),
                 reports::printable(harness::describe_size(x.found[i].smallest)),
                 reports::printable(x.found[i].message));
    }
  }
  for (const auto& b : r.blames) fmt::print("blame: {}\n", reports::printable(b.sentence()));
  std::size_t never = 0;
  for (const auto& i : r.coverage) never += (i.measured && !i.exercised()) ? 1 : 0;
  if (r.suite_ran) fmt::print("coverage: {} policy setting(s) never exercised by the suite\n", never);
  if (const auto problem = write_check_files(r, cli.out); !problem.empty()) {
    fmt::print(stderr, "faultline check-policy: {}\n", reports::printable(problem));
    return kInputError;
  }
  if (r.fit) {
    fmt::print("fit to deploy ({} warning(s))\n", r.reasons.size());
  } else {
    fmt::print("not fit: {}\n", r.reasons.front().text);
  }
  fmt::print("written: {}/check-policy.md, {}/check-policy.json\n", cli.out, cli.out);
  return r.exit_code();
}

Command check_policy_command{"check-policy", [](CLI::App& app) {
  auto cli = std::make_shared<CheckCli>();
  auto* sub = app.add_subcommand("check-policy", "Lint a team's policy, run the suite with it, and judge it");
  sub->add_option("policy", cli->policy, "The team's policy file (JSON)")->required();
  sub->add_option("--suite", cli->suite, "Scenario files or folders to run (default: scenarios)");
  sub->add_option("--out", cli->out, "Folder for check-policy.md, check-policy.json and the suite's run");
  sub->add_option("--seeds", cli->seeds, "Seeds per scenario")->check(CLI::Range(1u, 1000u));
  sub->add_option("--jobs,-j", cli->jobs, "Worker threads (default: one per core)")->check(CLI::Range(0u, 1024u));
  sub->add_option("--profile", cli->profile, "Where the policy will run: production (default) or staging");
  sub->add_option("--rate", cli->rate_per_hour,
                  "Expected invoices per hour for the breaker rules (default: the suite's lowest rate)");
  sub->add_flag("--lint-only", cli->lint_only, "Lint only; do not run the suite");
  auto* explore = sub->add_option("--explore", cli->explore,
                                  "After the suite, explore random fault schedules for BUDGET (default 2m; write "
                                  "--explore=BUDGET)")
                      ->expected(0, 1);
  sub->add_option("--explore-runs", cli->explore_runs, "Explore exactly N generated runs instead (reproducible)");
  sub->add_option("--explore-seed", cli->explore_seed, "Root seed of the explored scenarios (default 1)");
  sub->add_option("--recommended", cli->recommended,
                  "The policy failures are blamed against (default scenarios/policies/recommended.json)");
  return [cli, explore] {
    cli->explore_given = explore->count() > 0;
    return check(*cli);
  };
}};

}  // namespace
}  // namespace faultline::cli
