// The lines verdicts.h describes.
#include "cli/verdicts.h"

#include <fmt/core.h>

#include "reports/escape.h"

namespace faultline::cli {

using reports::printable;

void print_verdict(const reports::ScenarioResult& r) {
  fmt::print("{:<12} {:<28} seed={:<20} {}\n", reports::label(r.verdict), printable(r.name), r.seed,
             printable(r.verdict_reason));
  if (!r.replay_command.empty()) fmt::print("{:<12} replay: {}\n", "", printable(r.replay_command));
}

void print_counts(const reports::RunResult& run) {
  const auto counts = reports::count_verdicts(run);
  fmt::print("{} run(s): {} passed, {} failed, {} inconclusive, {} aborted, {} errors\n", counts.total(),
             counts.passed, counts.failed, counts.inconclusive, counts.aborted, counts.errors);
}

}  // namespace faultline::cli
