// The state every injector shares: one scheduled fault, its window in
// scenario time, its own random stream ("fault/<index>/<kind>") and the count
// of what it touched. An injector asks `strikes()` once per call, message or
// invoice that passes through it; a strike inside the window is counted and
// recorded in the event log, so a fault that never touched anything is
// visible (its scenario is then inconclusive, never a pass).
//
//   ActiveFault fault(rt, spec, index, /*scenario_start=*/rt.now());
//   if (fault.strikes(invoice_id)) { ... inject ... }
#pragma once

#include <cstdint>

#include "faults/fault.h"
#include "runtime/runtime.h"

namespace faultline::faults {

// Fault events, range 0x0300-0x03ff. source = the fault's label
// ("fault/<index>/<kind>"), subject = invoice id where there is one.
enum class FaultEvent : std::uint16_t {
  // The fault's window opened / closed; a = fault index, b = kind.
  window_opened = 0x0300,
  window_closed = 0x0301,
  // The fault touched a call, message or invoice; a = fault index, b = kind-specific
  // (latency: delay in ns; error: class; corrupted_input: Corruption; crash: 0).
  touched = 0x0302,
  // The supervisor stopped / restarted the target agent for this fault; a = fault index,
  // b = work the agent held at the stop / found waiting at the restart.
  agent_crashed = 0x0303,
  agent_restarted = 0x0304,
  // A saturation fault added an invoice to the workload; a = fault index.
  extra_arrival = 0x0305,
  // A message was delivered again (duplicate) or held back (reordering,
  // partition); a = fault index, b = hold-back in ns.
  duplicated = 0x0306,
  held_back = 0x0307,
};

class ActiveFault {
 public:
  ActiveFault(runtime::Runtime& rt, const FaultSpec& spec, std::size_t index, runtime::Instant scenario_start);

  const FaultSpec& spec() const noexcept { return spec_; }
  std::size_t index() const noexcept { return index_; }
  std::uint32_t source() const noexcept { return source_; }

  // Whether the window is open now.
  bool active() const noexcept;
  // Whether the fault strikes what is passing now: inside the window and
  // with the fault's probability. A strike is counted and logged; `detail`
  // goes to the event's b.
  bool strikes(std::uint64_t subject, std::int64_t detail = 0);
  // Counts and logs a touch decided elsewhere (a crash, an extra arrival).
  void touch(std::uint64_t subject, std::int64_t detail = 0);

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
