// One contract, every MessageBus: a typed test suite that each bus
// instantiates with an environment of its own (bus_test.cpp: the in-process
// bus on the sim runtime; live/redis_stream_bus_test.cpp: the Redis Streams
// bus on the live runtime, against the fixture's Redis). An environment
// gives the runtime, makes a bus with a capacity per topic, and drives the
// runtime until a condition holds:
//
//   struct MyBusEnv {
//     static constexpr const char* kName = "mine";
//     using Bus = MyBus;                                  // has published(), rejected(), redelivered()
//     runtime::Runtime& runtime();
//     std::unique_ptr<Bus> make(std::array<std::size_t, kTopicCount> capacity);
//     void settle(const std::function<bool()>& done);   // runs until done() (fails the test if never)
//     void until_waiting(Bus& bus, Topic topic);         // until spawned receivers wait on topic
//   };
//   namespace contract {  // the suite's own namespace
//   INSTANTIATE_TYPED_TEST_SUITE_P(mine, BusContract, ::testing::Types<MyBusEnv>, BusEnvNames);
//   }
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reference_system/invoice.h"
#include "reference_system/ports.h"
#include "reference_system/wire.h"
#include "runtime/runtime.h"

namespace faultline::reference_system::contract {

// A message as the system makes them, so that a bus that encodes it (the
// Redis bus) can: a request carries its invoice, a reply its step's result.
inline Message on(Topic t, std::uint64_t invoice) {
  Message m;
  m.topic = t;
  m.invoice_id = invoice;
  m.request_id = 100 + invoice;
  m.step = static_cast<std::uint32_t>(t == Topic::replies ? 0 : static_cast<std::uint32_t>(t));
  m.attempt = 1;
  if (t == Topic::replies) {
    StepReply r;
    r.status = StepStatus::ok;
    m.reply = std::make_shared<const StepReply>(r);
    return m;
  }
  Invoice inv;
  inv.id = invoice;
  inv.vendor = "V0001 Contract Supplies";
  inv.po_reference = "PO-" + std::to_string(invoice);
  inv.lines = {{"Paper", 3, 1250}};
  inv.total_cents = 3750;
  inv.currency = "EUR";
  inv.scan_quality = 0.9;
  inv.document = render_document(inv);
  auto work = std::make_shared<WorkItem>();
  work->invoice = std::make_shared<const Invoice>(std::move(inv));
  m.work = std::move(work);
  return m;
}

inline std::array<std::size_t, kTopicCount> capacity_of(std::size_t n) { return {n, n, n, n, n, n}; }

template <class Env>
class BusContract : public ::testing::Test {
 protected:
  Env env;
};
TYPED_TEST_SUITE_P(BusContract);

class BusEnvNames {
 public:
  template <class Env>
  static std::string GetName(int) {
    return Env::kName;
  }
};

TYPED_TEST_P(BusContract, FullTopicRefusesAndCounts) {
  auto bus = this->env.make(capacity_of(2));
  EXPECT_TRUE(bus->publish(on(Topic::ocr, 1)));
  EXPECT_TRUE(bus->publish(on(Topic::ocr, 2)));
  EXPECT_FALSE(bus->publish(on(Topic::ocr, 3)));
  EXPECT_TRUE(bus->publish(on(Topic::matching, 3)));  // topics are separate
  EXPECT_EQ(bus->depth(Topic::ocr), 2u);
  EXPECT_EQ(bus->rejected(), 1u);
  EXPECT_EQ(bus->published(), 3u);
}

TYPED_TEST_P(BusContract, UnackedMessagesAreReclaimedOldestFirst) {
  auto bus = this->env.make(capacity_of(8));
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(bus->publish(on(Topic::ocr, i)));
  std::vector<std::uint64_t> got;
  this->env.runtime().spawn([](MessageBus& bus, std::vector<std::uint64_t>& got) -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      auto m = co_await bus.receive(Topic::ocr);
      got.push_back(m->invoice_id);
      if (m->invoice_id == 2) bus.ack(Topic::ocr, m->delivery_id);  // only 2 is done
    }
  }(*bus, got));
  this->env.settle([&] { return got.size() == 3; });
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(bus->pending(Topic::ocr), 2u);
  EXPECT_EQ(bus->reclaim(Topic::ocr), 2u);
  EXPECT_EQ(bus->pending(Topic::ocr), 0u);
  got.clear();
  this->env.runtime().spawn([](MessageBus& bus, std::vector<std::uint64_t>& got) -> Task<void> {
    for (int i = 0; i < 2; ++i) got.push_back((co_await bus.receive(Topic::ocr))->invoice_id);
  }(*bus, got));
  this->env.settle([&] { return got.size() == 2; });
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(bus->redelivered(), 2u);
  EXPECT_EQ(bus->pending(Topic::ocr), 2u);
}

TYPED_TEST_P(BusContract, AClosedTopicAnswersAtOnceWithNothing) {
  auto bus = this->env.make(capacity_of(8));
  bus->close();
  auto closed = bus->receive(Topic::replies);
  ASSERT_TRUE(closed.done());
  EXPECT_FALSE(closed.result().has_value());
  EXPECT_FALSE(bus->publish(on(Topic::ocr, 1)));  // nothing goes out on a closed bus
}

TYPED_TEST_P(BusContract, AReceivedMessageSaysWhatWasPublishedUntilAcked) {
  auto bus = this->env.make(capacity_of(8));
  const Message request = on(Topic::validation, 42);
  const Message reply = on(Topic::replies, 42);
  ASSERT_TRUE(bus->publish(request));
  ASSERT_TRUE(bus->publish(reply));
  std::vector<Message> got;
  this->env.runtime().spawn([](MessageBus& bus, std::vector<Message>& got) -> Task<void> {
    got.push_back(*co_await bus.receive(Topic::validation));
    got.push_back(*co_await bus.receive(Topic::replies));
  }(*bus, got));
  this->env.settle([&] { return got.size() == 2; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(equivalent(got[0], request));
  EXPECT_TRUE(equivalent(got[1], reply));
  EXPECT_NE(got[0].delivery_id, 0u);
  EXPECT_NE(got[1].delivery_id, 0u);
  EXPECT_EQ(bus->pending(Topic::validation), 1u);
  bus->ack(Topic::validation, got[0].delivery_id);
  bus->ack(Topic::replies, got[1].delivery_id);
  EXPECT_EQ(bus->pending(Topic::validation), 0u);
  EXPECT_EQ(bus->pending(Topic::replies), 0u);
  // Acked is done: a reclaim brings nothing back.
  EXPECT_EQ(bus->reclaim(Topic::validation), 0u);
  ASSERT_TRUE(bus->publish(on(Topic::validation, 43)));
  std::optional<Message> next;
  this->env.runtime().spawn([](MessageBus& bus, std::optional<Message>& next) -> Task<void> {
    next = co_await bus.receive(Topic::validation);
  }(*bus, next));
  this->env.settle([&] { return next.has_value(); });
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->invoice_id, 43u);
  EXPECT_EQ(bus->redelivered(), 0u);
}

TYPED_TEST_P(BusContract, CloseEndsAWaitingReceiveWithNothing) {
  auto bus = this->env.make(capacity_of(8));
  std::optional<std::optional<Message>> got;
  this->env.runtime().spawn([](MessageBus& bus, std::optional<std::optional<Message>>& got) -> Task<void> {
    got.emplace(co_await bus.receive(Topic::replies));
  }(*bus, got));
  this->env.until_waiting(*bus, Topic::replies);
  EXPECT_FALSE(got.has_value());  // it waits: nothing was published
  bus->close();
  this->env.settle([&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
}

REGISTER_TYPED_TEST_SUITE_P(BusContract, FullTopicRefusesAndCounts, UnackedMessagesAreReclaimedOldestFirst,
                            AClosedTopicAnswersAtOnceWithNothing, AReceivedMessageSaysWhatWasPublishedUntilAcked,
                            CloseEndsAWaitingReceiveWithNothing);

}  // namespace faultline::reference_system::contract
