// The in-process bus: the bus contract (bus_contract.h) on the sim runtime,
// and what only a bus in the same process can promise.
#include <gtest/gtest.h>

#include <functional>

#include "reference_system/bus.h"
#include "runtime/sim_runtime.h"
#include "tests/reference_system/bus_contract.h"

namespace faultline::reference_system {
namespace {

using contract::on;

struct InProcessBusEnv {
  static constexpr const char* kName = "in_process";
  using Bus = InProcessBus;
  runtime::SimRuntime rt{1};

  runtime::Runtime& runtime() { return rt; }
  std::unique_ptr<Bus> make(std::array<std::size_t, kTopicCount> capacity) {
    return std::make_unique<InProcessBus>(rt, capacity);
  }
  // The sim runs until nothing can make progress.
  void settle(const std::function<bool()>& done) {
    rt.run();
    EXPECT_TRUE(done()) << "the simulation ran dry first";
  }
  void until_waiting(Bus&, Topic) { rt.run(); }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(in_process, BusContract, ::testing::Types<InProcessBusEnv>, BusEnvNames);
}  // namespace contract

namespace {

// A message already waiting is handed over by a task that is finished when
// receive() returns: no coroutine frame, on the path every consumer takes.
TEST(Bus, AWaitingMessageIsReceivedWithoutWaiting) {
  runtime::SimRuntime rt(1);
  InProcessBus bus(rt, {8, 8, 8, 8, 8, 8});
  ASSERT_TRUE(bus.publish(on(Topic::ocr, 4)));
  auto ready = bus.receive(Topic::ocr);
  ASSERT_TRUE(ready.done());
  const std::optional<Message> m = ready.result();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->invoice_id, 4u);
  EXPECT_EQ(bus.pending(Topic::ocr), 1u);  // pending until acked, as on the waiting path
  auto waits = bus.receive(Topic::ocr);
  EXPECT_FALSE(waits.done());  // nothing queued: this one has to wait
}

}  // namespace
}  // namespace faultline::reference_system
