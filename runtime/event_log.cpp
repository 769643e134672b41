#include "runtime/event_log.h"

#include <cassert>

#include "runtime/runtime.h"

namespace faultline::runtime {

Instant EventLog::now() const { return runtime_ ? runtime_->now() : kEpoch; }

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
// One multiply per 64-bit field (not per byte): the digest is for telling
// logs apart, not for security.
inline std::uint64_t mix(std::uint64_t hash, std::uint64_t value) noexcept {
  hash = (hash ^ value) * 0x9e3779b97f4a7c15ULL;
  return hash ^ (hash >> 29);
}
}  // namespace

void EventLog::append(const Event& event) {
  ++appended_;
  std::uint64_t h = digest_;
  h = mix(h, static_cast<std::uint64_t>(event.at.time_since_epoch().count()));
  h = mix(h, (std::uint64_t{event.kind} << 16) | event.detail);
  h = mix(h, event.source);
  h = mix(h, event.subject);
  h = mix(h, static_cast<std::uint64_t>(event.a));
  h = mix(h, static_cast<std::uint64_t>(event.b));
  digest_ = h;
  if (retain_ && events_.size() < capacity_) events_.push_back(event);
  for (const auto& listener : listeners_) listener(event);
}

}  // namespace faultline::runtime
