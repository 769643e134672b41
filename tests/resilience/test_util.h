// Helpers shared by the resilience tests: a scripted service whose answers
// and latencies are fixed in advance (its fault model is exactly its
// script), and run_task (tests/support/run_task.h) under this namespace.
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "resilience/outcome.h"
#include "runtime/sim_runtime.h"
#include "tests/support/run_task.h"

namespace faultline::resilience::testing {

using runtime::Duration;
using runtime::Instant;
using runtime::Runtime;
using runtime::SimRuntime;
using runtime::Task;

using test_support::run_task;

// Answers call i with script[i] (the last entry repeats) after its latency.
class ScriptedService {
 public:
  struct Answer {
    Duration latency{};
    Outcome<int> result;
  };
  ScriptedService(Runtime& rt, std::vector<Answer> script) : rt_(&rt), script_(std::move(script)) {}

  Task<Outcome<int>> call() {
    calls_.push_back(rt_->now());
    const Answer answer = script_.at(std::min(next_++, script_.size() - 1));
    if (answer.latency > Duration::zero()) co_await rt_->sleep(answer.latency);
    ++finished_;
    co_return answer.result;
  }

  const std::vector<Instant>& calls() const { return calls_; }
  std::size_t finished() const { return finished_; }

 private:
  Runtime* rt_;
  std::vector<Answer> script_;
  std::size_t next_ = 0;
  std::size_t finished_ = 0;
  std::vector<Instant> calls_;
};

inline Failure fail(ErrorClass c, std::string message = "scripted") {
  return Failure{c, std::move(message)};
}

inline Instant at(Duration d) { return runtime::kEpoch + d; }

}  // namespace faultline::resilience::testing
