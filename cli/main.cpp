// faultline: the command line. Subcommands register themselves (command.h);
// this file parses, dispatches and maps errors to exit codes: a
// runtime::ConfigError (bad input or environment) is 2, any other exception
// is an internal error, 5.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <exception>
#include <map>

#include "cli/args.h"
#include "cli/command.h"
#include "reports/escape.h"
#include "runtime/json_config.h"

namespace faultline::cli {

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

}  // namespace faultline::cli

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline: chaos injection and resilience testing for multi-agent pipelines"};
  app.set_version_flag("--version", "faultline 0.1.0");
  app.require_subcommand(0, 1);

  std::map<CLI::App*, cli::Command::Action> actions;
  for (const auto& entry : cli::Command::all()) {
    const auto before = app.get_subcommands({}).size();
    cli::Command::Action action = entry.setup(app);
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
    return cli::kInputError;
  }

  const auto chosen = app.get_subcommands();
  if (chosen.empty()) {
    fmt::print("{}", app.help());
    return cli::kPass;
  }
  try {
    return actions.at(chosen.front())();
  } catch (const runtime::ConfigError& e) {
    fmt::print(stderr, "faultline: {}\n", cli::printable_error(e));
    return cli::kInputError;
  } catch (const std::exception& e) {
    // Bad input and environment problems are ConfigErrors; anything else
    // is a bug in faultline.
    fmt::print(stderr, "faultline: internal error: {}\n", reports::printable(e.what()));
    return cli::kInternalError;
  }
}
