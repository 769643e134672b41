// `faultline validate FILE...`: checks scenario and policy files without
// running anything, as `faultline run` and `--policy` would read them. A
// file with a "duration" member is a scenario (its policy and world model
// are checked with it); any other is a policy. Exit 0 when every file is
// valid, 2 otherwise, with one line per bad file naming the JSON path (or
// line and column) and what was expected.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

#include "cli/args.h"
#include "cli/command.h"
#include "harness/engine.h"
#include "harness/scenario.h"
#include "reference_system/policy.h"
#include "reports/escape.h"
#include "runtime/json_config.h"

namespace faultline::cli {
namespace {

struct ValidateCli {
  std::vector<std::string> files;
};

// "scenario" or "policy", after checking the file as that.
std::string validate_one(const std::string& file) {
  const auto doc = runtime::load_json_file(file);
  if (doc.is_object() && doc.contains("duration")) {
    const auto scenario = harness::load_scenario(file);
    (void)reference_system::load_policy(scenario.policy_file);
    try {
      (void)harness::world_for(scenario);
    } catch (const runtime::ConfigError& e) {
      if (e.file() == file) throw;
      throw runtime::ConfigError(file, "$.world", "world model " + e.file() + ": " + e.path() + ": " + e.message());
    }
    return "scenario";
  }
  (void)reference_system::load_policy(file);
  return "policy";
}

int validate(const ValidateCli& cli) {
  int bad = 0;
  for (const auto& file : cli.files) {
    try {
      const auto kind = validate_one(file);
      fmt::print("ok       {} ({})\n", reports::printable(file), kind);
    } catch (const runtime::ConfigError& e) {
      fmt::print("invalid  {}\n", printable_error(e));
      ++bad;
    }
  }
  return bad == 0 ? kPass : kInputError;
}

Command validate_command{"validate", [](CLI::App& app) {
  auto cli = std::make_shared<ValidateCli>();
  auto* sub = app.add_subcommand("validate", "Check scenario and policy files without running anything");
  sub->add_option("files", cli->files, "Scenario or policy files (JSON)")->required();
  return [cli] { return validate(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
