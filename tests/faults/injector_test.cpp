// The shared injector state: a fault strikes only inside its window, with
// its probability, from its own stream, and counts and logs every touch.
#include <gtest/gtest.h>

#include "faults/corruption.h"
#include "faults/injector.h"
#include "runtime/sim_runtime.h"

namespace faultline::faults {
namespace {

using namespace std::chrono_literals;

FaultSpec spec_of(double probability) {
  FaultSpec s;
  s.kind = FaultKind::error;
  s.target = "ledger";
  s.start = 10s;
  s.duration = 20s;
  s.probability = probability;
  s.label = "fault/0/error";
  return s;
}

TEST(ActiveFault, StrikesOnlyInsideItsWindowAndCountsEachTouch) {
  runtime::SimRuntime rt(1);
  const auto spec = spec_of(1.0);
  ActiveFault fault(rt, spec, 0, rt.now());
  EXPECT_FALSE(fault.strikes(1));
  rt.run_for(10s);
  EXPECT_TRUE(fault.strikes(2));
  EXPECT_TRUE(fault.strikes(3));
  rt.run_for(20s);
  EXPECT_FALSE(fault.strikes(4));
  EXPECT_EQ(fault.touched(), 2u);
  std::size_t logged = 0;
  for (const auto& e : rt.log().events()) {
    if (is<fault_events::Touched>(e)) {
      ++logged;
      EXPECT_EQ(rt.log().name(e.source), "fault/0/error");
      const auto touched = read<fault_events::Touched>(e);
      EXPECT_EQ(touched.fault_index, 0u);
      EXPECT_EQ(touched.fault, FaultKind::error);
    }
  }
  EXPECT_EQ(logged, 2u);
}

TEST(ActiveFault, ProbabilityIsDrawnFromItsOwnStreamDeterministically) {
  auto count = [](std::uint64_t seed) {
    runtime::SimRuntime rt(seed);
    const auto spec = spec_of(0.3);
    ActiveFault fault(rt, spec, 0, rt.now());
    rt.run_for(15s);
    for (int i = 0; i < 10'000; ++i) (void)fault.strikes(static_cast<std::uint64_t>(i));
    return fault.touched();
  };
  const auto a = count(5);
  EXPECT_EQ(a, count(5));
  EXPECT_GT(a, 2'700u);
  EXPECT_LT(a, 3'300u);
}

const char* kDoc =
    "INVOICE/1\nid: 1042\nvendor: V0017 Northwind Freight\npo: PO-001042\ncurrency: EUR\n"
    "line: Freight; 2; 1250.00\nline: Handling; 1; 80.50\ntotal: 2580.50\n";

TEST(Corruption, EveryByteModeDamagesTheDocumentDeterministically) {
  for (std::size_t i = 0; i < kCorruptionCount; ++i) {
    const auto mode = static_cast<Corruption>(i);
    runtime::Rng a(9), b(9);
    const auto bad = corrupt_document(kDoc, mode, a);
    EXPECT_EQ(bad, corrupt_document(kDoc, mode, b)) << to_string(mode);
    if (mode == Corruption::duplicate_id) {
      EXPECT_EQ(bad, kDoc);
    } else {
      EXPECT_NE(bad, kDoc) << to_string(mode);
    }
  }
}

TEST(Corruption, ModesPlantWhatTheyPromise) {
  runtime::Rng rng(3);
  EXPECT_NE(corrupt_document(kDoc, Corruption::negative_amount, rng).find("total: -2580.50"), std::string::npos);
  EXPECT_NE(corrupt_document(kDoc, Corruption::huge_amount, rng).find("total: 9999999999999.99"), std::string::npos);
  EXPECT_NE(corrupt_document(kDoc, Corruption::markup, rng).find("vendor: <"), std::string::npos);
  EXPECT_NE(corrupt_document(kDoc, Corruption::bad_encoding, rng).find("\xff"), std::string::npos);
  EXPECT_LT(corrupt_document(kDoc, Corruption::truncated, rng).size(), std::string_view(kDoc).size() / 2 + 1);
  const auto missing = corrupt_document(kDoc, Corruption::missing_field, rng);
  const bool lost_one = missing.find("\nid:") == std::string::npos || missing.find("vendor:") == std::string::npos ||
                        missing.find("currency:") == std::string::npos || missing.find("total:") == std::string::npos;
  EXPECT_TRUE(lost_one) << missing;
}

}  // namespace
}  // namespace faultline::faults
