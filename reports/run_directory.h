// A run directory: the five artefacts of one run side by side, which a
// person can open without the tool, and a `latest` link beside it.
//
//   out/
//     2026-11-27T210000Z/   report.json junit.xml summary.md report.html metrics.prom
//     latest -> 2026-11-27T210000Z
//
//   auto status = reports::write_run_directory(run, "out/2026-11-27T210000Z");
//   if (!status) fmt::print(stderr, "{}\n", status.message);
//
// The run directory's name is the caller's choice (a clock lives above
// reports/). Each file is written to a temporary name and renamed, so a
// reader never sees half a file, and `latest` is replaced the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "reports/result.h"

namespace faultline::reports {

inline constexpr std::string_view kReportJsonFile = "report.json";
inline constexpr std::string_view kJunitFile = "junit.xml";
inline constexpr std::string_view kSummaryFile = "summary.md";
inline constexpr std::string_view kHtmlFile = "report.html";
inline constexpr std::string_view kMetricsFile = "metrics.prom";
inline constexpr std::string_view kLatestLink = "latest";

struct [[nodiscard]] WriteStatus {
  bool ok = true;
  std::string message;  // names the file that could not be written, and why
  explicit operator bool() const { return ok; }
};

// The name of a run directory started at `unix_seconds` (UTC), such as
// "20261127T210000Z": the caller reads the clock, this names it.
[[nodiscard]] std::string run_directory_name(std::int64_t unix_seconds);

// A run directory under `out` that does not exist yet: out/<name>, or
// out/<name>-2, out/<name>-3, ... when runs start within the same second.
[[nodiscard]] std::filesystem::path new_run_directory(const std::filesystem::path& out, std::string_view name);

// Writes `text` to `file` through a temporary file in the same directory.
WriteStatus write_file_atomically(const std::filesystem::path& file, std::string_view text);

// Creates `run_dir` (and its parents), writes the five files into it, and
// points `latest` in its parent directory at it.
WriteStatus write_run_directory(const RunResult& run, const std::filesystem::path& run_dir);

// Makes <parent of run_dir>/latest a relative symlink to run_dir, replacing
// any previous link. Fails, rather than deleting it, if `latest` exists and is
// not a symlink.
WriteStatus point_latest_at(const std::filesystem::path& run_dir);

}  // namespace faultline::reports
