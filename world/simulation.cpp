// The simulation driver (simulation.h).
#include "world/simulation.h"

#include "runtime/sim_runtime.h"
#include "world/sim_world.h"
#include "world/workload.h"

namespace faultline::world {

double SimulationResult::share(InvoiceOutcome o) const {
  return submitted == 0 ? 0.0 : static_cast<double>(outcome(o)) / static_cast<double>(submitted);
}

double SimulationResult::success_rate() const {
  return submitted == 0 ? 0.0 : static_cast<double>(metrics.succeeded()) / static_cast<double>(submitted);
}

namespace {

runtime::Task<void> drive(runtime::Runtime& rt, reference_system::System& system, WorkloadGenerator& generator,
                          const SimulationConfig& config, std::uint64_t& submitted) {
  const runtime::Instant end = rt.now() + runtime::from_seconds(config.hours * 3600.0);
  for (;;) {
    if (config.invoices != 0 && submitted >= config.invoices) co_return;
    const runtime::Duration gap = generator.next_interarrival(config.rate_per_hour);
    if (config.invoices == 0 && rt.now() + gap >= end) co_return;
    co_await rt.sleep(gap);
    (void)system.submit(std::move(generator.next().invoice));  // a refusal is counted in the metrics
    ++submitted;
    if ((submitted & 1023) == 0) system.sample_queue_depths();
  }
}

}  // namespace

SimulationResult run_simulation(const SimulationConfig& config, const Customize& customize) {
  runtime::SimRuntime rt(config.seed);
  rt.log().set_retain(config.retain_events);
  const SimWorld world = make_sim_world(rt, config.world);
  SystemBuilder builder(rt, config.policy, world.ports(), config.system);
  builder.with_archive_stage(config.archive_stage);
  if (customize) customize(builder);
  WorkloadGenerator generator(rt, config.world.workload, *world.catalogue);
  std::unique_ptr<reference_system::System> system = builder.build();
  system->start();
  SimulationResult result;
  rt.spawn(drive(rt, *system, generator, config, result.submitted));
  rt.run();

  result.metrics = system->metrics();
  result.unfinished = system->orchestrator().in_flight();
  const SimLedger& ledger = *world.ledger;
  result.ledger_entries = ledger.entries().size();
  for (const auto& e : ledger.entries()) result.ledger_live_entries += e.reversed ? 0 : 1;
  result.ledger_total_cents = ledger.live_total_cents();
  result.ledger_digest = ledger.digest();
  result.simulated = rt.now().time_since_epoch();
  system.reset();
  result.log_digest = rt.log().digest();
  result.events = rt.log().appended();
  result.sim_steps = rt.steps();
  return result;
}

}  // namespace faultline::world
