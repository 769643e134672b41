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
// harness::HarnessEvent) and gives each kind a payload struct whose fields
// say what it holds (resilience/events.h, reference_system/events.h,
// faults/injector.h, harness/probe.h). A layer records a payload and a
// reader reads one back; neither touches the record's slots:
//
//   namespace se = reference_system::system_events;
//   log.record(source, invoice_id, se::LedgerPosted{amount_cents, sequence, /*idempotency_key=*/true});
//   for (const Event& e : log.events())
//     if (is<se::LedgerPosted>(e)) total += read<se::LedgerPosted>(e).amount_cents;
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/assert.h"
#include "runtime/time.h"

namespace faultline::runtime {

class Runtime;

// The record. `narrow`, `word0` and `word1` are the payload's slots: what
// they hold depends on the kind, so only the payload mapping below reads or
// writes them (and describe_event, which prints them raw).
struct Event {
  Instant at;
  std::uint16_t kind = 0;
  std::uint16_t narrow = 0;
  std::uint32_t source = 0;   // an interned name: agent, service, fault
  std::uint64_t subject = 0;  // what it concerns: usually an invoice id
  std::int64_t word0 = 0;
  std::int64_t word1 = 0;
};
static_assert(sizeof(Event) == 40, "an event stays a 40-byte record");

enum class RuntimeEvent : std::uint16_t {
  task_spawned = 0x0001,
  task_cancelled = 0x0002,
  task_failed = 0x0003,
  user = 0x00f0,  // free for tests
};

// --- Payloads ------------------------------------------------------------------
//
// A payload is one kind's fields, named for what they hold. It names its
// kind and says which slot of the record each field occupies: two 64-bit
// words and a narrow 16-bit one. make_event() and read<P>() are the only code
// that touches the slots. Adding a kind is an enumerator and one struct:
//
//   struct LedgerPosted {
//     static constexpr SystemEvent kind = SystemEvent::ledger_posted;
//     std::int64_t amount_cents = 0;
//     std::uint64_t sequence = 0;
//     bool idempotency_key = false;
//     constexpr void slots(auto& s) { s.word0(amount_cents).word1(sequence).narrow(idempotency_key); }
//   };
//   log.record(source, invoice_id, LedgerPosted{amount, sequence, true});
//   if (is<LedgerPosted>(e)) total += read<LedgerPosted>(e).amount_cents;
//
// A field may be a bool, an integer, an enum, a Duration (nanoseconds), an
// std::optional of one (0 is none, otherwise 1 + the value), or plus_one(f)
// (always present, stored as 1 + the value where the kind's neighbours keep
// 0 for "none"). A payload with no fields needs no slots(). Everything is
// inline: recording a payload costs what storing its words costs.

namespace internal {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
struct PlusOne {
  T* field;
};
template <class T>
inline constexpr bool is_plus_one = false;
template <class T>
inline constexpr bool is_plus_one<PlusOne<T>> = true;

template <class T>
inline constexpr bool is_slot_scalar = std::is_integral_v<T> || std::is_enum_v<T> || std::is_same_v<T, Duration>;

template <class T>
constexpr std::int64_t encode(const T& v) noexcept {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? 1 : 0;
  } else if constexpr (std::is_enum_v<T>) {
    return encode(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(sizeof(T) <= sizeof(std::int64_t));
    return static_cast<std::int64_t>(v);  // an unsigned 64-bit value keeps its bits
  } else if constexpr (std::is_same_v<T, Duration>) {
    return v.count();
  } else if constexpr (is_optional<T>) {
    static_assert(is_slot_scalar<typename T::value_type>);
    return v ? 1 + encode(*v) : 0;
  } else if constexpr (is_plus_one<T>) {
    return 1 + encode(*v.field);
  } else {
    static_assert(is_slot_scalar<T>, "a payload field is a bool, integer, enum, Duration or optional of one");
    return 0;
  }
}

template <class T>
constexpr T decode(std::int64_t w) noexcept {
  if constexpr (std::is_same_v<T, bool>) {
    return w != 0;
  } else if constexpr (std::is_enum_v<T>) {
    return static_cast<T>(decode<std::underlying_type_t<T>>(w));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(w);
  } else if constexpr (std::is_same_v<T, Duration>) {
    return Duration(w);
  } else if constexpr (is_optional<T>) {
    if (w == 0) return std::nullopt;
    return decode<typename T::value_type>(w - 1);
  } else {
    static_assert(is_slot_scalar<T>, "a payload field is a bool, integer, enum, Duration or optional of one");
    return T{};
  }
}

template <class T>
  requires(!is_plus_one<T>)
constexpr void decode_into(T& field, std::int64_t w) noexcept {
  field = decode<T>(w);
}
template <class T>
constexpr void decode_into(PlusOne<T> field, std::int64_t w) noexcept {
  *field.field = decode<T>(w - 1);
}

}  // namespace internal

// A field stored as 1 + its value (see above).
template <class T>
constexpr internal::PlusOne<T> plus_one(T& field) noexcept {
  return {&field};
}

template <class P>
concept EventPayload = std::is_enum_v<std::remove_cv_t<decltype(P::kind)>> &&
                       sizeof(P::kind) == sizeof(std::uint16_t) && std::default_initializable<P>;

// Writes a payload's fields into an event's slots.
class SlotWriter {
 public:
  explicit constexpr SlotWriter(Event& e) noexcept : e_(&e) {}
  template <class T>
  constexpr SlotWriter& word0(const T& v) noexcept {
    e_->word0 = internal::encode(v);
    return *this;
  }
  template <class T>
  constexpr SlotWriter& word1(const T& v) noexcept {
    e_->word1 = internal::encode(v);
    return *this;
  }
  template <class T>
  constexpr SlotWriter& narrow(const T& v) noexcept {
    const std::int64_t w = internal::encode(v);
    // Folded away for the 8-bit enums and bools that fill this slot.
    FAULTLINE_ASSERT(w >= 0 && w <= 0xffff && "a narrow payload field out of 0..65535");
    e_->narrow = static_cast<std::uint16_t>(w);
    return *this;
  }

 private:
  Event* e_;
};

// Reads an event's slots back into a payload's fields.
class SlotReader {
 public:
  explicit constexpr SlotReader(const Event& e) noexcept : e_(&e) {}
  template <class T>
  constexpr SlotReader& word0(T&& field) noexcept {
    internal::decode_into(field, e_->word0);
    return *this;
  }
  template <class T>
  constexpr SlotReader& word1(T&& field) noexcept {
    internal::decode_into(field, e_->word1);
    return *this;
  }
  template <class T>
  constexpr SlotReader& narrow(T&& field) noexcept {
    internal::decode_into(field, std::int64_t{e_->narrow});
    return *this;
  }

 private:
  const Event* e_;
};

template <EventPayload P>
constexpr std::uint16_t kind_code() noexcept {
  return static_cast<std::uint16_t>(P::kind);
}

template <EventPayload P>
constexpr Event make_event(Instant at, std::uint32_t source, std::uint64_t subject, P payload) noexcept {
  Event e{at, kind_code<P>(), 0, source, subject, 0, 0};
  if constexpr (requires(P& p, SlotWriter& w) { p.slots(w); }) {
    SlotWriter w(e);
    payload.slots(w);
  }
  return e;
}

// Whether `e` is of P's kind.
template <EventPayload P>
constexpr bool is(const Event& e) noexcept {
  return e.kind == kind_code<P>();
}

// The payload of `e`, which must be of P's kind (a program bug otherwise).
template <EventPayload P>
constexpr P read(const Event& e) noexcept {
  FAULTLINE_ASSERT(is<P>(e) && "read<P>() of an event of another kind");
  P p{};
  if constexpr (requires(P& q, SlotReader& r) { q.slots(r); }) {
    SlotReader r(e);
    p.slots(r);
  }
  return p;
}

// The runtime's own kinds. No fields: what failed is in the runtime's
// rethrown exception.
namespace runtime_events {
struct TaskSpawned {
  static constexpr RuntimeEvent kind = RuntimeEvent::task_spawned;
};
struct TaskCancelled {
  static constexpr RuntimeEvent kind = RuntimeEvent::task_cancelled;
};
struct TaskFailed {
  static constexpr RuntimeEvent kind = RuntimeEvent::task_failed;
};
}  // namespace runtime_events

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

  // Appends `payload` as an event of its kind, stamped now.
  template <EventPayload P>
  void record(std::uint32_t source, std::uint64_t subject, P payload) {
    append(make_event(now(), source, subject, payload));
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
    const std::uint64_t kind = (std::uint64_t{e.kind} << 16) | e.narrow | (std::uint64_t{e.source} << 32);
    std::uint64_t v = (at * 0x9e3779b97f4a7c15ULL) ^ (kind * 0xc2b2ae3d27d4eb4fULL) ^
                      (e.subject * 0x165667b19e3779f9ULL) ^
                      (static_cast<std::uint64_t>(e.word0) * 0xd6e8feb86659fd93ULL) ^
                      (static_cast<std::uint64_t>(e.word1) * 0xff51afd7ed558ccdULL);
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
