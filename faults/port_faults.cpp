#include "faults/port_faults.h"

#include <array>

#include "faults/pause_faults.h"

namespace faultline::faults {

namespace {

constexpr std::array<std::string_view, 3> kRefusals = {
    "I'm sorry, but I can't help with extracting this document.",
    "As an AI model I am unable to process financial documents.",
    "I cannot comply with this request."};

Failure injected(resilience::ErrorClass c, std::string message) {
  Failure f{c, std::move(message), runtime::Duration::zero()};
  if (c == resilience::ErrorClass::rate_limited) f.retry_after = std::chrono::seconds(1);
  return f;
}

}  // namespace

std::string refusal_text(std::size_t index) { return std::string(kRefusals[index % kRefusals.size()]); }

std::string garbage_text(runtime::Rng& rng) {
  std::string out;
  const auto n = rng.uniform_int(8, 96);
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(static_cast<char>(rng.uniform_int(0, 255)));
  return out;
}

ServiceVerdict ServiceFaults::decide(std::uint64_t invoice_id) {
  ServiceVerdict v;
  for (ActiveFault* f : faults_) {
    const auto& spec = f->spec();
    switch (spec.kind) {
      case FaultKind::latency: {
        if (!f->active()) break;
        auto delay = spec.delay;
        if (spec.delay_jitter > runtime::Duration::zero()) {
          delay += runtime::from_seconds(f->rng().uniform(0.0, runtime::to_seconds(spec.delay_jitter)));
        }
        if (f->strikes(invoice_id, delay.count())) v.delay += delay;
        break;
      }
      case FaultKind::hang:
        if (f->strikes(invoice_id)) {
          v.hang = true;
          return v;
        }
        break;
      case FaultKind::error:
        if (f->strikes(invoice_id, static_cast<std::int64_t>(spec.error_class))) {
          v.failure = injected(spec.error_class, "injected " + std::string(resilience::to_string(spec.error_class)) +
                                                     " error (" + spec.label + ")");
          return v;
        }
        break;
      case FaultKind::outage:
        if (f->strikes(invoice_id)) {
          v.failure = injected(resilience::ErrorClass::transient, "service unavailable (" + spec.label + ")");
          return v;
        }
        break;
      case FaultKind::invalid_output:
        if (!f->active()) break;
        if (f->strikes(invoice_id)) {
          const auto& modes = spec.outputs;
          v.invalid = modes[f->rng().uniform_int(0, modes.size() - 1)];
          return v;
        }
        break;
      default: break;
    }
  }
  return v;
}

ActiveFault* ServiceFaults::invalid_output_fault() const noexcept {
  for (ActiveFault* f : faults_) {
    if (f->spec().kind == FaultKind::invalid_output && f->active()) return f;
  }
  return nullptr;
}

Task<std::optional<Failure>> ServiceFaults::apply(const ServiceVerdict& verdict) {
  if (verdict.delay > runtime::Duration::zero()) co_await rt_->sleep(verdict.delay);
  if (verdict.hang) {
    co_await rt_->sleep(kHangDuration);
    co_return injected(resilience::ErrorClass::timeout, "no answer (hang)");
  }
  co_return verdict.failure;
}

Task<Outcome<std::string>> FaultyOcrEngine::recognize(rs::OcrRequest request) {
  const auto verdict = faults_.decide(request.invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  if (verdict.invalid) {
    // The engine really works on the call (its latency and its own
    // failures stand) and then answers with something that is no document.
    auto real = co_await inner_->recognize(request);
    if (!real) co_return std::move(real).failure();
    ActiveFault* f = faults_.invalid_output_fault();
    if (*verdict.invalid == InvalidOutput::refusal || f == nullptr) {
      co_return refusal_text(static_cast<std::size_t>(request.invoice_id));
    }
    co_return garbage_text(f->rng());
  }
  co_return co_await inner_->recognize(request);
}

Task<Outcome<std::optional<rs::PurchaseOrder>>> FaultyPoDatabase::lookup(std::uint64_t invoice_id,
                                                                          std::string reference) {
  const auto verdict = faults_.decide(invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->lookup(invoice_id, std::move(reference));
}

Task<Outcome<std::vector<std::uint64_t>>> FaultyPoDatabase::candidates(std::uint64_t invoice_id, std::string vendor,
                                                                       std::int64_t amount_cents) {
  const auto verdict = faults_.decide(invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->candidates(invoice_id, std::move(vendor), amount_cents);
}

Task<Outcome<>> FaultyBudgetService::reserve(std::uint64_t invoice_id, std::int64_t amount_cents) {
  const auto verdict = faults_.decide(invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->reserve(invoice_id, amount_cents);
}

Task<Outcome<>> FaultyBudgetService::release(std::uint64_t invoice_id) {
  const auto verdict = faults_.decide(invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->release(invoice_id);
}

Task<Outcome<rs::LedgerReceipt>> FaultyLedger::post(rs::LedgerPost entry) {
  const auto verdict = faults_.decide(entry.invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->post(std::move(entry));
}

Task<Outcome<>> FaultyLedger::reverse(std::uint64_t invoice_id) {
  const auto verdict = faults_.decide(invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->reverse(invoice_id);
}

Task<Outcome<>> FaultyNotifier::notify(rs::Notice notice) {
  const auto verdict = faults_.decide(notice.invoice_id);
  if (auto failure = co_await faults_.apply(verdict)) co_return std::move(*failure);
  co_return co_await inner_->notify(std::move(notice));
}

bool FaultyCheckpointStore::down(const std::string& workflow_id) {
  // Workflow ids end in the invoice id where the system follows the
  // "<prefix><id>" convention; the subject is only for the event log.
  std::uint64_t subject = 0;
  for (char c : workflow_id) {
    if (c >= '0' && c <= '9') subject = subject * 10 + static_cast<std::uint64_t>(c - '0');
    else subject = 0;
  }
  for (ActiveFault* f : faults_) {
    if (f->strikes(subject)) return true;
  }
  return false;
}

Task<Outcome<std::uint64_t>> FaultyCheckpointStore::save(std::string workflow_id, std::uint64_t expected_version,
                                                         std::string step, std::string state) {
  if (down(workflow_id)) co_return injected(resilience::ErrorClass::transient, "checkpoint store unavailable");
  co_return co_await inner_->save(std::move(workflow_id), expected_version, std::move(step), std::move(state));
}

Task<Outcome<std::optional<resilience::Checkpoint>>> FaultyCheckpointStore::load(std::string workflow_id) {
  if (down(workflow_id)) co_return injected(resilience::ErrorClass::transient, "checkpoint store unavailable");
  co_return co_await inner_->load(std::move(workflow_id));
}

Task<Outcome<>> FaultyCheckpointStore::remove(std::string workflow_id, std::uint64_t expected_version) {
  if (down(workflow_id)) co_return injected(resilience::ErrorClass::transient, "checkpoint store unavailable");
  co_return co_await inner_->remove(std::move(workflow_id), expected_version);
}

Task<Outcome<std::vector<resilience::Checkpoint>>> FaultyCheckpointStore::list(std::string prefix,
                                                                              std::size_t limit) {
  if (down(prefix)) co_return injected(resilience::ErrorClass::transient, "checkpoint store unavailable");
  co_return co_await inner_->list(std::move(prefix), limit);
}

FaultyMessageBus::FaultyMessageBus(runtime::Runtime& rt, std::shared_ptr<rs::MessageBus> inner,
                                   std::vector<ActiveFault*> faults)
    : rt_(&rt), inner_(std::move(inner)) {
  for (ActiveFault* f : faults) {
    switch (f->spec().kind) {
      case FaultKind::duplicate_delivery: duplicate_.push_back(f); break;
      case FaultKind::reordering: reorder_.push_back(f); break;
      case FaultKind::bus_partition: partition_.push_back(f); break;
      default: break;
    }
  }
}

bool FaultyMessageBus::publish(rs::Message message) {
  if (closed_) return inner_->publish(std::move(message));
  if (!pause_.empty()) {
    // A frozen agent sends nothing until its window ends: the message goes
    // out then (told it went through, as a process's write to a socket is).
    if (const AgentPause* p = frozen_sender(message)) {
      const ActiveFault& f = p->fault();
      const auto delay = p->resume_at() - rt_->now();
      ++held_;
      rt_->log().record(f.source(), message.invoice_id, fault_events::HeldBack{f.index(), delay});
      rt_->spawn(publish_later(std::move(message), delay, &p->fault()));
      return true;
    }
  }
  for (ActiveFault* f : reorder_) {
    if (!f->active()) continue;
    const auto delay = runtime::from_seconds(f->rng().uniform(0.0, runtime::to_seconds(f->spec().reorder_window)));
    if (f->strikes(message.invoice_id, delay.count())) {
      ++held_;
      rt_->log().record(f->source(), message.invoice_id, fault_events::HeldBack{f->index(), delay});
      rt_->spawn(publish_later(std::move(message), delay, f));
      return true;
    }
  }
  std::uint32_t extra = 0;
  ActiveFault* duplicating = nullptr;
  for (ActiveFault* f : duplicate_) {
    if (f->strikes(message.invoice_id)) {
      extra = f->spec().copies;
      duplicating = f;
      break;
    }
  }
  for (std::uint32_t i = 0; i < extra; ++i) {
    rs::Message copy = message;
    if (inner_->publish(std::move(copy))) {
      rt_->log().record(duplicating->source(), message.invoice_id,
                        fault_events::Duplicated{duplicating->index(), i + 1});
    } else {
      ++own_refused_;
    }
  }
  return inner_->publish(std::move(message));
}

Task<void> FaultyMessageBus::publish_later(rs::Message message, runtime::Duration delay, ActiveFault* fault) {
  co_await rt_->sleep(delay);
  // A held message waits for room rather than being dropped behind its
  // publisher's back: the publisher was told it went through.
  constexpr int kMaxWaits = 6000;
  for (int i = 0; i < kMaxWaits && !closed_; ++i) {
    if (inner_->publish(message)) {
      --held_;
      co_return;
    }
    ++own_refused_;
    co_await rt_->sleep(std::chrono::milliseconds(100));
  }
  --held_;
  ++held_dropped_;
  rt_->log().record(fault->source(), message.invoice_id,
                    fault_events::HeldBack{fault->index(), fault_events::kHeldAndDropped});
}

Task<std::optional<rs::Message>> FaultyMessageBus::receive(rs::Topic topic) {
  // Without a partition or a pause nothing happens on the way out: the
  // inner bus's own task is the answer.
  if (partition_.empty() && pause_.empty()) return inner_->receive(topic);
  Task<std::optional<rs::Message>> inner = inner_->receive(topic);
  if (!inner.done()) return receive_later(std::move(inner), topic);
  std::optional<rs::Message> message = inner.result();
  if (message) {
    if (const auto until = hold_until(*message, topic)) return deliver_at(std::move(message), *until);
  }
  return Task<std::optional<rs::Message>>::ready_in_place(std::move(message));
}

std::optional<runtime::Instant> FaultyMessageBus::hold_until(const rs::Message& message, rs::Topic topic) {
  std::optional<runtime::Instant> until = partition_.empty() ? std::nullopt : partition_heal(message);
  for (const AgentPause* p : pause_) {
    if (p->frozen() && p->input() == topic && (!until || *until < p->resume_at())) until = p->resume_at();
  }
  return until;
}

const AgentPause* FaultyMessageBus::frozen_sender(const rs::Message& message) {
  if (message.topic != rs::Topic::replies) {
    // A request: the orchestrator sent it, to the agent that answers its step.
    step_topic_[message.step] = message.topic;
    for (const AgentPause* p : pause_) {
      if (p->orchestrator() && p->frozen()) return p;
    }
    return nullptr;
  }
  const auto it = step_topic_.find(message.step);
  if (it == step_topic_.end()) return nullptr;
  for (const AgentPause* p : pause_) {
    if (!p->orchestrator() && p->input() == it->second && p->frozen()) return p;
  }
  return nullptr;
}

std::optional<runtime::Instant> FaultyMessageBus::partition_heal(const rs::Message& message) {
  for (ActiveFault* f : partition_) {
    if (f->strikes(message.invoice_id)) {
      const auto heal = f->window_end();
      if (rt_->now() < heal) return heal;
      break;
    }
  }
  return std::nullopt;
}

Task<std::optional<rs::Message>> FaultyMessageBus::receive_later(Task<std::optional<rs::Message>> inner,
                                                                 rs::Topic topic) {
  auto message = co_await inner;
  if (!message) co_return message;
  if (const auto until = hold_until(*message, topic)) co_await rt_->sleep_until(*until);
  co_return message;
}

Task<std::optional<rs::Message>> FaultyMessageBus::deliver_at(std::optional<rs::Message> message,
                                                              runtime::Instant heal) {
  co_await rt_->sleep_until(heal);
  co_return message;
}

void FaultyMessageBus::close() {
  closed_ = true;
  inner_->close();
}

}  // namespace faultline::faults
