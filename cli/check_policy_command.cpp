// `faultline check-policy POLICY.json [--suite DIR ...] [--out DIR]
//  [--seeds K] [--profile production|staging] [--rate N] [--lint-only]`:
// lints a team's policy, runs the suite with it, reports what the suite
// exercised, and says whether the policy is fit to deploy. Writes
// check-policy.md and check-policy.json (and the suite's run directory)
// into DIR; exit 0 fit, 1 not fit, 2 bad input.
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
};

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
  return [cli] { return check(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
