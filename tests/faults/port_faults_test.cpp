// The port decorators, each against a scripted stand-in service in virtual time: what a
// call sees inside and outside the window, and that every strike is counted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "faults/port_faults.h"
#include "faults/workload_faults.h"
#include "reference_system/bus.h"
#include "reference_system/system.h"
#include "runtime/sim_runtime.h"
#include "world/simulation.h"

namespace faultline::faults {
namespace {

using namespace std::chrono_literals;
namespace rs = reference_system;

class StubLedger final : public rs::Ledger {
 public:
  explicit StubLedger(runtime::Runtime& rt) : rt_(&rt) {}
  Task<Outcome<rs::LedgerReceipt>> post(rs::LedgerPost) override {
    co_await rt_->sleep(100ms);
    ++posts;
    co_return rs::LedgerReceipt{posts, false};
  }
  Task<Outcome<>> reverse(std::uint64_t) override { co_return resilience::ok(); }
  std::uint64_t posts = 0;

 private:
  runtime::Runtime* rt_;
};

class StubOcr final : public rs::OcrEngine {
 public:
  Task<Outcome<std::string>> recognize(rs::OcrRequest) override { co_return std::string("INVOICE/1\nid: 1\n"); }
};

FaultSpec spec(FaultKind kind, std::string target) {
  FaultSpec s;
  s.kind = kind;
  s.target = std::move(target);
  s.start = 10s;
  s.duration = 20s;
  s.label = "fault/0/" + std::string(to_string(kind));
  return s;
}

struct Seen {
  bool ok = false;
  resilience::ErrorClass error{};
  runtime::Duration took{};
  bool finished = false;
};

Task<void> post_once(runtime::Runtime& rt, rs::Ledger& ledger, Seen& seen) {
  const auto began = rt.now();
  // A named argument: GCC 12 destroys class temporaries inside a co_await
  // expression twice.
  rs::LedgerPost entry{7, "", "V", 0, 100};
  auto r = co_await ledger.post(std::move(entry));
  seen.ok = r.ok();
  if (!r) seen.error = r.error_class();
  seen.took = rt.now() - began;
  seen.finished = true;
}

Seen post_at(runtime::Duration when, const FaultSpec& s, std::uint64_t* touched = nullptr,
             std::uint64_t* posts = nullptr) {
  runtime::SimRuntime rt(3);
  ActiveFault fault(rt, s, 0, rt.now());
  auto inner = std::make_shared<StubLedger>(rt);
  FaultyLedger ledger(rt, inner, {&fault});
  Seen seen;
  rt.run_for(when);
  rt.spawn(post_once(rt, ledger, seen));
  rt.run_for(10min);
  if (touched) *touched = fault.touched();
  if (posts) *posts = inner->posts;
  return seen;
}

TEST(PortFaults, LatencyDelaysOnlyInsideTheWindow) {
  auto s = spec(FaultKind::latency, "ledger");
  s.delay = 30s;
  std::uint64_t touched = 0;
  EXPECT_EQ(post_at(15s, s, &touched).took, 30s + 100ms);
  EXPECT_EQ(touched, 1u);
  EXPECT_EQ(post_at(5s, s, &touched).took, 100ms);
  EXPECT_EQ(touched, 0u);
}

TEST(PortFaults, ErrorsAndOutagesFailAtOnceWithTheirClassAndNeverReachTheService) {
  auto e = spec(FaultKind::error, "ledger");
  e.error_class = resilience::ErrorClass::rate_limited;
  std::uint64_t posts = 1;
  auto seen = post_at(15s, e, nullptr, &posts);
  EXPECT_FALSE(seen.ok);
  EXPECT_EQ(seen.error, resilience::ErrorClass::rate_limited);
  EXPECT_EQ(seen.took, 0s);
  EXPECT_EQ(posts, 0u);
  seen = post_at(15s, spec(FaultKind::outage, "ledger"));
  EXPECT_FALSE(seen.ok);
  EXPECT_EQ(seen.error, resilience::ErrorClass::transient);
}

TEST(PortFaults, AHungCallNeverAnswersWithinTheRun) {
  const auto seen = post_at(15s, spec(FaultKind::hang, "ledger"));
  EXPECT_FALSE(seen.finished);
}

TEST(PortFaults, InvalidOutputIsNoDocument) {
  runtime::SimRuntime rt(3);
  auto s = spec(FaultKind::invalid_output, "ocr_engine");
  s.outputs = {InvalidOutput::refusal};
  ActiveFault fault(rt, s, 0, rt.now());
  FaultyOcrEngine ocr(rt, std::make_shared<StubOcr>(), {&fault});
  std::string text;
  rt.run_for(15s);
  rt.spawn([](FaultyOcrEngine& o, std::string& out) -> Task<void> {
    const rs::OcrRequest request{1, "x", 1.0};
    auto r = co_await o.recognize(request);
    out = r.ok() ? r.value() : "failed";
  }(ocr, text));
  rt.run_for(1s);
  EXPECT_EQ(text.rfind("INVOICE/1", 0), std::string::npos) << text;
  EXPECT_NE(text.find("I"), std::string::npos);
  EXPECT_EQ(fault.touched(), 1u);
}

TEST(PortFaults, CheckpointOutageFailsEveryStoreCallTransient) {
  runtime::SimRuntime rt(3);
  ActiveFault fault(rt, spec(FaultKind::checkpoint_outage, "checkpoint_store"), 0, rt.now());
  auto inner = std::make_shared<resilience::InMemoryCheckpointStore>();
  FaultyCheckpointStore store(rt, inner, {&fault});
  rt.run_for(15s);
  auto saved = resilience::run_now(store.save("wf/9", 0, "ocr", "{}"));
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error_class(), resilience::ErrorClass::transient);
  EXPECT_EQ(inner->size(), 0u);
  rt.run_for(30s);
  EXPECT_TRUE(resilience::run_now(store.save("wf/9", 0, "ocr", "{}")).ok());
  EXPECT_EQ(fault.touched(), 1u);
}

TEST(PortFaults, TheBusDuplicatesAndHoldsBackMessages) {
  runtime::SimRuntime rt(3);
  std::array<std::size_t, rs::kTopicCount> capacity{};
  capacity.fill(100);
  auto inner = std::make_shared<rs::InProcessBus>(rt, capacity);
  auto dup = spec(FaultKind::duplicate_delivery, "bus");
  dup.copies = 2;
  ActiveFault duplicate(rt, dup, 0, rt.now());
  FaultyMessageBus bus(rt, inner, {&duplicate});
  rt.run_for(15s);
  rs::Message m;
  m.topic = rs::Topic::accounting;
  m.invoice_id = 5;
  ASSERT_TRUE(bus.publish(m));
  EXPECT_EQ(bus.depth(rs::Topic::accounting), 3u);
  EXPECT_EQ(duplicate.touched(), 1u);

  runtime::SimRuntime rt2(3);
  auto inner2 = std::make_shared<rs::InProcessBus>(rt2, capacity);
  auto re = spec(FaultKind::reordering, "bus");
  re.reorder_window = 5s;
  ActiveFault reorder(rt2, re, 0, rt2.now());
  FaultyMessageBus bus2(rt2, inner2, {&reorder});
  rt2.run_for(15s);
  ASSERT_TRUE(bus2.publish(m));
  EXPECT_EQ(bus2.depth(rs::Topic::accounting), 0u);  // held back ...
  EXPECT_EQ(bus2.held(), 1u);
  rt2.run_for(5s);
  EXPECT_EQ(bus2.depth(rs::Topic::accounting), 1u);  // ... and delivered within the window
  EXPECT_EQ(bus2.held(), 0u);
}

TEST(WorkloadFaults, CorruptionStrikesInvoicesAndDuplicatesReuseSeenIds) {
  runtime::SimRuntime rt(3);
  auto c = spec(FaultKind::corrupted_input, "workload");
  c.corruptions = {Corruption::duplicate_id};
  ActiveFault fault(rt, c, 0, rt.now());
  WorkloadFaults wf(rt, {&fault});
  rs::Invoice first;
  first.id = 41;
  first.document = "INVOICE/1\nid: 41\ntotal: 1.00\n";
  EXPECT_FALSE(wf.corrupt(first).has_value());  // before the window
  rt.run_for(15s);
  rs::Invoice second;
  second.id = 42;
  second.document = "INVOICE/1\nid: 42\ntotal: 1.00\n";
  const auto mode = wf.corrupt(second);
  ASSERT_TRUE(mode.has_value());
  EXPECT_EQ(*mode, Corruption::duplicate_id);
  EXPECT_EQ(second.id, 41u);
  EXPECT_NE(second.document.find("id: 41"), std::string::npos);
  EXPECT_EQ(fault.touched(), 1u);
}

}  // namespace
}  // namespace faultline::faults

namespace faultline::faults {
namespace {

TEST(PortFaults, APartitionHoldsDeliveriesUntilItHeals) {
  runtime::SimRuntime rt(3);
  std::array<std::size_t, rs::kTopicCount> capacity{};
  capacity.fill(100);
  auto inner = std::make_shared<rs::InProcessBus>(rt, capacity);
  ActiveFault partition(rt, spec(FaultKind::bus_partition, "bus"), 0, rt.now());
  FaultyMessageBus bus(rt, inner, {&partition});
  runtime::Instant delivered{};
  rt.spawn([](FaultyMessageBus& b, runtime::Runtime& r, runtime::Instant& at) -> Task<void> {
    auto m = co_await b.receive(rs::Topic::ocr);
    if (m) at = r.now();
  }(bus, rt, delivered));
  rt.run_for(12s);
  rs::Message m;
  m.topic = rs::Topic::ocr;
  m.invoice_id = 3;
  ASSERT_TRUE(bus.publish(m));
  rt.run_for(1min);
  EXPECT_EQ(delivered, runtime::Instant{} + 30s);  // the window's end, not 12 s
  EXPECT_EQ(partition.touched(), 1u);
}

}  // namespace
}  // namespace faultline::faults

namespace faultline::faults {
namespace {

// A partition that strikes a message already waiting holds it too (the
// decorator's ready path must not skip the partition).
TEST(PortFaults, APartitionHoldsAMessageThatWasAlreadyWaiting) {
  runtime::SimRuntime rt(3);
  std::array<std::size_t, rs::kTopicCount> capacity{};
  capacity.fill(100);
  ActiveFault partition(rt, spec(FaultKind::bus_partition, "bus"), 0, rt.now());
  FaultyMessageBus bus(rt, std::make_shared<rs::InProcessBus>(rt, capacity), {&partition});
  rt.run_for(12s);
  rs::Message m;
  m.topic = rs::Topic::ocr;
  m.invoice_id = 3;
  ASSERT_TRUE(bus.publish(m));
  runtime::Instant delivered{};
  rt.spawn([](FaultyMessageBus& b, runtime::Runtime& r, runtime::Instant& at) -> Task<void> {
    auto got = co_await b.receive(rs::Topic::ocr);
    if (got) at = r.now();
  }(bus, rt, delivered));
  rt.run_for(1min);
  EXPECT_EQ(delivered, runtime::Instant{} + 30s);
  EXPECT_EQ(partition.touched(), 1u);
}

// Outside any partition, a waiting message comes through the decorator as a
// finished task, the same path the bare bus takes.
TEST(PortFaults, TheDecoratedBusHandsAWaitingMessageOverAtOnce) {
  runtime::SimRuntime rt(3);
  std::array<std::size_t, rs::kTopicCount> capacity{};
  capacity.fill(100);
  ActiveFault partition(rt, spec(FaultKind::bus_partition, "bus"), 0, rt.now());
  FaultyMessageBus bus(rt, std::make_shared<rs::InProcessBus>(rt, capacity), {&partition});
  rs::Message m;
  m.topic = rs::Topic::validation;
  m.invoice_id = 8;
  ASSERT_TRUE(bus.publish(m));
  auto ready = bus.receive(rs::Topic::validation);  // at 0 s, before the window
  ASSERT_TRUE(ready.done());
  EXPECT_EQ(ready.result()->invoice_id, 8u);
  EXPECT_EQ(partition.touched(), 0u);
}

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("FAULTLINE_SOURCE_DIR");
  return (root != nullptr ? std::string(root) : std::string(".")) + "/" + relative;
}

// With no fault aimed at it, the decorated bus changes nothing a run does:
// the same events in the same order as on the bare bus, with both policies.
TEST(PortFaults, AFaultFreeDecoratedBusRunsLikeTheBareBus) {
  for (const bool recommended : {false, true}) {
    world::SimulationConfig config;
    config.seed = 7;
    config.invoices = 400;
    if (recommended) config.policy = rs::load_policy(source_path("scenarios/policies/recommended.json"));
    config.policy.checkpoints = rs::CheckpointStoreKind::memory;
    const world::SimulationResult bare = world::run_simulation(config);
    const world::SimulationResult decorated = world::run_simulation(config, [](rs::SystemBuilder& builder) {
      auto& bus = builder.ports().bus;
      bus = std::make_shared<FaultyMessageBus>(builder.runtime(), std::move(bus), std::vector<ActiveFault*>{});
    });
    EXPECT_GT(bare.events, 0u);
    EXPECT_EQ(decorated.log_digest, bare.log_digest) << "recommended=" << recommended;
    EXPECT_EQ(decorated.events, bare.events);
    EXPECT_EQ(decorated.ledger_digest, bare.ledger_digest);
    EXPECT_EQ(decorated.sim_steps, bare.sim_steps);
  }
}

}  // namespace
}  // namespace faultline::faults
