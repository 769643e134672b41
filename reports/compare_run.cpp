// The compare command's work (compare_run.h).
#include "reports/compare_run.h"

#include "reports/compare.h"
#include "reports/json_report.h"
#include "reports/run_directory.h"
#include "runtime/json_config.h"

namespace faultline::reports {

namespace fs = std::filesystem;

fs::path report_file(const fs::path& file_or_directory) {
  std::error_code ec;
  fs::path file = file_or_directory;
  if (fs::is_directory(file_or_directory, ec)) {
    file /= kReportJsonFile;
    // The --out folder of a run: its newest run directory.
    if (!fs::exists(file, ec)) file = file_or_directory / kLatestLink / kReportJsonFile;
  }
  if (!fs::is_regular_file(file, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw runtime::ConfigError(file.string(), "$", "cannot read: " + ec.message());
    }
    throw runtime::ConfigError(file_or_directory.string(), "$",
                               "not a report.json file, a run directory holding one, or a folder whose latest "
                               "run directory holds one");
  }
  return file;
}

RunResult load_run(const fs::path& file_or_directory) { return read_report_json(report_file(file_or_directory).string()); }

int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err) {
  const ParsedBounds bounds = parse_regression_bounds(options.max_regression);
  if (!bounds.ok()) {
    err << "faultline compare: --max-regression: " << bounds.error << "\n";
    return kCompareInputError;
  }
  RunResult a;
  RunResult b;
  try {
    a = load_run(options.a);
    b = load_run(options.b);
  } catch (const runtime::ConfigError& e) {
    err << "faultline compare: " << e.what() << "\n";
    return kCompareInputError;
  }
  const RunComparison comparison = compare_runs(a, b, *bounds.bounds, options.a, options.b);
  if (!comparison.differences.empty() && !options.allow_different) {
    err << "faultline compare: " << options.a << " and " << options.b
        << " are not the same experiment, so their differences would not be the system's:\n";
    for (const auto& line : comparison.differences) err << "  " << line << "\n";
    if (comparison.differences_dropped > 0) err << "  and " << comparison.differences_dropped << " more\n";
    err << "Run both with the same scenarios, --seed, --seeds and --policy, or pass --allow-different to compare "
           "them anyway (seeds then pair in run order; scenarios in one run only are not gated).\n";
    return kCompareInputError;
  }
  const std::string text = comparison_text(comparison);
  out << text;
  if (!options.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec) {
      err << "faultline compare: " << options.out_dir << ": cannot create directory: " << ec.message() << "\n";
      return kCompareInputError;
    }
    const std::pair<std::string_view, std::string> files[] = {
        {kComparisonTextFile, text},
        {kComparisonMarkdownFile, comparison_markdown(comparison)},
        {kComparisonHtmlFile, comparison_html(comparison)},
    };
    for (const auto& [name, content] : files) {
      if (auto status = write_file_atomically(fs::path(options.out_dir) / name, content); !status) {
        err << "faultline compare: " << status.message << "\n";
        return kCompareInputError;
      }
    }
  }
  return comparison.regressed ? kCompareRegressed : kCompareNoRegression;
}

}  // namespace faultline::reports
