// The scenario's workload as the harness submits it: the base arrival
// process (the world's generator at the scenario's rate), one extra arrival
// process per saturation fault while its window is open (invoices from a
// second generator, ids from kExtraIdBase), the scenario's max_invoices
// bound, and corruption (corrupted_input faults, then the workload's
// corrupted_share). The simulator runs it beside the system (engine.cpp);
// live mode runs it on a throwaway SimRuntime of the same seed to get the
// very same submissions with their times, and replays them in real time
// (harness/live/live_run.cpp). Every draw is from a named stream, so the
// two see the same invoices, documents and corruptions.
//
//   WorkloadDriver driver(rt, scenario, world, catalogue, workload_faults, {}, sink);
//   rt.spawn(driver.drive(workload_end));
//   for (auto* f : driver.saturation()) rt.spawn(driver.saturate(*f, workload_end));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "faults/injector.h"
#include "faults/workload_faults.h"
#include "harness/scenario.h"
#include "reference_system/invoice.h"
#include "runtime/runtime.h"
#include "runtime/task.h"
#include "world/workload.h"

namespace faultline::harness {

// The first id of the invoices a saturation fault adds: far above any base id.
inline constexpr std::uint64_t kExtraIdBase = 1'000'000'000;

// One submission the workload makes, as the harness records it.
struct Submission {
  reference_system::Invoice invoice;  // as handed to the system (possibly damaged)
  std::int64_t true_total_cents = 0;  // before any corruption
  std::optional<faults::Corruption> corruption;
  bool extra = false;                 // added by a saturation fault
};

struct WorkloadIds {
  std::uint64_t first_id = 1;             // base invoices: first_id, first_id + 1, ...
  std::uint64_t first_po = 1;             // purchase orders of both generators
  std::uint64_t first_extra_id = kExtraIdBase;
};

class WorkloadDriver {
 public:
  // `faults`: the scenario's faults aimed at "workload" (saturation,
  // corrupted_input). `sink` gets each submission the bound lets through,
  // at its arrival time; an extra arrival's fault touch is counted and
  // logged just before (as ExtraArrival).
  WorkloadDriver(runtime::Runtime& rt, const Scenario& scenario, const world::WorldModel& world,
                 world::PoCatalogue& catalogue, std::vector<faults::ActiveFault*> faults, WorkloadIds ids,
                 std::function<void(Submission)> sink);

  // The base arrival process, until `workload_end`.
  runtime::Task<void> drive(runtime::Instant workload_end);
  // A saturation fault: a second arrival process at (multiplier - 1) times
  // the base rate while its window is open.
  runtime::Task<void> saturate(faults::ActiveFault& f, runtime::Instant workload_end);
  const std::vector<faults::ActiveFault*>& saturation() const noexcept { return faults_.saturation(); }

  std::uint64_t submitted() const noexcept { return submitted_; }
  std::uint64_t refused_by_bound() const noexcept { return refused_by_bound_; }

 private:
  void submit(reference_system::Invoice invoice, bool extra);

  runtime::Runtime* rt_;
  const Scenario* scenario_;
  faults::WorkloadFaults faults_;
  world::WorkloadGenerator generator_;
  world::WorkloadGenerator extra_generator_;
  runtime::Rng corruption_rng_;
  std::function<void(Submission)> sink_;
  std::uint64_t submitted_ = 0;
  std::uint64_t refused_by_bound_ = 0;
};

// What the workload of `scenario` submits with this seed: each submission
// with its time from the scenario's start, from a WorkloadDriver run alone
// on a SimRuntime (virtual time, no system). The purchase orders the
// invoices reference go to `orders` (numbers from ids.first_po).
struct ScheduledSubmission {
  runtime::Duration at{};
  Submission submission;
  // The workload faults (scenario indices) that touched it: the saturation
  // that added it, the corrupted_input that damaged it.
  std::vector<std::size_t> touched_by;
};
std::vector<ScheduledSubmission> workload_schedule(const Scenario& scenario, const world::WorldModel& world,
                                                   std::uint64_t seed, WorkloadIds ids,
                                                   std::vector<reference_system::PurchaseOrder>* orders = nullptr);

}  // namespace faultline::harness
