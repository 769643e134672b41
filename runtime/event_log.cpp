#include "runtime/event_log.h"

#include <cassert>

#include "runtime/runtime.h"

namespace faultline::runtime {

Instant EventLog::now() const {
  if (clock_ != nullptr) return *clock_;
  return runtime_ ? runtime_->now() : kEpoch;
}

std::uint32_t EventLog::intern(std::string_view name) {
  if (name.empty()) return 0;
  auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string(name), id);
  return id;
}

std::string_view EventLog::name(std::uint32_t id) const {
  assert(id < names_.size());
  return names_[id];
}

std::uint32_t EventLog::find(std::string_view name) const {
  auto it = ids_.find(std::string(name));
  return it == ids_.end() ? 0 : it->second;
}

namespace {
// The digest is for telling logs apart, not for security. Each field gets
// its own odd multiplier and the products are combined independently, so
// only one multiply per event sits on the chain that runs through the
// whole log (six chained ones made appending latency-bound). A change to
// any single field changes the event's value: multiplying by an odd number
// is a bijection.
inline std::uint64_t event_value(const Event& e) noexcept {
  const auto at = static_cast<std::uint64_t>(e.at.time_since_epoch().count());
  const std::uint64_t kind = (std::uint64_t{e.kind} << 16) | e.detail | (std::uint64_t{e.source} << 32);
  std::uint64_t v = (at * 0x9e3779b97f4a7c15ULL) ^ (kind * 0xc2b2ae3d27d4eb4fULL) ^
                    (e.subject * 0x165667b19e3779f9ULL) ^
                    (static_cast<std::uint64_t>(e.a) * 0xd6e8feb86659fd93ULL) ^
                    (static_cast<std::uint64_t>(e.b) * 0xff51afd7ed558ccdULL);
  return v ^ (v >> 29);
}
}  // namespace

void EventLog::append(const Event& event) {
  ++appended_;
  const std::uint64_t h = (digest_ ^ event_value(event)) * 0x9e3779b97f4a7c15ULL;
  digest_ = h ^ (h >> 32);
  if (retain_ && events_.size() < capacity_) events_.push_back(event);
  for (const auto& listener : listeners_) listener(event);
}

}  // namespace faultline::runtime
