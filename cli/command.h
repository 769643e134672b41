// Subcommands of `faultline`. Each lives in its own cli/*_command.cpp and
// registers itself with a static Command object, so adding a subcommand
// touches no shared file:
//
//   namespace {
//   int run_hello(const HelloOptions& o);
//   faultline::cli::Command hello{"hello", [](CLI::App& app) {
//     auto opts = std::make_shared<HelloOptions>();
//     auto* sub = app.add_subcommand("hello", "Say hello");
//     sub->add_option("--name", opts->name);
//     return [opts] { return run_hello(*opts); };
//   }};
//   }
//
// The returned callable runs when its subcommand was chosen, and its value is
// the process exit code (harness/exit_code.h): 0 pass, 1 failed, 2 usage,
// input or environment error, 3 inconclusive, 4 stopped by a safety limit,
// 5 internal error.
//
// cli/ is the top floor: it parses arguments, prints, and calls the library
// below it; nothing includes a header of cli/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness/exit_code.h"

namespace CLI {
class App;
}

namespace faultline::cli {

using harness::ExitCode;
using enum harness::ExitCode;

class Command {
 public:
  using Action = std::function<int()>;
  using Setup = std::function<Action(CLI::App&)>;

  Command(std::string name, Setup setup);

  struct Entry {
    std::string name;
    Setup setup;
  };
  // Sorted by name, so the help text does not depend on link order.
  static std::vector<Entry> all();
};

}  // namespace faultline::cli
