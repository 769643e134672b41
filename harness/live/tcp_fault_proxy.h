// A TCP fault proxy: the network between a process and a server, under the
// harness's control. It listens on an address of its own (127.0.0.1 and a
// free port by default) and forwards each connection it accepts to one
// upstream host:port, both directions, chunk by chunk as they arrive. Its
// mode can be changed at any time from any thread; the change has taken
// effect when the call returns:
//
//   pass        bytes go through as they come
//   delay       every chunk read is held `delay` before it is forwarded
//               (both directions, order kept: a slow link)
//   bandwidth   each direction of a connection forwards at most
//               `bytes_per_second` (a thin link)
//   reset       open connections are reset (RST: SO_LINGER 0) and new ones
//               are accepted and reset at once
//   refuse      new connections are closed at once (accepted, then FIN
//               before a byte), open ones are reset
//   black_hole  bytes are read and held, not forwarded, until the mode
//               leaves black_hole; then they are delivered in order (a
//               partition that heals, as TCP retransmission would)
//
// The counts are the harness's own record of what a fault touched, per
// connection and in total. The proxy runs its own io_context on a thread of
// its own inside the calling process; stop() (or the destructor) closes
// every socket and joins the thread.
//
//   auto proxy = TcpFaultProxy::start({.upstream_host = "127.0.0.1", .upstream_port = 5432});
//   connect_to("127.0.0.1", (*proxy)->port());
//   (*proxy)->refuse();                      // the server is unreachable
//   (*proxy)->pass();
//   ProxyCounts c = (*proxy)->counts();      // c.refused, c.reset, ...
//
// Bounds and fault model of the proxy itself: at most `buffer_bytes_max`
// bytes wait per direction of a connection (delayed or held); past that it
// stops reading that side, so TCP's own flow control pushes back on the
// sender. An upstream that cannot be reached resets the client's connection
// (counted in upstream_failures). A connection reset or broken on one side
// is reset on the other. At most `records_max` per-connection records are
// kept; the oldest closed ones go first (counted in records_dropped).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "resilience/outcome.h"

namespace faultline::harness {

enum class ProxyMode : std::uint8_t { pass, delay, bandwidth, reset, refuse, black_hole };
std::string_view to_string(ProxyMode mode) noexcept;

struct ProxyCounts {
  std::uint64_t accepted = 0;           // connections accepted from clients
  std::uint64_t reset = 0;              // reset by the proxy: open ones when reset/refuse began, new ones under reset
  std::uint64_t reset_busy = 0;         // of `reset`, open ones whose last bytes went upstream (a request unanswered)
  std::uint64_t refused = 0;            // new connections closed at once under refuse
  std::uint64_t upstream_failures = 0;  // accepted, but the upstream could not be reached
  std::uint64_t bytes_up = 0;           // forwarded client -> upstream
  std::uint64_t bytes_down = 0;         // forwarded upstream -> client
  std::uint64_t chunks_delayed = 0;     // chunks read under delay
  std::uint64_t chunks_paced = 0;       // chunks read under bandwidth (forwarded at its pace)
  std::uint64_t chunks_held = 0;        // chunks held under black_hole (read then, or waiting when it began)
  std::uint64_t bytes_held = 0;
  std::uint64_t bytes_dropped = 0;      // delayed or held bytes lost with a connection that was reset or broke
  std::uint64_t records_dropped = 0;    // per-connection records forgotten (records_max)
  std::uint64_t open = 0;               // connections open now
};

struct ProxyConnection {
  enum class State : std::uint8_t { open, closed, reset, refused, upstream_failed, broken };
  std::uint64_t id = 0;  // 1, 2, ... in accept order
  State state = State::open;
  std::uint64_t bytes_up = 0;
  std::uint64_t bytes_down = 0;
  std::uint64_t chunks_delayed = 0;
  std::uint64_t chunks_paced = 0;
  std::uint64_t chunks_held = 0;
};
std::string_view to_string(ProxyConnection::State state) noexcept;

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: a free port (port() says which)
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  std::size_t buffer_bytes_max = 16u << 20;
  std::size_t records_max = 4096;
};

class TcpFaultProxy {
 public:
  // Resolves the upstream, listens, and starts the proxy's thread; a
  // failure (an address that does not resolve, a port taken) is permanent.
  static resilience::Outcome<std::unique_ptr<TcpFaultProxy>> start(ProxyOptions options);
  ~TcpFaultProxy();
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  const std::string& host() const noexcept;
  std::uint16_t port() const noexcept;

  void pass();
  void delay(std::chrono::milliseconds delay);
  void bandwidth(std::uint64_t bytes_per_second);  // at least 1
  void reset();
  void refuse();
  void black_hole();
  ProxyMode mode() const;

  ProxyCounts counts() const;
  std::vector<ProxyConnection> connections() const;  // in accept order

  // Closes the listener and every connection (bytes still delayed or held
  // are dropped), joins the thread. Idempotent; mode changes after it do nothing.
  void stop();

  struct Impl;

 private:
  explicit TcpFaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::harness
