// Pause and resume: an agent frozen for a window, as SIGSTOP and SIGCONT
// freeze a process, and unlike a crash nothing of its work is lost. The
// freeze acts at the message bus (FaultyMessageBus::hold_for): a message the
// paused agent takes from its topic in the window stays pending and is handed
// to it when the window ends (a request then past its deadline is dropped
// there, as an agent that wakes up late drops it), and what it publishes in
// the window (an agent's replies; the orchestrator's requests) is published
// at the end. The orchestrator's replies topic is its input. What the agent
// had in hand when the window opened is kept: the step runs on to its reply,
// which waits for the end like the rest (in a real process that step's
// service request may be on the wire already; in the simulator its calls go
// out, since holding them would let the agent's own timeouts fire in the
// window, which a stopped process's do not). In the simulator a paused
// orchestrator still takes submissions (the harness calls it directly) and
// its timers still run; the requests they make wait for the window's end.
//
// The pause touches the system by the crash's rule (supervisor_faults.h):
// its agent held work when the window opened, or work was sent to it in the
// window (`work_held` asked at both edges). Pausing an idle agent touches
// nothing, and its scenario is inconclusive. With a probability below 1 the
// pause happens or not as a whole, one draw from its own stream.
//
//   AgentPause pause(fault);                          // fault.spec().kind == FaultKind::pause
//   bus.hold_for({&pause});                           // the bus holds its agent's traffic
//   rt.spawn(pause.run([&](std::string_view agent) { ... }));   // events and touches
#pragma once

#include <optional>

#include "faults/injector.h"
#include "faults/supervisor_faults.h"
#include "reference_system/ports.h"

namespace faultline::faults {

class AgentPause {
 public:
  explicit AgentPause(ActiveFault& fault);
  AgentPause(const AgentPause&) = delete;
  AgentPause& operator=(const AgentPause&) = delete;

  ActiveFault& fault() const noexcept { return *fault_; }
  // Whether the agent is frozen now: the window is open and the pause strikes.
  bool frozen() const noexcept { return engaged_ && fault_->active(); }
  runtime::Instant resume_at() const noexcept { return fault_->window_end(); }
  // The topic the paused agent consumes (its own; the orchestrator's replies).
  reference_system::Topic input() const noexcept { return input_; }
  bool orchestrator() const noexcept { return orchestrator_; }

  // Records the pause and the resume, and counts the touch.
  runtime::Task<void> run(WorkHeld work_held);

 private:
  ActiveFault* fault_;
  reference_system::Topic input_ = reference_system::Topic::replies;
  bool orchestrator_ = false;
  bool engaged_ = false;
};

}  // namespace faultline::faults
