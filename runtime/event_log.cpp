#include "runtime/event_log.h"

#include "runtime/assert.h"
#include "runtime/runtime.h"

namespace faultline::runtime {

Instant EventLog::runtime_now() const { return runtime_ ? runtime_->now() : kEpoch; }

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
  FAULTLINE_ASSERT(id < names_.size());
  return names_[id];
}

std::uint32_t EventLog::find(std::string_view name) const {
  auto it = ids_.find(std::string(name));
  return it == ids_.end() ? 0 : it->second;
}

void EventLog::keep_and_notify(const Event& event) {
  if (retain_ && events_.size() < capacity_) events_.push_back(event);
  for (const auto& listener : listeners_) listener(event);
}

}  // namespace faultline::runtime
