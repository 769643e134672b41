// The metrics endpoint of a live process (`faultline-agent --metrics-port`):
// Prometheus text served over HTTP/1.1 on the live runtime's io_context,
// with the metric names of a run's metrics.prom (reports/prometheus.h), so
// the alert rules and the Grafana dashboard of reports/ read a live
// deployment unchanged. Every path answers the same text (Prometheus scrapes
// /metrics); one request per connection, a request head larger than 8 KiB
// or slower than 5 s of wall time is dropped, at most 64 connections at once.
//
//   MetricsServer server(rt, 9464, [&] { return role_metrics_text(process); });
//   if (!server.listening()) ... server.error() ...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/live_runtime.h"
#include "world/live/live_role.h"

namespace faultline::cli {

class MetricsServer {
 public:
  MetricsServer(runtime::LiveRuntime& rt, std::uint16_t port, std::function<std::string()> text);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  bool listening() const noexcept;
  const std::string& error() const noexcept;
  std::uint64_t requests() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The process's metrics as metrics.prom writes them: one "scenario" named
// "live/<role>/<consumer>" (seed 0) holding what this process counted.
std::string role_metrics_text(const world::live::RoleProcess& process);

}  // namespace faultline::cli
