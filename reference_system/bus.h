// The in-process message bus: one bounded FIFO per topic on runtime
// channels, with at-least-once delivery the way a Redis Streams consumer
// group gives it. A received message stays pending until acked; a consumer
// that crashes leaves its pending messages behind, and reclaim() puts them
// back at the head of the topic for the restarted consumer. A publish to a
// full topic is refused (counted, and recorded as message_rejected), never
// blocks: the caller decides whether to retry.
#pragma once

#include <array>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "reference_system/ports.h"
#include "runtime/runtime.h"

namespace faultline::reference_system {

class InProcessBus final : public MessageBus {
 public:
  // `capacity[t]` bounds topic t's queue (pending messages not included).
  InProcessBus(runtime::Runtime& rt, std::array<std::size_t, kTopicCount> capacity);

  [[nodiscard]] bool publish(Message message) override;
  // A message already waiting (or a closed topic) is answered with a ready
  // task, without a coroutine frame: on a busy topic that is nearly every
  // receive, so the hot path costs the same whether or not the bus is
  // decorated. Only a consumer that has to wait gets a frame.
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
  struct Queue;
  // One receive from a queue, as an awaitable: ready when a message waits.
  class NextAwaiter;
  Task<std::optional<Message>> wait_for_next(Queue& q);

  struct Queue {
    std::unique_ptr<runtime::Channel<Message>> channel;
    std::deque<Message> redeliver;  // reclaimed messages, served before the channel
    // Received, not yet acked: at most one per busy consumer, so a short
    // vector searched linearly beats a node-based map on the hot path.
    std::vector<Message> pending;
    std::size_t max_depth = 0;
    std::uint32_t source = 0;
  };

  // Marks a received message pending until acked.
  void received(Queue& q, const std::optional<Message>& m) {
    if (m) q.pending.push_back(*m);
  }

  runtime::Runtime* rt_;
  std::array<Queue, kTopicCount> queues_;
  std::uint64_t next_delivery_ = 1;
  std::uint64_t published_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t redelivered_ = 0;
};

class InProcessBus::NextAwaiter {
 public:
  NextAwaiter(InProcessBus& bus, Queue& q) noexcept : bus_(&bus), q_(&q) {}
  NextAwaiter(const NextAwaiter&) = delete;
  NextAwaiter& operator=(const NextAwaiter&) = delete;

  bool await_ready() {
    if (!q_->redeliver.empty()) {
      redelivered_.emplace(std::move(q_->redeliver.front()));
      q_->redeliver.pop_front();
      return true;
    }
    // If the consumer is destroyed while waiting (a crash), the channel's
    // awaiter puts back a message it was handed: nothing is lost.
    wait_.emplace(*q_->channel);
    return wait_->await_ready();
  }
  void await_suspend(std::coroutine_handle<> h) noexcept { wait_->await_suspend(h); }
  std::optional<Message> await_resume() {
    std::optional<Message> m = redelivered_ ? std::move(redelivered_) : wait_->await_resume();
    bus_->received(*q_, m);
    return m;
  }

 private:
  InProcessBus* bus_;
  Queue* q_;
  std::optional<Message> redelivered_;
  std::optional<runtime::Channel<Message>::ReceiveAwaiter> wait_;
};

}  // namespace faultline::reference_system
