// Run directory and `latest` link (run_directory.h).
#include "reports/run_directory.h"

#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <system_error>

#include "reports/html.h"
#include "reports/json_report.h"
#include "reports/junit.h"
#include "reports/markdown.h"
#include "reports/prometheus.h"

namespace faultline::reports {

namespace fs = std::filesystem;

namespace {
WriteStatus failure(const fs::path& file, std::string_view why) {
  return WriteStatus{false, fmt::format("{}: {}", file.string(), why)};
}
}  // namespace

std::string run_directory_name(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

fs::path new_run_directory(const fs::path& out, std::string_view name) {
  fs::path dir = out / std::string(name);
  std::error_code ec;
  for (int i = 2; fs::exists(fs::symlink_status(dir, ec)); ++i) dir = out / fmt::format("{}-{}", name, i);
  return dir;
}

WriteStatus write_file_atomically(const fs::path& file, std::string_view text) {
  fs::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return failure(temporary, "cannot open for writing");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) return failure(temporary, "write failed");
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  if (ec) {
    fs::remove(temporary, ec);
    return failure(file, "cannot rename the temporary file into place");
  }
  return {};
}

WriteStatus point_latest_at(const fs::path& run_dir) {
  fs::path clean = run_dir.lexically_normal();
  if (!clean.has_filename()) clean = clean.parent_path();  // "out/run/" -> "out/run"
  const fs::path parent = clean.has_parent_path() ? clean.parent_path() : fs::path(".");
  const fs::path latest = parent / kLatestLink;
  std::error_code ec;
  const auto status = fs::symlink_status(latest, ec);
  if (!ec && fs::exists(status) && !fs::is_symlink(status)) {
    return failure(latest, "exists and is not a symlink; not replacing it");
  }
  fs::path temporary = parent / (std::string(kLatestLink) + ".tmp");
  fs::remove(temporary, ec);
  fs::create_directory_symlink(clean.filename(), temporary, ec);
  if (ec) return failure(temporary, "cannot create symlink: " + ec.message());
  fs::rename(temporary, latest, ec);
  if (ec) {
    fs::remove(temporary, ec);
    return failure(latest, "cannot replace the link");
  }
  return {};
}

WriteStatus write_run_directory(const RunResult& run, const fs::path& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) return failure(run_dir, "cannot create directory: " + ec.message());
  const std::pair<std::string_view, std::string> files[] = {
      {kReportJsonFile, to_report_json(run)},   {kJunitFile, to_junit_xml(run)},
      {kSummaryFile, to_summary_markdown(run)}, {kHtmlFile, to_report_html(run)},
      {kMetricsFile, to_prometheus_text(run)},
  };
  for (const auto& [name, text] : files) {
    if (auto status = write_file_atomically(run_dir / name, text); !status) return status;
  }
  return point_latest_at(run_dir);
}

}  // namespace faultline::reports
