// Sagas: a sequence of steps, each with a compensation that undoes it. If a
// step fails, the steps completed before it are compensated in reverse
// order; a compensation that fails is recorded and the remaining ones still
// run, so the outcome says exactly what was and was not undone. A step that
// failed with a timeout may have taken effect (its reply was lost, not its
// request), so it is compensated too, as is one whose failure says
// effects_unknown (an earlier try timed out): compensations must be safe to
// run on what never happened. The accounting agent's reserve budget -> post entry
// -> notify is one.
//
//   Saga saga("accounting", Observer::named(rt.log(), "accounting"));
//   saga.step("reserve-budget",
//             [&]() -> Task<Outcome<>> { co_return co_await budget.reserve(inv); },
//             [&]() -> Task<Outcome<>> { co_return co_await budget.release(inv); });
//   saga.step("post-entry", [&] { return ledger.post(inv); },
//             [&] { return ledger.reverse(inv); });
//   saga.step("notify", [&] { return notifier.send(inv); }, nullptr);  // nothing to undo
//   SagaOutcome out = co_await saga.run(rt, inv.id);
//   if (!out.committed) {
//     // out.failed_step, out.failure; out.compensated lists what was undone,
//     // out.not_compensated what could not be (each with its failure)
//   }
//
// Resuming after a crash: run(rt, subject, already_completed = k) skips the
// first k steps (a checkpoint said they are done) but still compensates them
// if a later step fails. compensate(rt, subject, k) undoes the first k steps
// without running anything. An after_step hook (checkpoint each step) runs
// after every completed step; if it fails, the saga aborts as if that step
// had failed after completing, so that step is compensated too.
//
// A compensation that fails tells nobody what to do next: the effect stays.
// retry_compensations() has the saga try it again, since compensations are
// idempotent: after `first`, doubling up to `max` between tries, until
// `horizon` after its first try, unless it failed for a permanent reason.
// Only the last try's failure counts as not compensated.
//
// Steps are std::function: a saga is per workflow, not a per-call hot path.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::resilience {

using SagaAction = std::function<runtime::Task<Outcome<>>()>;

struct SagaCompensationFailure {
  std::string step;
  Failure failure;
  friend bool operator==(const SagaCompensationFailure&, const SagaCompensationFailure&) = default;
};

struct SagaOutcome {
  bool committed = false;
  std::size_t steps_completed = 0;        // steps whose action succeeded (resumed ones included)
  std::string failed_step;                // set when not committed
  std::optional<Failure> failure;         // why the saga aborted
  std::vector<std::string> compensated;   // in the order they ran (reverse of the steps)
  std::vector<SagaCompensationFailure> not_compensated;  // failed compensations, in order
  std::vector<std::string> without_compensation;  // completed steps that had none to run

  // Every completed step was undone (or had nothing to undo).
  bool fully_compensated() const noexcept { return !committed && not_compensated.empty(); }
};

class Saga {
 public:
  explicit Saga(std::string name, Observer observer = {})
      : name_(std::move(name)), observer_(observer) {
    // Sagas have a handful of steps: building one allocates once, not per step.
    steps_.reserve(4);
  }

  // Appends a step; `compensation` may be empty (nothing to undo).
  Saga& step(std::string name, SagaAction action, SagaAction compensation);
  // Runs after each completed step with the number of steps completed so far.
  Saga& after_step(std::function<runtime::Task<Outcome<>>(std::size_t completed)> hook);
  // Tries a failed compensation again (see above); `rt` must outlive the saga.
  Saga& retry_compensations(runtime::Runtime& rt, runtime::Duration first, runtime::Duration max,
                            runtime::Duration horizon);

  std::size_t size() const noexcept { return steps_.size(); }
  const std::string& name() const noexcept { return name_; }
  const std::string& step_name(std::size_t i) const { return steps_.at(i).name; }

  // The saga must outlive the returned task.
  runtime::Task<SagaOutcome> run(runtime::Runtime& rt, std::uint64_t subject = 0,
                                 std::size_t already_completed = 0);
  runtime::Task<SagaOutcome> compensate(runtime::Runtime& rt, std::uint64_t subject,
                                        std::size_t completed);

 private:
  struct Step {
    std::string name;
    SagaAction action;
    SagaAction compensation;
  };
  runtime::Task<void> compensate_into(SagaOutcome& out, std::uint64_t subject,
                                      std::size_t completed);

  std::string name_;
  Observer observer_;
  std::vector<Step> steps_;
  std::function<runtime::Task<Outcome<>>(std::size_t)> after_step_;
  struct CompensationRetry {
    runtime::Runtime* rt = nullptr;
    runtime::Duration first{};
    runtime::Duration max{};
    runtime::Duration horizon{};
  };
  std::optional<CompensationRetry> compensation_retry_;
};

}  // namespace faultline::resilience
