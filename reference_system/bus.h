// The in-process message bus: one bounded FIFO per topic on runtime
// channels, with at-least-once delivery the way a Redis Streams consumer
// group gives it. A received message stays pending until acked; a consumer
// that crashes leaves its pending messages behind, and reclaim() puts them
// back at the head of the topic for the restarted consumer. A publish to a
// full topic is refused (counted, and recorded as message_rejected), never
// blocks: the caller decides whether to retry.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "reference_system/ports.h"
#include "runtime/runtime.h"

namespace faultline::reference_system {

class InProcessBus final : public MessageBus {
 public:
  // `capacity[t]` bounds topic t's queue (pending messages not included).
  InProcessBus(runtime::Runtime& rt, std::array<std::size_t, kTopicCount> capacity);

  [[nodiscard]] bool publish(Message message) override;
  Task<std::optional<Message>> receive(Topic topic) override;
  void ack(Topic topic, std::uint64_t delivery_id) override;
  std::size_t reclaim(Topic topic) override;
  std::size_t depth(Topic topic) const override;
  std::size_t pending(Topic topic) const override;
  void close() override;

  std::uint64_t published() const noexcept { return published_; }
  std::uint64_t rejected() const noexcept { return rejected_; }
  std::uint64_t redelivered() const noexcept { return redelivered_; }
  std::size_t max_depth(Topic topic) const { return queues_[index(topic)].max_depth; }

 private:
  static std::size_t index(Topic t) noexcept { return static_cast<std::size_t>(t); }
  struct Queue {
    std::unique_ptr<runtime::Channel<Message>> channel;
    std::deque<Message> redeliver;  // reclaimed messages, served before the channel
    // Received, not yet acked: at most one per busy consumer, so a short
    // vector searched linearly beats a node-based map on the hot path.
    std::vector<Message> pending;
    std::size_t max_depth = 0;
    std::uint32_t source = 0;
  };

  runtime::Runtime* rt_;
  std::array<Queue, kTopicCount> queues_;
  std::uint64_t next_delivery_ = 1;
  std::uint64_t published_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t redelivered_ = 0;
};

}  // namespace faultline::reference_system
