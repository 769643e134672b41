// The invariant checkers, one function each, grouped in files by the
// evidence they read (harness/invariants.h describes how each is decided):
//   ledger.cpp    the ledger and budget stores: exactly_once, resumption
//   calls.cpp     the probes' call records: bounded_retries, timeouts,
//                 circuit_breaker, degradation
//   outcomes.cpp  what became of each invoice: conservation, validation,
//                 visibility, saturation
//   recovery.cpp  per fault window: recovery_time, detect_times
// Internal to harness/checks/; check_invariants (harness/invariants.h) runs them.
#pragma once

#include <vector>

#include "harness/checks/evidence.h"
#include "harness/invariants.h"
#include "reports/result.h"

namespace faultline::harness::checks {

reports::InvariantResult exactly_once(const Evidence& ev, const Index& ix);
reports::InvariantResult resumption(const Evidence& ev, const Index& ix);

reports::InvariantResult bounded_retries(const Evidence& ev, const Index& ix);
reports::InvariantResult timeouts(const Evidence& ev, const Index& ix);
reports::InvariantResult circuit_breaker(const Evidence& ev, const Index& ix);
reports::InvariantResult degradation(const Evidence& ev, const Index& ix);

reports::InvariantResult conservation(const Evidence& ev, const Index& ix);
reports::InvariantResult validation(const Evidence& ev, const Index& ix);
reports::InvariantResult visibility(const Evidence& ev, const Index& ix);
reports::InvariantResult saturation(const Evidence& ev, const Index& ix);

reports::InvariantResult recovery_time(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures);
// When the system first noticed each fault (FaultMeasure::time_to_detect).
void detect_times(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures);

}  // namespace faultline::harness::checks
