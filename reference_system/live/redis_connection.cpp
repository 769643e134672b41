// hiredis' async context driven by Asio (reference_system/live/redis_connection.h).
// hiredis asks for read and write interest through its ev hooks and is told
// of readiness through redisAsyncHandleRead/Write; here each interest is one
// async_wait on a stream_descriptor that wraps hiredis' socket (released,
// never closed, by Asio: hiredis owns the descriptor). Reads are watched only
// while replies are awaited, and every timer is cancelled when nothing waits,
// so an idle connection leaves the io_context without work and
// LiveRuntime::run() returns. Replies wake their coroutine through the
// runtime (wake_soon), never from inside a hiredis callback.
#include "reference_system/live/redis_connection.h"

#include <signal.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cerrno>
#include <charconv>
#include <coroutine>
#include <mutex>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "reference_system/live/internal/resolve.h"
#include "runtime/live_io.h"

namespace faultline::reference_system::live {

namespace asio = boost::asio;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

Outcome<RedisAddress> parse_redis_url(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Failure{ErrorClass::permanent, "bad Redis URL '" + std::string(url) + "': " + std::string(why)};
  };
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("it must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress address;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const auto colon = credentials.find(':');
    address.password = std::string(colon == std::string_view::npos ? credentials : credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), address.database);
      if (ec != std::errc() || end != db.data() + db.size() || address.database < 0) return bad("bad database number");
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  address.host = std::string(host);
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || end != port.data() + port.size() || address.port <= 0 || address.port > 65535) {
      return bad("bad port");
    }
  }
  return address;
}

namespace {

RedisReply copy_reply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::array; break;
    default: out.type = RedisReply::Type::nil; break;
  }
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS || r.type == REDIS_REPLY_ERROR) {
    out.text.assign(r.str, r.len);
  } else if (r.type == REDIS_REPLY_INTEGER) {
    out.integer = r.integer;
  } else if (r.type == REDIS_REPLY_ARRAY) {
    out.elements.reserve(r.elements);
    for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(copy_reply(*r.element[i]));
  }
  return out;
}

// A command's reply on its way to the coroutine that awaits it. hiredis
// holds one reference until it calls back (always exactly once: with the
// reply, or with nothing when the context goes), the awaiter the other.
struct Pending {
  std::optional<Outcome<RedisReply>> result;
  std::coroutine_handle<> waiter;
  runtime::WakeId wake;
};

}  // namespace

struct RedisConnection::Impl : std::enable_shared_from_this<RedisConnection::Impl> {
  enum class State : std::uint8_t { idle, connecting, ready };

  Impl(runtime::LiveRuntime& runtime, RedisOptions opts)
      : rt(runtime),
        io(runtime::io_context_of(runtime)),
        options(opts),
        connect_timer(io),
        stall_timer(io),
        connect_done(runtime) {}

  ~Impl() {
    if (ac != nullptr) drop(ErrorClass::transient, "connection closed");
  }

  runtime::LiveRuntime& rt;
  asio::io_context& io;
  RedisOptions options;
  Outcome<RedisAddress> address = Failure{ErrorClass::permanent, "no URL"};
  redisAsyncContext* ac = nullptr;
  State state = State::idle;
  std::optional<asio::posix::stream_descriptor> socket;
  std::uint64_t socket_generation = 0;
  bool want_read = false;
  bool want_write = false;
  bool reading = false;
  bool writing = false;
  std::size_t in_flight = 0;
  asio::steady_timer connect_timer;
  std::uint64_t connect_generation = 0;
  asio::steady_timer stall_timer;
  std::uint64_t stall_generation = 0;
  bool stall_armed = false;
  std::uint64_t replies_at_arm = 0;
  runtime::Signal connect_done;
  std::string last_error;
  ErrorClass connect_error_class = ErrorClass::transient;
  // Why the context is being freed, for the replies it fails.
  ErrorClass drop_class = ErrorClass::transient;
  std::string drop_reason;
  RedisStats stats;

  static Impl& of(void* privdata) { return *static_cast<Impl*>(privdata); }
  static Impl& of(const redisAsyncContext* c) { return *static_cast<Impl*>(c->data); }

  // --- hiredis' event hooks ---
  static void add_read(void* p) {
    of(p).want_read = true;
    of(p).watch();
  }
  static void del_read(void* p) { of(p).want_read = false; }
  static void add_write(void* p) {
    of(p).want_write = true;
    of(p).watch();
  }
  static void del_write(void* p) { of(p).want_write = false; }
  static void cleanup(void* p) { of(p).context_gone(); }

  static void on_connect(const redisAsyncContext* c, int status) {
    Impl& self = of(c);
    self.cancel_connect_timer();
    if (status == REDIS_OK) {
      self.state = State::ready;
      ++self.stats.connects;
    } else {
      self.last_error = c->errstr != nullptr ? c->errstr : "connect failed";
      self.connect_error_class = ErrorClass::transient;
      self.state = State::idle;  // hiredis frees the context next
    }
    self.connect_done.set();
  }

  static void on_disconnect(const redisAsyncContext* c, int status) {
    if (status != REDIS_OK && c->errstr != nullptr) of(c).last_error = c->errstr;
  }

  static void on_reply(redisAsyncContext* c, void* reply, void* privdata) {
    Impl& self = of(c);
    std::unique_ptr<std::shared_ptr<Pending>> holder(static_cast<std::shared_ptr<Pending>*>(privdata));
    FAULTLINE_ASSERT(self.in_flight > 0);
    --self.in_flight;
    if (self.in_flight == 0) {
      self.cancel_stall_timer();
      // hiredis re-arms reads before it hands out replies: an idle
      // connection must not keep a read waiting on the io_context.
      if (self.reading && self.socket) {
        boost::system::error_code ignored;
        self.socket->cancel(ignored);
      }
    }
    Pending& pending = **holder;
    if (reply != nullptr) {
      ++self.stats.replies;
      pending.result.emplace(copy_reply(*static_cast<redisReply*>(reply)));
    } else {
      std::string why = !self.drop_reason.empty()           ? self.drop_reason
                        : (c->errstr != nullptr && c->err)  ? std::string(c->errstr)
                                                            : std::string("connection lost");
      pending.result.emplace(Failure{self.drop_class, "redis: " + why});
    }
    if (pending.waiter) pending.wake = self.rt.wake_soon(pending.waiter);
  }

  // --- readiness ---
  void watch() {
    if (ac == nullptr || !socket) return;
    const std::weak_ptr<Impl> weak = weak_from_this();
    const std::uint64_t generation = socket_generation;
    if (want_write && !writing) {
      writing = true;
      socket->async_wait(asio::posix::stream_descriptor::wait_write,
                         [weak, generation](const boost::system::error_code& ec) {
                           auto self = weak.lock();
                           if (!self || self->socket_generation != generation) return;
                           self->writing = false;
                           if (ec == asio::error::operation_aborted) return self->watch();
                           if (ec || self->ac == nullptr) return;
                           if (self->want_write) redisAsyncHandleWrite(self->ac);
                           self->watch();
                         });
    }
    // Reads only while a reply is awaited: an idle connection leaves the
    // io_context without work.
    if (want_read && in_flight > 0 && !reading) {
      reading = true;
      socket->async_wait(asio::posix::stream_descriptor::wait_read,
                         [weak, generation](const boost::system::error_code& ec) {
                           auto self = weak.lock();
                           if (!self || self->socket_generation != generation) return;
                           self->reading = false;
                           // Cancelled because the connection went idle: waits
                           // still wanted are armed again.
                           if (ec == asio::error::operation_aborted) return self->watch();
                           if (ec || self->ac == nullptr) return;
                           redisAsyncHandleRead(self->ac);
                           self->watch();
                         });
    }
  }

  // hiredis is about to free the context (and close its socket).
  void context_gone() {
    if (socket) {
      boost::system::error_code ignored;
      socket->cancel(ignored);
      (void)socket->release();
      socket.reset();
    }
    ++socket_generation;
    reading = writing = want_read = want_write = false;
    ac = nullptr;
    cancel_stall_timer();
    if (state == State::ready) ++stats.connections_lost;
    if (state == State::connecting) {
      cancel_connect_timer();
      if (!drop_reason.empty()) last_error = drop_reason;
      connect_error_class = drop_reason.empty() ? ErrorClass::transient : drop_class;
      state = State::idle;
      connect_done.set();
    }
    state = State::idle;
  }

  // Frees the context now: its waiting commands fail with `error_class`.
  void drop(ErrorClass error_class, std::string reason) {
    if (ac == nullptr) return;
    drop_class = error_class;
    drop_reason = std::move(reason);
    redisAsyncContext* context = ac;
    redisAsyncFree(context);
    drop_class = ErrorClass::transient;
    drop_reason.clear();
  }

  void cancel_connect_timer() {
    ++connect_generation;
    connect_timer.cancel();
  }
  void cancel_stall_timer() {
    ++stall_generation;
    stall_armed = false;
    stall_timer.cancel();
  }

  // A connection on which no reply came for a whole command_timeout while
  // commands waited is dropped.
  void arm_stall_timer() {
    if (stall_armed || in_flight == 0) return;
    stall_armed = true;
    replies_at_arm = stats.replies;
    const std::uint64_t generation = ++stall_generation;
    stall_timer.expires_after(options.command_timeout);
    stall_timer.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stall_generation != generation) return;
      self->stall_armed = false;
      if (self->in_flight == 0) return;
      if (self->stats.replies == self->replies_at_arm) {
        ++self->stats.timeouts;
        self->drop(ErrorClass::timeout,
                   "no reply within " + std::to_string(self->options.command_timeout.count()) + " ms");
      } else {
        self->arm_stall_timer();
      }
    });
  }

  // An idle connection the server closed (restart, idle timeout) is found
  // before a command is written to it.
  bool idle_connection_closed() const {
    if (ac == nullptr || in_flight > 0) return false;
    char byte;
    const ssize_t got = ::recv(ac->c.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got == 0) return true;
    return got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }

  Outcome<> start_connect(const std::string& ip) {
    const RedisAddress& where = address.value();
    redisAsyncContext* context = redisAsyncConnect(ip.c_str(), where.port);
    if (context == nullptr) return Failure{ErrorClass::transient, "redis: out of memory"};
    if (context->err) {
      std::string message = context->errstr;
      redisAsyncFree(context);
      ++stats.connect_failures;
      return Failure{ErrorClass::transient, "redis: cannot connect to " + where.host + ":" +
                                                std::to_string(where.port) + ": " + message};
    }
    ac = context;
    ac->data = this;
    ac->ev.data = this;
    ac->ev.addRead = &Impl::add_read;
    ac->ev.delRead = &Impl::del_read;
    ac->ev.addWrite = &Impl::add_write;
    ac->ev.delWrite = &Impl::del_write;
    ac->ev.cleanup = &Impl::cleanup;
    socket.emplace(io);
    socket->assign(ac->c.fd);
    ++socket_generation;
    state = State::connecting;
    connect_done.reset();
    last_error.clear();
    const std::uint64_t generation = ++connect_generation;
    connect_timer.expires_after(options.connect_timeout);
    connect_timer.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->connect_generation != generation || self->state != State::connecting) return;
      self->drop(ErrorClass::timeout,
                 "connect timed out after " + std::to_string(self->options.connect_timeout.count()) + " ms");
    });
    redisAsyncSetDisconnectCallback(ac, &Impl::on_disconnect);
    redisAsyncSetConnectCallback(ac, &Impl::on_connect);  // asks for write readiness
    return resilience::ok();
  }

  Task<Outcome<RedisReply>> send(std::vector<std::string> args) {
    FAULTLINE_ASSERT(state == State::ready && ac != nullptr);
    if (in_flight >= options.max_in_flight) {
      ++stats.refused_full;
      co_return Failure{ErrorClass::capacity_exceeded,
                        "redis: " + std::to_string(in_flight) + " commands already wait for replies"};
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto pending = std::make_shared<Pending>();
    auto* holder = new std::shared_ptr<Pending>(pending);
    if (redisAsyncCommandArgv(ac, &Impl::on_reply, holder, static_cast<int>(argv.size()), argv.data(),
                              lengths.data()) != REDIS_OK) {
      delete holder;
      co_return Failure{ErrorClass::transient, std::string("redis: the connection is closing")};
    }
    ++in_flight;
    ++stats.commands;
    arm_stall_timer();
    watch();
    co_return co_await ReplyAwaiter(rt, std::move(pending));
  }

  class ReplyAwaiter {
   public:
    ReplyAwaiter(runtime::LiveRuntime& rt, std::shared_ptr<Pending> p) : rt_(&rt), pending_(std::move(p)) {}
    ReplyAwaiter(const ReplyAwaiter&) = delete;
    ReplyAwaiter& operator=(const ReplyAwaiter&) = delete;
    ~ReplyAwaiter() {
      pending_->waiter = {};
      if (pending_->wake) rt_->cancel_wake(pending_->wake);
    }
    bool await_ready() const noexcept { return pending_->result.has_value(); }
    void await_suspend(std::coroutine_handle<> h) noexcept { pending_->waiter = h; }
    Outcome<RedisReply> await_resume() {
      pending_->wake = {};
      return std::move(*pending_->result);
    }

   private:
    runtime::LiveRuntime* rt_;
    std::shared_ptr<Pending> pending_;
  };

  Task<Outcome<>> connect() {
    if (!address) co_return address.failure();
    if (state == State::idle) {
      auto ip = co_await internal::numeric_address(rt, address->host);
      if (!ip) co_return std::move(ip).failure();
      if (state == State::idle) {  // no one else started one meanwhile
        auto started = start_connect(ip.value());
        if (!started) co_return started;
      }
    }
    while (state == State::connecting) co_await connect_done.wait();
    if (state != State::ready) {
      ++stats.connect_failures;
      co_return Failure{connect_error_class, "redis: cannot connect to " + address->host + ":" + std::to_string(address->port) + ": " +
                            (last_error.empty() ? std::string("connection closed") : last_error)};
    }
    if (!address->password.empty() || address->database != 0) {
      if (!address->password.empty()) {
        // (Built step by step: GCC 12 miscompiles an initializer list in a co_await expression.)
        std::vector<std::string> args;
        args.push_back("AUTH");
        args.push_back(address->password);
        auto auth = co_await send(std::move(args));
        if (!auth) co_return std::move(auth).failure();
        if (auth->is_error()) {
          drop(ErrorClass::permanent, std::string("AUTH refused"));
          co_return Failure{ErrorClass::permanent, "redis: AUTH refused: " + auth->text};
        }
      }
      if (address->database != 0) {
        std::vector<std::string> args;
        args.push_back("SELECT");
        args.push_back(std::to_string(address->database));
        auto select = co_await send(std::move(args));
        if (!select) co_return std::move(select).failure();
        if (select->is_error()) co_return Failure{ErrorClass::permanent, "redis: SELECT refused: " + select->text};
      }
    }
    co_return resilience::ok();
  }
};

RedisConnection::RedisConnection(runtime::LiveRuntime& rt, std::string url, RedisOptions options)
    : url_(std::move(url)), impl_(std::make_shared<Impl>(rt, options)) {
  static std::once_flag sigpipe_ignored;
  std::call_once(sigpipe_ignored, [] { ::signal(SIGPIPE, SIG_IGN); });
  impl_->address = parse_redis_url(url_);
}

// Commands still waiting fail now; a coroutine still running keeps the
// state alive (it holds a reference) until it ends.
RedisConnection::~RedisConnection() { impl_->drop(ErrorClass::transient, "connection closed"); }

bool RedisConnection::connected() const noexcept { return impl_->state == Impl::State::ready; }

const RedisStats& RedisConnection::stats() const noexcept { return impl_->stats; }

Task<Outcome<RedisReply>> RedisConnection::command(std::vector<std::string> args) {
  FAULTLINE_ASSERT(!args.empty());
  const std::shared_ptr<Impl> self = impl_;
  Impl& s = *self;
  if (s.state == Impl::State::ready && s.idle_connection_closed()) {
    s.drop(ErrorClass::transient, "closed by the server while idle");
  }
  if (s.state != Impl::State::ready) {
    auto connected = co_await s.connect();
    if (!connected) co_return std::move(connected).failure();
  }
  co_return co_await s.send(std::move(args));
}

}  // namespace faultline::reference_system::live
