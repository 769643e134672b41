// Crash and restart: the one fault that acts through the supervisor rather
// than a port. At the window's start the target agent is stopped the way a
// killed process stops (its in-flight work is lost; only checkpoints and the
// bus's pending messages survive); at the window's end it is started again.
// The fault touches the system only if the stopped agent had work in the
// window: it held some when it was stopped, or some was sent to it while it
// was down (`work_held` asked just before the stop and just before the
// restart). One touch per crash, its detail the work found; a crash of an
// idle agent touches nothing, and its scenario is inconclusive.
//
//   rt.spawn(crash_and_restart(fault, system.supervisor(), [&](std::string_view agent) { ... }));
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "faults/injector.h"
#include "reference_system/system.h"

namespace faultline::faults {

// The work an agent holds now: messages queued for it or delivered to it and
// not yet acknowledged (for the orchestrator, its workflows in flight).
using WorkHeld = std::function<std::uint64_t(std::string_view agent)>;

runtime::Task<void> crash_and_restart(ActiveFault& fault, reference_system::Supervisor& supervisor,
                                      WorkHeld work_held);

}  // namespace faultline::faults
