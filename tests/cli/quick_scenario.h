// A scenario file for command-line tests that runs in a fraction of a
// second: a minute of a small load, no faults unless `extra` adds some, the
// shipped recommended policy (named absolutely, so the file may live
// anywhere).
//
//   write_file(dir / "a.json", quick_scenario("a"));
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"

namespace faultline::cli_testing {

// `extra` is spliced in as further members: ", \"faults\": [...]".
inline std::string quick_scenario(const std::string& name, const std::string& extra = "") {
  const auto policy = (source_dir() / "scenarios/policies/recommended.json").string();
  return "{\"name\": " + nlohmann::json(name).dump() + ", \"seed\": 7, \"duration\": \"1m\", \"drain\": \"1m\", " +
         "\"workload\": {\"rate_per_hour\": 120}, \"policy\": " + nlohmann::json(policy).dump() +
         ", \"expect\": {\"slo\": {\"enabled\": false}}" + extra + "}";
}

}  // namespace faultline::cli_testing
