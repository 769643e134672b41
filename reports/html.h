// report.html: one self-contained page a person opens without the tool.
//
// A suite overview (one row per scenario) and a section per scenario with
// inline SVG charts: throughput and success rate over time with the fault
// windows shaded, breaker state per service over time, latency percentiles
// per agent, and outcome bars; then tables of agents, faults, invariants
// (with evidence) and SLOs. Nothing is fetched: styles are inline, there is
// no script at all, and a Content-Security-Policy forbids both scripts and
// network loads as a second line of defence. Every string that came from
// input is escaped.
#pragma once

#include <string>

#include "reports/result.h"

namespace faultline::reports {

std::string to_report_html(const RunResult& run);

}  // namespace faultline::reports
