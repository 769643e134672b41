// The in-process bus (bus.h).
#include "reference_system/bus.h"

#include <algorithm>

#include "reference_system/events.h"

namespace faultline::reference_system {

std::string_view to_string(Topic t) noexcept {
  switch (t) {
    case Topic::ocr: return "topic/ocr";
    case Topic::validation: return "topic/validation";
    case Topic::matching: return "topic/matching";
    case Topic::accounting: return "topic/accounting";
    case Topic::archive: return "topic/archive";
    case Topic::replies: return "topic/replies";
  }
  return "topic/?";
}

InProcessBus::InProcessBus(runtime::Runtime& rt, std::array<std::size_t, kTopicCount> capacity) : rt_(&rt) {
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    queues_[i].channel = std::make_unique<runtime::Channel<Message>>(rt, std::max<std::size_t>(capacity[i], 1));
    queues_[i].source = rt.log().intern(to_string(static_cast<Topic>(i)));
  }
}

bool InProcessBus::publish(Message message) {
  Queue& q = queues_[index(message.topic)];
  message.delivery_id = next_delivery_++;
  const auto invoice = message.invoice_id;
  if (!q.channel->try_send(message)) {
    ++rejected_;
    rt_->log().record(q.source, invoice, system_events::MessageRejected{q.channel->capacity()});
    return false;
  }
  ++published_;
  const std::size_t depth = q.channel->size() + q.redeliver.size();
  q.max_depth = std::max(q.max_depth, depth);
  return true;
}

Task<std::optional<Message>> InProcessBus::receive(Topic topic) {
  Queue& q = queues_[index(topic)];
  NextAwaiter now(*this, q);
  if (now.await_ready()) return Task<std::optional<Message>>::ready_in_place(now.await_resume());
  return wait_for_next(q);
}

Task<std::optional<Message>> InProcessBus::wait_for_next(Queue& q) { co_return co_await NextAwaiter(*this, q); }

void InProcessBus::ack(Topic topic, std::uint64_t delivery_id) {
  auto& pending = queues_[index(topic)].pending;
  for (auto& m : pending) {
    if (m.delivery_id != delivery_id) continue;
    m = std::move(pending.back());
    pending.pop_back();
    return;
  }
}

std::size_t InProcessBus::reclaim(Topic topic) {
  Queue& q = queues_[index(topic)];
  std::sort(q.pending.begin(), q.pending.end(),
            [](const Message& a, const Message& b) { return a.delivery_id > b.delivery_id; });
  for (auto& m : q.pending) {
    rt_->log().record(q.source, m.invoice_id, system_events::MessageRedelivered{m.delivery_id});
    q.redeliver.push_front(std::move(m));
    ++redelivered_;
  }
  const std::size_t n = q.pending.size();
  q.pending.clear();
  return n;
}

std::size_t InProcessBus::depth(Topic topic) const {
  const Queue& q = queues_[index(topic)];
  return q.channel->size() + q.redeliver.size();
}

std::size_t InProcessBus::pending(Topic topic) const { return queues_[index(topic)].pending.size(); }

void InProcessBus::close() {
  for (auto& q : queues_) q.channel->close();
}

}  // namespace faultline::reference_system
