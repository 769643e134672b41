// A CheckpointStore whose calls finish before they return: each call of the
// store it wraps runs to completion on that store's runtime. It lets code
// written for stores that never suspend (the checkpoint contract suite's
// run_now) drive a networked store (PostgreSQL, Redis), which suspends on
// I/O, unchanged: the wrapped store sees exactly the calls made, in order.
//
//   runtime::LiveRuntime rt(1);
//   BlockingCheckpointStore store(rt, std::move(pg_store));
//   auto v = resilience::run_now(store.save("w", 0, "ocr", "{}"));
#pragma once

#include <memory>
#include <utility>

#include "resilience/checkpoint.h"
#include "runtime/runtime.h"
#include "tests/support/run_task.h"

namespace faultline::test_support {

class BlockingCheckpointStore final : public resilience::CheckpointStore {
 public:
  BlockingCheckpointStore(runtime::Runtime& rt, std::unique_ptr<resilience::CheckpointStore> inner)
      : rt_(&rt), inner_(std::move(inner)) {}

  std::string_view kind() const noexcept override { return inner_->kind(); }
  runtime::Task<resilience::Outcome<std::uint64_t>> save(std::string id, std::uint64_t expected, std::string step,
                                                         std::string state) override {
    return ready(inner_->save(std::move(id), expected, std::move(step), std::move(state)));
  }
  runtime::Task<resilience::Outcome<std::optional<resilience::Checkpoint>>> load(std::string id) override {
    return ready(inner_->load(std::move(id)));
  }
  runtime::Task<resilience::Outcome<>> remove(std::string id, std::uint64_t expected) override {
    return ready(inner_->remove(std::move(id), expected));
  }
  runtime::Task<resilience::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix,
                                                                               std::size_t limit) override {
    return ready(inner_->list(std::move(prefix), limit));
  }

  resilience::CheckpointStore& inner() noexcept { return *inner_; }

 private:
  template <class T>
  runtime::Task<T> ready(runtime::Task<T> call) {
    return runtime::Task<T>::ready(run_task(*rt_, std::move(call)));
  }

  runtime::Runtime* rt_;
  std::unique_ptr<resilience::CheckpointStore> inner_;
};

}  // namespace faultline::test_support
