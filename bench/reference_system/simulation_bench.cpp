// The article's largest scale tier in simulation: 24 hours at 10,000
// invoices per hour (about 240,000 invoices), fault-free, baseline world,
// under the recommended policy and the naive one. Reports simulated invoices
// per second of wall time. The goal is under 2 s per simulated day on one core.
//
// The headline variants keep the recommended policy's checkpoints in memory,
// whatever store the policy file names, so they measure the simulation
// itself; BM_DayAt10kPerHour_RecommendedSqlite runs the policy's SQLite
// store, in a private temporary file removed afterwards.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "world/simulation.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("FAULTLINE_SOURCE_DIR");
  return (root != nullptr ? std::string(root) : std::string(FAULTLINE_BENCH_SOURCE_DIR)) + "/" + relative;
}

SimulationConfig day_config(const char* policy_file) {
  SimulationConfig config;
  config.hours = 24.0;
  config.rate_per_hour = 10'000.0;
  config.policy = load_policy(source_path(policy_file));
  config.world = load_world_model(source_path("scenarios/models/baseline.json"));
  return config;
}

void run_day(benchmark::State& state, const SimulationConfig& config) {
  std::uint64_t invoices = 0;
  std::uint64_t events = 0;
  std::uint64_t steps = 0;
  for (auto _ : state) {
    const SimulationResult r = run_simulation(config);
    invoices += r.submitted;
    events = r.events;
    steps = r.sim_steps;
    benchmark::DoNotOptimize(r.ledger_digest);
    if (r.unfinished != 0 || r.metrics.terminal() != r.submitted) state.SkipWithError("invoices left unfinished");
  }
  // Per simulated run (a day, or an hour for the callgrind variants): logged
  // events and the sim runtime's steps (coroutine resumptions).
  state.counters["invoices_per_s"] = benchmark::Counter(static_cast<double>(invoices), benchmark::Counter::kIsRate);
  state.counters["invoices"] = static_cast<double>(invoices) / static_cast<double>(state.iterations());
  state.counters["events"] = static_cast<double>(events);
  state.counters["steps"] = static_cast<double>(steps);
}

SimulationConfig recommended_in_memory(bool observe) {
  SimulationConfig config = day_config("scenarios/policies/recommended.json");
  config.policy.checkpoints = CheckpointStoreKind::memory;
  config.system.observe_patterns = observe;
  return config;
}

void BM_DayAt10kPerHour_Recommended(benchmark::State& state) { run_day(state, recommended_in_memory(true)); }
void BM_DayAt10kPerHour_RecommendedUnobserved(benchmark::State& state) {
  run_day(state, recommended_in_memory(false));
}
void BM_DayAt10kPerHour_Naive(benchmark::State& state) {
  run_day(state, day_config("scenarios/policies/naive.json"));
}

// One simulated hour, one iteration: small enough to run under callgrind for
// a stable count of instructions per invoice (wall time on a shared machine
// is not), e.g.
//   valgrind --tool=callgrind --dump-instr=no reference_system_bench --benchmark_filter=HourAt10kPerHour_Recommended
void BM_HourAt10kPerHour_Recommended(benchmark::State& state) {
  SimulationConfig config = recommended_in_memory(true);
  config.hours = 1.0;
  run_day(state, config);
}
void BM_HourAt10kPerHour_Naive(benchmark::State& state) {
  SimulationConfig config = day_config("scenarios/policies/naive.json");
  config.hours = 1.0;
  run_day(state, config);
}

// The recommended policy with its checkpoints in an SQLite file of its own.
void BM_DayAt10kPerHour_RecommendedSqlite(benchmark::State& state) {
  const std::string pattern = (std::filesystem::temp_directory_path() / "faultline-bench-XXXXXX").string();
  std::string dir = pattern;
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("cannot create a temporary folder for the checkpoint store");
    return;
  }
  SimulationConfig config = day_config("scenarios/policies/recommended.json");
  config.policy.checkpoints = CheckpointStoreKind::sqlite;
  config.policy.checkpoint_path = (std::filesystem::path(dir) / "checkpoints.db").string();
  config.system.checkpoint_file_private = true;  // as the harness opens a run's own file
  run_day(state, config);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

BENCHMARK(BM_DayAt10kPerHour_Recommended)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DayAt10kPerHour_RecommendedUnobserved)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DayAt10kPerHour_Naive)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DayAt10kPerHour_RecommendedSqlite)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_HourAt10kPerHour_Recommended)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_HourAt10kPerHour_Naive)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace faultline::reference_system

BENCHMARK_MAIN();
