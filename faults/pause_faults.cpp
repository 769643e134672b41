#include "faults/pause_faults.h"

#include "reference_system/ids.h"
#include "runtime/assert.h"

namespace faultline::faults {

namespace rs = reference_system;

AgentPause::AgentPause(ActiveFault& fault) : fault_(&fault) {
  const auto& spec = fault.spec();
  FAULTLINE_ASSERT(spec.kind == FaultKind::pause);
  orchestrator_ = spec.target == "orchestrator";
  if (!orchestrator_) {
    const auto id = rs::agent_from(spec.target);
    FAULTLINE_ASSERT(id.has_value());
    input_ = static_cast<rs::Topic>(static_cast<std::size_t>(*id));
  }
  // The pause's own stream draws nothing else, so drawing here is drawing at
  // the window's start; and the bus can ask frozen() from the first instant.
  engaged_ = spec.probability >= 1.0 || fault.rng().bernoulli(spec.probability);
}

runtime::Task<void> AgentPause::run(WorkHeld work_held) {
  FAULTLINE_ASSERT(work_held);
  auto& rt = fault_->rt();
  const auto& spec = fault_->spec();
  if (rt.now() < fault_->window_start()) co_await rt.sleep_until(fault_->window_start());
  if (!engaged_) co_return;
  const std::uint64_t held = work_held(spec.target);
  rt.log().record(fault_->source(), 0, fault_events::AgentPaused{fault_->index(), held});
  if (held > 0) fault_->touch(0, static_cast<std::int64_t>(held));
  co_await rt.sleep_until(fault_->window_end());
  // Work sent to it in the window waited for it: the pause touched that too.
  const std::uint64_t waiting = work_held(spec.target);
  if (held == 0 && waiting > 0) fault_->touch(0, static_cast<std::int64_t>(waiting));
  rt.log().record(fault_->source(), 0, fault_events::AgentResumed{fault_->index(), waiting});
}

}  // namespace faultline::faults
