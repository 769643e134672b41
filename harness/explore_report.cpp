// What `faultline explore` writes (see explore.h): one ordinary scenario file
// per failure under found/, and a summary in explore.md and explore.json
// (the failures with their shrink steps, and what was explored: fault kinds
// and targets, workload, the policy limits the runs reached).
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "harness/explore.h"
#include "reports/run_directory.h"
#include "runtime/time.h"

namespace faultline::harness {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

std::string join_runs(const std::vector<std::uint64_t>& runs) {
  std::string out;
  for (auto r : runs) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

std::string kinds_text(const ExploreOptions& o) {
  if (o.kinds.empty()) return "all";
  std::string out;
  for (auto k : o.kinds) out += (out.empty() ? "" : ",") + std::string(faults::to_string(k));
  return out;
}

std::string how_long(const ExploreOptions& o) {
  return o.runs ? fmt::format("--runs {}", *o.runs)
                : fmt::format("--budget {}", runtime::format_duration(std::chrono::duration_cast<runtime::Duration>(o.budget)));
}

std::string description_of(const ExploreResult& r, const FoundFailure& f) {
  std::string text = fmt::format(
      "Found by faultline explore --seed {} {} (generated run {}) with the policy {}: breaks {}: {} Shrunk from {} to "
      "{} in {} step(s) ({} runs{}).",
      r.options.seed, how_long(r.options), f.run, r.options.target.policy_file, f.property, f.message,
      describe_size(f.original), describe_size(f.smallest), f.steps.size(), f.shrink_runs,
      f.shrink_complete ? "" : "; cut short by the budget");
  return text;
}

double per_second(double n, double s) { return s > 0 ? n / s : 0.0; }

}  // namespace

std::string explore_markdown(const ExploreResult& r) {
  const auto& o = r.options;
  std::string md = fmt::format("# faultline explore: {}\n\n", r.found.empty() && r.failing == 0
                                                                   ? "nothing broke"
                                                                   : fmt::format("{} failure(s) found", r.found.size()));
  md += fmt::format("- policy: `{}`\n", o.target.policy_file);
  md += fmt::format("- world: {}\n", o.target.world_file.empty() ? "the built-in world" : "`" + o.target.world_file + "`");
  md += fmt::format("- seed {}, {}, fault kinds: {}, judged: invariants{}\n", o.seed, how_long(o), kinds_text(o),
                    o.target.slo ? " and SLOs" : "");
  md += fmt::format("- {} run(s): {} passed, {} inconclusive, {} failing, {} stopped by their safety limit{}; "
                    "stopped: {}\n",
                    r.runs, r.passed, r.inconclusive, r.failing, r.aborted,
                    r.internal_errors > 0 ? fmt::format(", {} internal error(s)", r.internal_errors) : "", r.stopped);
  md += fmt::format("- {} shrink run(s); {:.1f} s wall, {:.1f} s CPU: {:.1f} runs per CPU second\n", r.shrink_runs,
                    r.wall_s, r.cpu_s, per_second(static_cast<double>(r.runs + r.shrink_runs), r.cpu_s));
  if (!r.aborted_runs.empty()) md += fmt::format("- runs stopped by their safety limit: {}\n", join_runs(r.aborted_runs));
  for (const auto& m : r.internal_error_messages) md += fmt::format("- internal error: {}\n", m);
  if (r.failures_not_shrunk > 0) {
    md += fmt::format("- {} failing run(s) not shrunk: {} failures were shrunk already\n", r.failures_not_shrunk,
                      o.shrunk_max);
  }

  md += "\n## Failures\n\n";
  if (r.found.empty()) md += "None.\n";
  for (const auto& f : r.found) {
    md += fmt::format("### {} `{}`\n\n", f.property, f.file.empty() ? "(not written)" : f.file);
    md += fmt::format("- {}\n", f.message);
    md += fmt::format("- found by run {} after {:.1f} s, shrunk after {:.1f} s in {} run(s){}\n", f.run,
                      f.found_after_s, f.shrunk_after_s, f.shrink_runs,
                      f.shrink_complete ? "" : " (cut short by the budget: not the smallest)");
    md += fmt::format("- original: {}\n", describe_size(f.original));
    for (const auto& x : f.original.faults) md += fmt::format("  - {}\n", describe_fault(x));
    md += fmt::format("- shrunk: {}\n", describe_size(f.smallest));
    for (const auto& x : f.smallest.faults) md += fmt::format("  - {}\n", describe_fault(x));
    if (!f.also_found_by.empty()) md += fmt::format("- also found by run(s) {} (shrank to the same)\n", join_runs(f.also_found_by));
    if (!f.probably_same.empty()) {
      md += fmt::format("- probably also run(s) {} (the same property with these faults among theirs; not shrunk)\n",
                        join_runs(f.probably_same));
    }
    md += "- shrink steps:\n";
    for (std::size_t i = 0; i < f.steps.size(); ++i) md += fmt::format("  {}. {}\n", i + 1, f.steps[i]);
    if (!f.file.empty()) md += fmt::format("- replay: `faultline run {}`\n", f.file);
    md += "\n";
  }

  md += "## Coverage\n\nFault kinds and targets the runs scheduled (touched: the fault struck a call, a message "
        "or an invoice):\n\n| kind | faults | touched | runs | targets |\n|---|---:|---:|---:|---|\n";
  for (std::size_t k = 0; k < r.kinds.size(); ++k) {
    if (faults::live_only_kind(static_cast<faults::FaultKind>(k))) continue;  // never drawn
    const auto& kc = r.kinds[k];
    std::string targets;
    for (const auto& [t, n] : kc.targets) targets += fmt::format("{}{} {}", targets.empty() ? "" : ", ", t, n);
    const bool allowed = o.kinds.empty() ||
                         std::find(o.kinds.begin(), o.kinds.end(), static_cast<faults::FaultKind>(k)) != o.kinds.end();
    const bool drawn = static_cast<faults::FaultKind>(k) != faults::FaultKind::pause;  // explore.cpp all_kinds()
    md += fmt::format("| {} | {} | {} | {} | {} |\n", faults::to_string(static_cast<faults::FaultKind>(k)), kc.tried,
                      kc.touched, kc.runs,
                      !drawn     ? std::string("(explore does not draw it)")
                      : allowed ? targets
                                : std::string("(not allowed by --faults)"));
  }
  std::string durations;
  for (const auto& [d, n] : r.durations) durations += fmt::format("{}{} runs of {}", durations.empty() ? "" : ", ", n, d);
  md += fmt::format("\nWorkload: {:g} to {:g} invoices per hour; {}.\n", r.rate_min_seen, r.rate_max_seen,
                    durations.empty() ? "no runs" : durations);
  if (!r.limits.empty()) {
    md += "\nPolicy limits the runs reached (never: no run reached it, so nothing explored says how the policy "
          "behaves there):\n\n| policy setting | path | times | runs |\n|---|---|---:|---:|\n";
    for (const auto& l : r.limits) {
      md += fmt::format("| {} | `{}` | {} | {} |\n", l.what, l.path, l.times == 0 ? std::string("never") : std::to_string(l.times),
                        l.runs);
    }
  }
  return md;
}

ordered_json explore_json(const ExploreResult& r) {
  const auto& o = r.options;
  ordered_json j;
  j["tool"] = "faultline explore";
  j["policy"] = o.target.policy_file;
  j["world"] = o.target.world_file;
  j["seed"] = o.seed;
  if (o.runs) j["runs_asked"] = *o.runs;
  else j["budget_s"] = std::chrono::duration<double>(o.budget).count();
  j["fault_kinds"] = kinds_text(o);
  j["slo"] = o.target.slo;
  j["runs"] = {{"judged", r.runs},       {"passed", r.passed},   {"inconclusive", r.inconclusive},
               {"failing", r.failing},   {"aborted", r.aborted}, {"aborted_runs", r.aborted_runs},
               {"internal_errors", r.internal_errors}, {"not_shrunk", r.failures_not_shrunk},
               {"shrink_runs", r.shrink_runs}};
  j["stopped"] = r.stopped;
  auto& found = j["found"] = ordered_json::array();
  for (const auto& f : r.found) {
    ordered_json faults_before = ordered_json::array();
    ordered_json faults_after = ordered_json::array();
    for (const auto& x : f.original.faults) faults_before.push_back(describe_fault(x));
    for (const auto& x : f.smallest.faults) faults_after.push_back(describe_fault(x));
    found.push_back({{"property", f.property},
                     {"file", f.file},
                     {"run", f.run},
                     {"message", f.message},
                     {"original", {{"size", describe_size(f.original)}, {"faults", faults_before}}},
                     {"shrunk", {{"size", describe_size(f.smallest)}, {"faults", faults_after}}},
                     {"steps", f.steps},
                     {"shrink_runs", f.shrink_runs},
                     {"shrink_complete", f.shrink_complete},
                     {"also_found_by", f.also_found_by},
                     {"probably_same", f.probably_same},
                     {"timing", {{"found_after_s", f.found_after_s}, {"shrunk_after_s", f.shrunk_after_s}}}});
  }
  auto& kinds = j["coverage"]["fault_kinds"] = ordered_json::object();
  for (std::size_t k = 0; k < r.kinds.size(); ++k) {
    if (faults::live_only_kind(static_cast<faults::FaultKind>(k))) continue;  // never drawn
    const auto& kc = r.kinds[k];
    kinds[std::string(faults::to_string(static_cast<faults::FaultKind>(k)))] = {
        {"faults", kc.tried}, {"touched", kc.touched}, {"runs", kc.runs}, {"targets", kc.targets}};
  }
  j["coverage"]["workload"] = {{"rate_min_per_hour", r.rate_min_seen}, {"rate_max_per_hour", r.rate_max_seen},
                               {"durations", r.durations}};
  auto& limits = j["coverage"]["policy_limits"] = ordered_json::array();
  for (const auto& l : r.limits) {
    limits.push_back({{"path", l.path}, {"what", l.what}, {"times", l.times}, {"runs", l.runs}});
  }
  // Wall-clock figures: the one part that differs between two runs of the same command.
  j["timing"] = {{"wall_s", r.wall_s}, {"cpu_s", r.cpu_s}};
  return j;
}

std::string found_name(const ExploreResult& result, std::size_t i) {
  std::size_t n = 0;
  for (std::size_t k = 0; k <= i; ++k) n += result.found[k].property == result.found[i].property ? 1 : 0;
  return fmt::format("{}-{}", result.found[i].property, n);
}

std::string write_explore_files(ExploreResult& result, const std::string& dir) {
  std::error_code ec;
  const fs::path found_dir = fs::path(dir) / "found";
  fs::create_directories(found_dir, ec);
  if (ec) return fmt::format("{}: cannot create the folder: {}", found_dir.string(), ec.message());
  // The folder holds this exploration's failures only: an earlier one's
  // files would read as found now.
  for (fs::directory_iterator it(found_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") fs::remove(it->path(), ec);
  }
  if (ec) return fmt::format("{}: cannot clear the folder: {}", found_dir.string(), ec.message());
  for (std::size_t i = 0; i < result.found.size(); ++i) {
    auto& f = result.found[i];
    const std::string name = found_name(result, i);
    const fs::path file = found_dir / (name + ".json");
    const auto doc = scenario_document(f.smallest, result.options.target, name, description_of(result, f),
                                       found_dir.string());
    if (auto status = reports::write_file_atomically(file, doc.dump(2) + "\n"); !status) return status.message;
    f.file = file.string();
  }
  auto status = reports::write_file_atomically(fs::path(dir) / "explore.md", explore_markdown(result));
  if (!status) return status.message;
  status = reports::write_file_atomically(fs::path(dir) / "explore.json", explore_json(result).dump(2) + "\n");
  if (!status) return status.message;
  return {};
}

}  // namespace faultline::harness
