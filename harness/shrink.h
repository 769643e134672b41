// Shrinking a failing scenario to the smallest one that still fails the
// same way, so a failure found by exploration says what breaks instead of
// everything that happened. In rounds, until a round changes nothing:
//   1. fewer faults: delta debugging (ddmin) over the schedule;
//   2. each fault smaller: a shorter window (starting later, or ending
//      sooner), a lower probability, and its own parameters (a shorter
//      delay and no jitter, a smaller multiplier, fewer copies, a shorter
//      reordering window, one corruption or invalid-output mode);
//   3. a lower workload rate, then a shorter duration (the faults moved
//      earlier where that lets it end sooner).
// Values are tried from the smallest up, on fixed ladders (10 s, 30 s,
// 1 m, ...), so two failures of one cause tend to shrink to the same
// scenario. Which candidates still fail is the oracle's to say: explore's
// runs each in sim against its baseline; a test's can be a predicate.
//
//   ShrinkResult s = shrink(failing, [&](const std::vector<Candidate>& batch) {
//     std::vector<bool> fails;  // one per candidate, in order; fewer: stop
//     ...
//     return fails;
//   }, ShrinkOptions{});
//   s.smallest.faults.size();   // s.steps says how it got there
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/explore.h"

namespace faultline::harness {

// Says, for each candidate of a batch (in order), whether it still fails the
// same way. It may answer fewer than it was given (the budget ran out, a
// signal came): shrinking then stops with what it has.
using ShrinkOracle = std::function<std::vector<bool>(const std::vector<Candidate>&)>;

struct ShrinkOptions {
  // Candidates handed to the oracle at once (explore: its worker threads);
  // the result does not depend on it.
  std::uint32_t batch = 1;
  std::uint32_t runs_max = 400;  // candidates tried at most
  std::uint32_t rounds_max = 4;
};

struct ShrinkResult {
  Candidate smallest;
  std::vector<std::string> steps;  // "removed fault 2 (crash on ocr)", ...
  // Candidates tried, counted as a batch of one would have tried them (the
  // oracle may have run a few more past the first that failed).
  std::uint32_t runs = 0;
  bool complete = true;            // false: runs_max, or the oracle stopped
};

[[nodiscard]] ShrinkResult shrink(const Candidate& failing, const ShrinkOracle& oracle, const ShrinkOptions& options);

// The ladders, smallest first (for tests and the README).
const std::vector<runtime::Duration>& window_ladder();
const std::vector<runtime::Duration>& duration_ladder();
const std::vector<double>& probability_ladder();
const std::vector<double>& rate_ladder();

}  // namespace faultline::harness
