// `faultline compare A B [--out DIR] [--max-regression BOUNDS] [--allow-different]`, minus the
// command-line parsing (harness/compare_command.cpp): loads two runs, prints
// the side-by-side table, writes it as Markdown and HTML, and applies the
// regression gate (bounds syntax in compare.h).
//
// A and B are each a report.json file or a run directory holding one (a
// `latest` link, or the --out folder that holds it, works too). Exit codes follow the faultline command line:
// 0 no regression beyond the bounds, 1 B regressed, 2 bad input (the message
// names the file, the JSON path or the bound at fault) or two runs that are
// not the same experiment (scenarios, seeds or policies differ; the message
// lists how) without `allow_different`.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "reports/result.h"

namespace faultline::reports {

inline constexpr std::string_view kComparisonTextFile = "comparison.txt";
inline constexpr std::string_view kComparisonMarkdownFile = "comparison.md";
inline constexpr std::string_view kComparisonHtmlFile = "comparison.html";

struct CompareOptions {
  std::string a;
  std::string b;
  std::string out_dir;         // empty: print only
  std::string max_regression;  // empty: compare without a gate
  bool allow_different = false;  // compare runs whose scenarios, seeds or policies differ
};

inline constexpr int kCompareNoRegression = 0;
inline constexpr int kCompareRegressed = 1;
inline constexpr int kCompareInputError = 2;

int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err);

// The report.json of a report.json file, a run directory, or the --out
// folder of runs (its `latest` run directory). Throws runtime::ConfigError
// naming it when there is none.
std::filesystem::path report_file(const std::filesystem::path& file_or_directory);

// The run in report_file(file_or_directory). Throws runtime::ConfigError
// naming the file when it is missing or malformed.
RunResult load_run(const std::filesystem::path& file_or_directory);

}  // namespace faultline::reports
