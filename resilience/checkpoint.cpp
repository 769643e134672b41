// The in-memory checkpoint store: the contract of resilience/checkpoint.h
// over a sorted map, for tests and simulations (lost when the process ends).
#include "resilience/checkpoint.h"

namespace faultline::resilience {

runtime::Task<Outcome<std::uint64_t>> InMemoryCheckpointStore::save(std::string workflow_id,
                                                                    std::uint64_t expected_version,
                                                                    std::string step,
                                                                    std::string state) {
  auto it = checkpoints_.find(workflow_id);
  const std::uint64_t current = it == checkpoints_.end() ? 0 : it->second.version;
  if (current != expected_version) {
    ++conflicts_;
    observer_.record(Kind::checkpoint_conflict, 0, static_cast<std::int64_t>(expected_version),
                     static_cast<std::int64_t>(current));
    co_return Failure{ErrorClass::conflict, "checkpoint " + workflow_id + " is at version " +
                                                std::to_string(current) + ", not " +
                                                std::to_string(expected_version)};
  }
  if (it == checkpoints_.end()) {
    if (checkpoints_.size() >= max_checkpoints_) {
      ++refused_full_;
      co_return Failure{ErrorClass::capacity_exceeded,
                        "checkpoint store full (" + std::to_string(max_checkpoints_) + ")"};
    }
    it = checkpoints_.emplace(workflow_id, Checkpoint{workflow_id, 0, {}, {}}).first;
  }
  Checkpoint& cp = it->second;
  cp.version = expected_version + 1;
  cp.step = std::move(step);
  cp.state = std::move(state);
  ++saves_;
  observer_.record(Kind::checkpoint_saved, 0, static_cast<std::int64_t>(cp.version));
  co_return cp.version;
}

runtime::Task<Outcome<std::optional<Checkpoint>>> InMemoryCheckpointStore::load(
    std::string workflow_id) {
  const auto it = checkpoints_.find(workflow_id);
  if (it == checkpoints_.end()) co_return std::optional<Checkpoint>{};
  co_return std::optional<Checkpoint>{it->second};
}

runtime::Task<Outcome<>> InMemoryCheckpointStore::remove(std::string workflow_id,
                                                         std::uint64_t expected_version) {
  const auto it = checkpoints_.find(workflow_id);
  if (it == checkpoints_.end()) co_return ok();
  if (it->second.version != expected_version) {
    ++conflicts_;
    observer_.record(Kind::checkpoint_conflict, 0, static_cast<std::int64_t>(expected_version),
                     static_cast<std::int64_t>(it->second.version));
    co_return Failure{ErrorClass::conflict, "checkpoint " + workflow_id + " is at version " +
                                                std::to_string(it->second.version) + ", not " +
                                                std::to_string(expected_version)};
  }
  checkpoints_.erase(it);
  co_return ok();
}

runtime::Task<Outcome<std::vector<Checkpoint>>> InMemoryCheckpointStore::list(std::string prefix,
                                                                              std::size_t limit) {
  std::vector<Checkpoint> out;
  for (auto it = checkpoints_.lower_bound(prefix);
       it != checkpoints_.end() && out.size() < limit && it->first.starts_with(prefix); ++it) {
    out.push_back(it->second);
  }
  co_return out;
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
