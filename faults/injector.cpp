#include "faults/injector.h"

namespace faultline::faults {

ActiveFault::ActiveFault(runtime::Runtime& rt, const FaultSpec& spec, std::size_t index,
                         runtime::Instant scenario_start)
    : rt_(&rt),
      spec_(spec),
      index_(index),
      start_(scenario_start),
      source_(rt.log().intern(spec.label)),
      rng_(rt.stream(spec.label)) {}

bool ActiveFault::active() const noexcept {
  const auto now = rt_->now();
  return now >= window_start() && now < window_end();
}

bool ActiveFault::strikes(std::uint64_t subject, std::int64_t effect) {
  if (!active()) return false;
  // Probability 1 draws nothing, so a certain fault leaves its stream alone.
  if (spec_.probability < 1.0 && !rng_.bernoulli(spec_.probability)) return false;
  touch(subject, effect);
  return true;
}

void ActiveFault::touch(std::uint64_t subject, std::int64_t effect) {
  ++touched_;
  rt_->log().record(source_, subject, fault_events::Touched{index_, effect, spec_.kind});
}

}  // namespace faultline::faults
