// The fault catalogue: every kind reads and writes back, and each kind only
// accepts targets of its own family.
#include <gtest/gtest.h>

#include "faults/fault.h"

namespace faultline::faults {
namespace {

using namespace std::chrono_literals;

FaultSpec parse(std::string_view text, std::size_t index = 0) {
  const auto doc = runtime::parse_json_text(text, "f.json");
  return parse_fault(runtime::JsonView(doc, "f.json"), index);
}

TEST(FaultCatalogue, EveryKindHasANameThatReadsBack) {
  for (std::size_t i = 0; i < kFaultKindCount; ++i) {
    const auto kind = static_cast<FaultKind>(i);
    EXPECT_EQ(fault_kind_from(to_string(kind)), kind);
  }
  for (std::size_t i = 0; i < kCorruptionCount; ++i) {
    const auto c = static_cast<Corruption>(i);
    EXPECT_EQ(corruption_from(to_string(c)), c);
  }
  EXPECT_FALSE(fault_kind_from("slowness"));
}

TEST(FaultCatalogue, EveryKindHasATargetAndRoundTripsThroughJson) {
  for (std::size_t i = 0; i < kFaultKindCount; ++i) {
    const auto kind = static_cast<FaultKind>(i);
    std::string target;
    for (const auto& t : known_targets()) {
      if (kind_accepts(kind, t.family)) {
        target = std::string(t.name);
        break;
      }
    }
    ASSERT_FALSE(target.empty()) << to_string(kind);
    nlohmann::json j = {{"kind", std::string(to_string(kind))}, {"target", target}, {"start", "1m"},
                        {"duration", "2m"}, {"probability", 0.25}};
    if (kind == FaultKind::latency) j["delay"] = "30s";
    if (kind == FaultKind::saturation) j["multiplier"] = 10;
    if (kind == FaultKind::reordering) j["window"] = "5s";
    const auto spec = parse(j.dump(), 3);
    EXPECT_EQ(spec.kind, kind);
    EXPECT_EQ(spec.label, "fault/3/" + std::string(to_string(kind)));
    EXPECT_EQ(spec.end(), 3min);
    const auto again = parse(to_json(spec).dump(), 3);
    EXPECT_EQ(to_json(again), to_json(spec));
  }
}

TEST(FaultCatalogue, DefaultsCoverEveryMode) {
  const auto c = parse(R"({"kind":"corrupted_input","target":"workload","start":"0","duration":"1m"})");
  EXPECT_EQ(c.corruptions.size(), kCorruptionCount);
  const auto o = parse(R"({"kind":"invalid_output","target":"ocr_engine","start":"0","duration":"1m"})");
  EXPECT_EQ(o.outputs.size(), 2u);
  EXPECT_TRUE(c.active_at(0s));
  EXPECT_FALSE(c.active_at(1min));
}

TEST(FaultCatalogue, KindsRefuseTargetsOfAnotherFamily) {
  EXPECT_THROW(parse(R"({"kind":"crash","target":"ledger","start":"0","duration":"1m"})"), runtime::ConfigError);
  EXPECT_THROW(parse(R"({"kind":"invalid_output","target":"ledger","start":"0","duration":"1m"})"),
               runtime::ConfigError);
  EXPECT_THROW(parse(R"({"kind":"hang","target":"bus","start":"0","duration":"1m"})"), runtime::ConfigError);
  EXPECT_THROW(parse(R"({"kind":"saturation","target":"workload","start":"0","duration":"1m","multiplier":0.5})"),
               runtime::ConfigError);
}

}  // namespace
}  // namespace faultline::faults

namespace faultline::faults {
namespace {

// An error fault names its class with resilience's own names and carries
// resilience's class, which is what the injected failure reports.
TEST(FaultCatalogue, AnErrorFaultCarriesResiliencesErrorClass) {
  for (const auto cls : {resilience::ErrorClass::transient, resilience::ErrorClass::permanent,
                         resilience::ErrorClass::rate_limited}) {
    const std::string name(resilience::to_string(cls));
    const FaultSpec spec = parse(R"({"kind": "error", "target": "ledger", "start": "0", "duration": "1m", "class": ")" +
                                     name + "\"}");
    EXPECT_EQ(spec.error_class, cls) << name;
    EXPECT_EQ(to_json(spec)["class"], name);
  }
  // Classes only a caller decides (a timeout, an open circuit) are no callee's answer.
  EXPECT_THROW((void)parse(R"({"kind": "error", "target": "ledger", "start": "0", "duration": "1m", "class": "timeout"})"),
               runtime::ConfigError);
}

}  // namespace
}  // namespace faultline::faults
