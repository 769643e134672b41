// A configuration value a pattern refuses, named by its field. Each pattern's
// `check(config)` returns one, so configurations built in code are validated
// the same way as those loaded from JSON (resilience/config.h turns a problem
// into a runtime::ConfigError at the field's JSON path).
//
//   if (auto problem = check(policy)) {
//     std::cerr << problem->field << ": " << problem->message << "\n";
//   }
#pragma once

#include <optional>
#include <string>

namespace faultline::resilience {

struct ConfigProblem {
  std::string field;    // the JSON member name, dotted for nested members: "budget.ratio"
  std::string message;  // what was expected
};

}  // namespace faultline::resilience
