// Faults by decoration: each class here wraps one port of the reference
// system and injects the scheduled faults aimed at it, so business code never
// asks "is a fault on?". The harness builds the wrappers around the
// simulated services and hands the wrappers to the system. A wrapper shares
// ownership of the port it wraps, so a chain of wrappers lives as long as
// whoever holds its outermost link.
//
// Fault model per port:
//   service ports (OCR engines, PO database, budget, ledger, notifier)
//     latency         the call is held for delay (+ uniform jitter) before it
//                     reaches the service
//     hang            the call never answers (it sleeps far past any timeout;
//                     only a caller's timeout frees it)
//     error           the call fails at once with the fault's error class
//                     (rate_limited carries a 1 s retry-after)
//     outage          the service is down: every call struck fails at once
//                     with a transient "unavailable" error
//     invalid_output  (OCR engines) the engine answers, with a refusal or
//                     garbage instead of a document
//   checkpoint store  checkpoint_outage: save, load and remove fail transient
//   message bus       duplicate_delivery: a published message is published
//                     `copies` more times; reordering: a published message is
//                     held back up to `window` so later ones overtake it;
//                     bus_partition: a received message is not handed to its
//                     consumer until the partition heals; a paused agent's
//                     traffic (pause_faults.h, hold_for): what it receives
//                     and what it sends in the window waits for its end
//
// Every wrapper consults its faults in schedule order; the first one that
// strikes a call decides it (a latency strike delays and then lets the next
// faults have their say).
//
//   std::vector<ActiveFault*> mine = ...;            // faults aimed at "ledger"
//   auto ledger = std::make_shared<FaultyLedger>(rt, inner_ledger, mine);  // inner_ledger: shared_ptr<Ledger>
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "faults/injector.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"

namespace faultline::faults {

namespace rs = reference_system;
class AgentPause;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

// How long a hung call sleeps: beyond any scenario, so only a timeout ends it.
inline constexpr runtime::Duration kHangDuration = std::chrono::hours(24 * 365);

// What the service-port faults decided for one call.
struct ServiceVerdict {
  runtime::Duration delay{};
  std::optional<Failure> failure;  // fail instead of calling the service
  bool hang = false;
  std::optional<InvalidOutput> invalid;  // OCR engines only
};

// The faults aimed at one service, applied in schedule order.
class ServiceFaults {
 public:
  ServiceFaults(runtime::Runtime& rt, std::vector<ActiveFault*> faults) : rt_(&rt), faults_(std::move(faults)) {}
  ServiceVerdict decide(std::uint64_t invoice_id);
  // Sleeps for the verdict's delay / hang; returns the failure to give back, if any.
  Task<std::optional<Failure>> apply(const ServiceVerdict& verdict);
  runtime::Runtime& rt() noexcept { return *rt_; }
  bool empty() const noexcept { return faults_.empty(); }
  ActiveFault* invalid_output_fault() const noexcept;

 private:
  runtime::Runtime* rt_;
  std::vector<ActiveFault*> faults_;
};

class FaultyOcrEngine final : public rs::OcrEngine {
 public:
  FaultyOcrEngine(runtime::Runtime& rt, std::shared_ptr<rs::OcrEngine> inner, std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(rt, std::move(faults)) {}
  Task<Outcome<std::string>> recognize(rs::OcrRequest request) override;

 private:
  std::shared_ptr<rs::OcrEngine> inner_;
  ServiceFaults faults_;
};

class FaultyPoDatabase final : public rs::PoDatabase {
 public:
  FaultyPoDatabase(runtime::Runtime& rt, std::shared_ptr<rs::PoDatabase> inner, std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(rt, std::move(faults)) {}
  Task<Outcome<std::optional<rs::PurchaseOrder>>> lookup(std::uint64_t invoice_id, std::string reference) override;
  Task<Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t invoice_id, std::string vendor,
                                                       std::int64_t amount_cents) override;

 private:
  std::shared_ptr<rs::PoDatabase> inner_;
  ServiceFaults faults_;
};

class FaultyBudgetService final : public rs::BudgetService {
 public:
  FaultyBudgetService(runtime::Runtime& rt, std::shared_ptr<rs::BudgetService> inner, std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(rt, std::move(faults)) {}
  Task<Outcome<>> reserve(std::uint64_t invoice_id, std::int64_t amount_cents) override;
  Task<Outcome<>> release(std::uint64_t invoice_id) override;

 private:
  std::shared_ptr<rs::BudgetService> inner_;
  ServiceFaults faults_;
};

class FaultyLedger final : public rs::Ledger {
 public:
  FaultyLedger(runtime::Runtime& rt, std::shared_ptr<rs::Ledger> inner, std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(rt, std::move(faults)) {}
  Task<Outcome<rs::LedgerReceipt>> post(rs::LedgerPost entry) override;
  Task<Outcome<>> reverse(std::uint64_t invoice_id) override;

 private:
  std::shared_ptr<rs::Ledger> inner_;
  ServiceFaults faults_;
};

class FaultyNotifier final : public rs::Notifier {
 public:
  FaultyNotifier(runtime::Runtime& rt, std::shared_ptr<rs::Notifier> inner, std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(rt, std::move(faults)) {}
  Task<Outcome<>> notify(rs::Notice notice) override;

 private:
  std::shared_ptr<rs::Notifier> inner_;
  ServiceFaults faults_;
};

class FaultyCheckpointStore final : public resilience::CheckpointStore {
 public:
  // Takes the runtime like every other decorator, so one call wires any of them.
  FaultyCheckpointStore(runtime::Runtime& /*rt*/, std::shared_ptr<resilience::CheckpointStore> inner,
                        std::vector<ActiveFault*> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}
  std::string_view kind() const noexcept override { return inner_->kind(); }
  Task<Outcome<std::uint64_t>> save(std::string workflow_id, std::uint64_t expected_version, std::string step,
                                    std::string state) override;
  Task<Outcome<std::optional<resilience::Checkpoint>>> load(std::string workflow_id) override;
  Task<Outcome<>> remove(std::string workflow_id, std::uint64_t expected_version) override;
  Task<Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix, std::size_t limit) override;

 private:
  bool down(const std::string& workflow_id);
  std::shared_ptr<resilience::CheckpointStore> inner_;
  std::vector<ActiveFault*> faults_;
};

class FaultyMessageBus final : public rs::MessageBus {
 public:
  FaultyMessageBus(runtime::Runtime& rt, std::shared_ptr<rs::MessageBus> inner, std::vector<ActiveFault*> faults);
  [[nodiscard]] bool publish(rs::Message message) override;
  Task<std::optional<rs::Message>> receive(rs::Topic topic) override;
  void ack(rs::Topic topic, std::uint64_t delivery_id) override { inner_->ack(topic, delivery_id); }
  std::size_t reclaim(rs::Topic topic) override { return inner_->reclaim(topic); }
  std::size_t depth(rs::Topic topic) const override { return inner_->depth(topic); }
  std::size_t pending(rs::Topic topic) const override { return inner_->pending(topic); }
  void close() override;

  // Pauses of agents (aimed at the agents, not at the bus): the bus holds
  // what each paused agent receives or sends while it is frozen. Each
  // pause outlives the bus's use.
  void hold_for(std::vector<const AgentPause*> pauses) { pause_ = std::move(pauses); }

  // Held-back messages not yet handed to the bus, and those the bus refused
  // when they were finally published (its queue was full for too long).
  std::size_t held() const noexcept { return held_; }
  std::uint64_t held_dropped() const noexcept { return held_dropped_; }
  // Publishes of the injector's own (a duplicate's copies, a held-back
  // message published late) that a full queue refused: the system never
  // made them, so its metrics do not count them.
  std::uint64_t own_publishes_refused() const noexcept { return own_refused_; }

 private:
  Task<void> publish_later(rs::Message message, runtime::Duration delay, ActiveFault* fault);
  // The first partition striking `message`, if it has not healed yet: when it will.
  std::optional<runtime::Instant> partition_heal(const rs::Message& message);
  // Until when a partition or a pause of its consumer holds `message`, received on `topic`.
  std::optional<runtime::Instant> hold_until(const rs::Message& message, rs::Topic topic);
  // The pause freezing the agent that publishes `message` now, if any.
  const AgentPause* frozen_sender(const rs::Message& message);
  // receive() when the inner bus has to wait, or a partition or pause holds the message.
  Task<std::optional<rs::Message>> receive_later(Task<std::optional<rs::Message>> inner, rs::Topic topic);
  Task<std::optional<rs::Message>> deliver_at(std::optional<rs::Message> message, runtime::Instant heal);

  runtime::Runtime* rt_;
  std::shared_ptr<rs::MessageBus> inner_;
  std::vector<ActiveFault*> duplicate_;
  std::vector<ActiveFault*> reorder_;
  std::vector<ActiveFault*> partition_;
  std::vector<const AgentPause*> pause_;
  // Which topic's agent answers step n (learnt from the requests, when a
  // pause needs to know who sent a reply).
  std::unordered_map<std::uint32_t, rs::Topic> step_topic_;
  std::size_t held_ = 0;
  std::uint64_t held_dropped_ = 0;
  std::uint64_t own_refused_ = 0;
  bool closed_ = false;
};

// The text a refusing model gives, and garbage for a seed.
std::string refusal_text(std::size_t index);
std::string garbage_text(runtime::Rng& rng);

}  // namespace faultline::faults
