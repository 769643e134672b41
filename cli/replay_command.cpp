// `faultline replay RUN_DIR/report.json [--scenario NAME]`: reruns one
// scenario of a recorded run exactly (its file, seed and policy, from its
// replay command) and says whether the verdict and the figures came out the
// same. Exit code: the rerun's verdict (0 pass, 1 failed, ...).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>
#include <sstream>

#include "harness/command.h"
#include "harness/engine.h"
#include "harness/runner.h"
#include "reports/json_report.h"
#include "runtime/json_config.h"

namespace faultline::harness {
namespace {

struct ReplayCli {
  std::string report;
  std::string scenario;
};

int replay(const ReplayCli& cli) {
  const auto run = reports::read_report_json(cli.report);
  const reports::ScenarioResult* chosen = nullptr;
  for (const auto& s : run.scenarios) {
    if (!cli.scenario.empty() ? s.name == cli.scenario : s.verdict != reports::Verdict::kPass) {
      chosen = &s;
      break;
    }
  }
  if (chosen == nullptr && cli.scenario.empty() && !run.scenarios.empty()) chosen = &run.scenarios.front();
  if (chosen == nullptr) {
    throw runtime::ConfigError(cli.report, "$.scenarios", "no scenario named \"" + cli.scenario + "\"");
  }
  // The replay command is "faultline run FILE --seed N [--policy P]".
  std::istringstream words(chosen->replay_command);
  std::vector<std::string> argv;
  for (std::string w; words >> w;) argv.push_back(w);
  std::string file;
  EngineOptions o;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    if (argv[i] == "--seed" && i + 1 < argv.size()) o.seed = std::stoull(argv[++i]);
    else if (argv[i] == "--policy" && i + 1 < argv.size()) o.policy_file = argv[++i];
    else if (file.empty()) file = argv[i];
  }
  if (argv.size() < 3 || argv[1] != "run" || file.empty()) {
    throw runtime::ConfigError(cli.report, "$.scenarios[].replay_command",
                               "expected \"faultline run FILE --seed N\", got \"" + chosen->replay_command + "\"");
  }
  const auto scenario = load_scenario(file);
  const auto again = run_scenario(scenario, o);
  const bool same = again.verdict == chosen->verdict && again.outcomes.posted == chosen->outcomes.posted &&
                    again.outcomes.submitted == chosen->outcomes.submitted &&
                    again.outcomes.dead_lettered == chosen->outcomes.dead_lettered &&
                    again.success_rate == chosen->success_rate;
  fmt::print("{} seed={} verdict={} ({})\n", again.name, again.seed, reports::to_string(again.verdict),
             again.verdict_reason);
  fmt::print("{}\n", same ? "replay matches the recorded run"
                          : fmt::format("replay DIFFERS from the recorded run (recorded verdict {}, success {:.4f}; "
                                        "now {:.4f})",
                                        reports::to_string(chosen->verdict), chosen->success_rate,
                                        again.success_rate));
  if (!same) return kAborted;
  return exit_code_for(again.verdict);
}

Command replay_command{"replay", [](CLI::App& app) {
  auto cli = std::make_shared<ReplayCli>();
  auto* sub = app.add_subcommand("replay", "Rerun one scenario of a recorded run exactly");
  sub->add_option("report", cli->report, "RUN_DIR/report.json")->required();
  sub->add_option("--scenario", cli->scenario, "Which scenario (default: the first that did not pass)");
  return [cli] { return replay(*cli); };
}};

}  // namespace
}  // namespace faultline::harness
