// metrics.prom: the run's final metrics in the Prometheus text exposition
// format (version 0.0.4), one sample per scenario run (labels `scenario` and
// `seed`, so that a run with --seeds K has no repeated series) and, where it
// applies, per agent, service, outcome or fault. Every family below carries
// both labels besides those listed. A node_exporter textfile
// collector or a Pushgateway can take the file as it is; the alerting rules
// in reports/prometheus/alerts.yml and the dashboard in
// reports/grafana/faultline-dashboard.json are written against these names:
//
//   faultline_run_info{version,runtime}                         1
//   faultline_scenario_passed{scenario,verdict}                 1 when verdict is pass
//   faultline_invoices_submitted_total{scenario}
//   faultline_invoices_total{scenario,outcome}                  per terminal outcome, refused, lost, in_flight
//   faultline_success_ratio{scenario}
//   faultline_throughput_per_second{scenario}
//   faultline_end_to_end_latency_seconds{scenario,quantile}     summary (+ _sum, _count)
//   faultline_end_to_end_latency_max_seconds{scenario}
//   faultline_baseline_latency_p99_seconds{scenario}            fault-free p99, when known
//   faultline_baseline_success_ratio{scenario}
//   faultline_agent_latency_seconds{scenario,agent,quantile}    summary (+ _sum, _count)
//   faultline_agent_calls_total / _errors_total / _retries_total{scenario,agent}
//   faultline_agent_error_ratio{scenario,agent}
//   faultline_retries_total{scenario}, faultline_retries_per_minute{scenario}
//   faultline_dlq_size{scenario}, faultline_dlq_size_max{scenario}
//   faultline_circuit_breaker_open{scenario,service}            1 when open at the end
//   faultline_circuit_breaker_transitions_total{scenario,service,to}
//   faultline_fault_hits_total{scenario,kind,target}
//   faultline_invariant_passed{scenario,invariant}
//   faultline_slo_passed{scenario,slo}
#pragma once

#include <string>

#include "reports/result.h"

namespace faultline::reports {

std::string to_prometheus_text(const RunResult& run);

}  // namespace faultline::reports
