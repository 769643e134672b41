// The exit codes of the faultline programs, one meaning each, so that a CI
// pipeline can act on them:
//
//   0  pass: every scenario passed
//   1  failed: an invariant or an SLO failed (check-policy: not fit)
//   2  usage, input or environment error: a bad argument, a bad scenario or
//      policy file (the message names the file and the JSON path, or line and
//      column), a folder that cannot be read, an output that cannot be written
//   3  inconclusive: nothing failed, but a fault touched nothing
//   4  stopped by a safety limit: wall-clock time, memory or event budget,
//      simulation steps, or a signal (SIGINT, SIGTERM)
//   5  internal error: a bug in faultline itself (an unexpected exception)
//
// When runs end differently, the most severe verdict decides (see
// reports::overall_verdict and exit_code_for).
#pragma once

#include "reports/result.h"

namespace faultline::harness {

enum ExitCode : int {
  kPass = 0,
  kFailed = 1,
  kInputError = 2,
  kInconclusive = 3,
  kAborted = 4,
  kInternalError = 5,
};

// The exit code for a run whose overall verdict is `v`.
[[nodiscard]] int exit_code_for(reports::Verdict v);

}  // namespace faultline::harness
