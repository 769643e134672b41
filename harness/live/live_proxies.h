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
//   network            one role's link to Redis ("to": "redis") or to
//                      PostgreSQL ("postgres": its --postgres and its
//                      --checkpoint-postgres connections) goes through a
//                      proxy of that role's own, set to the fault's mode
//                      (delay, bandwidth, reset, black_hole) for the window
//                      and back to pass at its end. The other roles keep
//                      their connections as they were. It composes with the
//                      shared proxies: a role's Redis proxy leads into the
//                      bus_partition proxy when that fault is there too, its
//                      checkpoint connections into the checkpoint_outage one.
//                      Replaced agents (agent_contract.h) get the proxied
//                      URLs in FAULTLINE_REDIS_URL / FAULTLINE_POSTGRES_URL.
//
// Touches, from the proxy's counts over the window: for checkpoint_outage,
// the connection attempts refused in it plus the open connections reset at
// its start while a request on them was unanswered (an idle pooled
// connection reset is not a touch: the system has not met the outage yet);
// for bus_partition, the chunks held. For network, by mode: delay, the
// chunks delayed; bandwidth, the chunks paced; black_hole, the chunks held;
// reset, the open connections reset at its start with a request unanswered
// plus the new connections reset in it. A shared proxy serves every fault
// of its kind; overlapping windows keep it faulty until the last one ends.
// A role's link serves every network fault on it; while several overlap,
// the one begun last sets the mode.
//
//   auto proxies = LiveProxies::open(scenario.faults, redis_url, postgres_url);  // Outcome
//   args += {"--redis", (*proxies)->redis_url_for(role)};
//   (*proxies)->begin(i); ... (*proxies)->end(i);      // at the fault's edges
//   hit_count = (*proxies)->touched(i);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  // A network fault's delay and bandwidth are in scenario time: the proxy
  // delays delay / time_scale (at least 1 ms) and lets bytes_per_second x
  // time_scale through, so the link is as slow against the policy's
  // timeouts at any time scale.
  static resilience::Outcome<std::unique_ptr<LiveProxies>> open(const std::vector<faults::FaultSpec>& faults,
                                                                const std::string& redis_url,
                                                                const std::string& postgres_url,
                                                                double time_scale = 1.0);

  // The URLs a role's workers get: through the proxies in front of them
  // where there are some, else as given.
  std::string redis_url_for(std::string_view role) const;
  std::string postgres_url_for(std::string_view role) const;
  std::string checkpoint_postgres_url_for(std::string_view role) const;

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
  // One proxy and the URL through it.
  struct Hop {
    std::unique_ptr<TcpFaultProxy> proxy;
    std::string url;       // what the workers are given
    std::string upstream;  // what it forwards to, for the evidence
  };
  // A role's link to one server (network faults): its proxies (PostgreSQL:
  // one for --postgres, a second for --checkpoint-postgres when that leads
  // elsewhere) and the network faults whose windows are open on it.
  struct Link {
    std::string role;
    faults::NetworkLink to = faults::NetworkLink::redis;
    std::vector<Hop> hops;
    std::vector<std::size_t> open;  // fault indices, in the order begun
  };
  struct Window {
    ProxyCounts at_start;
    ProxyCounts after_switch;  // right after the mode changed (reset: the open connections reset)
    std::optional<ProxyCounts> at_end;
  };
  static resilience::Outcome<Hop> hop_in_front_of(const std::string& url, std::uint16_t default_port,
                                                  std::string upstream);
  const Link* link_for(std::string_view role, faults::NetworkLink to) const;
  ProxyCounts counts_of(std::size_t index) const;  // the proxies fault `index` plays through
  Link& link_of(std::size_t index);                // of network fault `index`
  void apply(const Link& link) const;              // the mode of the last fault begun on it, or pass
  std::uint64_t touches(std::size_t index, const Window& w, const ProxyCounts& to) const;

  std::optional<Hop> checkpoints_;
  std::optional<Hop> bus_;
  std::vector<Link> links_;
  std::string redis_url_;
  std::string postgres_url_;
  std::string redis_address_;
  std::string postgres_address_;
  double time_scale_ = 1.0;
  int checkpoint_windows_open_ = 0;
  int bus_windows_open_ = 0;
  std::vector<faults::FaultSpec> faults_;  // the scenario's, in its order
  std::map<std::size_t, Window> windows_;
};

}  // namespace faultline::harness
