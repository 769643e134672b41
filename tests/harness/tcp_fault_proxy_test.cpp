// The TCP fault proxy (harness/live/tcp_fault_proxy.h) in front of a real
// upstream: a small echo server of the test's own (threads, blocking
// sockets). Each mode does what it says and counts what it touched: pass
// forwards both ways; delay holds each chunk; bandwidth paces; black_hole
// holds bytes and delivers them in order when it heals; reset and refuse
// end open connections with RST and treat new ones as they say; an
// unreachable upstream resets the client; a half-close goes through; stop()
// closes everything and the port with it.
//
// Timing is asserted only as lower bounds (a delay or a pace cannot make
// things faster); upper bounds are hang guards of seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/live/tcp_fault_proxy.h"

namespace faultline::harness {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Echoes every byte it reads; closes its side when the client does.
class EchoServer {
 public:
  EchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 64) != 0) {
      throw std::runtime_error(std::string("echo server: ") + std::strerror(errno));
    }
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : handlers_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  std::uint16_t port() const { return port_; }
  std::uint64_t bytes_received() const { return received_.load(); }
  int connections() const { return connections_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      ++connections_;
      std::lock_guard lock(mutex_);
      fds_.push_back(fd);
      handlers_.emplace_back([this, fd] {
        char buf[8192];
        for (;;) {
          const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) break;
          received_ += static_cast<std::uint64_t>(n);
          ssize_t sent = 0;
          while (sent < n) {
            const ssize_t w = ::send(fd, buf + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
            if (w <= 0) return;
            sent += w;
          }
        }
        ::shutdown(fd, SHUT_WR);
      });
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> handlers_;
};

// A blocking client socket.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    connect_errno_ = connected_ ? 0 : errno;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  // What a read found within `limit`.
  struct Read {
    std::string bytes;
    bool eof = false;     // orderly end (FIN)
    int error = 0;        // errno of a failed read (ECONNRESET)
    bool timed_out = false;
  };
  // Reads until `want` bytes, the end, an error or `limit`.
  Read read(std::size_t want, std::chrono::milliseconds limit) {
    Read r;
    const auto end = Clock::now() + limit;
    while (r.bytes.size() < want) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) {
        r.timed_out = true;
        return r;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) == 0) continue;
      char buf[8192];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) {
        r.eof = true;
        return r;
      }
      if (n < 0) {
        r.error = errno;
        return r;
      }
      r.bytes.append(buf, static_cast<std::size_t>(n));
    }
    return r;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
};

std::unique_ptr<TcpFaultProxy> proxy_to(std::uint16_t upstream_port) {
  ProxyOptions o;
  o.upstream_port = upstream_port;
  auto started = TcpFaultProxy::start(o);
  if (!started) throw std::runtime_error(started.failure().message);
  return std::move(started).value();
}

// Waits (bounded) until `done` holds.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 5000ms) {
  const auto end = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(TcpFaultProxy, PassForwardsBothWaysAndCountsBytesPerConnection) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  EXPECT_EQ(proxy->host(), "127.0.0.1");
  EXPECT_NE(proxy->port(), 0);
  EXPECT_EQ(proxy->mode(), ProxyMode::pass);
  Client a(proxy->port());
  Client b(proxy->port());
  ASSERT_TRUE(a.connected() && b.connected());
  a.send("hello");
  b.send("proxy world");
  EXPECT_EQ(a.read(5, 5000ms).bytes, "hello");
  EXPECT_EQ(b.read(11, 5000ms).bytes, "proxy world");
  ASSERT_TRUE(eventually([&] { return proxy->counts().bytes_down == 16; }));
  const ProxyCounts c = proxy->counts();
  EXPECT_EQ(c.accepted, 2u);
  EXPECT_EQ(c.open, 2u);
  EXPECT_EQ(c.bytes_up, 16u);
  EXPECT_EQ(c.reset + c.refused + c.chunks_delayed + c.chunks_held + c.upstream_failures, 0u);
  const auto conns = proxy->connections();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[0].id, 1u);
  EXPECT_EQ(conns[1].id, 2u);
  EXPECT_EQ(conns[0].bytes_up + conns[1].bytes_up, 16u);
  EXPECT_EQ(conns[0].bytes_down + conns[1].bytes_down, 16u);
  EXPECT_EQ(conns[0].state, ProxyConnection::State::open);
  EXPECT_EQ(echo.bytes_received(), 16u);
}

TEST(TcpFaultProxy, AHalfCloseGoesThroughAndTheConnectionEndsClosed) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  Client a(proxy->port());
  a.send("last words");
  a.shutdown_send();
  const auto r = a.read(100, 5000ms);
  EXPECT_EQ(r.bytes, "last words");
  EXPECT_TRUE(r.eof) << "the echo server's FIN reaches the client";
  ASSERT_TRUE(eventually([&] { return proxy->counts().open == 0; }));
  ASSERT_EQ(proxy->connections().size(), 1u);
  EXPECT_EQ(proxy->connections()[0].state, ProxyConnection::State::closed);
}

TEST(TcpFaultProxy, DelayHoldsEachChunkInBothDirections) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  Client a(proxy->port());
  a.send("warm");
  ASSERT_EQ(a.read(4, 5000ms).bytes, "warm");
  proxy->delay(300ms);
  EXPECT_EQ(proxy->mode(), ProxyMode::delay);
  const auto sent = Clock::now();
  a.send("slow");
  const auto r = a.read(4, 10'000ms);
  const auto took = Clock::now() - sent;
  EXPECT_EQ(r.bytes, "slow");
  EXPECT_GE(took, 580ms) << "300 ms up, 300 ms down";
  const ProxyCounts c = proxy->counts();
  EXPECT_EQ(c.chunks_delayed, 2u);
  EXPECT_EQ(proxy->connections()[0].chunks_delayed, 2u);
  proxy->pass();
  a.send("fast");
  EXPECT_EQ(a.read(4, 5000ms).bytes, "fast");
  EXPECT_EQ(proxy->counts().chunks_delayed, 2u) << "pass delays nothing";
}

TEST(TcpFaultProxy, BandwidthPacesEachDirection) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  proxy->bandwidth(10'000);
  EXPECT_EQ(proxy->mode(), ProxyMode::bandwidth);
  Client a(proxy->port());
  const std::string payload(15'000, 'x');
  const auto sent = Clock::now();
  a.send(payload);
  const auto r = a.read(payload.size(), 30'000ms);
  const auto took = Clock::now() - sent;
  EXPECT_EQ(r.bytes.size(), payload.size());
  EXPECT_GE(took, 1400ms) << "15 kB at 10 kB/s takes at least 1.5 s in each direction (they overlap)";
  // A chunk is counted when its write completes, which can be after the
  // echo of it is already back: wait for the count rather than race it.
  EXPECT_TRUE(eventually([&] { return proxy->counts().bytes_up == payload.size(); }))
      << "bytes_up " << proxy->counts().bytes_up;
  EXPECT_EQ(echo.bytes_received(), payload.size());
  // Every chunk read under bandwidth is counted paced, up and down: at
  // least one each way; pass paces nothing more.
  const auto paced = proxy->counts().chunks_paced;
  EXPECT_GE(paced, 2u);
  EXPECT_EQ(proxy->connections()[0].chunks_paced, paced);
  proxy->pass();
  a.send("y");
  EXPECT_EQ(a.read(1, 5'000ms).bytes, "y");
  EXPECT_EQ(proxy->counts().chunks_paced, paced) << "pass paces nothing";
  EXPECT_EQ(proxy->counts().chunks_delayed + proxy->counts().chunks_held, 0u);
}

TEST(TcpFaultProxy, BlackHoleHoldsBytesAndDeliversThemInOrderWhenItHeals) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  Client a(proxy->port());
  a.send("before");
  ASSERT_EQ(a.read(6, 5000ms).bytes, "before");
  proxy->black_hole();
  EXPECT_EQ(proxy->mode(), ProxyMode::black_hole);
  a.send("one,");
  std::this_thread::sleep_for(50ms);
  a.send("two,");
  Client late(proxy->port());  // accepted in the partition: held too
  ASSERT_TRUE(late.connected());
  late.send("late");
  const auto nothing = a.read(1, 400ms);
  EXPECT_TRUE(nothing.timed_out);
  EXPECT_EQ(nothing.bytes, "");
  EXPECT_TRUE(late.read(1, 100ms).timed_out);
  EXPECT_EQ(echo.bytes_received(), 6u) << "nothing reached the upstream in the partition";
  ASSERT_TRUE(eventually([&] { return proxy->counts().chunks_held >= 3; }));
  const ProxyCounts held = proxy->counts();
  EXPECT_EQ(held.bytes_held, 12u);
  EXPECT_EQ(held.bytes_up, 6u);

  proxy->pass();
  EXPECT_EQ(a.read(8, 5000ms).bytes, "one,two,");
  EXPECT_EQ(late.read(4, 5000ms).bytes, "late");
  // Counted when the write completes, which may come after the echo.
  EXPECT_TRUE(eventually([&] { return proxy->counts().bytes_up == 18u; })) << "bytes_up " << proxy->counts().bytes_up;
  const ProxyCounts healed = proxy->counts();
  EXPECT_EQ(healed.bytes_dropped, 0u);
  EXPECT_EQ(healed.reset, 0u);
}

TEST(TcpFaultProxy, ResetEndsOpenConnectionsAndNewOnesWithRst) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  Client idle(proxy->port());
  Client busy(proxy->port());
  idle.send("x");
  ASSERT_EQ(idle.read(1, 5000ms).bytes, "x");
  proxy->black_hole();
  busy.send("unanswered");  // held: its request has no reply when the reset comes
  ASSERT_TRUE(eventually([&] { return proxy->counts().chunks_held == 1; }));
  proxy->reset();
  EXPECT_EQ(idle.read(1, 5000ms).error, ECONNRESET);
  EXPECT_EQ(busy.read(1, 5000ms).error, ECONNRESET);
  Client fresh(proxy->port());
  ASSERT_TRUE(fresh.connected()) << "accepted, then reset";
  EXPECT_EQ(fresh.read(1, 5000ms).error, ECONNRESET);
  const ProxyCounts c = proxy->counts();
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.reset, 3u);
  EXPECT_EQ(c.reset_busy, 1u);
  EXPECT_EQ(c.bytes_dropped, 10u);
  EXPECT_EQ(c.open, 0u);
  for (const auto& conn : proxy->connections()) EXPECT_EQ(conn.state, ProxyConnection::State::reset);

  proxy->pass();
  Client again(proxy->port());
  again.send("back");
  EXPECT_EQ(again.read(4, 5000ms).bytes, "back");
}

TEST(TcpFaultProxy, RefuseClosesNewConnectionsAtOnceAndResetsOpenOnes) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  Client open(proxy->port());
  open.send("x");
  ASSERT_EQ(open.read(1, 5000ms).bytes, "x");
  proxy->refuse();
  EXPECT_EQ(open.read(1, 5000ms).error, ECONNRESET);
  for (int i = 0; i < 3; ++i) {
    Client refused(proxy->port());
    const auto r = refused.read(1, 5000ms);
    EXPECT_TRUE(r.eof || r.error != 0) << "closed before a byte";
    EXPECT_EQ(r.bytes, "");
  }
  const int upstream_connections = echo.connections();
  const ProxyCounts c = proxy->counts();
  EXPECT_EQ(c.accepted, 4u);
  EXPECT_EQ(c.refused, 3u);
  EXPECT_EQ(c.reset, 1u);
  EXPECT_EQ(upstream_connections, 1) << "a refused connection never reaches the upstream";
  const auto conns = proxy->connections();
  ASSERT_EQ(conns.size(), 4u);
  EXPECT_EQ(conns[0].state, ProxyConnection::State::reset);
  EXPECT_EQ(conns[3].state, ProxyConnection::State::refused);

  proxy->pass();
  Client again(proxy->port());
  again.send("back");
  EXPECT_EQ(again.read(4, 5000ms).bytes, "back");
  EXPECT_EQ(proxy->counts().refused, 3u);
}

TEST(TcpFaultProxy, AnUnreachableUpstreamResetsTheClient) {
  std::uint16_t dead_port = 0;
  {
    EchoServer gone;  // a port that was free a moment ago, nothing listens there now
    dead_port = gone.port();
  }
  auto proxy = proxy_to(dead_port);
  Client a(proxy->port());
  ASSERT_TRUE(a.connected());
  const auto r = a.read(1, 5000ms);
  EXPECT_EQ(r.error, ECONNRESET);
  ASSERT_TRUE(eventually([&] { return proxy->counts().upstream_failures == 1; }));
  EXPECT_EQ(proxy->connections()[0].state, ProxyConnection::State::upstream_failed);
}

TEST(TcpFaultProxy, StopClosesEverySocketAndTheListener) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  const std::uint16_t port = proxy->port();
  Client a(port);
  a.send("x");
  ASSERT_EQ(a.read(1, 5000ms).bytes, "x");
  proxy->black_hole();
  a.send("held");
  ASSERT_TRUE(eventually([&] { return proxy->counts().chunks_held == 1; }));
  proxy->stop();
  const auto r = a.read(1, 5000ms);
  EXPECT_TRUE(r.eof || r.error != 0) << "the connection ended";
  EXPECT_FALSE(r.timed_out);
  Client after(port);
  EXPECT_FALSE(after.connected());
  EXPECT_EQ(after.connect_errno(), ECONNREFUSED);
  proxy->pass();  // does nothing once stopped
  proxy->stop();  // idempotent
  EXPECT_EQ(proxy->counts().open, 0u);
  EXPECT_EQ(echo.bytes_received(), 1u) << "held bytes are dropped, never delivered";
}

TEST(TcpFaultProxy, ModesCanBeChangedFromSeveralThreadsWhileTrafficFlows) {
  EchoServer echo;
  auto proxy = proxy_to(echo.port());
  std::atomic<bool> done{false};
  std::thread flipper([&] {
    const ProxyMode modes[] = {ProxyMode::delay, ProxyMode::black_hole, ProxyMode::bandwidth, ProxyMode::pass};
    for (int i = 0; !done; ++i) {
      switch (modes[i % 4]) {
        case ProxyMode::delay: proxy->delay(2ms); break;
        case ProxyMode::black_hole: proxy->black_hole(); break;
        case ProxyMode::bandwidth: proxy->bandwidth(1'000'000); break;
        default: proxy->pass(); break;
      }
      std::this_thread::sleep_for(3ms);
    }
    proxy->pass();
  });
  Client a(proxy->port());
  std::string got;
  std::string want;
  for (int i = 0; i < 50; ++i) {
    const std::string m = "m" + std::to_string(i) + ";";
    want += m;
    a.send(m);
    got += a.read(m.size(), 10'000ms).bytes;
  }
  done = true;
  flipper.join();
  EXPECT_EQ(got, want) << "nothing lost, nothing reordered";
}

}  // namespace
}  // namespace faultline::harness
