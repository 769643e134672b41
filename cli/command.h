// Subcommands of `faultline`. Each lives in its own harness/*_command.cpp and
// registers itself with a static Command object, so adding a subcommand
// touches no shared file:
//
//   namespace {
//   int run_hello(const HelloOptions& o);
//   faultline::harness::Command hello{"hello", [](CLI::App& app) {
//     auto opts = std::make_shared<HelloOptions>();
//     auto* sub = app.add_subcommand("hello", "Say hello");
//     sub->add_option("--name", opts->name);
//     return [opts] { return run_hello(*opts); };
//   }};
//   }
//
// The returned callable runs when its subcommand was chosen, and its value is
// the process exit code: 0 pass, 1 an invariant or SLO failed, 2 usage or
// input error, 3 inconclusive, 4 aborted by a safety limit.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace faultline::harness {

enum ExitCode : int { kPass = 0, kFailed = 1, kInputError = 2, kInconclusive = 3, kAborted = 4 };

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

}  // namespace faultline::harness
