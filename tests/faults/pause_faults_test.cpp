// The pause fault in virtual time (faults/pause_faults.h): the bus holds what
// a paused agent would receive and what it sends until the window's end,
// loses none of it, and lets every other agent's traffic through; the pause
// touches the system only if its agent held work or was sent some.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "faults/pause_faults.h"
#include "faults/port_faults.h"
#include "reference_system/bus.h"
#include "runtime/sim_runtime.h"

namespace faultline::faults {
namespace {

using namespace std::chrono_literals;
namespace rs = reference_system;

// A pause from 10 s to 30 s.
FaultSpec pause_of(std::string target, double probability = 1.0) {
  FaultSpec s;
  s.kind = FaultKind::pause;
  s.target = std::move(target);
  s.start = 10s;
  s.duration = 20s;
  s.probability = probability;
  s.label = "fault/0/pause";
  return s;
}

std::shared_ptr<rs::InProcessBus> bare_bus(runtime::Runtime& rt) {
  std::array<std::size_t, rs::kTopicCount> capacity{};
  capacity.fill(100);
  return std::make_shared<rs::InProcessBus>(rt, capacity);
}

rs::Message message(rs::Topic topic, std::uint64_t invoice, std::uint32_t step) {
  rs::Message m;
  m.topic = topic;
  m.invoice_id = invoice;
  m.request_id = invoice * 10 + step;
  m.step = step;
  return m;
}

// Receives one message from `topic` and notes when and which.
struct Got {
  std::optional<runtime::Instant> at;
  std::uint64_t invoice = 0;
};
Task<void> receive_one(rs::MessageBus& bus, runtime::Runtime& rt, rs::Topic topic, Got& got) {
  auto m = co_await bus.receive(topic);
  if (!m) co_return;
  got.at = rt.now();
  got.invoice = m->invoice_id;
  bus.ack(topic, m->delivery_id);
}

const runtime::Instant kEnd = runtime::Instant{} + 30s;

TEST(PauseFaults, APausedAgentReceivesAndSendsNothingUntilTheWindowEndsAndLosesNothing) {
  runtime::SimRuntime rt(5);
  ActiveFault fault(rt, pause_of("validation"), 0, rt.now());
  AgentPause pause(fault);
  auto inner = bare_bus(rt);
  FaultyMessageBus bus(rt, inner, {});
  bus.hold_for({&pause});
  // The orchestrator's requests teach the bus which topic answers which step.
  ASSERT_TRUE(bus.publish(message(rs::Topic::ocr, 1, 0)));
  ASSERT_TRUE(bus.publish(message(rs::Topic::validation, 1, 1)));
  Got ocr_request, validation_request;
  rt.spawn(receive_one(bus, rt, rs::Topic::ocr, ocr_request));
  rt.spawn(receive_one(bus, rt, rs::Topic::validation, validation_request));
  rt.run_for(1s);
  // Before the window: both agents get their requests at once.
  EXPECT_EQ(ocr_request.at, runtime::Instant{});
  EXPECT_EQ(validation_request.at, runtime::Instant{});

  // In the window: a request for validation waits, pending, not lost.
  Got held_request;
  rt.spawn(receive_one(bus, rt, rs::Topic::validation, held_request));
  rt.run_for(11s);  // 12 s
  ASSERT_TRUE(bus.publish(message(rs::Topic::validation, 2, 1)));
  // Validation's reply (its step 1) is held; OCR's (step 0) goes through.
  ASSERT_TRUE(bus.publish(message(rs::Topic::replies, 1, 1)));
  ASSERT_TRUE(bus.publish(message(rs::Topic::replies, 3, 0)));
  EXPECT_EQ(bus.held(), 1u);
  Got first_reply, second_reply;
  rt.spawn(receive_one(bus, rt, rs::Topic::replies, first_reply));
  rt.run_for(8s);  // 20 s
  EXPECT_FALSE(held_request.at.has_value());
  EXPECT_EQ(bus.pending(rs::Topic::validation), 1u) << "taken from the topic, not acked: the agent holds it";
  EXPECT_EQ(first_reply.invoice, 3u);
  EXPECT_EQ(first_reply.at, runtime::Instant{} + 12s);
  rt.spawn(receive_one(bus, rt, rs::Topic::replies, second_reply));
  rt.run_for(20s);  // 40 s
  EXPECT_EQ(held_request.at, kEnd);
  EXPECT_EQ(held_request.invoice, 2u);
  EXPECT_EQ(second_reply.at, kEnd);
  EXPECT_EQ(second_reply.invoice, 1u);
  EXPECT_EQ(bus.held(), 0u);
  EXPECT_EQ(bus.pending(rs::Topic::validation), 0u);
  EXPECT_EQ(bus.held_dropped(), 0u);
  // The bus counts no touch of its own: the pause's run() decides (below).
  EXPECT_EQ(fault.touched(), 0u);
}

TEST(PauseFaults, APausedOrchestratorHoldsItsRequestsAndTheRepliesToIt) {
  runtime::SimRuntime rt(5);
  ActiveFault fault(rt, pause_of("orchestrator"), 0, rt.now());
  AgentPause pause(fault);
  FaultyMessageBus bus(rt, bare_bus(rt), {});
  bus.hold_for({&pause});
  rt.run_for(12s);
  ASSERT_TRUE(bus.publish(message(rs::Topic::matching, 4, 2)));
  ASSERT_TRUE(bus.publish(message(rs::Topic::replies, 5, 2)));  // an agent's reply: not held on the way in
  Got request, reply;
  rt.spawn(receive_one(bus, rt, rs::Topic::matching, request));
  rt.spawn(receive_one(bus, rt, rs::Topic::replies, reply));
  rt.run_for(1min);
  EXPECT_EQ(request.at, kEnd);
  EXPECT_EQ(reply.at, kEnd);
  EXPECT_EQ(reply.invoice, 5u);
}

// The crash's rule: work held at the start, or sent in the window.
std::uint64_t touches(std::uint64_t at_start, std::uint64_t at_end, double probability = 1.0) {
  runtime::SimRuntime rt(5);
  ActiveFault fault(rt, pause_of("accounting", probability), 0, rt.now());
  AgentPause pause(fault);
  rt.spawn(pause.run([&](std::string_view agent) -> std::uint64_t {
    EXPECT_EQ(agent, "accounting");
    return rt.now() < kEnd ? at_start : at_end;
  }));
  rt.run_for(1min);
  return fault.touched();
}

TEST(PauseFaults, APauseTouchesOnlyAnAgentWithWork) {
  EXPECT_EQ(touches(0, 0), 0u) << "an idle agent: inconclusive";
  EXPECT_EQ(touches(3, 0), 1u);
  EXPECT_EQ(touches(0, 2), 1u);
  EXPECT_EQ(touches(3, 5), 1u) << "one touch per pause";
  EXPECT_EQ(touches(3, 5, 0.0), 0u) << "a pause drawn not to happen";
}

TEST(PauseFaults, APauseDrawnNotToHappenHoldsNothing) {
  runtime::SimRuntime rt(5);
  ActiveFault fault(rt, pause_of("validation", 0.0), 0, rt.now());
  AgentPause pause(fault);
  FaultyMessageBus bus(rt, bare_bus(rt), {});
  bus.hold_for({&pause});
  rt.run_for(12s);
  ASSERT_TRUE(bus.publish(message(rs::Topic::validation, 2, 1)));
  Got got;
  rt.spawn(receive_one(bus, rt, rs::Topic::validation, got));
  rt.run_for(1s);
  EXPECT_EQ(got.at, runtime::Instant{} + 12s);
}

}  // namespace
}  // namespace faultline::faults
