// junit.xml: the run as test results, in the JUnit dialect Jenkins and
// GitLab read (the schema the tests check it against is
// tests/reports/jenkins-junit.xsd).
//
// One <testsuite> per scenario, named after it, whose properties carry the
// seed, policy, digests and replay command. Inside it, one <testcase> per
// invariant ("invariant <id>") and per SLO ("slo <name>"); a failed one holds a
// <failure> with its message and evidence. A scenario whose verdict was not
// decided by its checks gets one more test case, "verdict": <skipped> when
// inconclusive, <error> when aborted or errored, so CI never reads such a
// scenario as green. Times are scenario time in seconds.
#pragma once

#include <string>

#include "reports/result.h"

namespace faultline::reports {

std::string to_junit_xml(const RunResult& run);

}  // namespace faultline::reports
