// Policy files (reference_system/policy.h): what `faultline check-policy`
// and every scenario read.
#include "fuzz/json_target.h"
#include "reference_system/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  return fuzz::check_json_file_parser(data, size, "policy.json", [](std::string_view text, const std::string& file) {
    const auto doc = runtime::parse_json_text(text, file);
    return reference_system::parse_policy(runtime::JsonView(doc, file));
  });
}
