// Result models for the writer tests: a small realistic run (the case study's
// four agents under an OCR outage, a 30-second delay and invalid input), and
// a hostile one whose every string carries markup, quotes, control
// characters and bytes that are not UTF-8.
#pragma once

#include <string>

#include "reports/result.h"

namespace faultline::reports::testing {

RunResult sample_run();
RunResult hostile_run();

// The script a hostile scenario name carries: run in a browser, it would set
// the title to this marker.
inline constexpr std::string_view kScriptMarker = "PWNED-BY-SCENARIO-NAME";
std::string hostile_name();

}  // namespace faultline::reports::testing
