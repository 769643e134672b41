// Network faults of a live run through TCP fault proxies (live_proxies.h).
#include "harness/live/live_proxies.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "runtime/assert.h"

namespace faultline::harness {

using faults::FaultKind;
using resilience::ErrorClass;
using resilience::Failure;

namespace {

// Where host[:port] sits in scheme://[userinfo@]host[:port][/...][?...].
struct Authority {
  std::size_t begin = 0;  // of the host
  std::size_t end = 0;    // past the port
  std::string host;
  std::uint16_t port = 0;  // 0: none given
};

std::optional<Authority> authority_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  Authority a;
  a.begin = scheme + 3;
  a.end = url.find_first_of("/?", a.begin);
  if (a.end == std::string::npos) a.end = url.size();
  const auto at = url.rfind('@', a.end);
  if (at != std::string::npos && at >= a.begin) a.begin = at + 1;
  const std::string hostport = url.substr(a.begin, a.end - a.begin);
  std::size_t colon = std::string::npos;
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    const auto close = hostport.find(']');
    if (close == std::string::npos) return std::nullopt;
    a.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') colon = close + 1;
  } else {
    colon = hostport.find(':');
    a.host = hostport.substr(0, colon);
  }
  if (colon != std::string::npos) {
    const std::string port = hostport.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    a.port = static_cast<std::uint16_t>(value);
  }
  if (a.host.empty()) a.host = "127.0.0.1";
  return a;
}

std::string address_of(const std::string& url, std::uint16_t default_port) {
  const auto a = authority_of(url);
  return a ? fmt::format("{}:{}", a->host, a->port != 0 ? a->port : default_port) : url;
}

ProxyCounts& operator+=(ProxyCounts& a, const ProxyCounts& b) {
  a.accepted += b.accepted;
  a.reset += b.reset;
  a.reset_busy += b.reset_busy;
  a.refused += b.refused;
  a.upstream_failures += b.upstream_failures;
  a.bytes_up += b.bytes_up;
  a.bytes_down += b.bytes_down;
  a.chunks_delayed += b.chunks_delayed;
  a.chunks_paced += b.chunks_paced;
  a.chunks_held += b.chunks_held;
  a.bytes_held += b.bytes_held;
  a.bytes_dropped += b.bytes_dropped;
  a.records_dropped += b.records_dropped;
  a.open += b.open;
  return a;
}

std::string totals_line(std::string_view what, const std::string& upstream, const TcpFaultProxy& proxy) {
  const ProxyCounts c = proxy.counts();
  // Per connection: how many of them the proxy delayed, paced or held bytes on.
  std::uint64_t struck = 0;
  for (const auto& conn : proxy.connections()) {
    if (conn.chunks_delayed + conn.chunks_paced + conn.chunks_held > 0) ++struck;
  }
  return fmt::format(
      "fault proxy {} -> {}: {} connections accepted, {} refused, {} reset ({} with a request unanswered); {} bytes "
      "up, {} down; {} chunks delayed, {} paced, {} held ({} bytes), on {} connection(s); {} bytes dropped with "
      "their connection",
      what, upstream, c.accepted, c.refused, c.reset, c.reset_busy, c.bytes_up, c.bytes_down, c.chunks_delayed,
      c.chunks_paced, c.chunks_held, c.bytes_held, struck, c.bytes_dropped);
}

}  // namespace

bool live_proxy_fault(const faults::FaultSpec& spec) noexcept {
  return spec.kind == FaultKind::checkpoint_outage || spec.kind == FaultKind::bus_partition ||
         spec.kind == FaultKind::network;
}

std::string url_through(const std::string& url, const std::string& host, std::uint16_t port) {
  const auto a = authority_of(url);
  FAULTLINE_ASSERT(a.has_value() && "url_through: a URL without host:port");
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return url.substr(0, a->begin) + shown + ":" + std::to_string(port) + url.substr(a->end);
}

// A proxy in front of `url`'s host:port, and `url` through it.
resilience::Outcome<LiveProxies::Hop> LiveProxies::hop_in_front_of(const std::string& url, std::uint16_t default_port,
                                                                   std::string upstream) {
  const auto a = authority_of(url);
  if (!a) return Failure{ErrorClass::permanent, "fault proxy: no host:port in " + url};
  ProxyOptions options;
  options.upstream_host = a->host;
  options.upstream_port = a->port != 0 ? a->port : default_port;
  auto proxy = TcpFaultProxy::start(options);
  if (!proxy) return std::move(proxy).failure();
  Hop hop;
  hop.proxy = std::move(proxy).value();
  hop.url = url_through(url, hop.proxy->host(), hop.proxy->port());
  hop.upstream = std::move(upstream);
  return hop;
}

resilience::Outcome<std::unique_ptr<LiveProxies>> LiveProxies::open(const std::vector<faults::FaultSpec>& faults,
                                                                    const std::string& redis_url,
                                                                    const std::string& postgres_url,
                                                                    double time_scale) {
  FAULTLINE_ASSERT(time_scale > 0);
  auto proxies = std::make_unique<LiveProxies>();
  LiveProxies& p = *proxies;
  p.time_scale_ = time_scale;
  p.redis_url_ = redis_url;
  p.postgres_url_ = postgres_url;
  p.redis_address_ = address_of(redis_url, 6379);
  p.postgres_address_ = address_of(postgres_url, 5432);
  p.faults_ = faults;
  // The shared proxies first: a role's own proxy may lead into one of them.
  for (const auto& f : faults) {
    if (f.kind == FaultKind::checkpoint_outage && !p.checkpoints_) {
      auto hop = hop_in_front_of(postgres_url, 5432, p.postgres_address_);
      if (!hop) return std::move(hop).failure();
      p.checkpoints_ = std::move(hop).value();
    } else if (f.kind == FaultKind::bus_partition && !p.bus_) {
      auto hop = hop_in_front_of(redis_url, 6379, p.redis_address_);
      if (!hop) return std::move(hop).failure();
      p.bus_ = std::move(hop).value();
    }
  }
  for (const auto& f : faults) {
    if (f.kind != FaultKind::network || p.link_for(f.target, f.link) != nullptr) continue;
    Link link;
    link.role = f.target;
    link.to = f.link;
    if (f.link == faults::NetworkLink::redis) {
      const std::string shared = p.redis_url_for(f.target);  // the bus proxy's, if there is one
      auto hop = hop_in_front_of(shared, 6379,
                                 p.bus_ ? "the workers' Redis proxy -> " + p.redis_address_ : p.redis_address_);
      if (!hop) return std::move(hop).failure();
      link.hops.push_back(std::move(hop).value());
    } else {
      auto hop = hop_in_front_of(postgres_url, 5432, p.postgres_address_);
      if (!hop) return std::move(hop).failure();
      link.hops.push_back(std::move(hop).value());
      if (p.checkpoints_) {  // its checkpoint connections lead into the checkpoint_outage proxy
        auto second = hop_in_front_of(p.checkpoints_->url, 5432, "the checkpoint store's proxy -> " +
                                                                     p.postgres_address_);
        if (!second) return std::move(second).failure();
        link.hops.push_back(std::move(second).value());
      }
    }
    p.links_.push_back(std::move(link));
  }
  return proxies;
}

const LiveProxies::Link* LiveProxies::link_for(std::string_view role, faults::NetworkLink to) const {
  for (const auto& l : links_) {
    if (l.role == role && l.to == to) return &l;
  }
  return nullptr;
}

std::string LiveProxies::redis_url_for(std::string_view role) const {
  if (const Link* l = link_for(role, faults::NetworkLink::redis)) return l->hops.front().url;
  return bus_ ? bus_->url : redis_url_;
}

std::string LiveProxies::postgres_url_for(std::string_view role) const {
  if (const Link* l = link_for(role, faults::NetworkLink::postgres)) return l->hops.front().url;
  return postgres_url_;
}

std::string LiveProxies::checkpoint_postgres_url_for(std::string_view role) const {
  if (const Link* l = link_for(role, faults::NetworkLink::postgres)) return l->hops.back().url;
  return checkpoints_ ? checkpoints_->url : postgres_url_;
}

LiveProxies::Link& LiveProxies::link_of(std::size_t index) {
  const auto& spec = faults_[index];
  for (auto& l : links_) {
    if (l.role == spec.target && l.to == spec.link) return l;
  }
  FAULTLINE_ASSERT(false && "a network fault without its link");
  return links_.front();
}

ProxyCounts LiveProxies::counts_of(std::size_t index) const {
  const auto& spec = faults_[index];
  if (spec.kind == FaultKind::checkpoint_outage) return checkpoints_->proxy->counts();
  if (spec.kind == FaultKind::bus_partition) return bus_->proxy->counts();
  const Link* link = link_for(spec.target, spec.link);
  FAULTLINE_ASSERT(link != nullptr && "a network fault without its link");
  ProxyCounts sum;
  for (const auto& hop : link->hops) sum += hop.proxy->counts();
  return sum;
}

void LiveProxies::apply(const Link& link) const {
  for (const auto& hop : link.hops) {
    TcpFaultProxy& proxy = *hop.proxy;
    if (link.open.empty()) {
      proxy.pass();
      continue;
    }
    const auto& spec = faults_[link.open.back()];
    switch (spec.network_mode) {
      case faults::NetworkMode::delay: {
        const auto real = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double, std::milli>(runtime::to_seconds(spec.delay) * 1000.0 / time_scale_));
        proxy.delay(std::max(std::chrono::milliseconds(1), real));
        break;
      }
      case faults::NetworkMode::bandwidth:
        proxy.bandwidth(
            static_cast<std::uint64_t>(std::llround(static_cast<double>(spec.bytes_per_second) * time_scale_)));
        break;
      case faults::NetworkMode::reset: proxy.reset(); break;
      case faults::NetworkMode::black_hole: proxy.black_hole(); break;
    }
  }
}

std::uint64_t LiveProxies::touches(std::size_t index, const Window& w, const ProxyCounts& to) const {
  const auto& spec = faults_[index];
  const ProxyCounts& from = w.at_start;
  if (spec.kind == FaultKind::checkpoint_outage) {
    return (to.refused - from.refused) + (to.reset_busy - from.reset_busy);
  }
  if (spec.kind == FaultKind::bus_partition) return to.chunks_held - from.chunks_held;
  switch (spec.network_mode) {
    case faults::NetworkMode::delay: return to.chunks_delayed - from.chunks_delayed;
    case faults::NetworkMode::bandwidth: return to.chunks_paced - from.chunks_paced;
    case faults::NetworkMode::black_hole: return to.chunks_held - from.chunks_held;
    case faults::NetworkMode::reset:
      // The open connections reset at its start with a request unanswered
      // (an idle pooled one has not met the fault yet), then every new
      // connection reset while it lasted.
      return (w.after_switch.reset_busy - from.reset_busy) + (to.reset - w.after_switch.reset);
  }
  return 0;
}

void LiveProxies::begin(std::size_t index) {
  FAULTLINE_ASSERT(index < faults_.size() && live_proxy_fault(faults_[index]) && "begin: not a proxied fault");
  const auto& spec = faults_[index];
  // Counted before the mode changes: the resets it makes belong to the window.
  Window w{counts_of(index), {}, std::nullopt};
  if (spec.kind == FaultKind::checkpoint_outage) {
    if (checkpoint_windows_open_++ == 0) checkpoints_->proxy->refuse();
  } else if (spec.kind == FaultKind::bus_partition) {
    if (bus_windows_open_++ == 0) bus_->proxy->black_hole();
  } else {
    Link& link = link_of(index);
    link.open.push_back(index);
    apply(link);
  }
  w.after_switch = counts_of(index);
  windows_[index] = w;
}

void LiveProxies::end(std::size_t index) {
  const auto it = windows_.find(index);
  if (it == windows_.end() || it->second.at_end) return;
  Window& w = it->second;
  w.at_end = counts_of(index);
  const auto& spec = faults_[index];
  if (spec.kind == FaultKind::checkpoint_outage) {
    if (--checkpoint_windows_open_ == 0) checkpoints_->proxy->pass();
  } else if (spec.kind == FaultKind::bus_partition) {
    if (--bus_windows_open_ == 0) bus_->proxy->pass();
  } else {
    Link& link = link_of(index);
    link.open.erase(std::find(link.open.begin(), link.open.end(), index));
    apply(link);
  }
}

std::uint64_t LiveProxies::touched(std::size_t index) const {
  const auto it = windows_.find(index);
  if (it == windows_.end()) return 0;
  const Window& w = it->second;
  return touches(index, w, w.at_end ? *w.at_end : counts_of(index));
}

std::vector<std::string> LiveProxies::evidence() const {
  std::vector<std::string> out;
  if (checkpoints_) out.push_back(totals_line("(checkpoint store)", checkpoints_->upstream, *checkpoints_->proxy));
  if (bus_) out.push_back(totals_line("(workers' Redis)", bus_->upstream, *bus_->proxy));
  for (const auto& link : links_) {
    for (std::size_t h = 0; h < link.hops.size(); ++h) {
      const std::string what =
          link.to == faults::NetworkLink::redis
              ? fmt::format("({}'s Redis)", link.role)
              : fmt::format("({}'s PostgreSQL{})", link.role,
                            link.hops.size() > 1 ? (h == 0 ? ", --postgres" : ", --checkpoint-postgres") : "");
      out.push_back(totals_line(what, link.hops[h].upstream, *link.hops[h].proxy));
    }
  }
  return out;
}

void LiveProxies::stop() {
  if (checkpoints_) checkpoints_->proxy->stop();
  if (bus_) bus_->proxy->stop();
  for (auto& link : links_) {
    for (auto& hop : link.hops) hop.proxy->stop();
  }
}

}  // namespace faultline::harness
