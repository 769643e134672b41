// check-policy's suite run, coverage and verdict (see policy_check.h). The
// suite goes through the same runner as `faultline run --policy`, so a
// check-policy failure replays with the command each run prints.
#include "policy_check/policy_check.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

#include "harness/runner.h"
#include "harness/scenario.h"
#include "policy_check/internal/check_explore.h"
#include "reference_system/events.h"
#include "reference_system/orchestrator.h"
#include "reports/run_directory.h"
#include "resilience/events.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::policy_check {

namespace rs = reference_system;
using harness::expand_scenario_paths;
using harness::load_scenario;
using harness::RunnerOptions;
using harness::run_suite;
using harness::Scenario;
using nlohmann::json;

namespace {

std::string run_label(const reports::ScenarioResult& r) { return fmt::format("{} (seed {})", r.name, r.seed); }

std::string breaker_opened(std::string_view s) { return "breaker_opened:" + std::string(s); }
std::string breaker_closed(std::string_view s) { return "breaker_closed:" + std::string(s); }

constexpr const char* kFallback = "fallback:ocr";
constexpr const char* kDefault = "default:matching";
constexpr const char* kManualReview = "manual_review:matching";
constexpr const char* kCompensation = "compensation:accounting";
constexpr const char* kDeadLetter = "dead_letter:used";
constexpr const char* kDeadLetterAlert = "dead_letter:alert";
constexpr const char* kResume = "checkpoint:resume";
constexpr const char* kIntake = "bound:intake";
constexpr const char* kDeadLetterFull = "bound:dead_letter";
std::string timeout_of(std::string_view s) { return "timeout:" + std::string(s); }
std::string queue_bound_of(std::string_view a) { return "bound:queue/" + std::string(a); }

bool backup_called(const rs::Policy& p) { return p.agent(rs::AgentId::ocr).fallback; }

std::string_view article(std::string_view word) {
  return !word.empty() && std::string_view("aeiou").find(word.front()) != std::string_view::npos ? "an" : "a";
}

}  // namespace

PolicyCoverage::PolicyCoverage(const LintReport& lint) {
  const auto& p = lint.policy;
  auto add = [&](std::string id, std::string path, std::string what) {
    items_.push_back(CoverageItem{std::move(id), std::move(path), std::move(what), false, 0, {}, 0});
  };
  for (std::size_t i = 0; i < rs::kAgentCount; ++i) {
    const auto a = static_cast<rs::AgentId>(i);
    const auto n = p.agent(a).retry.max_attempts;
    if (n <= 1) continue;
    const std::string name(rs::to_string(a));
    add("retry_limit:step/" + name, "$.agents." + name + ".retry.max_attempts",
        fmt::format("the {} step's retry limit ({} attempts) reached", name, n));
    retry_limits_.emplace_back("step/" + name, n);
  }
  for (std::size_t i = 0; i < rs::kServiceCount; ++i) {
    const auto s = static_cast<rs::ServiceId>(i);
    if (s == rs::ServiceId::backup_ocr && !backup_called(p)) continue;
    const std::string name(rs::to_string(s));
    const auto n = p.service(s).retry.max_attempts;
    if (n > 1) {
      add("retry_limit:" + name, "$.services." + name + ".retry.max_attempts",
          fmt::format("the {} call's retry limit ({} attempts) reached", name, n));
      retry_limits_.emplace_back(name, n);
    }
    add(timeout_of(name), "$.services." + name + ".timeout",
        fmt::format("a {} call ran into its timeout ({})", name, runtime::format_duration(p.service(s).timeout)));
    if (p.service(s).breaker) {
      add(breaker_opened(name), "$.services." + name + ".circuit_breaker", "the " + name + " breaker opened");
      add(breaker_closed(name), "$.services." + name + ".circuit_breaker",
          "the " + name + " breaker closed again after opening");
    }
  }
  if (backup_called(p)) add(kFallback, "$.agents.ocr.fallback", "the OCR agent fell back to the backup engine");
  const auto& m = p.agent(rs::AgentId::matching);
  if (m.criticality == resilience::Criticality::non_critical) {
    add(kDefault, "$.agents.matching.default", "matching yielded its neutral default (\"no_match\")");
    if (m.degrade && m.manual_review_above_cents > 0) {
      add(kManualReview, "$.agents.matching.manual_review_above",
          "a failed match above the threshold went to manual review");
    }
  }
  if (p.agent(rs::AgentId::accounting).compensation) {
    add(kCompensation, "$.agents.accounting.compensation", "the accounting saga ran a compensation");
  }
  for (std::size_t i = 0; i < rs::kAgentCount; ++i) {
    const std::string name(rs::to_string(static_cast<rs::AgentId>(i)));
    add(queue_bound_of(name), "$.agents." + name + ".queue_bound",
        fmt::format("the {} queue was full ({}) and refused a request", name, p.agents[i].queue_bound));
  }
  add(kIntake, "$.workflow.max_in_flight",
      fmt::format("a submission was refused at intake: {} invoices in flight", p.max_in_flight));
  add(kDeadLetter, "$.dead_letter", "an invoice went to the dead-letter queue");
  add(kDeadLetterFull, "$.dead_letter.capacity",
      fmt::format("the dead-letter queue was full ({}) and an invoice waited for room", p.dead_letter.capacity));
  dlq_alert_threshold_ = static_cast<std::uint32_t>(p.dead_letter.alert_threshold);
  add(kDeadLetterAlert, "$.dead_letter.alert_threshold",
      fmt::format("the dead-letter queue reached its alert threshold ({})", p.dead_letter.alert_threshold));
  if (p.checkpoints != rs::CheckpointStoreKind::none) {
    add(kResume, "$.checkpoints", "a workflow resumed from its checkpoint");
  }
}

CoverageItem* PolicyCoverage::item(const std::string& id) {
  for (auto& i : items_) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

void PolicyCoverage::hit(const std::string& id, const std::string& label, std::uint64_t times) {
  auto* i = item(id);
  if (i == nullptr || times == 0) return;
  i->times += times;
  if (std::find(i->scenarios.begin(), i->scenarios.end(), label) != i->scenarios.end()) return;
  if (i->scenarios.size() < kCoverageScenarios) {
    i->scenarios.push_back(label);
  } else {
    ++i->scenarios_dropped;
  }
}

void PolicyCoverage::observe(const reports::ScenarioResult& run) {
  const std::string label = run_label(run);
  for (auto& i : items_) {
    const bool from_result = i.id.rfind("breaker_", 0) == 0 || i.id == kDefault || i.id == kDeadLetter ||
                             i.id == kDeadLetterAlert;
    if (from_result) i.measured = true;
  }
  for (const auto& b : run.breakers) {
    std::uint64_t opened = 0;
    std::uint64_t closed = 0;
    for (const auto& t : b.transitions) {
      if (t.to == reports::BreakerState::kOpen) ++opened;
      if (t.to == reports::BreakerState::kClosed && t.from != reports::BreakerState::kClosed) ++closed;
    }
    hit(breaker_opened(b.service), label, opened);
    hit(breaker_closed(b.service), label, closed);
  }
  hit(kDefault, label, run.outcomes.posted_degraded);
  hit(kDeadLetter, label, std::max(run.outcomes.dead_lettered, run.dlq_size_max));
  if (dlq_alert_threshold_ > 0 && run.dlq_size_max >= dlq_alert_threshold_) hit(kDeadLetterAlert, label);
}

void PolicyCoverage::observe(const runtime::EventLog& log, const std::string& label) {
  for (auto& i : items_) i.measured = true;
  using RK = resilience::PatternEvent;
  using SK = rs::SystemEvent;
  for (const auto& e : log.events()) {
    const auto name = log.name(e.source);
    switch (e.kind) {
      case static_cast<std::uint16_t>(RK::retries_exhausted): {
        const auto attempts = read<resilience::pattern_events::RetriesExhausted>(e).attempts;
        for (const auto& [source, limit] : retry_limits_) {
          if (source == name && attempts >= limit) hit("retry_limit:" + source, label);
        }
        break;
      }
      case static_cast<std::uint16_t>(RK::breaker_transition): {
        const auto to = read<resilience::pattern_events::BreakerTransition>(e).to;
        if (to == resilience::BreakerState::open) hit(breaker_opened(name), label);
        if (to == resilience::BreakerState::closed) hit(breaker_closed(name), label);
        break;
      }
      case static_cast<std::uint16_t>(RK::dead_letter_alert): hit(kDeadLetterAlert, label); break;
      case static_cast<std::uint16_t>(RK::timeout): hit(timeout_of(name), label); break;
      case static_cast<std::uint16_t>(SK::message_rejected): hit(queue_bound_of(name), label); break;
      case static_cast<std::uint16_t>(SK::submission_refused):
        if (read<rs::system_events::SubmissionRefused>(e).refusal == rs::SubmitResult::refused_overloaded) {
          hit(kIntake, label);
        }
        break;
      case static_cast<std::uint16_t>(SK::parked): {
        const auto parked = read<rs::system_events::Parked>(e);
        if (parked.bound_for == rs::InvoiceOutcome::dead_lettered &&
            parked.refusal == resilience::ErrorClass::capacity_exceeded) {
          hit(kDeadLetterFull, label);
        }
        break;
      }
      case static_cast<std::uint16_t>(SK::ocr_fallback): hit(kFallback, label); break;
      case static_cast<std::uint16_t>(SK::degraded):
        if (name == "matching") hit(kDefault, label);
        break;
      case static_cast<std::uint16_t>(SK::manual_review):
        if (read<rs::system_events::ManualReview>(e).reason == rs::ReviewReason::matching_failed_large_amount) {
          hit(kManualReview, label);
        }
        break;
      case static_cast<std::uint16_t>(SK::compensation): hit(kCompensation, label); break;
      case static_cast<std::uint16_t>(SK::dead_lettered): hit(kDeadLetter, label); break;
      case static_cast<std::uint16_t>(SK::checkpoint_loaded): hit(kResume, label); break;
      default: break;
    }
  }
}

void PolicyCoverage::merge(const PolicyCoverage& other) {
  for (const auto& o : other.items_) {
    auto* i = item(o.id);
    if (i == nullptr) continue;
    i->measured = i->measured || o.measured;
    i->times += o.times;
    i->scenarios_dropped += o.scenarios_dropped;
    for (const auto& label : o.scenarios) {
      if (std::find(i->scenarios.begin(), i->scenarios.end(), label) != i->scenarios.end()) continue;
      if (i->scenarios.size() < kCoverageScenarios) {
        i->scenarios.push_back(label);
      } else {
        ++i->scenarios_dropped;
      }
    }
  }
}

std::vector<const CoverageItem*> PolicyCoverage::never_exercised() const {
  std::vector<const CoverageItem*> out;
  for (const auto& i : items_) {
    if (i.measured && !i.exercised()) out.push_back(&i);
  }
  return out;
}

// ---------------------------------------------------------------------------

namespace {

// The breaker of a service that a fault failed completely (outage, hang) for
// longer than it takes the breaker to judge: it should have opened.
void silent_breakers(const CheckResult& result, const reports::ScenarioResult& run,
                     std::vector<CheckReason>& out) {
  const auto& policy = result.lint.policy;
  for (const auto& f : run.faults) {
    if (f.kind != "outage" && f.kind != "hang") continue;
    for (std::size_t i = 0; i < rs::kServiceCount; ++i) {
      const auto s = static_cast<rs::ServiceId>(i);
      if (rs::to_string(s) != f.target || !policy.service(s).breaker) continue;
      const auto& b = *policy.service(s).breaker;
      const std::uint64_t needed =
          b.trip == resilience::TripMode::failure_rate ? b.minimum_calls : b.failure_threshold;
      if (f.hit_count < std::max<std::uint64_t>(needed, 1)) continue;
      bool opened = false;
      for (const auto& sb : run.breakers) {
        if (sb.service != f.target) continue;
        for (const auto& t : sb.transitions) {
          if (t.to == reports::BreakerState::kOpen && t.at >= f.start) opened = true;
        }
      }
      if (opened) continue;
      out.push_back(CheckReason{
          Severity::error, "suite", run_label(run),
          fmt::format("the {} breaker never opened during {} {} of {} ({:.0f}s to {:.0f}s, {} calls failed by the "
                      "fault): check its failure_classes and thresholds ($.services.{}.circuit_breaker); replay: {}",
                      f.target, article(f.kind), f.kind, f.target, runtime::to_seconds(f.start), runtime::to_seconds(f.end),
                      f.hit_count, f.target, run.replay_command)});
    }
  }
}

}  // namespace

void judge(CheckResult& result) {
  std::vector<CheckReason> errors;
  std::vector<CheckReason> warnings;
  for (const auto& f : result.lint.findings) {
    auto& to = f.severity == Severity::error ? errors : warnings;
    to.push_back(CheckReason{f.severity, "lint", f.path, f.rule + ": " + f.reason});
  }
  for (const auto& r : result.run.scenarios) {
    const auto v = r.verdict;
    if (v == reports::Verdict::kFail || v == reports::Verdict::kAborted || v == reports::Verdict::kError) {
      errors.push_back(CheckReason{Severity::error, "suite", run_label(r),
                                   fmt::format("{}: {}; replay: {}", reports::to_string(v), r.verdict_reason,
                                               r.replay_command)});
    } else if (v == reports::Verdict::kInconclusive) {
      warnings.push_back(CheckReason{Severity::warning, "suite", run_label(r),
                                     fmt::format("inconclusive: {}", r.verdict_reason)});
    }
    silent_breakers(result, r, errors);
  }
  if (!result.suite_ran) {
    warnings.push_back(CheckReason{Severity::warning, "suite", "",
                                   "the suite did not run: nothing shows how the policy behaves under faults"});
  } else {
    std::size_t never = 0;
    std::size_t measured = 0;
    for (const auto& i : result.coverage) {
      if (!i.measured) continue;
      ++measured;
      if (!i.exercised()) ++never;
    }
    if (never > 0) {
      warnings.push_back(CheckReason{Severity::warning, "coverage", "",
                                     fmt::format("{} of {} measured policy settings were never exercised by the "
                                                 "suite (listed under coverage): the suite does not prove them",
                                                 never, measured)});
    }
  }
  result.fit = errors.empty();
  result.reasons = std::move(errors);
  result.reasons.insert(result.reasons.end(), warnings.begin(), warnings.end());
}

CheckResult check_policy(const CheckOptions& options) {
  CheckResult result;
  result.policy_file = options.policy_file;
  result.seeds = options.seeds;
  LintOptions lint = options.lint;
  std::vector<Scenario> scenarios;
  if (!options.lint_only) {
    result.suite_files = expand_scenario_paths(options.suite);
    if (result.suite_files.empty()) {
      throw runtime::ConfigError(options.suite.empty() ? "." : options.suite.front(), "$",
                                 "no scenario files (*.json) found");
    }
    for (const auto& f : result.suite_files) scenarios.push_back(load_scenario(f));
    if (!options.rate_given) {
      double lowest = std::numeric_limits<double>::infinity();
      for (const auto& s : scenarios) lowest = std::min(lowest, s.workload.rate_per_hour);
      lint.expected_rate_per_hour = lowest;
    }
  }
  result.lint = lint_policy_file(options.policy_file, lint);
  PolicyCoverage coverage(result.lint);

  bool runnable = !options.lint_only;
  if (runnable && result.lint.errors() > 0) {
    // A file the policy parser refuses (a permanent class retried, ...) was
    // linted from a neutralised copy; the engine reads the file itself.
    try {
      (void)rs::load_policy(options.policy_file);
    } catch (const runtime::ConfigError&) {
      runnable = false;
    }
  }
  if (runnable) {
    RunnerOptions ro;
    ro.paths = options.suite;
    // The team's file as it is: a policy keeping checkpoints in SQLite gets a
    // private file per run from the engine, so runs share nothing.
    ro.policy_file = options.policy_file;
    ro.seeds = std::max<std::uint32_t>(1, options.seeds);
    ro.jobs = std::max<std::uint32_t>(1, options.jobs);
    ro.step_budget = options.step_budget;
    // Runs finish in any order on the runner's threads; their coverage is
    // merged afterwards in the suite's order, so the output is the same
    // whatever the thread count.
    std::mutex lock;
    std::map<std::string, PolicyCoverage> from_logs;
    auto hook = [&](const runtime::EventLog& log, const reports::ScenarioResult& r) {
      PolicyCoverage one(result.lint);
      one.observe(log, run_label(r));
      std::lock_guard<std::mutex> guard(lock);
      from_logs.insert_or_assign(run_label(r), std::move(one));
    };
    ro.on_run_log = hook;
    result.logs_seen = true;
    auto outcome = run_suite(ro);
    result.run = std::move(outcome.run);
    result.run.command_line = {"faultline", "check-policy", options.policy_file};
    result.suite_ran = true;
    for (const auto& r : result.run.scenarios) {
      const auto it = from_logs.find(run_label(r));
      if (it != from_logs.end()) {
        coverage.merge(it->second);
      } else {
        coverage.observe(r);
      }
    }
    internal::run_explore(options, result, coverage);
  }
  result.coverage = coverage.items();
  judge(result);
  internal::blame_failures(options, result);
  return result;
}

// ---------------------------------------------------------------------------

namespace {

std::string md_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string verdict_text(bool fit) { return fit ? "fit to deploy" : "not fit"; }

}  // namespace

std::string check_markdown(const CheckResult& r) {
  std::string md;
  md += fmt::format("# check-policy: {} is {}\n\n", r.lint.policy_name, verdict_text(r.fit));
  md += fmt::format("- policy file: `{}`\n", r.policy_file);
  md += fmt::format("- lint: {} error(s), {} warning(s)\n", r.lint.errors(), r.lint.warnings());
  if (r.suite_ran) {
    std::size_t passed = 0;
    for (const auto& s : r.run.scenarios) passed += s.verdict == reports::Verdict::kPass ? 1 : 0;
    md += fmt::format("- suite: {} scenario file(s) x {} seed(s): {} of {} run(s) passed\n", r.suite_files.size(),
                      r.seeds, passed, r.run.scenarios.size());
  } else {
    md += "- suite: not run\n";
  }
  md += "\n## Verdict: " + verdict_text(r.fit) + "\n\n";
  if (r.reasons.empty()) md += "No reasons against.\n";
  for (std::size_t i = 0; i < r.reasons.size(); ++i) {
    const auto& x = r.reasons[i];
    md += fmt::format("{}. **{}** ({}){} {}\n", i + 1, to_string(x.severity), x.source,
                      x.path.empty() ? "" : " `" + x.path + "`:", md_cell(x.text));
  }

  md += "\n## 1. Lint\n\n";
  if (r.lint.findings.empty()) {
    md += "No findings.\n";
  } else {
    md += "| severity | rule | path | reason | fix |\n|---|---|---|---|---|\n";
    for (const auto& f : r.lint.findings) {
      md += fmt::format("| {} | {} | `{}` | {} | {} |\n", to_string(f.severity), f.rule, f.path, md_cell(f.reason),
                        md_cell(f.fix));
    }
  }

  md += "\n## 2. Suite\n\n";
  if (!r.suite_ran) {
    md += "Not run.\n";
  } else {
    md += "| scenario | seed | verdict | why |\n|---|---|---|---|\n";
    for (const auto& s : r.run.scenarios) {
      md += fmt::format("| {} | {} | {} | {} |\n", md_cell(s.name), s.seed, reports::to_string(s.verdict),
                        md_cell(s.verdict_reason));
    }
  }

  md += "\n## 3. Coverage\n\n";
  md += "| policy setting | path | exercised | runs |\n|---|---|---|---|\n";
  for (const auto& i : r.coverage) {
    std::string runs;
    for (const auto& s : i.scenarios) runs += (runs.empty() ? "" : ", ") + s;
    if (i.scenarios_dropped > 0) runs += fmt::format(" and {} more", i.scenarios_dropped);
    const std::string times = !i.measured ? "not measured" : i.exercised() ? fmt::format("{} time(s)", i.times) : "never";
    md += fmt::format("| {} | `{}` | {} | {} |\n", md_cell(i.what), i.path, times, md_cell(runs));
  }
  std::string never;
  std::string unmeasured;
  for (const auto& i : r.coverage) {
    if (i.measured && !i.exercised()) never += fmt::format("- {} (`{}`)\n", i.what, i.path);
    if (!i.measured) unmeasured += fmt::format("- {} (`{}`)\n", i.what, i.path);
  }
  if (r.suite_ran) {
    md += "\n### Never exercised: what the suite did not prove\n\n" + (never.empty() ? "Nothing.\n" : never);
  }
  if (!unmeasured.empty()) {
    md += "\n### Not measured\n\nOnly a run's event log shows these, and the suite's runner did not hand its logs "
          "to check-policy:\n\n" + unmeasured;
  }
  md += internal::explore_and_blame_markdown(r);
  return md;
}

json check_json(const CheckResult& r) {
  json j;
  j["tool"] = "faultline check-policy";
  j["policy"] = {{"file", r.policy_file}, {"name", r.lint.policy_name}};
  j["verdict"] = verdict_text(r.fit);
  j["fit"] = r.fit;
  j["reasons"] = json::array();
  for (const auto& x : r.reasons) {
    j["reasons"].push_back(
        {{"severity", to_string(x.severity)}, {"source", x.source}, {"path", x.path}, {"text", x.text}});
  }
  json findings = json::array();
  for (const auto& f : r.lint.findings) {
    findings.push_back({{"rule", f.rule},
                        {"severity", to_string(f.severity)},
                        {"path", f.path},
                        {"reason", f.reason},
                        {"fix", f.fix}});
  }
  j["lint"] = {{"errors", r.lint.errors()}, {"warnings", r.lint.warnings()}, {"findings", std::move(findings)}};
  json runs = json::array();
  for (const auto& s : r.run.scenarios) {
    runs.push_back({{"scenario", s.name},
                    {"seed", s.seed},
                    {"verdict", reports::to_string(s.verdict)},
                    {"reason", s.verdict_reason},
                    {"replay", s.replay_command}});
  }
  j["suite"] = {{"ran", r.suite_ran}, {"files", r.suite_files}, {"seeds", r.seeds}, {"event_logs", r.logs_seen}, {"runs", std::move(runs)}};
  json items = json::array();
  json never = json::array();
  for (const auto& i : r.coverage) {
    items.push_back({{"id", i.id},
                     {"path", i.path},
                     {"what", i.what},
                     {"measured", i.measured},
                     {"times", i.times},
                     {"runs", i.scenarios},
                     {"runs_dropped", i.scenarios_dropped}});
    if (i.measured && !i.exercised()) never.push_back(i.id);
  }
  j["coverage"] = {{"items", std::move(items)}, {"never_exercised", std::move(never)}};
  internal::add_explore_and_blame_json(r, j);
  return j;
}

std::string write_check_files(const CheckResult& result, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fmt::format("{}: cannot create the folder: {}", dir, ec.message());
  auto status = reports::write_file_atomically(fs::path(dir) / "check-policy.md", check_markdown(result));
  if (!status) return status.message;
  status = reports::write_file_atomically(fs::path(dir) / "check-policy.json", check_json(result).dump(2) + "\n");
  if (!status) return status.message;
  if (result.suite_ran) {
    status = reports::write_run_directory(result.run, fs::path(dir) / "suite");
    if (!status) return status.message;
  }
  if (result.explored) {
    auto explored = result.explore;
    if (auto problem = harness::write_explore_files(explored, (fs::path(dir) / "explore").string()); !problem.empty()) {
      return problem;
    }
  }
  return {};
}

}  // namespace faultline::policy_check
