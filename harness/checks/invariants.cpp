// check_invariants: builds the evidence index once and runs the requested
// checkers over it, in the order of harness::invariant_ids().
#include "harness/invariants.h"

#include <algorithm>
#include "runtime/assert.h"

#include "harness/checks/checkers.h"
#include "harness/checks/evidence.h"

namespace faultline::harness {

InvariantReport check_invariants(const Evidence& ev, const std::vector<std::string>& ids) {
  using namespace checks;
  FAULTLINE_ASSERT(ev.log != nullptr);
  const Index ix(ev);
  InvariantReport report;
  report.faults.resize(ev.faults.size());
  report.outcomes = place_invoices(ev, ix).counts;
  detect_times(ev, ix, report.faults);
  auto wanted = [&](std::string_view id) {
    return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (wanted("conservation")) report.results.push_back(conservation(ev, ix));
  if (wanted("exactly_once")) report.results.push_back(exactly_once(ev, ix));
  if (wanted("bounded_retries")) report.results.push_back(bounded_retries(ev, ix));
  if (wanted("timeouts")) report.results.push_back(timeouts(ev, ix));
  if (wanted("circuit_breaker")) report.results.push_back(circuit_breaker(ev, ix));
  if (wanted("resumption")) report.results.push_back(resumption(ev, ix));
  if (wanted("degradation")) report.results.push_back(degradation(ev, ix));
  if (wanted("validation")) report.results.push_back(validation(ev, ix));
  if (wanted("visibility")) report.results.push_back(visibility(ev, ix));
  if (wanted("saturation")) report.results.push_back(saturation(ev, ix));
  if (wanted("recovery_time")) report.results.push_back(recovery_time(ev, ix, report.faults));
  return report;
}

reports::OutcomeCounts reconcile_outcomes(const Evidence& ev) {
  FAULTLINE_ASSERT(ev.log != nullptr);
  return checks::place_invoices(ev, checks::Index(ev)).counts;
}

}  // namespace faultline::harness
