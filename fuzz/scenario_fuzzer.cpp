// Scenario files (harness/scenario.h): what `faultline run` reads.
#include "fuzz/json_target.h"
#include "harness/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  // No folder in the name, so the policy and world paths the scenario
  // resolves against it are only normalised, and read back the same.
  return fuzz::check_json_file_parser(data, size, "scenario.json", [](std::string_view text, const std::string& file) {
    return harness::parse_scenario(runtime::parse_json_text(text, file), file);
  });
}
