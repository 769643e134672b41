// Crash and restart: the one fault that acts through the supervisor rather
// than a port. At the window's start the target agent is stopped the way a
// killed process stops (its in-flight work is lost; only checkpoints and the
// bus's pending messages survive); at the window's end it is started again.
// The fault touches what it stopped: one touch per crash, with the number of
// in-flight messages lost as the touch's detail.
//
//   rt.spawn(crash_and_restart(fault, system.supervisor()));
#pragma once

#include "faults/injector.h"
#include "reference_system/system.h"

namespace faultline::faults {

runtime::Task<void> crash_and_restart(ActiveFault& fault, reference_system::Supervisor& supervisor);

}  // namespace faultline::faults
