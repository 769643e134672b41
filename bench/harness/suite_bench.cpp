// Wall time of the whole scenario suite (scenarios/*.json), each scenario a
// baseline run plus a faulty run, under the recommended and the naive
// policy, on one worker and on two. Also per scenario on one worker, to show
// where the time goes. Simulated invoices per wall second are reported as a
// counter.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "harness/engine.h"
#include "harness/runner.h"

namespace {

using namespace faultline;

std::string root() {
  const char* dir = std::getenv("FAULTLINE_SOURCE_DIR");
  return dir ? dir : std::filesystem::current_path().string();
}

void Suite(benchmark::State& state, const std::string& policy) {
  harness::RunnerOptions o;
  o.paths = {root() + "/scenarios"};
  o.jobs = static_cast<std::uint32_t>(state.range(0));
  if (!policy.empty()) o.policy_file = root() + "/scenarios/policies/" + policy + ".json";
  std::uint64_t invoices = 0;
  for (auto _ : state) {
    const auto out = harness::run_suite(o);
    for (const auto& s : out.run.scenarios) invoices += s.outcomes.submitted;
    benchmark::DoNotOptimize(out.exit_code);
  }
  state.counters["faulty_run_invoices_per_s"] =
      benchmark::Counter(static_cast<double>(invoices), benchmark::Counter::kIsRate);
}

void SuiteRecommended(benchmark::State& state) { Suite(state, ""); }
void SuiteNaive(benchmark::State& state) { Suite(state, "naive"); }
BENCHMARK(SuiteRecommended)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(SuiteNaive)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void OneScenario(benchmark::State& state, const std::string& file) {
  const auto scenario = harness::load_scenario(root() + "/scenarios/" + file);
  for (auto _ : state) {
    auto r = harness::run_scenario(scenario, harness::EngineOptions{});
    benchmark::DoNotOptimize(r.verdict);
  }
}

const bool registered = [] {
  for (const char* f : {"ocr-delay-30s.json", "agent-stopped-5m.json", "saturation-10x.json", "corrupted-input.json",
                        "case-study.json", "cascade.json", "checkpoint-outage.json", "duplicate-delivery.json",
                        "compound.json"}) {
    benchmark::RegisterBenchmark((std::string("Scenario/") + f).c_str(),
                                 [f](benchmark::State& s) { OneScenario(s, f); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
