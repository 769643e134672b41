// summary.md: the table a person reads in a CI log or a pull-request
// comment. One row per scenario, verdict first, then the few figures that
// matter; below it, for every scenario that did not pass, what failed and the
// command that replays it. Every string from input is escaped, so a scenario
// name cannot break the table, open a link or inject HTML.
#pragma once

#include <string>

#include "reports/result.h"

namespace faultline::reports {

std::string to_summary_markdown(const RunResult& run);

}  // namespace faultline::reports
