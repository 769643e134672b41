// Timeout limits and the record of an abandoned call.
#include "resilience/timeout.h"

namespace faultline::resilience {

std::optional<ConfigProblem> check(const TimeoutPolicy& policy) {
  if (policy.per_attempt < Duration::zero()) {
    return ConfigProblem{"per_attempt", "a non-negative duration (zero: none)"};
  }
  if (policy.overall < Duration::zero()) {
    return ConfigProblem{"overall", "a non-negative duration (zero: none)"};
  }
  if (policy.overall > Duration::zero() && policy.per_attempt > policy.overall) {
    return ConfigProblem{"overall", "a duration at least per_attempt (or zero: none)"};
  }
  return std::nullopt;
}

namespace detail {
Failure timed_out(Timeout* timeout, Duration limit, std::uint64_t subject) {
  if (timeout != nullptr) timeout->count_timeout(limit, subject);
  return Failure{ErrorClass::timeout, "timed out after " + runtime::format_duration(limit)};
}
}  // namespace detail

}  // namespace faultline::resilience
