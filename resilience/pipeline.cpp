// Pipeline construction and the per-attempt share of an overall deadline.
#include "resilience/pipeline.h"

#include "runtime/assert.h"

namespace faultline::resilience {

std::optional<ConfigProblem> check(const PipelineConfig& config) {
  if (auto problem = check(config.retry)) {
    problem->field = "retry." + problem->field;
    return problem;
  }
  if (auto problem = check(config.timeout)) {
    problem->field = "timeout." + problem->field;
    return problem;
  }
  return std::nullopt;
}

Pipeline::Pipeline(PipelineConfig config, PipelineParts parts, Observer observer)
    : config_(config), parts_(parts), observer_(observer),
      retry_(config.retry, observer, parts.budget), timeout_(config.timeout.per_attempt, observer) {
  FAULTLINE_ASSERT(!check(config_) && "invalid PipelineConfig: see check()");
}

Duration Pipeline::attempt_limit(Duration left) noexcept {
  timeout_.count_call();
  Duration limit = config_.timeout.per_attempt;
  if (left != Duration::max()) {
    if (left < Duration(1)) left = Duration(1);
    if (limit <= Duration::zero() || left < limit) limit = left;
  }
  return limit;
}

Instant Pipeline::deadline(runtime::Runtime& rt) const noexcept {
  return config_.timeout.overall > Duration::zero() ? rt.now() + config_.timeout.overall
                                                    : Instant::max();
}

}  // namespace faultline::resilience
