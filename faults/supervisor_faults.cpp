#include "faults/supervisor_faults.h"

#include "runtime/assert.h"

namespace faultline::faults {

runtime::Task<void> crash_and_restart(ActiveFault& fault, reference_system::Supervisor& supervisor,
                                      WorkHeld work_held) {
  FAULTLINE_ASSERT(work_held);
  auto& rt = fault.rt();
  const auto& spec = fault.spec();
  if (rt.now() < fault.window_start()) co_await rt.sleep_until(fault.window_start());
  // With a probability below 1 the crash may not happen at all.
  if (spec.probability < 1.0 && !fault.rng().bernoulli(spec.probability)) co_return;
  const std::uint64_t held = work_held(spec.target);
  if (!supervisor.stop(spec.target)) co_return;
  rt.log().record(fault.source(), 0, fault_events::AgentCrashed{fault.index(), held});
  if (held > 0) fault.touch(0, static_cast<std::int64_t>(held));
  co_await rt.sleep_until(fault.window_end());
  // Work sent while it was down waits for it: the crash touched that too.
  const std::uint64_t waiting = work_held(spec.target);
  if (held == 0 && waiting > 0) fault.touch(0, static_cast<std::int64_t>(waiting));
  if (supervisor.start(spec.target)) {
    rt.log().record(fault.source(), 0, fault_events::AgentRestarted{fault.index(), waiting});
  }
}

}  // namespace faultline::faults
