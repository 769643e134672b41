// faultline: the command line. Subcommands register themselves (command.h);
// this file parses, dispatches and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <exception>
#include <map>

#include "harness/command.h"
#include "runtime/json_config.h"

namespace faultline::harness {

namespace {
std::vector<Command::Entry>& registry() {
  static std::vector<Command::Entry> entries;
  return entries;
}
}  // namespace

Command::Command(std::string name, Setup setup) {
  registry().push_back(Entry{std::move(name), std::move(setup)});
}

std::vector<Command::Entry> Command::all() {
  auto entries = registry();
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace faultline::harness

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline: chaos injection and resilience testing for multi-agent pipelines"};
  app.set_version_flag("--version", "faultline 0.1.0");
  app.require_subcommand(0, 1);

  std::map<CLI::App*, harness::Command::Action> actions;
  for (const auto& entry : harness::Command::all()) {
    const auto before = app.get_subcommands({}).size();
    harness::Command::Action action = entry.setup(app);
    const auto subs = app.get_subcommands({});
    if (subs.size() > before) actions[subs.back()] = std::move(action);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return harness::kInputError;
  }

  const auto chosen = app.get_subcommands();
  if (chosen.empty()) {
    fmt::print("{}", app.help());
    return harness::kPass;
  }
  try {
    return actions.at(chosen.front())();
  } catch (const runtime::ConfigError& e) {
    fmt::print(stderr, "faultline: {}\n", e.what());
    return harness::kInputError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline: error: {}\n", e.what());
    return harness::kAborted;
  }
}
