// Saga execution and compensation. An action or compensation that throws is
// treated as a failed one (class permanent, the exception's message), so a
// bug in one compensation cannot stop the others from running.
#include "resilience/saga.h"

#include <algorithm>
#include <exception>

namespace faultline::resilience {

namespace {

// What an action or compensation that threw counts as. (The callers await
// the action in their own frame, inside a try block, rather than through a
// guarding coroutine: one frame less per step.)
Failure thrown(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return Failure{ErrorClass::permanent, std::string("threw: ") + e.what()};
  } catch (...) {
    return Failure{ErrorClass::permanent, "threw a non-standard exception"};
  }
}

}  // namespace

Saga& Saga::step(std::string name, SagaAction action, SagaAction compensation) {
  steps_.push_back(Step{std::move(name), std::move(action), std::move(compensation)});
  return *this;
}

Saga& Saga::after_step(std::function<runtime::Task<Outcome<>>(std::size_t)> hook) {
  after_step_ = std::move(hook);
  return *this;
}

Saga& Saga::retry_compensations(runtime::Runtime& rt, runtime::Duration first, runtime::Duration max,
                                runtime::Duration horizon) {
  compensation_retry_ = CompensationRetry{&rt, first, max, horizon};
  return *this;
}

runtime::Task<SagaOutcome> Saga::run(runtime::Runtime& rt, std::uint64_t subject,
                                     std::size_t already_completed) {
  (void)rt;  // events are stamped through the observer's log
  SagaOutcome out;
  out.steps_completed = already_completed < steps_.size() ? already_completed : steps_.size();
  for (std::size_t i = out.steps_completed; i < steps_.size(); ++i) {
    Outcome<> result;
    std::exception_ptr error;
    try {
      result = co_await steps_[i].action();
    } catch (...) {
      error = std::current_exception();
    }
    if (error) result = thrown(error);
    if (result.ok()) {
      ++out.steps_completed;
      if (after_step_) {
        result = co_await after_step_(out.steps_completed);
      }
    }
    if (!result.ok()) {
      out.failed_step = steps_[i].name;
      out.failure = std::move(result).failure();
      observer_.record(subject, pattern_events::SagaAborted{i, out.failure->error_class});
      // A step that timed out may have taken effect (its reply was lost, not
      // its request), so it is undone with the completed ones; so is one
      // whose last failure was another but an earlier try timed out.
      const bool uncertain = out.steps_completed == i && (out.failure->error_class == ErrorClass::timeout ||
                                                          out.failure->effects_unknown);
      co_await compensate_into(out, subject, uncertain ? i + 1 : out.steps_completed);
      co_return out;
    }
  }
  out.committed = true;
  observer_.record(subject, pattern_events::SagaCommitted{steps_.size()});
  co_return out;
}

runtime::Task<SagaOutcome> Saga::compensate(runtime::Runtime& rt, std::uint64_t subject,
                                            std::size_t completed) {
  (void)rt;
  SagaOutcome out;
  out.steps_completed = completed < steps_.size() ? completed : steps_.size();
  co_await compensate_into(out, subject, out.steps_completed);
  co_return out;
}

runtime::Task<void> Saga::compensate_into(SagaOutcome& out, std::uint64_t subject,
                                          std::size_t completed) {
  for (std::size_t i = completed; i-- > 0;) {
    const Step& step = steps_[i];
    if (!step.compensation) {
      out.without_compensation.push_back(step.name);
      continue;
    }
    observer_.record(subject, pattern_events::CompensationStarted{i});
    Outcome<> result;
    const CompensationRetry* again = compensation_retry_ ? &*compensation_retry_ : nullptr;
    const runtime::Instant first_try = again != nullptr ? again->rt->now() : runtime::Instant{};
    runtime::Duration backoff = again != nullptr ? again->first : runtime::Duration::zero();
    for (;;) {
      std::exception_ptr error;
      try {
        result = co_await step.compensation();
      } catch (...) {
        error = std::current_exception();
      }
      if (error) result = thrown(error);
      if (result.ok() || again == nullptr || result.error_class() == ErrorClass::permanent ||
          again->rt->now() + backoff > first_try + again->horizon) {
        break;
      }
      observer_.record(subject, pattern_events::CompensationFailed{i, result.error_class()});
      co_await again->rt->sleep(backoff);
      backoff = std::min(backoff * 2, again->max);
    }
    if (result.ok()) {
      out.compensated.push_back(step.name);
      observer_.record(subject, pattern_events::CompensationSucceeded{i});
    } else {
      observer_.record(subject, pattern_events::CompensationFailed{i, result.failure().error_class});
      out.not_compensated.push_back(SagaCompensationFailure{step.name, std::move(result).failure()});
    }
  }
}

}  // namespace faultline::resilience
