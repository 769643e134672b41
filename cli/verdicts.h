// What `faultline run` and `faultline merge` print about a run: one line per
// scenario run with its verdict (and the replay command below it), and the
// line of counts that ends the output, so the two read the same in a CI log.
#pragma once

#include "reports/result.h"

namespace faultline::cli {

// "PASS   cascade   seed=42   <reason>", then "replay: <command>".
void print_verdict(const reports::ScenarioResult& r);

// "20 run(s): 19 passed, 1 failed, 0 inconclusive, 0 aborted, 0 errors".
void print_counts(const reports::RunResult& run);

}  // namespace faultline::cli
