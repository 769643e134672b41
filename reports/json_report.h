// report.json: the machine-readable record of a run, and its reader.
//
// The schema is reports/report.schema.json (JSON Schema draft-07), versioned
// by kReportSchemaVersion. Layout and units:
// - every duration is a number of milliseconds in a member ending in `_ms`
//   (nanosecond resolution survives the round trip);
// - rates are fractions in [0, 1]; a non-finite number is written as null;
// - strings are written as valid UTF-8 (invalid bytes become U+FFFD);
// - members appear in a fixed order and vectors in the model's order, so the
//   same RunResult always gives the same bytes.
//
//   std::string text = reports::to_report_json(run);
//   reports::RunResult back = reports::read_report_json("out/latest/report.json");
#pragma once

#include <string>
#include <string_view>

#include "reports/result.h"

namespace faultline::reports {

// The whole document, ending in a newline.
std::string to_report_json(const RunResult& run);

// Reads a report.json written by this or an earlier schema version. Throws
// runtime::ConfigError naming the file, the JSON path and what was expected
// (the command line turns it into exit code 2).
RunResult read_report_json(const std::string& file);
RunResult parse_report_json(std::string_view text, const std::string& file);

}  // namespace faultline::reports
