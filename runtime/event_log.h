// The event log: typed, time-stamped facts appended by every layer (a call
// attempted, a retry scheduled, a breaker opened, an invoice posted) and read
// back by the invariant checkers. An event is a fixed 40-byte record so that
// appending is a store into a vector, and the log's digest pins a run.
//
// Kinds are small integers in ranges owned by the layer that defines them, so
// the bottom layer never names what the layers above it record:
//   0x0000-0x00ff runtime   0x0100-0x01ff resilience   0x0200-0x02ff reference_system
//   0x0300-0x03ff faults    0x0400-0x04ff harness
// A layer declares `enum class Kind : std::uint16_t` in its range and records
// with `log.record(Kind::x, source, subject, a, b)`.
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

enum class RuntimeEventKind : std::uint16_t {
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

  template <class Kind>
  void record(Kind kind, std::uint32_t source, std::uint64_t subject = 0, std::int64_t a = 0,
              std::int64_t b = 0, std::uint16_t detail = 0) {
    append(Event{now(), static_cast<std::uint16_t>(kind), detail, source, subject, a, b});
  }

  void append(const Event& event);

  // Called synchronously for every event appended after it is added.
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

  const std::vector<Event>& events() const noexcept { return events_; }
  std::uint64_t appended() const noexcept { return appended_; }
  std::uint64_t dropped() const noexcept { return appended_ - events_.size(); }
  // A digest of every appended event, kept or not: equal logs, equal digests.
  std::uint64_t digest() const noexcept { return digest_; }

  void set_retain(bool retain) noexcept { retain_ = retain; }

 private:
  Instant now() const;

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
