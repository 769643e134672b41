// The TCP fault proxy (tcp_fault_proxy.h), on Boost.Asio: one io_context on
// one thread. Everything below the public calls runs on that thread; the
// mode setters post their change to it and wait until it has been applied,
// and the counts are kept under a mutex so any thread may read them.
//
// A connection is two pipes (client -> upstream, upstream -> client). A
// pipe reads chunks into a queue, each with the instant it may leave (now,
// or now + delay), and writes the queue's front when it is due, the mode
// allows (not black_hole) and, under bandwidth, the pacing allows; a pipe
// whose queue is over the buffer bound stops reading until it drains.
#include "harness/live/tcp_fault_proxy.h"

#include <boost/asio.hpp>
#include <fmt/core.h>

#include <array>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "runtime/assert.h"

namespace faultline::harness {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using resilience::ErrorClass;
using resilience::Failure;

std::string_view to_string(ProxyMode mode) noexcept {
  switch (mode) {
    case ProxyMode::pass: return "pass";
    case ProxyMode::delay: return "delay";
    case ProxyMode::bandwidth: return "bandwidth";
    case ProxyMode::reset: return "reset";
    case ProxyMode::refuse: return "refuse";
    case ProxyMode::black_hole: return "black_hole";
  }
  return "?";
}

std::string_view to_string(ProxyConnection::State state) noexcept {
  switch (state) {
    case ProxyConnection::State::open: return "open";
    case ProxyConnection::State::closed: return "closed";
    case ProxyConnection::State::reset: return "reset";
    case ProxyConnection::State::refused: return "refused";
    case ProxyConnection::State::upstream_failed: return "upstream_failed";
    case ProxyConnection::State::broken: return "broken";
  }
  return "?";
}

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// Under bandwidth, a write carries at most this share of a second's bytes,
// so the pace is smooth rather than one burst a second.
constexpr std::uint64_t kPacingSlices = 50;

struct Chunk {
  std::vector<char> bytes;
  std::size_t offset = 0;  // written so far
  Clock::time_point due;
};

// Resets the socket's connection when it is closed (RST instead of FIN).
void close_with_reset(tcp::socket& s) {
  boost::system::error_code ec;
  if (!s.is_open()) return;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

void close_plain(tcp::socket& s) {
  boost::system::error_code ec;
  if (!s.is_open()) return;
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

}  // namespace

struct TcpFaultProxy::Impl {
  struct Connection;

  // One direction of a connection.
  struct Pipe {
    Pipe(asio::io_context& io, tcp::socket& from_, tcp::socket& to_, bool up_)
        : from(&from_), to(&to_), up(up_), timer(io) {}
    tcp::socket* from;
    tcp::socket* to;
    bool up;  // client -> upstream
    std::deque<Chunk> queue;
    std::size_t queued_bytes = 0;
    std::array<char, kReadChunk> buffer{};
    bool reading = false;
    bool writing = false;
    bool waiting = false;  // on the timer
    bool eof = false;      // the reading side finished sending
    bool shut = false;     // the writing side was told so (shutdown send)
    asio::steady_timer timer;
    Clock::time_point next_send{};  // bandwidth pacing
  };

  struct Connection : std::enable_shared_from_this<Connection> {
    explicit Connection(asio::io_context& io, tcp::socket client_, std::uint64_t id_)
        : id(id_), client(std::move(client_)), upstream(io), up(io, client, upstream, true),
          down(io, upstream, client, false) {}
    std::uint64_t id;
    tcp::socket client;
    tcp::socket upstream;
    Pipe up;
    Pipe down;
    bool connected = false;
    bool closed = false;
    bool awaiting_reply = false;  // the last bytes read came from the client
  };

  ProxyOptions options;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  tcp::endpoint upstream;
  std::uint16_t port = 0;
  std::thread thread;
  std::mutex control;    // mode changes and stop() take turns
  bool stopped = false;  // under `control`

  // The io thread's own state.
  ProxyMode mode = ProxyMode::pass;
  std::chrono::milliseconds delay{0};
  std::uint64_t bytes_per_second = 1;
  std::map<std::uint64_t, std::shared_ptr<Connection>> live;
  std::uint64_t next_id = 1;

  // What other threads read.
  mutable std::mutex mutex;
  ProxyMode shown_mode = ProxyMode::pass;
  ProxyCounts totals;
  std::map<std::uint64_t, ProxyConnection> records;

  ProxyConnection* record(std::uint64_t id) {
    auto it = records.find(id);
    return it == records.end() ? nullptr : &it->second;
  }

  void add_record(std::uint64_t id, ProxyConnection::State state) {
    ProxyConnection r;
    r.id = id;
    r.state = state;
    records.emplace(id, r);
    while (records.size() > options.records_max) {
      auto oldest = records.begin();
      while (oldest != records.end() && oldest->second.state == ProxyConnection::State::open) ++oldest;
      if (oldest == records.end()) break;
      records.erase(oldest);
      ++totals.records_dropped;
    }
  }

  void set_state(std::uint64_t id, ProxyConnection::State state) {
    if (auto* r = record(id)) r->state = state;
  }

  // --- accepting ---

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors or a connection gone before it was taken: try
        // again shortly (at once could spin while descriptors are short).
        accept_retry.expires_after(std::chrono::milliseconds(10));
        accept_retry.async_wait([this](boost::system::error_code) {
          if (acceptor.is_open()) accept();
        });
        return;
      }
      const std::uint64_t id = next_id++;
      {
        std::lock_guard lock(mutex);
        ++totals.accepted;
        if (mode == ProxyMode::refuse) {
          ++totals.refused;
          add_record(id, ProxyConnection::State::refused);
        } else if (mode == ProxyMode::reset) {
          ++totals.reset;
          add_record(id, ProxyConnection::State::reset);
        } else {
          ++totals.open;
          add_record(id, ProxyConnection::State::open);
        }
      }
      if (mode == ProxyMode::refuse) {
        close_plain(socket);
      } else if (mode == ProxyMode::reset) {
        close_with_reset(socket);
      } else {
        auto c = std::make_shared<Connection>(io, std::move(socket), id);
        live.emplace(id, c);
        open_upstream(c);
      }
      accept();
    });
  }

  void open_upstream(const std::shared_ptr<Connection>& c) {
    c->upstream.async_connect(upstream, [this, c](boost::system::error_code ec) {
      if (c->closed) return;
      if (ec) {
        end(*c, ProxyConnection::State::upstream_failed, true);
        return;
      }
      boost::system::error_code ignored;
      c->upstream.set_option(tcp::no_delay(true), ignored);
      c->client.set_option(tcp::no_delay(true), ignored);
      c->connected = true;
      read(c, c->up);
      read(c, c->down);
    });
  }

  // --- one pipe ---

  void read(const std::shared_ptr<Connection>& c, Pipe& p) {
    if (c->closed || p.eof || p.reading || p.queued_bytes >= options.buffer_bytes_max) return;
    p.reading = true;
    p.from->async_read_some(asio::buffer(p.buffer), [this, c, &p](boost::system::error_code ec, std::size_t n) {
      p.reading = false;
      if (c->closed) return;
      if (ec == asio::error::eof) {
        p.eof = true;
        pump(c, p);
        return;
      }
      if (ec) {
        end(*c, ProxyConnection::State::broken, true);
        return;
      }
      Chunk chunk;
      chunk.bytes.assign(p.buffer.begin(), p.buffer.begin() + static_cast<std::ptrdiff_t>(n));
      chunk.due = Clock::now();
      c->awaiting_reply = p.up;
      {
        std::lock_guard lock(mutex);
        auto* r = record(c->id);
        if (mode == ProxyMode::delay) {
          chunk.due += delay;
          ++totals.chunks_delayed;
          if (r != nullptr) ++r->chunks_delayed;
        } else if (mode == ProxyMode::bandwidth) {
          ++totals.chunks_paced;
          if (r != nullptr) ++r->chunks_paced;
        } else if (mode == ProxyMode::black_hole) {
          ++totals.chunks_held;
          totals.bytes_held += n;
          if (r != nullptr) ++r->chunks_held;
        }
      }
      p.queued_bytes += n;
      p.queue.push_back(std::move(chunk));
      pump(c, p);
      read(c, p);
    });
  }

  // Writes what is due, or waits for it; finishes the direction once the
  // reading side has ended and the queue is empty.
  void pump(const std::shared_ptr<Connection>& c, Pipe& p) {
    if (c->closed || !c->connected || p.writing || p.waiting) return;
    if (p.queue.empty()) {
      if (p.eof && !p.shut) {
        p.shut = true;
        boost::system::error_code ignored;
        p.to->shutdown(tcp::socket::shutdown_send, ignored);
        if (c->up.shut && c->down.shut) end(*c, ProxyConnection::State::closed, false);
      }
      return;
    }
    if (mode == ProxyMode::black_hole) return;  // held until the mode changes
    const Clock::time_point now = Clock::now();
    Chunk& front = p.queue.front();
    Clock::time_point at = front.due;
    std::size_t n = front.bytes.size() - front.offset;
    if (mode == ProxyMode::bandwidth) {
      at = std::max(at, p.next_send);
      n = std::min<std::size_t>(n, std::max<std::uint64_t>(1, bytes_per_second / kPacingSlices));
    }
    if (at > now) {
      p.waiting = true;
      p.timer.expires_at(at);
      p.timer.async_wait([this, c, &p](boost::system::error_code) {
        p.waiting = false;
        pump(c, p);
      });
      return;
    }
    if (mode == ProxyMode::bandwidth) {
      const auto cost = std::chrono::nanoseconds(static_cast<std::int64_t>(n * 1'000'000'000ULL / bytes_per_second));
      p.next_send = std::max(now, p.next_send) + std::chrono::duration_cast<Clock::duration>(cost);
    }
    p.writing = true;
    asio::async_write(*p.to, asio::buffer(front.bytes.data() + front.offset, n),
                      [this, c, &p, n](boost::system::error_code ec, std::size_t) {
                        p.writing = false;
                        if (c->closed) return;
                        if (ec) {
                          end(*c, ProxyConnection::State::broken, true);
                          return;
                        }
                        {
                          std::lock_guard lock(mutex);
                          auto* r = record(c->id);
                          (p.up ? totals.bytes_up : totals.bytes_down) += n;
                          if (r != nullptr) (p.up ? r->bytes_up : r->bytes_down) += n;
                        }
                        Chunk& written = p.queue.front();
                        written.offset += n;
                        if (written.offset == written.bytes.size()) p.queue.pop_front();
                        p.queued_bytes -= n;
                        read(c, p);
                        pump(c, p);
                      });
  }

  // Closes both sides (with RST if `reset`), drops what was queued, forgets
  // the connection.
  void end(Connection& c, ProxyConnection::State state, bool reset) {
    if (c.closed) return;
    c.closed = true;
    std::uint64_t dropped = 0;
    for (Pipe* p : {&c.up, &c.down}) {
      dropped += p->queued_bytes;
      p->queue.clear();
      p->queued_bytes = 0;
      p->timer.cancel();
    }
    if (reset) {
      close_with_reset(c.client);
      close_with_reset(c.upstream);
    } else {
      close_plain(c.client);
      close_plain(c.upstream);
    }
    {
      std::lock_guard lock(mutex);
      totals.bytes_dropped += dropped;
      if (state == ProxyConnection::State::upstream_failed) ++totals.upstream_failures;
      --totals.open;
      set_state(c.id, state);
    }
    live.erase(c.id);  // the handlers in flight hold the connection until they run
  }

  // --- modes ---

  void apply(ProxyMode next, std::chrono::milliseconds next_delay, std::uint64_t rate) {
    const ProxyMode before = mode;
    mode = next;
    delay = next_delay;
    bytes_per_second = std::max<std::uint64_t>(1, rate);
    {
      std::lock_guard lock(mutex);
      shown_mode = next;
    }
    std::vector<std::shared_ptr<Connection>> all;
    for (const auto& [id, c] : live) all.push_back(c);
    for (const auto& c : all) {
      if (next == ProxyMode::reset || next == ProxyMode::refuse) {
        {
          std::lock_guard lock(mutex);
          ++totals.reset;
          if (c->awaiting_reply) ++totals.reset_busy;
        }
        end(*c, ProxyConnection::State::reset, true);
        continue;
      }
      for (Pipe* p : {&c->up, &c->down}) {
        if (next == ProxyMode::black_hole && before != ProxyMode::black_hole) {
          std::lock_guard lock(mutex);
          auto* r = record(c->id);
          // The front chunk of a pipe that is writing is in the kernel's hands already.
          for (std::size_t k = p->writing ? 1 : 0; k < p->queue.size(); ++k) {
            const Chunk& waiting = p->queue[k];
            ++totals.chunks_held;
            totals.bytes_held += waiting.bytes.size() - waiting.offset;
            if (r != nullptr) ++r->chunks_held;
          }
        }
        // A pipe waiting for a due time or for pacing looks again.
        if (p->waiting) p->timer.cancel();
        pump(c, *p);
      }
    }
  }

  void change(ProxyMode next, std::chrono::milliseconds next_delay = {}, std::uint64_t rate = 1) {
    FAULTLINE_ASSERT(std::this_thread::get_id() != thread.get_id() && "a mode change from the proxy's own thread");
    std::lock_guard lock(control);
    if (stopped) return;
    std::promise<void> done;
    auto applied = done.get_future();
    asio::post(io, [this, next, next_delay, rate, &done] {
      apply(next, next_delay, rate);
      done.set_value();
    });
    applied.wait();
  }

  void shut_down() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    std::vector<std::shared_ptr<Connection>> all;
    for (const auto& [id, c] : live) all.push_back(c);
    for (const auto& c : all) end(*c, ProxyConnection::State::closed, false);
    live.clear();
    work.reset();
    io.stop();
  }
};

TcpFaultProxy::TcpFaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpFaultProxy::~TcpFaultProxy() { stop(); }

resilience::Outcome<std::unique_ptr<TcpFaultProxy>> TcpFaultProxy::start(ProxyOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->options.records_max = std::max<std::size_t>(1, impl->options.records_max);
  impl->options.buffer_bytes_max = std::max<std::size_t>(kReadChunk, impl->options.buffer_bytes_max);
  const ProxyOptions& o = impl->options;
  boost::system::error_code ec;
  tcp::resolver resolver(impl->io);
  const auto upstream = resolver.resolve(o.upstream_host, std::to_string(o.upstream_port), ec);
  if (ec || upstream.empty()) {
    return Failure{ErrorClass::permanent, fmt::format("fault proxy: upstream {}:{} does not resolve: {}",
                                                      o.upstream_host, o.upstream_port, ec.message())};
  }
  impl->upstream = *upstream.begin();
  const auto listen_address = asio::ip::make_address(o.listen_host, ec);
  if (ec) {
    return Failure{ErrorClass::permanent,
                   fmt::format("fault proxy: listen address '{}' is not an IP address", o.listen_host)};
  }
  const tcp::endpoint local(listen_address, o.listen_port);
  impl->acceptor.open(local.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(local, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Failure{ErrorClass::permanent,
                   fmt::format("fault proxy: cannot listen on {}:{}: {}", o.listen_host, o.listen_port, ec.message())};
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->work.emplace(impl->io.get_executor());
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<TcpFaultProxy>(new TcpFaultProxy(std::move(impl)));
}

const std::string& TcpFaultProxy::host() const noexcept { return impl_->options.listen_host; }
std::uint16_t TcpFaultProxy::port() const noexcept { return impl_->port; }

void TcpFaultProxy::pass() { impl_->change(ProxyMode::pass); }
void TcpFaultProxy::delay(std::chrono::milliseconds delay) { impl_->change(ProxyMode::delay, delay); }
void TcpFaultProxy::bandwidth(std::uint64_t bytes_per_second) {
  impl_->change(ProxyMode::bandwidth, {}, bytes_per_second);
}
void TcpFaultProxy::reset() { impl_->change(ProxyMode::reset); }
void TcpFaultProxy::refuse() { impl_->change(ProxyMode::refuse); }
void TcpFaultProxy::black_hole() { impl_->change(ProxyMode::black_hole); }

ProxyMode TcpFaultProxy::mode() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->shown_mode;
}

ProxyCounts TcpFaultProxy::counts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->totals;
}

std::vector<ProxyConnection> TcpFaultProxy::connections() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ProxyConnection> out;
  out.reserve(impl_->records.size());
  for (const auto& [id, r] : impl_->records) out.push_back(r);
  return out;
}

void TcpFaultProxy::stop() {
  if (impl_ == nullptr) return;
  std::lock_guard lock(impl_->control);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Impl* raw = impl_.get();
  asio::post(impl_->io, [raw] { raw->shut_down(); });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace faultline::harness
