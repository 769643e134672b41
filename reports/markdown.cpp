// summary.md writer (markdown.h).
#include "reports/markdown.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "reports/internal/text.h"

namespace faultline::reports {

namespace {

using internal::escape_markdown_cell;

// Failed checks listed per scenario before the list is cut short (counted).
constexpr std::size_t kFailedChecksListedMax = 20;

std::string verdict_label(Verdict v) {
  std::string label(to_string(v));
  std::transform(label.begin(), label.end(), label.begin(), [](char c) { return static_cast<char>(c - 32 * (c >= 'a' && c <= 'z')); });
  return v == Verdict::kPass ? label : "**" + label + "**";
}

std::vector<std::string> failed_checks(const ScenarioResult& s) {
  std::vector<std::string> failed;
  for (const auto& inv : s.invariants) {
    if (inv.failed()) failed.push_back("invariant " + inv.id + ": " + inv.message);
  }
  for (const auto& slo : s.slos) {
    if (!slo.passed) {
      failed.push_back(fmt::format("slo {}: observed {} {} ({} {}){}", slo.name, internal::format_short(slo.observed),
                                   slo.unit, to_string(slo.comparison), internal::format_short(slo.threshold),
                                   slo.message.empty() ? "" : ": " + slo.message));
    }
  }
  return failed;
}

}  // namespace

std::string to_summary_markdown(const RunResult& run) {
  std::array<std::size_t, 5> by_verdict{};
  for (const auto& s : run.scenarios) ++by_verdict[static_cast<std::size_t>(s.verdict)];

  std::string out = fmt::format("# faultline: {}\n\n", verdict_label(overall_verdict(run)));
  out += fmt::format("{} scenarios: {} pass, {} fail, {} inconclusive, {} aborted, {} error. ", run.scenarios.size(),
                     by_verdict[0], by_verdict[2], by_verdict[1], by_verdict[3], by_verdict[4]);
  out += fmt::format("faultline {}, {} runtime", escape_markdown_cell(run.tool_version),
                     escape_markdown_cell(run.runtime));
  // Without --timestamp the start is not recorded, so that reports stay reproducible.
  if (!run.started_at.empty()) out += fmt::format(", started {}", escape_markdown_cell(run.started_at));
  if (run.shard) {
    out += fmt::format(", shard {}/{} of a run of {} scenario runs (`faultline merge` combines the shards)", run.shard->index,
                       run.shard->count, run.shard->runs_in_set);
  }
  if (run.live) {
    out += fmt::format(" at time scale {} (Redis {} at {}, PostgreSQL {} at {}, workers on {})", run.live->time_scale,
                       escape_markdown_cell(run.live->redis_version), escape_markdown_cell(run.live->redis_address),
                       escape_markdown_cell(run.live->postgres_version),
                       escape_markdown_cell(run.live->postgres_address), escape_markdown_cell(run.live->workers_host));
  }
  out += ".\n\n";
  if (run.scenarios.empty()) return out;

  out += "| verdict | scenario | success | processed | refused | lost | p99 | DLQ | retries/min | failed checks |\n";
  out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& s : run.scenarios) {
    const std::size_t failed = failed_checks(s).size();
    out += fmt::format("| {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |\n", verdict_label(s.verdict),
                       escape_markdown_cell(s.name), internal::format_percent(s.success_rate),
                       s.outcomes.processed(), s.outcomes.submitted, s.outcomes.refused, s.outcomes.lost,
                       internal::format_duration_human(s.end_to_end.p99), s.dlq_size_final,
                       internal::format_fixed(s.retries_per_minute, 1), failed);
  }

  bool heading = false;
  for (const auto& s : run.scenarios) {
    if (s.verdict == Verdict::kPass) continue;
    if (!heading) {
      out += "\n## Not passed\n\n";
      heading = true;
    }
    out += fmt::format("- {} {} (seed {})", verdict_label(s.verdict), escape_markdown_cell(s.name), s.seed);
    if (!s.verdict_reason.empty()) out += ": " + escape_markdown_cell(s.verdict_reason);
    out += "\n";
    const auto failed = failed_checks(s);
    for (std::size_t i = 0; i < failed.size() && i < kFailedChecksListedMax; ++i) {
      out += "  - " + escape_markdown_cell(failed[i]) + "\n";
    }
    if (failed.size() > kFailedChecksListedMax) {
      out += fmt::format("  - and {} more failed checks\n", failed.size() - kFailedChecksListedMax);
    }
    out += "  - replay: " + internal::markdown_code(s.replay_command) + "\n";
  }

  // Checks nothing in a scenario could have failed are not counted as passed.
  bool skipped_heading = false;
  for (const auto& s : run.scenarios) {
    std::string ids;
    for (const auto& inv : s.invariants) {
      if (inv.skipped) ids += (ids.empty() ? "" : ", ") + inv.id;
    }
    if (ids.empty()) continue;
    if (!skipped_heading) {
      out += "\n## Not applicable (skipped)\n\n";
      skipped_heading = true;
    }
    out += "- " + escape_markdown_cell(s.name) + ": " + escape_markdown_cell(ids) + "\n";
  }
  return out;
}

}  // namespace faultline::reports
