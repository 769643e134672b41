// `faultline compare A B`: two runs side by side, and the regression gate CI
// uses to hold a candidate (policy or commit) to a baseline run. The work is
// in reports/compare_run.h; this file is its command line.
//
//   faultline compare runs/naive runs/recommended --out cmp/
//   faultline compare baseline/report.json out/latest --max-regression success_rate=0.5,p99=10%
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "harness/command.h"
#include "reports/compare_run.h"

namespace faultline::harness {
namespace {

static_assert(reports::kCompareNoRegression == kPass && reports::kCompareRegressed == kFailed &&
              reports::kCompareInputError == kInputError);

Command compare{"compare", [](CLI::App& app) {
                  auto options = std::make_shared<reports::CompareOptions>();
                  auto* sub = app.add_subcommand(
                      "compare",
                      "Compare two runs (report.json files or run directories): success rate, p99, mean "
                      "processing time, invoices processed, retries, DLQ. Exit 1 when B is worse than A beyond "
                      "--max-regression, 2 on bad input.");
                  sub->add_option("A", options->a, "Baseline run: report.json or run directory")->required();
                  sub->add_option("B", options->b, "Candidate run: report.json or run directory")->required();
                  sub->add_option("--out", options->out_dir,
                                  "Also write comparison.txt, comparison.md and comparison.html here");
                  sub->add_option("--max-regression", options->max_regression,
                                  "Bounds, comma-separated metric=limit: success_rate=0.5 (percentage points), "
                                  "p99=10% (relative to A), mean=250ms, processed=5%, retries=20, dlq=0");
                  return [options] { return reports::run_compare(*options, std::cout, std::cerr); };
                }};

}  // namespace
}  // namespace faultline::harness
