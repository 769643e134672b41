// A crash of probability below 1 strikes in a live run exactly when it
// strikes in the simulator: harness/live/server_faults.h crash_strikes
// draws what faults/supervisor_faults.cpp draws at the window's start, from
// the fault's own stream of the run's seed.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "faults/fault.h"
#include "faults/injector.h"
#include "harness/live/server_faults.h"
#include "runtime/json_config.h"
#include "runtime/sim_runtime.h"

namespace faultline::harness {
namespace {

faults::FaultSpec crash_spec(const std::string& json, std::size_t index) {
  const auto doc = runtime::parse_json_text(json, "crash.json");
  return faults::parse_fault(runtime::JsonView(doc, "crash.json"), index);
}

// The simulator's draw: the first one a crash's ActiveFault makes.
bool sim_strikes(const faults::FaultSpec& spec, std::size_t index, std::uint64_t seed) {
  runtime::SimRuntime rt(seed);
  faults::ActiveFault fault(rt, spec, index, rt.now());
  return spec.probability >= 1.0 || fault.rng().bernoulli(spec.probability);
}

TEST(CrashStrikes, DrawsWhatTheSimulatorDrawsForEverySeed) {
  const auto half = crash_spec(
      R"({"kind": "crash", "target": "validation", "start": "1m", "duration": "1m", "probability": 0.5})", 3);
  int struck = 0;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    const bool live = crash_strikes(half, seed);
    EXPECT_EQ(live, sim_strikes(half, 3, seed)) << "seed " << seed;
    struck += live ? 1 : 0;
  }
  EXPECT_GT(struck, 150) << "a fair coin over 400 seeds";
  EXPECT_LT(struck, 250) << "a fair coin over 400 seeds";

  // Its stream follows the fault's "stream", not its position.
  const auto moved = crash_spec(
      R"({"kind": "crash", "target": "postgres", "start": "1m", "duration": "1m", "probability": 0.3, "stream": 7})",
      0);
  for (std::uint64_t seed = 1; seed <= 200; ++seed) EXPECT_EQ(crash_strikes(moved, seed), sim_strikes(moved, 0, seed));

  const auto sure = crash_spec(R"({"kind": "crash", "target": "ocr", "start": "1m", "duration": "1m"})", 0);
  const auto never = crash_spec(
      R"({"kind": "crash", "target": "ocr", "start": "1m", "duration": "1m", "probability": 0})", 0);
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    EXPECT_TRUE(crash_strikes(sure, seed));
    EXPECT_FALSE(crash_strikes(never, seed));
  }
}

}  // namespace
}  // namespace faultline::harness
