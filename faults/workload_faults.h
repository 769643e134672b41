// Faults that change the workload rather than a port: saturation (arrivals
// multiplied while the window is open) and corrupted input (an arriving
// invoice's document damaged in one of the catalogue's modes, or its id
// replaced by one already submitted). The harness's workload driver asks
// these before it hands each invoice to the system.
//
//   WorkloadFaults wf(rt, faults_aimed_at_workload);
//   double extra = wf.extra_rate_per_hour(base_rate);  // > 0 while saturated
//   if (auto mode = wf.corrupt(invoice)) ...           // a Corruption was applied
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "faults/corruption.h"
#include "faults/injector.h"
#include "reference_system/invoice.h"

namespace faultline::faults {

class WorkloadFaults {
 public:
  WorkloadFaults(runtime::Runtime& rt, std::vector<ActiveFault*> faults);

  // Saturation faults, for the driver to run one extra arrival process each.
  const std::vector<ActiveFault*>& saturation() const noexcept { return saturation_; }

  // Applies the first corrupted_input fault that strikes this invoice;
  // returns the mode applied. Remembers every id it sees (bounded) so that
  // duplicate_id can reuse one.
  std::optional<Corruption> corrupt(reference_system::Invoice& invoice);

  static constexpr std::size_t kRecentIds = 256;

 private:
  std::vector<ActiveFault*> saturation_;
  std::vector<ActiveFault*> corrupting_;
  std::deque<std::uint64_t> recent_ids_;
};

// Rewrites the "id:" line of a document.
std::string with_document_id(std::string_view document, std::uint64_t id);

}  // namespace faultline::faults
