// Checkpointing: the CheckpointStore port and the in-memory store. A
// workflow saves its last completed step and its state after every step, and
// on restart resumes from what load() gives back instead of starting over.
//
//   InMemoryCheckpointStore store;            // or SqliteCheckpointStore::open(path)
//   auto cp = co_await store.load("inv-42");  // Outcome<std::optional<Checkpoint>>
//   std::uint64_t version = cp && *cp ? (*cp)->version : 0;
//   ... run the next step ...
//   auto saved = co_await store.save("inv-42", version, "ocr", state_json);
//   if (!saved && saved.error_class() == ErrorClass::conflict) {
//     // someone newer owns this workflow now: stop, do not overwrite
//   }
//   version = saved.value();
//
// Contract (tests/resilience/checkpoint_contract_test.cpp runs it against
// every store):
// - Versions make writes atomic compare-and-set. save(id, expected, ...)
//   succeeds only if the stored version equals `expected` (0: no checkpoint
//   exists) and then stores expected + 1 and returns it; otherwise it
//   changes nothing and fails with ErrorClass::conflict. A stale writer -
//   one that read version v while another has since written v + 1 - can
//   therefore never overwrite the newer checkpoint.
// - A save is all or nothing: after any failure, load() gives the previous
//   checkpoint unchanged.
// - remove(id, expected) deletes only at that version (conflict otherwise);
//   removing what does not exist is a success.
// - list(prefix, limit) gives checkpoints whose id starts with prefix, in
//   byte order of id, at most `limit` of them.
// - State and step are opaque bytes to the store (the workflow's JSON).
// - An unavailable store gives ErrorClass::transient.
//
// Calls are coroutines (Task<Outcome<...>>), so a networked store (Redis,
// PostgreSQL) can wait on I/O, and a fault injector can wrap a store and add
// latency or outages in virtual time. The two stores here finish without
// suspending. Arguments are taken by value so a call's task owns them.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/assert.h"
#include "runtime/flat_hash_map.h"
#include "runtime/task.h"

namespace faultline::resilience {

struct Checkpoint {
  std::string workflow_id;
  std::uint64_t version = 0;  // 1 for the first save, +1 for each after it
  std::string step;           // the last completed step
  std::string state;          // the workflow's state after it

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  // "memory", "sqlite", ...
  virtual std::string_view kind() const noexcept = 0;

  // Compare-and-set write: the new version, or conflict if the stored version
  // is not `expected_version`.
  virtual runtime::Task<Outcome<std::uint64_t>> save(std::string workflow_id,
                                                     std::uint64_t expected_version,
                                                     std::string step, std::string state) = 0;
  // The checkpoint, or nullopt if there is none.
  virtual runtime::Task<Outcome<std::optional<Checkpoint>>> load(std::string workflow_id) = 0;
  virtual runtime::Task<Outcome<>> remove(std::string workflow_id,
                                          std::uint64_t expected_version) = 0;
  virtual runtime::Task<Outcome<std::vector<Checkpoint>>> list(std::string prefix,
                                                               std::size_t limit) = 0;
};

// The store for tests and simulations: a hash map, bounded in the number
// of checkpoints it holds (a million by default: far above any scenario's
// workflows in flight); a save that would create one more is refused with
// capacity_exceeded and counted. Saves, loads and removes are point
// operations on the hot path of every workflow step, so they go to the hash
// map; list(), rare (a dead-letter queue reopening), sorts the ids it needs
// when it is called instead of every write keeping them in order.
class InMemoryCheckpointStore final : public CheckpointStore {
 public:
  static constexpr std::size_t kDefaultMaxCheckpoints = 1'000'000;

  explicit InMemoryCheckpointStore(Observer observer = {},
                                   std::size_t max_checkpoints = kDefaultMaxCheckpoints) noexcept
      : observer_(observer), max_checkpoints_(max_checkpoints) {}

  std::string_view kind() const noexcept override { return "memory"; }
  runtime::Task<Outcome<std::uint64_t>> save(std::string workflow_id,
                                             std::uint64_t expected_version, std::string step,
                                             std::string state) override;
  runtime::Task<Outcome<std::optional<Checkpoint>>> load(std::string workflow_id) override;
  runtime::Task<Outcome<>> remove(std::string workflow_id,
                                  std::uint64_t expected_version) override;
  runtime::Task<Outcome<std::vector<Checkpoint>>> list(std::string prefix,
                                                       std::size_t limit) override;

  std::size_t size() const noexcept { return checkpoints_.size(); }
  std::uint64_t saves() const noexcept { return saves_; }
  std::uint64_t conflicts() const noexcept { return conflicts_; }
  std::uint64_t refused_full() const noexcept { return refused_full_; }

 private:
  // The id is the map's key; a Checkpoint is assembled only when one is read.
  struct Stored {
    std::uint64_t version = 0;
    std::string step;
    std::string state;
  };

  Observer observer_;
  std::size_t max_checkpoints_;
  runtime::FlatHashMap<std::string, Stored, runtime::StringHash> checkpoints_;
  std::uint64_t saves_ = 0;
  std::uint64_t conflicts_ = 0;
  std::uint64_t refused_full_ = 0;
};

// Checkpointing and resumption for one workflow: remembers the version it
// read or last wrote, so every save is a compare-and-set against it and a
// worker that has been superseded (a stale writer) finds out at its next save.
//
//   WorkflowCheckpointer cp(store, "inv-42");
//   auto resumed = co_await cp.resume();       // the last checkpoint, if any
//   std::size_t next = resumed && *resumed ? step_after((*resumed)->step) : 0;
//   for (std::size_t i = next; i < steps.size(); ++i) {
//     state = co_await steps[i].run(state);
//     if (auto saved = co_await cp.save(steps[i].name, state); !saved) stop(saved.failure());
//   }
//   (void)co_await cp.finish();                // deletes the checkpoint
class WorkflowCheckpointer {
 public:
  // `store` must outlive the checkpointer.
  WorkflowCheckpointer(CheckpointStore& store, std::string workflow_id)
      : store_(&store), workflow_id_(std::move(workflow_id)) {}

  // Loads the last checkpoint and adopts its version.
  runtime::Task<Outcome<std::optional<Checkpoint>>> resume();
  // Saves after a completed step; conflict if another writer got there first.
  runtime::Task<Outcome<>> save(std::string step, std::string state);
  // Removes the checkpoint of a finished workflow.
  runtime::Task<Outcome<>> finish();

  const std::string& workflow_id() const noexcept { return workflow_id_; }
  std::uint64_t version() const noexcept { return version_; }

 private:
  CheckpointStore* store_;
  std::string workflow_id_;
  std::uint64_t version_ = 0;
};

// Runs a store call to completion when the caller is not a coroutine (tools,
// tests, start-up code). Only for stores that finish without waiting on the
// runtime, such as the two in this layer; asserts that the task finished.
template <class T>
T run_now(runtime::Task<T> task) {
  if (!task.done()) task.start(std::noop_coroutine()).resume();
  FAULTLINE_ASSERT(task.done() && "run_now: the store call suspended; await it on a runtime instead");
  return task.result();
}

}  // namespace faultline::resilience
