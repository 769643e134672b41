// What writing a run's reports costs: each writer, the whole run directory,
// and reading report.json back, on a suite of 20 one-hour scenarios (10 s
// buckets, 4 agents, 3 breakers flapping 50 times, 11 invariants with 50
// evidence lines each).
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "reports/compare.h"
#include "reports/html.h"
#include "reports/json_report.h"
#include "reports/junit.h"
#include "reports/markdown.h"
#include "reports/prometheus.h"
#include "reports/run_directory.h"

namespace faultline::reports {
namespace {

using namespace std::chrono_literals;

RunResult large_run() {
  RunResult run;
  run.tool_version = "0.1.0";
  run.command_line = {"faultline", "run", "scenarios/"};
  run.started_at = "2026-11-27T21:00:00Z";
  run.runtime = "sim";
  for (int n = 0; n < 20; ++n) {
    ScenarioResult s;
    s.name = "scenario-" + std::to_string(n);
    s.description = "one hour under an OCR outage";
    s.verdict = n % 3 == 0 ? Verdict::kFail : Verdict::kPass;
    s.seed = static_cast<std::uint64_t>(n) * 7919;
    s.replay_command = "faultline run scenarios/" + s.name + ".json --seed " + std::to_string(s.seed);
    s.duration = 1h;
    s.outcomes = OutcomeCounts{36'000, 33'000, 1'500, 300, 200, 1'000, 0, 0, 0};
    s.success_rate = success_rate(s.outcomes);
    s.end_to_end = LatencySummary{36'000, 800ms, 2s, 5s, 31s, 1s};
    for (const char* agent : {"ocr", "validation", "matching", "accounting"}) {
      s.agents.push_back(AgentResult{agent, s.end_to_end, 36'000, 900, 0.025, 400});
    }
    for (const char* service : {"ocr_engine", "po_database", "ledger"}) {
      ServiceBreaker b{service, {}, 0};
      for (int t = 0; t < 50; ++t) {
        b.transitions.push_back(BreakerTransition{std::chrono::seconds(60 * t), BreakerState::kClosed, BreakerState::kOpen});
        b.transitions.push_back(
            BreakerTransition{std::chrono::seconds(60 * t + 30), BreakerState::kOpen, BreakerState::kClosed});
      }
      s.breakers.push_back(std::move(b));
    }
    s.series.bucket_width = 10s;
    for (int i = 0; i < 360; ++i) {
      TimeBucket b;
      b.start = std::chrono::seconds(10 * i);
      b.submitted = b.completed = 100;
      b.succeeded = 95;
      b.dlq_size = static_cast<std::uint64_t>(i);
      b.breaker_states = {{"ocr_engine", BreakerState::kClosed}, {"po_database", BreakerState::kOpen}};
      s.series.buckets.push_back(std::move(b));
    }
    for (int f = 0; f < 5; ++f) {
      s.faults.push_back(FaultWindow{"outage", "ocr_engine", std::chrono::minutes(10 * f),
                                     std::chrono::minutes(10 * f + 5), 300, 5s, 40s});
    }
    for (int i = 0; i < 11; ++i) {
      InvariantResult inv{"invariant-" + std::to_string(i), "an invariant", i != 0, "checked", {}, 0};
      for (int e = 0; e < 50; ++e) inv.evidence.push_back("t=181.204s inv-00417 ocr attempt 1 timeout");
      s.invariants.push_back(std::move(inv));
    }
    for (int i = 0; i < 6; ++i) s.slos.push_back(SloResult{"slo-" + std::to_string(i), Comparison::kAtMost, 1, 0.5, "ratio", true, ""});
    s.baseline = Baseline{0.97, 2s, 10};
    run.scenarios.push_back(std::move(s));
  }
  return run;
}

const RunResult& run() {
  static const RunResult r = large_run();
  return r;
}

template <std::string (*Writer)(const RunResult&)>
void BM_Writer(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = Writer(run());
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["output_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Writer<to_report_json>)->Name("report_json")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Writer<to_junit_xml>)->Name("junit_xml")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Writer<to_summary_markdown>)->Name("summary_md")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Writer<to_report_html>)->Name("report_html")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Writer<to_prometheus_text>)->Name("metrics_prom")->Unit(benchmark::kMillisecond);

void BM_ReadReportJson(benchmark::State& state) {
  const std::string text = to_report_json(run());
  for (auto _ : state) benchmark::DoNotOptimize(parse_report_json(text, "report.json").scenarios.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(text.size()) * state.iterations());
}
BENCHMARK(BM_ReadReportJson)->Name("read_report_json")->Unit(benchmark::kMillisecond);

void BM_Compare(benchmark::State& state) {
  const auto bounds = parse_regression_bounds("success_rate=0.5,p99=10%");
  for (auto _ : state) {
    const auto c = compare_runs(run(), run(), *bounds.bounds, "a", "b");
    benchmark::DoNotOptimize(comparison_text(c).size());
  }
}
BENCHMARK(BM_Compare)->Name("compare_and_render_text")->Unit(benchmark::kMillisecond);

void BM_RunDirectory(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "faultline-reports-bench";
  for (auto _ : state) {
    if (!write_run_directory(run(), dir / "run")) state.SkipWithError("write failed");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RunDirectory)->Name("write_run_directory")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace faultline::reports

BENCHMARK_MAIN();
