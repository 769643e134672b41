// faultline: the command line. Each subcommand lives in its own file and
// registers itself here.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

int main(int argc, char** argv) {
  CLI::App app{"faultline: chaos injection and resilience testing for multi-agent pipelines"};
  app.set_version_flag("--version", "faultline 0.1.0");
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) fmt::print("{}", app.help());
  return 0;
}
