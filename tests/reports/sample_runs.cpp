// Result models for the writer tests (sample_runs.h).
#include "tests/reports/sample_runs.h"

#include <chrono>

namespace faultline::reports::testing {

namespace {

using namespace std::chrono_literals;

LatencySummary latency(std::uint64_t count, double p50_ms, double p95_ms, double p99_ms, double max_ms, double mean_ms) {
  return LatencySummary{count, runtime::from_millis(p50_ms), runtime::from_millis(p95_ms), runtime::from_millis(p99_ms),
                        runtime::from_millis(max_ms), runtime::from_millis(mean_ms)};
}

// Buckets of 10 s over `duration`, with a dip in throughput and success while
// [fault_start, fault_end) is on, and the OCR breaker open for it.
TimeSeries series(Duration duration, Duration fault_start, Duration fault_end, double per_bucket) {
  TimeSeries ts;
  ts.bucket_width = 10s;
  std::uint64_t dlq = 0;
  for (Duration t{}; t < duration; t += ts.bucket_width) {
    TimeBucket b;
    b.start = t;
    const bool faulty = t >= fault_start && t < fault_end;
    b.submitted = static_cast<std::uint64_t>(per_bucket);
    b.completed = static_cast<std::uint64_t>(faulty ? per_bucket * 0.4 : per_bucket);
    b.succeeded = static_cast<std::uint64_t>(faulty ? per_bucket * 0.1 : per_bucket * 0.97);
    if (faulty) dlq += 2;
    b.dlq_size = dlq;
    b.breaker_states["ocr_engine"] = faulty ? BreakerState::kOpen : BreakerState::kClosed;
    b.breaker_states["po_database"] = BreakerState::kClosed;
    ts.buckets.push_back(std::move(b));
  }
  return ts;
}

ScenarioResult outage_scenario() {
  ScenarioResult s;
  s.name = "ocr-outage-5m";
  s.description = "The OCR engine is down for 5 minutes; the breaker opens and invoices wait for review.";
  s.verdict = Verdict::kFail;
  s.verdict_reason = "invariant conservation failed; slo p99_vs_baseline failed";
  s.seed = 424242;
  s.replay_command = "faultline run scenarios/ocr-outage-5m.json --policy scenarios/policies/recommended.json --seed 424242";
  s.policy_name = "recommended";
  s.policy_digest = "sha256:5e1f0c0ffee";
  s.scenario_digest = "sha256:0a7b1e";
  s.duration = 15min;
  s.outcomes = OutcomeCounts{1000, 905, 55, 12, 8, 18, 2, 0, 0};
  s.success_rate = success_rate(s.outcomes);
  s.throughput_per_s = 998.0 / 900.0;
  s.end_to_end = latency(998, 820.5, 2400.25, 5100.125, 31000, 1012.75);
  s.agents = {
      AgentResult{"ocr", latency(1040, 410, 1500, 3100, 30000, 520.5), 1040, 64, 64.0 / 1040.0, 40},
      AgentResult{"validation", latency(990, 2, 4, 6, 9, 2.25), 990, 12, 12.0 / 990.0, 0},
      AgentResult{"matching", latency(978, 90, 210, 380, 1200, 101), 978, 30, 30.0 / 978.0, 0},
      AgentResult{"accounting", latency(960, 120, 300, 610, 2500, 140.5), 960, 3, 3.0 / 960.0, 6},
  };
  s.retries = 46;
  s.retries_per_minute = 46.0 / 15.0;
  s.dlq_size_final = 8;
  s.dlq_size_max = 12;
  s.breakers = {
      ServiceBreaker{"ocr_engine",
                     {{125s, BreakerState::kClosed, BreakerState::kOpen},
                      {155s, BreakerState::kOpen, BreakerState::kHalfOpen},
                      {155s + 20ms, BreakerState::kHalfOpen, BreakerState::kOpen},
                      {425s, BreakerState::kOpen, BreakerState::kHalfOpen},
                      {425s + 35ms, BreakerState::kHalfOpen, BreakerState::kClosed}},
                     0},
      ServiceBreaker{"po_database", {}, 0},
  };
  s.series = series(s.duration, 120s, 420s, 11);
  s.faults = {FaultWindow{"outage", "ocr_engine", 120s, 420s, 311, 5s, 40s},
              FaultWindow{"latency", "po_database", 600s, 630s, 27, std::nullopt, std::nullopt}};
  s.invariants = {
      InvariantResult{"conservation", "every submitted invoice reaches exactly one terminal outcome", false,
                      "2 invoices lost: inv-00417, inv-00733",
                      {"t=181.204s inv-00417 submitted", "t=181.204s inv-00417 ocr attempt 1 timeout",
                       "t=900.000s inv-00417 no terminal outcome"},
                      0},
      InvariantResult{"exactly_once", "at most one ledger entry per invoice", true, "960 ledger entries, 960 invoices", {}, 0},
      InvariantResult{"bounded_retries", "no call exceeds its retry budget", true, "", {}, 0},
  };
  s.slos = {
      SloResult{"error_rate.ocr", Comparison::kAtMost, 0.05, 64.0 / 1040.0, "ratio", false,
                "ocr error rate 6.2% over 5%"},
      SloResult{"p99_vs_baseline", Comparison::kAtMost, 1600, 5100.125, "ms", false, ""},
      SloResult{"open_circuits", Comparison::kAtMost, 1, 1, "count", true, ""},
      SloResult{"dlq_size", Comparison::kAtMost, 100, 12, "count", true, ""},
      SloResult{"retries_per_minute", Comparison::kAtMost, 50, 46.0 / 15.0, "per_minute", true, ""},
      SloResult{"success_rate", Comparison::kAtLeast, 0.9, s.success_rate, "ratio", true, ""},
  };
  s.baseline = Baseline{0.97, 800ms, 1.11};
  return s;
}

ScenarioResult delay_scenario() {
  ScenarioResult s;
  s.name = "matching-delay-30s";
  s.description = "A 30-second delay in PO matching; matching degrades instead of blocking.";
  s.verdict = Verdict::kPass;
  s.verdict_reason = "all checks passed";
  s.seed = 7;
  s.replay_command = "faultline run scenarios/matching-delay-30s.json --seed 7";
  s.policy_name = "recommended";
  s.policy_digest = "sha256:5e1f0c0ffee";
  s.scenario_digest = "sha256:77aa";
  s.duration = 5min;
  s.outcomes = OutcomeCounts{300, 240, 48, 4, 0, 8, 0, 0, 0};
  s.success_rate = success_rate(s.outcomes);
  s.throughput_per_s = 1.0;
  s.end_to_end = latency(300, 700, 1500, 2100, 2900, 760);
  s.agents = {AgentResult{"ocr", latency(300, 400, 900, 1200, 1500, 450), 300, 2, 2.0 / 300.0, 2},
              AgentResult{"matching", latency(296, 95, 2000, 2000, 2000, 300), 296, 48, 48.0 / 296.0, 0}};
  s.retries = 2;
  s.retries_per_minute = 0.4;
  s.breakers = {ServiceBreaker{"po_database",
                               {{62s, BreakerState::kClosed, BreakerState::kOpen},
                                {92s, BreakerState::kOpen, BreakerState::kHalfOpen},
                                {92500ms, BreakerState::kHalfOpen, BreakerState::kClosed}},
                               0}};
  s.series = series(s.duration, 60s, 90s, 10);
  s.faults = {FaultWindow{"latency", "po_database", 60s, 90s, 48, 2s, 3s}};
  s.invariants = {InvariantResult{"degradation", "non-critical failures degrade, never invent", true,
                                  "48 degraded results, all with neutral defaults", {}, 0}};
  s.slos = {SloResult{"success_rate", Comparison::kAtLeast, 0.9, s.success_rate, "ratio", true, ""}};
  s.baseline = Baseline{0.97, 2s, 1.0};
  return s;
}

ScenarioResult untouched_scenario() {
  ScenarioResult s;
  s.name = "ledger-errors";
  s.description = "Transient ledger errors that, with this seed, hit no call.";
  s.verdict = Verdict::kInconclusive;
  s.verdict_reason = "fault error on ledger touched no call";
  s.seed = 99;
  s.replay_command = "faultline run scenarios/ledger-errors.json --seed 99";
  s.duration = 1min;
  s.outcomes = OutcomeCounts{50, 50, 0, 0, 0, 0, 0, 0, 0};
  s.success_rate = 1.0;
  s.throughput_per_s = 50.0 / 60.0;
  s.end_to_end = latency(50, 600, 900, 950, 990, 640);
  s.faults = {FaultWindow{"error", "ledger", 10s, 20s, 0, std::nullopt, std::nullopt}};
  return s;
}

}  // namespace

RunResult sample_run() {
  RunResult run;
  run.tool_version = "0.1.0";
  run.command_line = {"faultline", "run", "scenarios/", "--seed", "424242"};
  run.started_at = "2026-11-27T21:00:00Z";
  run.runtime = "sim";
  run.scenarios = {outage_scenario(), delay_scenario(), untouched_scenario()};
  return run;
}

std::string hostile_name() {
  return "<script>document.title='" + std::string(kScriptMarker) + "'</script>";
}

RunResult hostile_run() {
  RunResult run = sample_run();
  const std::string nasty = "\"quoted\" & 'single' </td></tr><img src=x onerror=alert(1)> ]]> --> | `tick` *bold* "
                            "[link](http://example.invalid) \x01\x07\x1b[31m \x7f \xff\xfe\xc3 \xed\xa0\x80 \n# heading\n| row |";
  run.command_line.push_back(nasty);
  run.started_at = "<b>" + nasty;
  for (auto& s : run.scenarios) {
    s.description = nasty;
    s.verdict_reason = nasty;
    s.replay_command += " --label '" + nasty + "'";
    s.policy_name = nasty;
    for (auto& a : s.agents) a.name += nasty;
    for (auto& b : s.breakers) b.service += nasty;
    for (auto& f : s.faults) {
      f.kind += nasty;
      f.target += nasty;
    }
    for (auto& inv : s.invariants) {
      inv.id += nasty;
      inv.name += nasty;
      inv.message += nasty;
      inv.evidence.push_back(nasty);
    }
    for (auto& slo : s.slos) {
      slo.name += nasty;
      slo.message += nasty;
      slo.unit += "\"";
    }
    for (auto& bucket : s.series.buckets) {
      auto states = std::move(bucket.breaker_states);
      bucket.breaker_states.clear();
      for (auto& [service, state] : states) bucket.breaker_states[service + nasty] = state;
    }
  }
  run.scenarios[0].name = hostile_name();
  run.scenarios[1].name = nasty;
  run.scenarios[2].name = "\xff\xfe bad bytes \x00 and NUL";
  run.scenarios[2].name += std::string(1, '\0') + "after-nul";
  return run;
}

}  // namespace faultline::reports::testing
