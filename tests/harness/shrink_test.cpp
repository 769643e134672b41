// The shrinker against oracles that are predicates (no simulation): it must
// keep exactly the faults a failure needs, make each as small as the
// failure allows, shrink the workload, stop cleanly when the oracle stops,
// and come out the same whatever the batch size.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/shrink.h"

namespace faultline::harness {
namespace {

using namespace std::chrono_literals;
using faults::FaultKind;
using faults::FaultSpec;

FaultSpec fault(FaultKind kind, std::string target, runtime::Duration start, runtime::Duration duration,
                std::uint32_t stream) {
  FaultSpec f;
  f.kind = kind;
  f.target = std::move(target);
  f.start = start;
  f.duration = duration;
  f.stream = stream;
  return f;
}

// Four faults, two of which (an error on the notifier over [10m, 12m) and a
// crash of accounting) the failure needs.
Candidate four_faults() {
  Candidate c;
  c.seed = 9;
  c.duration = 30min;
  c.drain = 35min;
  c.rate_per_hour = 900;
  c.faults.push_back(fault(FaultKind::latency, "ocr_engine", 1min, 5min, 0));
  c.faults.back().delay = 3s;
  c.faults.back().delay_jitter = 1s;
  c.faults.push_back(fault(FaultKind::error, "notifier", 8min, 8min, 1));
  c.faults.back().probability = 0.75;
  c.faults.push_back(fault(FaultKind::saturation, "workload", 2min, 3min, 2));
  c.faults.back().multiplier = 7;
  c.faults.push_back(fault(FaultKind::crash, "accounting", 20min, 4min, 3));
  return c;
}

const FaultSpec* find(const Candidate& c, FaultKind kind) {
  for (const auto& f : c.faults) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

// Fails while the notifier error covers 11m and a crash of accounting is there.
bool needs_notifier_and_crash(const Candidate& c) {
  const auto* error = find(c, FaultKind::error);
  return error != nullptr && error->target == "notifier" && error->start <= 11min && error->end() > 11min &&
         find(c, FaultKind::crash) != nullptr;
}

ShrinkOracle oracle_of(bool (*fails)(const Candidate&), std::uint32_t* calls = nullptr) {
  return [fails, calls](const std::vector<Candidate>& batch) {
    if (calls != nullptr) ++*calls;
    std::vector<bool> out;
    for (const auto& c : batch) out.push_back(fails(c));
    return out;
  };
}

TEST(Shrink, KeepsExactlyTheFaultsTheFailureNeedsAndMakesThemSmall) {
  const ShrinkResult s = shrink(four_faults(), oracle_of(needs_notifier_and_crash), ShrinkOptions{});
  ASSERT_EQ(s.smallest.faults.size(), 2u);
  const auto* error = find(s.smallest, FaultKind::error);
  const auto* crash = find(s.smallest, FaultKind::crash);
  ASSERT_NE(error, nullptr);
  ASSERT_NE(crash, nullptr);
  // Each fault keeps the random stream it had, whatever was removed around it.
  EXPECT_EQ(error->stream, 1u);
  EXPECT_EQ(crash->stream, 3u);
  // The error still covers 11m, on the shortest window of the ladder that can.
  EXPECT_LE(error->start, 11min);
  EXPECT_GT(error->end(), 11min);
  EXPECT_EQ(error->duration, 1s);
  EXPECT_DOUBLE_EQ(error->probability, 0.01);
  EXPECT_EQ(crash->duration, 1s);
  // The workload went down as far as it goes; every fault still fits.
  EXPECT_DOUBLE_EQ(s.smallest.rate_per_hour, 30);
  for (const auto& f : s.smallest.faults) EXPECT_LE(f.end(), s.smallest.duration);
  EXPECT_TRUE(s.complete);
  EXPECT_FALSE(s.steps.empty());
  EXPECT_NE(s.steps.front().find("removed"), std::string::npos) << s.steps.front();
  EXPECT_TRUE(needs_notifier_and_crash(s.smallest));
}

bool needs_slow_ledger(const Candidate& c) {
  const auto* l = find(c, FaultKind::latency);
  return l != nullptr && l->target == "ledger" && l->delay >= 2s;
}

TEST(Shrink, MakesEachParameterAsSmallAsTheFailureAllows) {
  Candidate c;
  c.duration = 20min;
  c.drain = 35min;
  c.rate_per_hour = 600;
  c.faults.push_back(fault(FaultKind::latency, "ledger", 3min, 10min, 0));
  c.faults.back().delay = 45s;
  c.faults.back().delay_jitter = 20s;
  c.faults.push_back(fault(FaultKind::corrupted_input, "workload", 1min, 2min, 1));
  c.faults.back().corruptions = {faults::Corruption::markup, faults::Corruption::truncated};
  const ShrinkResult s = shrink(c, oracle_of(needs_slow_ledger), ShrinkOptions{});
  ASSERT_EQ(s.smallest.faults.size(), 1u);
  const auto& l = s.smallest.faults.front();
  EXPECT_EQ(l.delay, 2s);
  EXPECT_EQ(l.delay_jitter, runtime::Duration::zero());
  EXPECT_EQ(l.duration, 1s);
  EXPECT_EQ(s.smallest.duration, 1min);
  EXPECT_LE(l.end(), 1min);
}

bool always(const Candidate&) { return true; }

TEST(Shrink, AFailureThatNeedsNoFaultShrinksToThePlainWorkload) {
  const ShrinkResult s = shrink(four_faults(), oracle_of(always), ShrinkOptions{});
  EXPECT_TRUE(s.smallest.faults.empty());
  EXPECT_DOUBLE_EQ(s.smallest.rate_per_hour, rate_ladder().front());
  EXPECT_EQ(s.smallest.duration, duration_ladder().front());
  EXPECT_NE(s.steps.front().find("removed all 4 fault(s)"), std::string::npos) << s.steps.front();
}

bool single_corruption_mode(const Candidate& c) {
  const auto* f = find(c, FaultKind::corrupted_input);
  return f != nullptr && std::find(f->corruptions.begin(), f->corruptions.end(), faults::Corruption::huge_amount) !=
                             f->corruptions.end();
}

TEST(Shrink, NarrowsModesToTheOneThatBreaks) {
  Candidate c;
  c.duration = 10min;
  c.faults.push_back(fault(FaultKind::corrupted_input, "workload", 1min, 5min, 0));
  c.faults.back().corruptions = {faults::Corruption::truncated, faults::Corruption::huge_amount,
                                 faults::Corruption::markup};
  const ShrinkResult s = shrink(c, oracle_of(single_corruption_mode), ShrinkOptions{});
  ASSERT_EQ(s.smallest.faults.size(), 1u);
  EXPECT_EQ(s.smallest.faults[0].corruptions, (std::vector<faults::Corruption>{faults::Corruption::huge_amount}));
}

TEST(Shrink, TheResultDoesNotDependOnTheBatchSize) {
  ShrinkOptions one;
  one.batch = 1;
  ShrinkOptions three;
  three.batch = 3;
  const auto a = shrink(four_faults(), oracle_of(needs_notifier_and_crash), one);
  const auto b = shrink(four_faults(), oracle_of(needs_notifier_and_crash), three);
  EXPECT_EQ(a.steps, b.steps);
  ASSERT_EQ(a.smallest.faults.size(), b.smallest.faults.size());
  for (std::size_t i = 0; i < a.smallest.faults.size(); ++i) {
    EXPECT_EQ(faults::to_json(a.smallest.faults[i]), faults::to_json(b.smallest.faults[i]));
  }
  EXPECT_EQ(a.smallest.duration, b.smallest.duration);
}

TEST(Shrink, StopsWhenTheOracleStopsOrTheRunsRunOut) {
  // An oracle that answers its first two batches only (the budget ran out):
  // the result is the last candidate that still failed, marked incomplete.
  int batches = 0;
  ShrinkOracle stopping = [&](const std::vector<Candidate>& batch) {
    std::vector<bool> out;
    if (++batches > 2) return out;
    for (const auto& c : batch) out.push_back(needs_notifier_and_crash(c));
    return out;
  };
  const auto s = shrink(four_faults(), stopping, ShrinkOptions{});
  EXPECT_FALSE(s.complete);
  EXPECT_TRUE(needs_notifier_and_crash(s.smallest));
  EXPECT_EQ(s.runs, 2u);

  ShrinkOptions capped;
  capped.runs_max = 5;
  std::uint32_t calls = 0;
  const auto t = shrink(four_faults(), oracle_of(needs_notifier_and_crash, &calls), capped);
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.runs, 5u);
  EXPECT_TRUE(needs_notifier_and_crash(t.smallest));
}

}  // namespace
}  // namespace faultline::harness
