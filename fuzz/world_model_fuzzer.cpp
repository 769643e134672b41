// World models (world/world_model.h): scenarios/models/*.json.
#include "fuzz/json_target.h"
#include "world/world_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  return fuzz::check_json_file_parser(data, size, "world.json", [](std::string_view text, const std::string& file) {
    const auto doc = runtime::parse_json_text(text, file);
    return world::parse_world_model(runtime::JsonView(doc, file));
  });
}
