// The event log: typed, time-stamped facts appended by every layer (a call
// attempted, a retry scheduled, a breaker opened, an invoice posted) and read
// back by the invariant checkers. An event is a fixed 40-byte record so that
// appending is a store into a vector, and the log's digest pins a run.
//
// Kinds are small integers in ranges owned by the layer that defines them, so
// the bottom layer never names what the layers above it record:
//   0x0000-0x00ff runtime   0x0100-0x01ff resilience   0x0200-0x02ff reference_system
//   0x0300-0x03ff faults    0x0400-0x04ff harness
// Each layer names its kinds in an enum of its own (runtime::RuntimeEvent,
// resilience::PatternEvent, reference_system::SystemEvent, faults::FaultEvent,
// harness::HarnessEvent) and records with `log.record(SystemEvent::x, source,
// subject, a, b)`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/time.h"

namespace faultline::runtime {

class Runtime;

struct Event {
  Instant at;
  std::uint16_t kind = 0;
  std::uint16_t detail = 0;   // a small enum of the kind's own (error class, state)
  std::uint32_t source = 0;   // an interned name: agent, service, fault
  std::uint64_t subject = 0;  // what it concerns: usually an invoice id
  std::int64_t a = 0;         // kind-specific values (attempt number, delay in ns, ...)
  std::int64_t b = 0;
};

enum class RuntimeEvent : std::uint16_t {
  task_spawned = 0x0001,
  task_cancelled = 0x0002,
  task_failed = 0x0003,
  user = 0x00f0,  // free for tests
};

class EventLog {
 public:
  using Listener = std::function<void(const Event&)>;

  // Keeps at most `capacity` events in memory; past that, events are still
  // counted, digested and passed to listeners, and `dropped()` says how many
  // were not kept.
  explicit EventLog(std::size_t capacity = 50'000'000) : capacity_(capacity) {}

  // The runtime whose clock stamps events; none stamps them at the epoch.
  void attach(const Runtime* runtime) noexcept { runtime_ = runtime; }
  // A clock read directly instead of through the runtime's virtual now():
  // the sim runtime's own instant (null: ask the runtime).
  void attach_clock(const Instant* clock) noexcept { clock_ = clock; }

  // Names of sources. Id 0 is the empty name.
  std::uint32_t intern(std::string_view name);
  std::string_view name(std::uint32_t id) const;
  // Id of a name interned before, or 0.
  std::uint32_t find(std::string_view name) const;

  template <class EventKind>
  void record(EventKind kind, std::uint32_t source, std::uint64_t subject = 0, std::int64_t a = 0,
              std::int64_t b = 0, std::uint16_t detail = 0) {
    append(Event{now(), static_cast<std::uint16_t>(kind), detail, source, subject, a, b});
  }

  // Inline: every event passes here, and most runs neither keep events nor
  // listen to them.
  void append(const Event& event) {
    ++appended_;
    fold_into_digest(event);
    if (retain_ || !listeners_.empty()) keep_and_notify(event);
  }

  // Called synchronously for every event appended after it is added.
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

  const std::vector<Event>& events() const noexcept { return events_; }
  std::uint64_t appended() const noexcept { return appended_; }
  std::uint64_t dropped() const noexcept { return appended_ - events_.size(); }
  // A digest of every appended event, kept or not: equal logs, equal digests.
  std::uint64_t digest() const noexcept { return digest_; }

  void set_retain(bool retain) noexcept { retain_ = retain; }

 private:
  Instant now() const { return clock_ != nullptr ? *clock_ : runtime_now(); }
  Instant runtime_now() const;
  void keep_and_notify(const Event& event);

  // The digest is for telling logs apart, not for security. Each field gets
  // its own odd multiplier and the products are combined independently, so
  // the only dependency between events is one multiply per event through
  // the whole log, and appending does not wait on a chain of multiplies. A
  // change to any single field changes the event's value: multiplying by an
  // odd number is a bijection.
  void fold_into_digest(const Event& e) noexcept {
    const auto at = static_cast<std::uint64_t>(e.at.time_since_epoch().count());
    const std::uint64_t kind = (std::uint64_t{e.kind} << 16) | e.detail | (std::uint64_t{e.source} << 32);
    std::uint64_t v = (at * 0x9e3779b97f4a7c15ULL) ^ (kind * 0xc2b2ae3d27d4eb4fULL) ^
                      (e.subject * 0x165667b19e3779f9ULL) ^
                      (static_cast<std::uint64_t>(e.a) * 0xd6e8feb86659fd93ULL) ^
                      (static_cast<std::uint64_t>(e.b) * 0xff51afd7ed558ccdULL);
    v ^= v >> 29;
    const std::uint64_t h = (digest_ ^ v) * 0x9e3779b97f4a7c15ULL;
    digest_ = h ^ (h >> 32);
  }

  std::size_t capacity_;
  bool retain_ = true;
  const Runtime* runtime_ = nullptr;
  const Instant* clock_ = nullptr;
  std::vector<Event> events_;
  std::vector<Listener> listeners_;
  std::uint64_t appended_ = 0;
  std::uint64_t digest_ = 0xcbf29ce484222325ULL;
  std::vector<std::string> names_{std::string{}};
  std::unordered_map<std::string, std::uint32_t> ids_;
};

}  // namespace faultline::runtime
