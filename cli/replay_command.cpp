// `faultline replay RUN_DIR/report.json [--scenario NAME] [--seed N]`:
// reruns one scenario of a recorded run exactly, from any folder: the
// scenario and policy files are the ones report.json names (absolute paths),
// checked against the digests recorded with them, with the recorded seed.
// It says whether the verdict and the figures came out the same.
//
// Exit code: the rerun's verdict when it matches the record; 2 when the
// report, or a file it names, is missing or has changed since the run; 5 when
// the same inputs gave a different result (faultline is not deterministic:
// a bug).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/args.h"
#include "cli/command.h"
#include "harness/engine.h"
#include "harness/runner.h"
#include "reports/escape.h"
#include "reports/json_report.h"
#include "runtime/json_config.h"
#include "runtime/random.h"

namespace faultline::cli {
namespace {

using reports::printable;

struct ReplayCli {
  std::string report;
  std::string scenario;
  std::optional<std::string> seed;
};

std::string digest_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return fmt::format("{:016x}", runtime::fnv1a64(bytes.str()));
}

// The recorded file, where it can be found: its absolute path, else as given.
std::string locate(const std::string& absolute, const std::string& as_given) {
  std::error_code ec;
  if (!absolute.empty() && std::filesystem::exists(absolute, ec)) return absolute;
  return as_given;
}

int replay(const ReplayCli& cli) {
  std::optional<std::uint64_t> seed;
  if (cli.seed) {
    seed = parse_u64(*cli.seed);
    if (!seed) return refuse("replay", "--seed", "an integer from 0 to 18446744073709551615", *cli.seed);
  }
  const auto run = reports::read_report_json(cli.report);
  const reports::ScenarioResult* chosen = nullptr;
  std::size_t index = 0;
  for (std::size_t i = 0; i < run.scenarios.size(); ++i) {
    const auto& s = run.scenarios[i];
    const bool wanted = !cli.scenario.empty() ? s.name == cli.scenario && (!seed || s.seed == *seed)
                        : seed                ? s.seed == *seed
                                              : s.verdict != reports::Verdict::kPass;
    if (wanted) {
      chosen = &s;
      index = i;
      break;
    }
  }
  if (chosen == nullptr && cli.scenario.empty() && !seed && !run.scenarios.empty()) chosen = &run.scenarios.front();
  if (chosen == nullptr) {
    std::string what = cli.scenario.empty() ? "no scenario" : "no scenario named \"" + cli.scenario + "\"";
    if (seed) what += fmt::format(" with seed {}", *seed);
    throw runtime::ConfigError(cli.report, "$.scenarios", what);
  }
  const std::string at = fmt::format("$.scenarios[{}]", index);
  if (chosen->scenario_path.empty() && chosen->scenario_file.empty()) {
    throw runtime::ConfigError(cli.report, at,
                               "no scenario_path recorded (a report of schema version 1): rerun the suite with "
                               "this faultline to replay it");
  }
  const std::string scenario_file = locate(chosen->scenario_path, chosen->scenario_file);
  const std::string policy_file = locate(chosen->policy_path, chosen->policy_file);
  // The same inputs or none: a file changed since the run would replay
  // something else and call it a mismatch.
  const std::string scenario_now = digest_of(scenario_file);
  if (scenario_now.empty()) {
    throw runtime::ConfigError(cli.report, at + ".scenario_path", "cannot read " + scenario_file);
  }
  if (scenario_now != chosen->scenario_digest) {
    throw runtime::ConfigError(cli.report, at + ".scenario_digest",
                               fmt::format("{} has changed since the run (digest {} then, {} now): refusing to "
                                           "replay a different scenario",
                                           scenario_file, chosen->scenario_digest, scenario_now));
  }
  if (!policy_file.empty() && !chosen->policy_digest.empty()) {
    const std::string policy_now = digest_of(policy_file);
    if (policy_now != chosen->policy_digest) {
      throw runtime::ConfigError(cli.report, at + ".policy_digest",
                                 fmt::format("{} has changed since the run (digest {} then, {} now): refusing to "
                                             "replay with a different policy",
                                             policy_file, chosen->policy_digest,
                                             policy_now.empty() ? "unreadable" : policy_now));
    }
  }
  harness::EngineOptions o;
  o.seed = chosen->seed;
  if (!policy_file.empty()) o.policy_file = policy_file;
  const auto scenario = harness::load_scenario(scenario_file);
  const auto again = harness::run_scenario(scenario, o);
  const bool same = again.verdict == chosen->verdict && again.outcomes.posted == chosen->outcomes.posted &&
                    again.outcomes.submitted == chosen->outcomes.submitted &&
                    again.outcomes.dead_lettered == chosen->outcomes.dead_lettered &&
                    again.success_rate == chosen->success_rate;
  fmt::print("{} seed={} verdict={} ({})\n", printable(again.name), again.seed, reports::to_string(again.verdict),
             printable(again.verdict_reason));
  if (!same) {
    fmt::print("replay DIFFERS from the recorded run (recorded verdict {}, success {:.4f}; now {:.4f})\n",
               reports::to_string(chosen->verdict), chosen->success_rate, again.success_rate);
    return kInternalError;
  }
  fmt::print("replay matches the recorded run\n");
  return harness::exit_code_for(again.verdict);
}

Command replay_command{"replay", [](CLI::App& app) {
  auto cli = std::make_shared<ReplayCli>();
  auto* sub = app.add_subcommand("replay", "Rerun one scenario of a recorded run exactly");
  sub->add_option("report", cli->report, "RUN_DIR/report.json")->required();
  sub->add_option("--scenario", cli->scenario, "Which scenario (default: the first that did not pass)");
  sub->add_option("--seed", cli->seed, "Which of the scenario's seeds (default: the first recorded)");
  return [cli] { return replay(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
