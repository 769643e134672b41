// `faultline compare A B`: two runs side by side, and the regression gate CI
// uses to hold a candidate (policy or commit) to a baseline run. The work is
// in reports/compare_run.h; this file is its command line.
//
//   faultline compare runs/naive runs/recommended --allow-different --out cmp/
//   faultline compare baseline/report.json out/latest --max-regression success_rate=0.5,p99=10%
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "harness/exit_code.h"
#include "reports/compare_run.h"

namespace faultline::cli {
namespace {

using harness::kFailed;
using harness::kInputError;
using harness::kPass;

static_assert(reports::kCompareNoRegression == kPass && reports::kCompareRegressed == kFailed &&
              reports::kCompareInputError == kInputError);

Command compare{"compare", [](CLI::App& app) {
                  auto options = std::make_shared<reports::CompareOptions>();
                  auto* sub = app.add_subcommand(
                      "compare",
                      "Compare two runs (report.json files or run directories), each scenario and seed of A with "
                      "the same scenario and seed of B: success rate, p99, mean processing time, invoices "
                      "processed, retries, DLQ; with several seeds, medians and a 95% bootstrap interval of the "
                      "difference. Exit 1 when a verdict went from pass to fail or B is worse than A beyond "
                      "--max-regression over the whole interval, 2 on bad input or when the runs' scenarios, "
                      "seeds or policies differ (unless --allow-different).");
                  sub->add_option("A", options->a, "Baseline run: report.json or run directory")->required();
                  sub->add_option("B", options->b, "Candidate run: report.json or run directory")->required();
                  sub->add_option("--out", options->out_dir,
                                  "Also write comparison.txt, comparison.md and comparison.html here");
                  sub->add_option("--max-regression", options->max_regression,
                                  "Bounds, comma-separated metric=limit: success_rate=0.5 (percentage points), "
                                  "p99=10% (relative to A), mean=250ms, processed=5%, retries=20, dlq=0");
                  sub->add_flag("--allow-different", options->allow_different,
                                "Compare runs whose scenarios, seeds or policies differ (two policies, say): the "
                                "differences are listed, unmatched seeds pair in run order");
                  return [options] { return reports::run_compare(*options, std::cout, std::cerr); };
                }};

}  // namespace
}  // namespace faultline::cli
