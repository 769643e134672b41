// Network faults of a live run through TCP fault proxies (live_proxies.h).
#include "harness/live/live_proxies.h"

#include <fmt/core.h>

#include <charconv>

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

resilience::Outcome<std::unique_ptr<TcpFaultProxy>> proxy_in_front_of(const std::string& url,
                                                                      std::uint16_t default_port) {
  const auto a = authority_of(url);
  if (!a) return Failure{ErrorClass::permanent, "fault proxy: no host:port in " + url};
  ProxyOptions options;
  options.upstream_host = a->host;
  options.upstream_port = a->port != 0 ? a->port : default_port;
  return TcpFaultProxy::start(options);
}

std::string totals_line(std::string_view what, const std::string& upstream, const TcpFaultProxy& proxy) {
  const ProxyCounts c = proxy.counts();
  return fmt::format(
      "fault proxy {} -> {}: {} connections accepted, {} refused, {} reset ({} with a request unanswered); {} bytes "
      "up, {} down; {} chunks held ({} bytes), {} bytes dropped with their connection",
      what, upstream, c.accepted, c.refused, c.reset, c.reset_busy, c.bytes_up, c.bytes_down, c.chunks_held,
      c.bytes_held, c.bytes_dropped);
}

}  // namespace

bool live_proxy_fault(const faults::FaultSpec& spec) noexcept {
  return spec.kind == FaultKind::checkpoint_outage || spec.kind == FaultKind::bus_partition;
}

std::string url_through(const std::string& url, const std::string& host, std::uint16_t port) {
  const auto a = authority_of(url);
  FAULTLINE_ASSERT(a.has_value() && "url_through: a URL without host:port");
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return url.substr(0, a->begin) + shown + ":" + std::to_string(port) + url.substr(a->end);
}

resilience::Outcome<std::unique_ptr<LiveProxies>> LiveProxies::open(const std::vector<faults::FaultSpec>& faults,
                                                                    const std::string& redis_url,
                                                                    const std::string& postgres_url) {
  auto proxies = std::make_unique<LiveProxies>();
  proxies->worker_redis_url_ = redis_url;
  proxies->checkpoint_postgres_url_ = postgres_url;
  const auto redis = authority_of(redis_url);
  const auto postgres = authority_of(postgres_url);
  proxies->redis_address_ =
      redis ? fmt::format("{}:{}", redis->host, redis->port != 0 ? redis->port : 6379) : redis_url;
  proxies->postgres_address_ =
      postgres ? fmt::format("{}:{}", postgres->host, postgres->port != 0 ? postgres->port : 5432) : postgres_url;
  for (const auto& f : faults) {
    proxies->kinds_.push_back(f.kind);
    if (f.kind == FaultKind::checkpoint_outage && !proxies->checkpoints_) {
      auto p = proxy_in_front_of(postgres_url, 5432);
      if (!p) return std::move(p).failure();
      proxies->checkpoints_ = std::move(p).value();
      proxies->checkpoint_postgres_url_ =
          url_through(postgres_url, proxies->checkpoints_->host(), proxies->checkpoints_->port());
    } else if (f.kind == FaultKind::bus_partition && !proxies->bus_) {
      auto p = proxy_in_front_of(redis_url, 6379);
      if (!p) return std::move(p).failure();
      proxies->bus_ = std::move(p).value();
      proxies->worker_redis_url_ = url_through(redis_url, proxies->bus_->host(), proxies->bus_->port());
    }
  }
  return proxies;
}

TcpFaultProxy* LiveProxies::proxy_for(FaultKind kind) const {
  if (kind == FaultKind::checkpoint_outage) return checkpoints_.get();
  if (kind == FaultKind::bus_partition) return bus_.get();
  return nullptr;
}

std::uint64_t LiveProxies::touches(FaultKind kind, const ProxyCounts& from, const ProxyCounts& to) {
  if (kind == FaultKind::checkpoint_outage) {
    return (to.refused - from.refused) + (to.reset_busy - from.reset_busy);
  }
  return to.chunks_held - from.chunks_held;
}

void LiveProxies::begin(std::size_t index) {
  FAULTLINE_ASSERT(index < kinds_.size() && "begin: not a fault of the scenario");
  const FaultKind kind = kinds_[index];
  TcpFaultProxy* proxy = proxy_for(kind);
  FAULTLINE_ASSERT(proxy != nullptr && "a proxied fault without its proxy");
  // Counted before the mode changes: the resets it makes belong to the window.
  windows_[index] = Window{kind, proxy->counts(), std::nullopt};
  if (kind == FaultKind::checkpoint_outage) {
    if (checkpoint_windows_open_++ == 0) proxy->refuse();
  } else if (bus_windows_open_++ == 0) {
    proxy->black_hole();
  }
}

void LiveProxies::end(std::size_t index) {
  const auto it = windows_.find(index);
  if (it == windows_.end() || it->second.at_end) return;
  Window& w = it->second;
  TcpFaultProxy* proxy = proxy_for(w.kind);
  w.at_end = proxy->counts();
  if (w.kind == FaultKind::checkpoint_outage) {
    if (--checkpoint_windows_open_ == 0) proxy->pass();
  } else if (--bus_windows_open_ == 0) {
    proxy->pass();
  }
}

std::uint64_t LiveProxies::touched(std::size_t index) const {
  const auto it = windows_.find(index);
  if (it == windows_.end()) return 0;
  const Window& w = it->second;
  return touches(w.kind, w.at_start, w.at_end ? *w.at_end : proxy_for(w.kind)->counts());
}

std::vector<std::string> LiveProxies::evidence() const {
  std::vector<std::string> out;
  if (checkpoints_) out.push_back(totals_line("(checkpoint store)", postgres_address_, *checkpoints_));
  if (bus_) out.push_back(totals_line("(workers' Redis)", redis_address_, *bus_));
  return out;
}

void LiveProxies::stop() {
  if (checkpoints_) checkpoints_->stop();
  if (bus_) bus_->stop();
}

}  // namespace faultline::harness
