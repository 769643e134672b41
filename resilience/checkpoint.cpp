// The in-memory checkpoint store: the contract of resilience/checkpoint.h
// over a hash map, for tests and simulations (lost when the process ends).
#include "resilience/checkpoint.h"

#include <algorithm>

namespace faultline::resilience {

// The in-memory store never waits: each operation answers with a ready
// task (Task::ready), which costs no coroutine frame.

runtime::Task<Outcome<std::uint64_t>> InMemoryCheckpointStore::save(std::string workflow_id,
                                                                    std::uint64_t expected_version,
                                                                    std::string step,
                                                                    std::string state) {
  using Result = Outcome<std::uint64_t>;
  const auto conflict = [&](std::uint64_t current) {
    ++conflicts_;
    observer_.record(0, pattern_events::CheckpointConflict{expected_version, current});
    return runtime::Task<Result>::ready(
        Failure{ErrorClass::conflict, "checkpoint " + workflow_id + " is at version " +
                                          std::to_string(current) + ", not " +
                                          std::to_string(expected_version)});
  };
  Stored* cp = nullptr;
  if (expected_version == 0) {
    // A workflow's first save: one probe of the map finds its place, or the
    // checkpoint somebody else saved first. try_emplace takes the id only
    // when it inserts, so a conflict still has it for the message.
    if (checkpoints_.size() >= max_checkpoints_ && !checkpoints_.contains(workflow_id)) {
      ++refused_full_;
      return runtime::Task<Result>::ready(Failure{
          ErrorClass::capacity_exceeded, "checkpoint store full (" + std::to_string(max_checkpoints_) + ")"});
    }
    const auto [stored, inserted] = checkpoints_.try_emplace(std::move(workflow_id));
    if (!inserted) return conflict(stored->version);
    cp = stored;
  } else {
    cp = checkpoints_.find(workflow_id);
    const std::uint64_t current = cp == nullptr ? 0 : cp->version;
    if (current != expected_version) return conflict(current);
  }
  cp->version = expected_version + 1;
  cp->step = std::move(step);
  cp->state = std::move(state);
  ++saves_;
  observer_.record(0, pattern_events::CheckpointSaved{cp->version});
  return runtime::Task<Result>::ready(cp->version);
}

runtime::Task<Outcome<std::optional<Checkpoint>>> InMemoryCheckpointStore::load(
    std::string workflow_id) {
  using Result = Outcome<std::optional<Checkpoint>>;
  const Stored* cp = checkpoints_.find(workflow_id);
  if (cp == nullptr) return runtime::Task<Result>::ready_in_place(std::in_place);
  return runtime::Task<Result>::ready(
      std::optional<Checkpoint>{Checkpoint{std::move(workflow_id), cp->version, cp->step, cp->state}});
}

runtime::Task<Outcome<>> InMemoryCheckpointStore::remove(std::string workflow_id,
                                                         std::uint64_t expected_version) {
  using Result = Outcome<>;
  const Stored* cp = checkpoints_.find(workflow_id);
  if (cp == nullptr) return runtime::Task<Result>::ready(ok());
  if (cp->version != expected_version) {
    ++conflicts_;
    observer_.record(0, pattern_events::CheckpointConflict{expected_version, cp->version});
    return runtime::Task<Result>::ready(
        Failure{ErrorClass::conflict, "checkpoint " + workflow_id + " is at version " +
                                          std::to_string(cp->version) + ", not " +
                                          std::to_string(expected_version)});
  }
  checkpoints_.erase(workflow_id);
  return runtime::Task<Result>::ready(ok());
}

runtime::Task<Outcome<std::vector<Checkpoint>>> InMemoryCheckpointStore::list(std::string prefix,
                                                                              std::size_t limit) {
  // Only the matching ids are sorted: byte order, as std::string compares.
  using Entry = decltype(checkpoints_)::Entry;
  std::vector<const Entry*> matching;
  for (const Entry& entry : checkpoints_.entries()) {
    if (entry.key.starts_with(prefix)) matching.push_back(&entry);
  }
  const std::size_t n = std::min(limit, matching.size());
  const auto by_id = [](const Entry* a, const Entry* b) { return a->key < b->key; };
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(n), matching.end(), by_id);
  std::vector<Checkpoint> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Entry& e = *matching[i];
    out.push_back(Checkpoint{e.key, e.value.version, e.value.step, e.value.state});
  }
  return runtime::Task<Outcome<std::vector<Checkpoint>>>::ready(std::move(out));
}

runtime::Task<Outcome<std::optional<Checkpoint>>> WorkflowCheckpointer::resume() {
  auto loaded = co_await store_->load(workflow_id_);
  if (loaded.ok()) version_ = loaded.value() ? loaded.value()->version : 0;
  co_return loaded;
}

runtime::Task<Outcome<>> WorkflowCheckpointer::save(std::string step, std::string state) {
  auto saved = co_await store_->save(workflow_id_, version_, std::move(step), std::move(state));
  if (!saved) co_return std::move(saved).failure();
  version_ = saved.value();
  co_return ok();
}

runtime::Task<Outcome<>> WorkflowCheckpointer::finish() {
  auto removed = co_await store_->remove(workflow_id_, version_);
  if (removed.ok()) version_ = 0;
  co_return removed;
}

}  // namespace faultline::resilience
