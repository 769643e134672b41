// The harness's workload driver (workload_driver.h).
#include "harness/workload_driver.h"

#include <algorithm>

#include "harness/probe.h"
#include "runtime/sim_runtime.h"

namespace faultline::harness {

using runtime::Duration;
using runtime::Instant;

WorkloadDriver::WorkloadDriver(runtime::Runtime& rt, const Scenario& scenario, const world::WorldModel& world,
                               world::PoCatalogue& catalogue, std::vector<faults::ActiveFault*> faults,
                               WorkloadIds ids, std::function<void(Submission)> sink)
    : rt_(&rt),
      scenario_(&scenario),
      faults_(rt, std::move(faults)),
      generator_(rt, world.workload, catalogue, ids.first_id, ids.first_po),
      extra_generator_(rt, world.workload, catalogue, ids.first_extra_id, ids.first_po),
      corruption_rng_(rt.stream("workload/corruption")),
      sink_(std::move(sink)) {}

void WorkloadDriver::submit(reference_system::Invoice invoice, bool extra) {
  if (submitted_ >= scenario_->workload.max_invoices) {
    ++refused_by_bound_;
    return;
  }
  Submission s;
  s.true_total_cents = invoice.total_cents;
  s.extra = extra;
  s.corruption = faults_.corrupt(invoice);
  if (!s.corruption && scenario_->workload.corrupted_share > 0 &&
      corruption_rng_.bernoulli(scenario_->workload.corrupted_share)) {
    // Corrupted from the start: any byte-level mode (an id can only be
    // duplicated by a fault, which knows the ids seen).
    const auto mode = static_cast<faults::Corruption>(
        corruption_rng_.uniform_int(0, static_cast<std::uint64_t>(faults::Corruption::duplicate_id) - 1));
    invoice.document = faults::corrupt_document(invoice.document, mode, corruption_rng_);
    s.corruption = mode;
  }
  ++submitted_;
  s.invoice = std::move(invoice);
  sink_(std::move(s));
}

runtime::Task<void> WorkloadDriver::drive(Instant workload_end) {
  while (true) {
    const Duration gap = generator_.next_interarrival(scenario_->workload.rate_per_hour);
    if (rt_->now() + gap >= workload_end) co_return;
    co_await rt_->sleep(gap);
    submit(generator_.next().invoice, false);
  }
}

runtime::Task<void> WorkloadDriver::saturate(faults::ActiveFault& f, Instant workload_end) {
  co_await rt_->sleep_until(f.window_start());
  const double extra_per_hour = scenario_->workload.rate_per_hour * (f.spec().multiplier - 1.0);
  if (extra_per_hour <= 0) co_return;
  const Instant stop = std::min(f.window_end(), workload_end);
  while (true) {
    const Duration gap = runtime::from_seconds(f.rng().exponential(extra_per_hour / 3600.0));
    if (rt_->now() + gap >= stop) co_return;
    co_await rt_->sleep(gap);
    if (f.spec().probability < 1.0 && !f.rng().bernoulli(f.spec().probability)) continue;
    auto invoice = extra_generator_.next().invoice;
    f.touch(invoice.id);
    rt_->log().record(f.source(), invoice.id, faults::fault_events::ExtraArrival{f.index()});
    submit(std::move(invoice), true);
  }
}

std::vector<ScheduledSubmission> workload_schedule(const Scenario& scenario, const world::WorldModel& world,
                                                   std::uint64_t seed, WorkloadIds ids,
                                                   std::vector<reference_system::PurchaseOrder>* orders) {
  runtime::SimRuntime rt(seed);
  const Instant start = rt.now();
  std::vector<std::unique_ptr<faults::ActiveFault>> owned;
  std::vector<faults::ActiveFault*> aimed;
  for (std::size_t i = 0; i < scenario.faults.size(); ++i) {
    if (scenario.faults[i].target != "workload") continue;
    owned.push_back(std::make_unique<faults::ActiveFault>(rt, scenario.faults[i], i, start));
    aimed.push_back(owned.back().get());
  }
  world::PoCatalogue catalogue;
  std::vector<ScheduledSubmission> out;
  std::vector<std::uint64_t> seen(owned.size(), 0);
  WorkloadDriver driver(rt, scenario, world, catalogue, aimed, ids, [&](Submission s) {
    ScheduledSubmission next{rt.now() - start, std::move(s), {}};
    // A fault's touches since the last submission are this one's (both
    // touch just before they hand it over).
    for (std::size_t i = 0; i < owned.size(); ++i) {
      if (owned[i]->touched() != seen[i]) next.touched_by.push_back(owned[i]->index());
      seen[i] = owned[i]->touched();
    }
    out.push_back(std::move(next));
  });
  const Instant workload_end = start + scenario.duration;
  // Spawned in the simulator's order: the base process, then each saturation.
  rt.spawn(driver.drive(workload_end));
  for (auto* f : driver.saturation()) rt.spawn(driver.saturate(*f, workload_end));
  rt.run_until(workload_end);
  if (orders != nullptr) {
    // Both generators number their orders from first_po, one after the
    // other, the extra one repeating the base one's draws: an order number
    // names one order, and the numbers have no gaps.
    for (std::uint64_t n = ids.first_po; n < ids.first_po + catalogue.size(); ++n) {
      if (const auto* po = catalogue.find(n)) orders->push_back(*po);
    }
  }
  return out;
}

}  // namespace faultline::harness
