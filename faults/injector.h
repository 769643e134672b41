// The state every injector shares: one scheduled fault, its window in
// scenario time, its own random stream ("fault/<index>/<kind>") and the count
// of what it touched. An injector asks `strikes()` once per call, message or
// invoice that passes through it; a strike inside the window is counted and
// recorded in the event log (fault_events::Touched), so a fault that never
// touched anything is visible (its scenario is then inconclusive, never a
// pass).
//
//   ActiveFault fault(rt, spec, index, /*scenario_start=*/rt.now());
//   if (fault.strikes(invoice_id)) { ... inject ... }
#pragma once

#include <cstdint>

#include "faults/fault.h"
#include "runtime/event_log.h"
#include "runtime/runtime.h"

namespace faultline::faults {

// Fault events, range 0x0300-0x03ff, each kind's fields the payload struct
// of the same name in `fault_events`. source = the fault's label
// ("fault/<index>/<kind>"), subject = invoice id where there is one.
enum class FaultEvent : std::uint16_t {
  window_opened = 0x0300,
  window_closed = 0x0301,
  touched = 0x0302,
  agent_crashed = 0x0303,
  agent_restarted = 0x0304,
  extra_arrival = 0x0305,
  duplicated = 0x0306,
  held_back = 0x0307,
  agent_paused = 0x0308,
  agent_resumed = 0x0309,
};

namespace fault_events {

using runtime::Duration;

// The fault's window opened or closed.
template <FaultEvent K>
struct Window {
  static constexpr FaultEvent kind = K;
  std::uint64_t fault_index = 0;
  FaultKind fault{};
  constexpr void slots(auto& s) { s.word0(fault_index).word1(fault); }
};
using WindowOpened = Window<FaultEvent::window_opened>;
using WindowClosed = Window<FaultEvent::window_closed>;

// The fault touched a call, message or invoice. What it did depends on the
// fault: a latency's delay in ns, an error's ErrorClass, a corruption's
// Corruption, a crash's work held or waiting, a reordering's hold-back in ns.
struct Touched {
  static constexpr FaultEvent kind = FaultEvent::touched;
  std::uint64_t fault_index = 0;
  std::int64_t effect = 0;
  FaultKind fault{};
  constexpr void slots(auto& s) { s.word0(fault_index).word1(effect).narrow(fault); }
};

// The supervisor stopped the target agent for this fault.
struct AgentCrashed {
  static constexpr FaultEvent kind = FaultEvent::agent_crashed;
  std::uint64_t fault_index = 0;
  std::uint64_t work_held = 0;
  constexpr void slots(auto& s) { s.word0(fault_index).word1(work_held); }
};

// The supervisor restarted it when the window closed.
struct AgentRestarted {
  static constexpr FaultEvent kind = FaultEvent::agent_restarted;
  std::uint64_t fault_index = 0;
  std::uint64_t work_waiting = 0;
  constexpr void slots(auto& s) { s.word0(fault_index).word1(work_waiting); }
};

// A pause froze the target agent (faults/pause_faults.h), with the work it
// held then.
struct AgentPaused {
  static constexpr FaultEvent kind = FaultEvent::agent_paused;
  std::uint64_t fault_index = 0;
  std::uint64_t work_held = 0;
  constexpr void slots(auto& s) { s.word0(fault_index).word1(work_held); }
};

// The pause's window closed: the agent runs again, with the work waiting for it.
struct AgentResumed {
  static constexpr FaultEvent kind = FaultEvent::agent_resumed;
  std::uint64_t fault_index = 0;
  std::uint64_t work_waiting = 0;
  constexpr void slots(auto& s) { s.word0(fault_index).word1(work_waiting); }
};

// A saturation fault added an invoice to the workload.
struct ExtraArrival {
  static constexpr FaultEvent kind = FaultEvent::extra_arrival;
  std::uint64_t fault_index = 0;
  constexpr void slots(auto& s) { s.word0(fault_index); }
};

// A message was delivered again.
struct Duplicated {
  static constexpr FaultEvent kind = FaultEvent::duplicated;
  std::uint64_t fault_index = 0;
  std::uint32_t copy = 0;  // 1-based
  constexpr void slots(auto& s) { s.word0(fault_index).word1(copy); }
};

// A message was held back (reordering, partition), or dropped after waiting
// in vain for room (hold_back == kHeldAndDropped).
struct HeldBack {
  static constexpr FaultEvent kind = FaultEvent::held_back;
  std::uint64_t fault_index = 0;
  Duration hold_back{};
  constexpr void slots(auto& s) { s.word0(fault_index).word1(hold_back); }
};
inline constexpr Duration kHeldAndDropped{-1};

}  // namespace fault_events

class ActiveFault {
 public:
  ActiveFault(runtime::Runtime& rt, const FaultSpec& spec, std::size_t index, runtime::Instant scenario_start);

  const FaultSpec& spec() const noexcept { return spec_; }
  std::size_t index() const noexcept { return index_; }
  std::uint32_t source() const noexcept { return source_; }

  // Whether the window is open now.
  bool active() const noexcept;
  // Whether the fault strikes what is passing now: inside the window and
  // with the fault's probability. A strike is counted and logged with its
  // `effect` (fault_events::Touched).
  bool strikes(std::uint64_t subject, std::int64_t effect = 0);
  // Counts and logs a touch decided elsewhere (a crash, an extra arrival).
  void touch(std::uint64_t subject, std::int64_t effect = 0);

  // Moves the scenario's start (a live process learns it after it built
  // its faults, from the harness through Redis: world/live/live_role.h).
  void set_scenario_start(runtime::Instant start) noexcept { start_ = start; }
  runtime::Instant window_start() const noexcept { return start_ + spec_.start; }
  runtime::Instant window_end() const noexcept { return start_ + spec_.end(); }

  std::uint64_t touched() const noexcept { return touched_; }
  // Draws from this fault's own stream (delays, modes).
  runtime::Rng& rng() noexcept { return rng_; }
  runtime::Runtime& rt() noexcept { return *rt_; }

 private:
  runtime::Runtime* rt_;
  FaultSpec spec_;  // a copy: the fault never outlives what it was built from
  std::size_t index_;
  runtime::Instant start_;
  std::uint32_t source_;
  runtime::Rng rng_;
  std::uint64_t touched_ = 0;
};

}  // namespace faultline::faults
