// Bulkhead slots and their accounting.
#include "resilience/bulkhead.h"

#include <algorithm>

#include "runtime/assert.h"

namespace faultline::resilience {

std::optional<ConfigProblem> check(const BulkheadConfig& config) {
  if (config.max_concurrent == 0) return ConfigProblem{"max_concurrent", "at least 1"};
  return std::nullopt;
}

Bulkhead::Bulkhead(runtime::Runtime& rt, BulkheadConfig config, Observer observer)
    : config_(config), observer_(observer), semaphore_(rt, config.max_concurrent) {
  FAULTLINE_ASSERT(!check(config_) && "invalid BulkheadConfig: see check()");
}

void Bulkhead::Slot::release() noexcept {
  if (owner_ == nullptr) return;
  Bulkhead* owner = std::exchange(owner_, nullptr);
  FAULTLINE_ASSERT(owner->in_flight_ > 0);
  --owner->in_flight_;
  owner->semaphore_.release();
}

Bulkhead::Slot Bulkhead::try_enter(std::uint64_t subject) {
  Slot slot = try_enter_quietly();
  if (!slot) reject(subject);
  return slot;
}

Bulkhead::Slot Bulkhead::try_enter_quietly() noexcept {
  if (!semaphore_.try_acquire()) return Slot{};
  on_admit();
  return Slot(this);
}

void Bulkhead::on_admit() noexcept {
  ++counters_.admitted;
  ++in_flight_;
  counters_.peak_in_flight = std::max(counters_.peak_in_flight, in_flight_);
}

void Bulkhead::reject(std::uint64_t subject) {
  ++counters_.rejected;
  observer_.record(subject, pattern_events::BulkheadRejected{in_flight_, semaphore_.waiting()});
}

}  // namespace faultline::resilience
