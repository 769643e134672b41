// Network faults of a live run, played through TCP fault proxies
// (tcp_fault_proxy.h) that the harness runs in its own process:
//
//   checkpoint_outage  the workers' checkpoint-store connections to
//                      PostgreSQL (faultline-agent --checkpoint-postgres;
//                      checkpoints and the dead-letter queue) go through a
//                      proxy; for the window it refuses new connections and
//                      resets open ones, so save, load and remove fail, then
//                      it passes again. The ledger and the other tables keep
//                      their direct connections.
//   bus_partition      every worker's Redis connections go through a proxy,
//                      black-holed for the window (bytes held, not lost) and
//                      healed at its end, when what was held is delivered in
//                      order. The harness's own Redis connection is direct.
//
// Touches, from the proxy's counts over the window: for checkpoint_outage,
// the connection attempts refused in it plus the open connections reset at
// its start while a request on them was unanswered (an idle pooled
// connection reset is not a touch: the system has not met the outage yet);
// for bus_partition, the chunks held. A proxy serves every fault of its
// kind; overlapping windows keep it faulty until the last one ends.
//
//   auto proxies = LiveProxies::open(scenario.faults, redis_url, postgres_url);  // Outcome
//   args += {"--redis", (*proxies)->worker_redis_url()};
//   (*proxies)->begin(i); ... (*proxies)->end(i);      // at the fault's edges
//   hit_count = (*proxies)->touched(i);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault.h"
#include "harness/live/tcp_fault_proxy.h"
#include "resilience/outcome.h"

namespace faultline::harness {

// Whether live mode plays this fault through a proxy.
bool live_proxy_fault(const faults::FaultSpec& spec) noexcept;

// `url` (redis://... or postgresql://...) with its host:port replaced.
std::string url_through(const std::string& url, const std::string& host, std::uint16_t port);

class LiveProxies {
 public:
  // Starts a proxy for each kind the scenario's faults need (none: none).
  static resilience::Outcome<std::unique_ptr<LiveProxies>> open(const std::vector<faults::FaultSpec>& faults,
                                                                const std::string& redis_url,
                                                                const std::string& postgres_url);

  // The URLs the workers get: through a proxy where one stands, else as given.
  const std::string& worker_redis_url() const noexcept { return worker_redis_url_; }
  const std::string& checkpoint_postgres_url() const noexcept { return checkpoint_postgres_url_; }

  // The window of fault `index` (a proxied one) starts / ends.
  void begin(std::size_t index);
  void end(std::size_t index);
  // What fault `index` touched (so far, if its window is still open).
  std::uint64_t touched(std::size_t index) const;
  // One line per proxy with its totals, for the report's evidence.
  std::vector<std::string> evidence() const;
  // Stops the proxies (also done by the destructor).
  void stop();

 private:
  struct Window {
    faults::FaultKind kind;
    ProxyCounts at_start;
    std::optional<ProxyCounts> at_end;
  };
  TcpFaultProxy* proxy_for(faults::FaultKind kind) const;
  static std::uint64_t touches(faults::FaultKind kind, const ProxyCounts& from, const ProxyCounts& to);

  std::unique_ptr<TcpFaultProxy> checkpoints_;
  std::unique_ptr<TcpFaultProxy> bus_;
  std::string worker_redis_url_;
  std::string checkpoint_postgres_url_;
  std::string redis_address_;
  std::string postgres_address_;
  int checkpoint_windows_open_ = 0;
  int bus_windows_open_ = 0;
  std::vector<faults::FaultKind> kinds_;  // the scenario's faults, in its order
  std::map<std::size_t, Window> windows_;
};

}  // namespace faultline::harness
