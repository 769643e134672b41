#include "faults/supervisor_faults.h"

namespace faultline::faults {

runtime::Task<void> crash_and_restart(ActiveFault& fault, reference_system::Supervisor& supervisor) {
  auto& rt = fault.rt();
  const auto& spec = fault.spec();
  if (rt.now() < fault.window_start()) co_await rt.sleep_until(fault.window_start());
  // With a probability below 1 the crash may not happen at all.
  if (spec.probability < 1.0 && !fault.rng().bernoulli(spec.probability)) co_return;
  if (!supervisor.stop(spec.target)) co_return;
  fault.touch(0);
  rt.log().record(Kind::agent_crashed, fault.source(), 0, static_cast<std::int64_t>(fault.index()));
  co_await rt.sleep_until(fault.window_end());
  if (supervisor.start(spec.target)) {
    rt.log().record(Kind::agent_restarted, fault.source(), 0, static_cast<std::int64_t>(fault.index()));
  }
}

}  // namespace faultline::faults
