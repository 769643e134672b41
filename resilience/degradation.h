// Graceful degradation: each workflow step is critical or non-critical. A
// non-critical step that fails yields its declared neutral default ("no
// match", an empty list, null), never an invented value, marked degraded
// with the failure that caused it; a critical step that fails stops the
// workflow (its failure is returned as is).
//
//   StepPolicy<std::optional<PoMatch>> matching{"po-matching", Criticality::non_critical,
//                                               std::nullopt};   // default: no match
//   Outcome<Degradable<std::optional<PoMatch>>> m =
//       co_await run_step(matching, [&] { return po.match(invoice); }, observer, invoice_id);
//   if (!m) stop_workflow(m.failure());        // only a critical step gets here
//   else if (m->degraded) mark_posted_degraded(m->reason->message);
//
//   // Without a coroutine, on an outcome already in hand:
//   auto d = degrade(matching, std::move(outcome), observer, invoice_id);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/task.h"

namespace faultline::resilience {

enum class Criticality : std::uint8_t { critical, non_critical };
std::string_view to_string(Criticality c) noexcept;
[[nodiscard]] bool parse_criticality(std::string_view text, Criticality& out) noexcept;

template <class T>
struct StepPolicy {
  std::string name;
  Criticality criticality = Criticality::critical;
  T neutral_default{};  // what a failed non-critical step yields
};

template <class T>
struct Degradable {
  T value;
  bool degraded = false;
  std::optional<Failure> reason;  // set exactly when degraded
};

// Applies the step's policy to an outcome in hand.
template <class T>
Outcome<Degradable<T>> degrade(const StepPolicy<T>& policy, Outcome<T> outcome,
                               const Observer& observer = {}, std::uint64_t subject = 0) {
  if (outcome.ok()) return Degradable<T>{std::move(outcome).value(), false, std::nullopt};
  Failure failure = std::move(outcome).failure();
  if (policy.criticality == Criticality::critical) {
    observer.record(subject, pattern_events::CriticalFailure{failure.error_class});
    return failure;
  }
  observer.record(subject, pattern_events::Degraded{failure.error_class});
  return Degradable<T>{policy.neutral_default, true, std::move(failure)};
}

// Runs `op()` (a Task<Outcome<T>> or an awaitable of one) as a step.
// `policy` and `op` must outlive the returned task.
template <class T, class Op>
runtime::Task<Outcome<Degradable<T>>> run_step(const StepPolicy<T>& policy, Op op,
                                               Observer observer = {},
                                               std::uint64_t subject = 0) {
  Outcome<T> outcome = co_await op();
  co_return degrade(policy, std::move(outcome), observer, subject);
}

}  // namespace faultline::resilience
