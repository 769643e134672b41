// World-model files: the shipped ones load with the intended numbers; bad
// ones are refused with the file and the JSON path.
#include <gtest/gtest.h>

#include <string>

#include "runtime/json_config.h"
#include "tests/support/source_dir.h"
#include "world/world_model.h"

namespace faultline::world {
namespace {

using namespace std::chrono_literals;
using test_support::source_path;

TEST(WorldModel, ShippedModelsLoadAndBadOnesAreRefused) {
  const WorldModel base = load_world_model(source_path("scenarios/models/baseline.json"));
  EXPECT_EQ(base.ocr_engine.latency.median, 1500ms);
  const WorldModel cs = load_world_model(source_path("scenarios/models/case_study.json"));
  EXPECT_DOUBLE_EQ(cs.workload.inexact_po_share, 0.12);
  EXPECT_DOUBLE_EQ(cs.po_database.malformed_reference_error_probability, 1.0);
  try {
    const char* text = R"({"description": "x", "workload": {"quality_bands": [{"name": "a", "share": 0.5}]}})";
    (void)parse_world_model(runtime::JsonView(runtime::parse_json_text(text, "w.json"), "w.json"));
    FAIL() << "band shares not summing to 1 were accepted";
  } catch (const runtime::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("$.workload.quality_bands"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace faultline::world
