// The article's largest scale tier in simulation: 24 hours at 10,000
// invoices per hour (240,000 invoices), fault-free, baseline world, under the
// recommended policy (checkpoints in memory, breakers, retries) and the naive
// one. Reports simulated invoices per second of wall time. The goal is under
// 2 s per simulated day on one core.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "reference_system/simulation.h"

namespace faultline::reference_system {
namespace {

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("FAULTLINE_SOURCE_DIR");
  return (root != nullptr ? std::string(root) : std::string(FAULTLINE_BENCH_SOURCE_DIR)) + "/" + relative;
}

void run_day(benchmark::State& state, const char* policy_file, bool observe) {
  SimulationConfig config;
  config.hours = 24.0;
  config.rate_per_hour = 10'000.0;
  config.policy = load_policy(source_path(policy_file));
  config.world = load_world_model(source_path("scenarios/models/baseline.json"));
  config.observe_patterns = observe;
  std::uint64_t invoices = 0;
  std::uint64_t events = 0;
  for (auto _ : state) {
    const SimulationResult r = run_simulation(config);
    invoices += r.submitted;
    events = r.events;
    benchmark::DoNotOptimize(r.ledger_digest);
    if (r.unfinished != 0 || r.metrics.terminal() != r.submitted) state.SkipWithError("invoices left unfinished");
  }
  state.counters["invoices_per_s"] = benchmark::Counter(static_cast<double>(invoices), benchmark::Counter::kIsRate);
  state.counters["invoices_per_day"] = static_cast<double>(invoices) / static_cast<double>(state.iterations());
  state.counters["events_per_day"] = static_cast<double>(events);
}

void BM_DayAt10kPerHour_Recommended(benchmark::State& state) {
  run_day(state, "scenarios/policies/recommended.json", true);
}
void BM_DayAt10kPerHour_RecommendedUnobserved(benchmark::State& state) {
  run_day(state, "scenarios/policies/recommended.json", false);
}
void BM_DayAt10kPerHour_Naive(benchmark::State& state) { run_day(state, "scenarios/policies/naive.json", true); }

BENCHMARK(BM_DayAt10kPerHour_Recommended)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DayAt10kPerHour_RecommendedUnobserved)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DayAt10kPerHour_Naive)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace faultline::reference_system

BENCHMARK_MAIN();
