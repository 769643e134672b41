// Runs one task to completion on a runtime and hands back its value: the
// runtime's loop runs until nothing is left to do, so the task and
// everything it spawned have finished (or are stuck, which is a failure).
//
//   runtime::SimRuntime rt(1);
//   const Outcome<int> r = test_support::run_task(rt, breaker.call(rt, op));
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::test_support {

// Throws std::logic_error (which GoogleTest reports as the test's failure)
// when the loop ran dry and the task had not finished: it waits on
// something that never comes.
template <class T>
T run_task(runtime::Runtime& rt, runtime::Task<T> task) {
  std::optional<T> out;
  rt.spawn([](runtime::Task<T> t, std::optional<T>& o) -> runtime::Task<void> { o.emplace(co_await std::move(t)); }(
      std::move(task), out));
  rt.run();
  if (!out.has_value()) throw std::logic_error("run_task: the task did not finish");
  return std::move(*out);
}

}  // namespace faultline::test_support
