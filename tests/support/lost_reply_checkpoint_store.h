// A CheckpointStore whose chosen saves land and then fail: the write reaches
// the store it wraps, and the caller is told ErrorClass::timeout, as a
// networked store tells it when the connection goes after the statement went
// out and before the commit's reply came back (a PostgreSQL server killed
// right after it flushed the commit: reference_system/live/pg_connection.h).
// Saves whose id starts with `prefix` lose their reply while `lose_replies`
// is above zero (each one spends one); everything else goes straight through.
//
//   resilience::InMemoryCheckpointStore inner;
//   LostReplyCheckpointStore store(inner, "saga/", 1);
//   store.save("saga/9", 0, "accounting", "1");  // timeout, yet inner holds "saga/9" at version 1
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "resilience/checkpoint.h"

namespace faultline::test_support {

class LostReplyCheckpointStore final : public resilience::CheckpointStore {
 public:
  LostReplyCheckpointStore(resilience::CheckpointStore& inner, std::string prefix, int lose_replies)
      : inner_(&inner), prefix_(std::move(prefix)), lose_replies_(lose_replies) {}

  std::string_view kind() const noexcept override { return inner_->kind(); }
  runtime::Task<resilience::Outcome<std::uint64_t>> save(std::string id, std::uint64_t expected, std::string step,
                                                         std::string state) override {
    const bool lose = lose_replies_ > 0 && id.starts_with(prefix_);
    auto saved = co_await inner_->save(std::move(id), expected, std::move(step), std::move(state));
    if (lose && saved.ok()) {
      --lose_replies_;
      ++replies_lost_;
      co_return resilience::Failure{resilience::ErrorClass::timeout, "the save's reply was lost"};
    }
    co_return saved;
  }
  runtime::Task<resilience::Outcome<std::optional<resilience::Checkpoint>>> load(std::string id) override {
    return inner_->load(std::move(id));
  }
  runtime::Task<resilience::Outcome<>> remove(std::string id, std::uint64_t expected) override {
    return inner_->remove(std::move(id), expected);
  }
  runtime::Task<resilience::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix,
                                                                               std::size_t limit) override {
    return inner_->list(std::move(prefix), limit);
  }

  // Saves that landed and were reported failed.
  int replies_lost() const noexcept { return replies_lost_; }

 private:
  resilience::CheckpointStore* inner_;
  std::string prefix_;
  int lose_replies_;
  int replies_lost_ = 0;
};

}  // namespace faultline::test_support
