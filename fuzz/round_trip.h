// The parsed configuration types written back in their own file format, so a
// fuzz target can check that what parses serialises and parses to the same
// value: parse(to_file_json(x)) must give back x, which the targets compare
// as to_file_json(parse(to_file_json(x))) == to_file_json(x). Every member
// the parser reads is written, explicitly, even where it is the default.
#pragma once

#include <nlohmann/json.hpp>

#include "harness/scenario.h"
#include "reference_system/policy.h"
#include "world/world_model.h"

namespace faultline::fuzz {

nlohmann::json to_file_json(const harness::Scenario& scenario);
nlohmann::json to_file_json(const reference_system::Policy& policy);
nlohmann::json to_file_json(const world::WorldModel& world);

// The bytes compared: compact, members sorted, invalid UTF-8 (never produced
// by the parser) replaced rather than thrown on.
std::string canonical(const nlohmann::json& doc);

}  // namespace faultline::fuzz
