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
    if (kind == FaultKind::network) {
      j["to"] = "postgres";
      j["mode"] = "bandwidth";
      j["bytes_per_second"] = 4096;
      j["probability"] = 1;
    }
    const auto spec = parse(j.dump(), 3);
    EXPECT_EQ(spec.kind, kind);
    EXPECT_EQ(spec.label, "fault/3/" + std::string(to_string(kind)));
    EXPECT_EQ(spec.end(), 3min);
    const auto again = parse(to_json(spec).dump(), 3);
    EXPECT_EQ(to_json(again), to_json(spec));
  }
}

// network (live only): a role's link to Redis or PostgreSQL, its mode and
// the mode's parameter; each mistake named by its JSON path.
TEST(FaultCatalogue, ANetworkFaultNamesARoleALinkAModeAndItsParameter) {
  const auto d = parse(R"({"kind":"network","target":"validation","to":"redis","mode":"delay","delay":"200ms",)"
                       R"("start":"1m","duration":"3m"})");
  EXPECT_EQ(d.kind, FaultKind::network);
  EXPECT_EQ(d.target, "validation");
  EXPECT_EQ(d.link, NetworkLink::redis);
  EXPECT_EQ(d.network_mode, NetworkMode::delay);
  EXPECT_EQ(d.delay, 200ms);
  EXPECT_EQ(to_json(d)["delay"], "200ms");
  EXPECT_FALSE(to_json(d).contains("bytes_per_second"));
  const auto b = parse(R"({"kind":"network","target":"accounting","to":"postgres","mode":"bandwidth",)"
                       R"("bytes_per_second":2000,"start":"0","duration":"1m"})");
  EXPECT_EQ(b.link, NetworkLink::postgres);
  EXPECT_EQ(b.bytes_per_second, 2000u);
  EXPECT_EQ(to_json(b)["mode"], "bandwidth");
  for (const char* mode : {"reset", "black_hole"}) {
    const auto m = parse(std::string(R"({"kind":"network","target":"orchestrator","to":"redis","mode":")") + mode +
                         R"(","start":"0","duration":"1m","probability":1})");
    EXPECT_EQ(to_string(m.network_mode), mode);
    EXPECT_EQ(to_json(m), to_json(parse(to_json(m).dump())));
  }
  EXPECT_TRUE(live_only_kind(FaultKind::network));
  EXPECT_FALSE(live_only_kind(FaultKind::bus_partition));

  const std::string base = R"({"kind":"network","start":"0","duration":"1m",)";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"("target":"ledger","to":"redis","mode":"reset"})",
       "f.json: $.target: expected a target for a network fault (one of ocr, validation, matching, accounting, "
       "orchestrator)"},
      {R"("target":"bus","to":"redis","mode":"reset"})", "$.target: expected a target for a network fault"},
      {R"("target":"ocr","mode":"reset"})", "f.json: $: missing required field \"to\""},
      {R"("target":"ocr","to":"kafka","mode":"reset"})", "f.json: $.to: expected one of"},
      {R"("target":"ocr","to":"redis"})", "f.json: $: missing required field \"mode\""},
      {R"("target":"ocr","to":"redis","mode":"loss"})", "f.json: $.mode: expected one of"},
      {R"("target":"ocr","to":"redis","mode":"delay"})", "f.json: $: missing required field \"delay\""},
      {R"("target":"ocr","to":"redis","mode":"delay","delay":"0"})", "f.json: $.delay: expected a positive duration"},
      {R"("target":"ocr","to":"redis","mode":"bandwidth"})", "missing required field \"bytes_per_second\""},
      {R"("target":"ocr","to":"redis","mode":"bandwidth","bytes_per_second":0})", "f.json: $.bytes_per_second: expected"},
      {R"("target":"ocr","to":"redis","mode":"reset","delay":"1s"})",
       "f.json: $.delay: expected no \"delay\" (it is for mode \"delay\" only)"},
      {R"("target":"ocr","to":"redis","mode":"black_hole","bytes_per_second":5})",
       "f.json: $.bytes_per_second: expected no \"bytes_per_second\" (it is for mode \"bandwidth\" only)"},
      {R"("target":"ocr","to":"redis","mode":"reset","probability":0.5})",
       "f.json: $.probability: expected 1 (or no probability): a network fault acts on every connection"},
      {R"("target":"ocr","to":"redis","mode":"reset","jitter":"1s"})", "f.json: $.jitter: unknown field"},
  };
  for (const auto& [rest, expected] : bad) {
    std::string message = "no error";
    try {
      (void)parse(base + rest);
    } catch (const runtime::ConfigError& e) {
      message = e.what();
    }
    EXPECT_NE(message.find(expected), std::string::npos) << rest << ": " << message;
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
