// libpq's non-blocking mode driven by Asio (reference_system/live/pg_connection.h).
// Each wait for PQsocket's readiness is one SocketWait: async_wait for read
// and/or write on a stream_descriptor that wraps libpq's socket (released,
// never closed, by Asio: libpq owns it), raced against a timer; whichever
// comes first cancels the others, so nothing is left on the io_context once
// a query ends and LiveRuntime::run() returns when the work is done.
#include "reference_system/live/pg_connection.h"

#include <sys/socket.h>

#include <libpq-fe.h>

#include <cerrno>
#include <coroutine>
#include <cstring>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>

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

// --- PgResult ---

void PgResult::Clear::operator()(pg_result* r) const noexcept { PQclear(r); }

std::size_t PgResult::rows() const noexcept { return result_ ? static_cast<std::size_t>(PQntuples(result_.get())) : 0; }

std::size_t PgResult::columns() const noexcept {
  return result_ ? static_cast<std::size_t>(PQnfields(result_.get())) : 0;
}

bool PgResult::is_null(std::size_t row, std::size_t column) const noexcept {
  return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}

std::string_view PgResult::bytes(std::size_t row, std::size_t column) const noexcept {
  const int r = static_cast<int>(row);
  const int c = static_cast<int>(column);
  return {PQgetvalue(result_.get(), r, c), static_cast<std::size_t>(PQgetlength(result_.get(), r, c))};
}

std::int64_t PgResult::integer(std::size_t row, std::size_t column) const {
  FAULTLINE_ASSERT(row < rows() && column < columns());
  const std::string_view raw = bytes(row, column);
  const Oid type = PQftype(result_.get(), static_cast<int>(column));
  // bool 16, int8 20, int2 21, int4 23: big-endian in the binary format.
  FAULTLINE_ASSERT((type == 16 || type == 20 || type == 21 || type == 23) && "integer() of a non-integer column");
  std::uint64_t v = 0;
  for (char c : raw) v = (v << 8) | static_cast<unsigned char>(c);
  switch (raw.size()) {
    case 1: return static_cast<std::int64_t>(v);
    case 2: return static_cast<std::int16_t>(v);
    case 4: return static_cast<std::int32_t>(v);
    default: return static_cast<std::int64_t>(v);
  }
}

std::uint64_t PgResult::affected() const noexcept {
  if (!result_) return 0;
  const char* text = PQcmdTuples(result_.get());
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : 0;
}

namespace {

ErrorClass class_of_sqlstate(std::string_view state) {
  if (state.substr(0, 2) == "08" || state.substr(0, 2) == "53" || state == "40001" || state == "40P01" ||
      state == "55P03" || state == "57P01" || state == "57P02" || state == "57P03") {
    return ErrorClass::transient;
  }
  if (state == "57014") return ErrorClass::timeout;  // statement_timeout, cancelled
  if (state == "23505") return ErrorClass::conflict;
  return ErrorClass::permanent;
}

std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Statements longer than this (generated multi-row inserts) are not
// prepared, and a connection keeps at most this many.
constexpr std::size_t kMaxPreparedSql = 4'096;
constexpr std::size_t kMaxPrepared = 256;
// Statements one batch (one pipeline, one transaction) takes at most.
constexpr std::size_t kMaxBatch = 32;

struct WaitResult {
  bool readable = false;
  bool writable = false;
  bool timed_out = false;
};

}  // namespace

struct PgConnection::Impl : std::enable_shared_from_this<PgConnection::Impl> {
  Impl(runtime::LiveRuntime& runtime, std::string conninfo, PgOptions opts)
      : rt(runtime), io(runtime::io_context_of(runtime)), url(std::move(conninfo)), options(opts), timer(io),
        turn(runtime, 1) {}

  ~Impl() { close(); }

  runtime::LiveRuntime& rt;
  asio::io_context& io;
  std::string url;
  PgOptions options;
  PGconn* conn = nullptr;
  std::optional<asio::posix::stream_descriptor> socket;
  int socket_fd = -1;
  asio::steady_timer timer;
  std::uint64_t wait_generation = 0;
  runtime::Semaphore turn;  // one statement at a time
  PgStats stats;
  // Statements prepared on this connection (PQsendPrepare), by their SQL
  // and parameter types: a statement sent again skips the server's parse,
  // analysis and (once its generic plan is kept) planning. They live as
  // long as the server session: forgotten with the connection.
  std::unordered_map<std::string, std::string> prepared;
  std::uint64_t prepared_serial = 0;
  // Queries waiting for a batch (Pending, below), oldest first.
  struct Pending;
  std::deque<Pending*> queue;

  void close() {
    release_socket();
    prepared.clear();
    if (conn != nullptr) {
      PQfinish(conn);
      conn = nullptr;
    }
  }

  void drop() {
    if (conn != nullptr) ++stats.connections_lost;
    close();
  }

  void release_socket() {
    ++wait_generation;
    timer.cancel();
    if (socket) {
      boost::system::error_code ignored;
      socket->cancel(ignored);
      (void)socket->release();
      socket.reset();
    }
    socket_fd = -1;
  }

  // libpq may open a new socket while connecting (another address, SSL
  // refused): follow PQsocket.
  bool follow_socket() {
    const int fd = PQsocket(conn);
    if (fd < 0) return false;
    if (fd != socket_fd) {
      release_socket();
      socket.emplace(io);
      socket->assign(fd);
      socket_fd = fd;
    }
    return true;
  }

  // Readiness of PQsocket for read and/or write, or `limit` passing first.
  class SocketWait {
   public:
    SocketWait(Impl& s, bool read, bool write, std::chrono::milliseconds limit)
        : s_(&s), read_(read), write_(write), limit_(limit) {}
    SocketWait(const SocketWait&) = delete;
    SocketWait& operator=(const SocketWait&) = delete;
    ~SocketWait() {
      if (armed_) s_->finish_wait();
      if (wake_) s_->rt.cancel_wake(wake_);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      FAULTLINE_ASSERT(s_->socket.has_value());
      handle_ = h;
      armed_ = true;
      const std::uint64_t generation = ++s_->wait_generation;
      const std::weak_ptr<Impl> weak = s_->weak_from_this();
      auto done = [this, weak, generation](int what, const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || self->wait_generation != generation || ec) return;
        if (what == 0) result_.readable = true;
        if (what == 1) result_.writable = true;
        if (what == 2) result_.timed_out = true;
        armed_ = false;
        self->finish_wait();
        wake_ = self->rt.wake_soon(handle_);
      };
      if (read_) {
        s_->socket->async_wait(asio::posix::stream_descriptor::wait_read,
                               [done](const boost::system::error_code& ec) mutable { done(0, ec); });
      }
      if (write_) {
        s_->socket->async_wait(asio::posix::stream_descriptor::wait_write,
                               [done](const boost::system::error_code& ec) mutable { done(1, ec); });
      }
      s_->timer.expires_after(limit_);
      s_->timer.async_wait([done](const boost::system::error_code& ec) mutable { done(2, ec); });
    }
    WaitResult await_resume() noexcept {
      wake_ = {};
      return result_;
    }

   private:
    Impl* s_;
    bool read_;
    bool write_;
    std::chrono::milliseconds limit_;
    std::coroutine_handle<> handle_;
    bool armed_ = false;
    runtime::WakeId wake_;
    WaitResult result_;
  };

  // The other waits of a finished (or abandoned) one go now.
  void finish_wait() {
    ++wait_generation;
    timer.cancel();
    if (socket) {
      boost::system::error_code ignored;
      socket->cancel(ignored);
    }
  }

  // An idle connection the server closed, or told us it is closing, is
  // found before a statement is written to it.
  bool idle_connection_broken() {
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return true;
    // Something that arrived unasked (a notice, a FATAL before the server
    // closes) is read by libpq, then the socket is looked at again.
    for (int look = 0; look < 2; ++look) {
      char byte;
      const ssize_t got = ::recv(PQsocket(conn), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (got < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
      if (got == 0) return true;
      if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) return true;
    }
    return false;
  }

  Task<Outcome<>> connect() {
    close();
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), nullptr);
    if (parsed == nullptr) co_return Failure{ErrorClass::permanent, "postgres: bad connection string '" + url + "'"};
    std::string host;
    std::string hostaddr;
    for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      if (std::strcmp(o->keyword, "host") == 0) host = o->val;
      if (std::strcmp(o->keyword, "hostaddr") == 0) hostaddr = o->val;
    }
    PQconninfoFree(parsed);
    // libpq would look a host name up with a blocking getaddrinfo(): hand it
    // the address. Several hosts, or a socket directory, go as they are.
    if (hostaddr.empty() && !host.empty() && host.front() != '/' && host.find(',') == std::string::npos) {
      auto address = co_await internal::numeric_address(rt, host);
      if (!address) {
        ++stats.connect_failures;
        co_return std::move(address).failure();
      }
      hostaddr = address.value();
    }
    // Defaults first, then the URL, then the resolved address: later keywords win.
    std::vector<const char*> keys = {"gssencmode", "sslmode", "dbname"};
    std::vector<const char*> values = {"disable", "prefer", url.c_str()};
    if (!hostaddr.empty()) {
      keys.push_back("hostaddr");
      values.push_back(hostaddr.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn = PQconnectStartParams(keys.data(), values.data(), 1);
    if (conn == nullptr) co_return Failure{ErrorClass::transient, std::string("postgres: out of memory")};
    auto fail = [&](ErrorClass c, std::string why) -> Failure {
      ++stats.connect_failures;
      close();
      return Failure{c, "postgres: cannot connect (" + url + "): " + why};
    };
    if (PQstatus(conn) == CONNECTION_BAD) co_return fail(ErrorClass::transient, trimmed(PQerrorMessage(conn)));
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
      if (polling == PGRES_POLLING_FAILED) co_return fail(ErrorClass::transient, trimmed(PQerrorMessage(conn)));
      if (!follow_socket()) co_return fail(ErrorClass::transient, "no socket");
      const WaitResult w =
          co_await SocketWait(*this, polling == PGRES_POLLING_READING, polling == PGRES_POLLING_WRITING,
                              options.connect_timeout);
      if (w.timed_out) {
        ++stats.timeouts;
        co_return fail(ErrorClass::timeout,
                       "no progress within " + std::to_string(options.connect_timeout.count()) + " ms");
      }
      polling = PQconnectPoll(conn);
    }
    if (PQsetnonblocking(conn, 1) != 0) co_return fail(ErrorClass::transient, trimmed(PQerrorMessage(conn)));
    // The server's notices ("relation already exists, skipping" from the
    // tables' CREATE IF NOT EXISTS) are not errors: libpq would print each to stderr.
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    if (!follow_socket()) co_return fail(ErrorClass::transient, "no socket");
    ++stats.connects;
    co_return resilience::ok();
  }

  // Drops the connection when the coroutine that sent a statement goes
  // before reading all of its result.
  struct InFlight {
    Impl* s;
    bool active = true;
    ~InFlight() {
      if (active) {
        ++s->stats.abandoned;
        s->drop();
      }
    }
  };

  struct Turn {
    runtime::Semaphore* turn;
    ~Turn() { turn->release(); }
  };

  // Takes the connection's turn (connecting first when there is no
  // connection), then runs `run`, which has the connection to itself until
  // its task ends: exchange() once, or more (a prepare, then its execution).
  template <class Run>
  Task<Outcome<PgResult>> round_trip(Run run) {
    if (turn.waiting() >= options.max_waiting) {
      ++stats.refused_full;
      co_return Failure{ErrorClass::capacity_exceeded,
                        "postgres: " + std::to_string(turn.waiting()) + " queries already wait for the connection"};
    }
    co_await turn.acquire();
    Turn held{&turn};
    if (conn != nullptr && idle_connection_broken()) drop();
    if (conn == nullptr) {
      auto connected = co_await connect();
      if (!connected) co_return std::move(connected).failure();
    }
    ++stats.queries;
    Task<Outcome<PgResult>> running = run();
    co_return co_await std::move(running);
  }

  // Sends with `send` (PQsendQueryParams, PQsendPrepare, PQsendQueryPrepared
  // or PQsendQuery) on the connected connection whose turn the caller holds,
  // and reads every result: the last one, or the first error.
  Failure lost(const char* what) {
    std::string why = trimmed(PQerrorMessage(conn));
    drop();
    return Failure{ErrorClass::transient, std::string("postgres: ") + what + ": " + why};
  }

  // The connection went after a statement had gone out in full (its sync
  // with it) and before its result came back: the server may have
  // committed it (a crash after the commit record was flushed, a backend
  // that finished after its client was cut off). Its reply is lost, not
  // necessarily its statement, as with a call abandoned at its deadline:
  // ErrorClass::timeout, which callers treat as an outcome to find out or
  // undo, never as "nothing happened".
  Failure lost_reply(const char* what) {
    std::string why = trimmed(PQerrorMessage(conn));
    drop();
    ++stats.replies_lost;
    return Failure{ErrorClass::timeout, std::string("postgres: ") + what + ": " + why +
                                            " (the statement had gone out: whether it committed is unknown)"};
  }

  Failure stalled() {
    ++stats.timeouts;
    drop();
    return Failure{ErrorClass::timeout,
                   "postgres: no progress within " + std::to_string(options.query_timeout.count()) + " ms"};
  }

  // What was sent goes out (PQflush until done), reading meanwhile. On a
  // failure the connection is dropped and `in_flight` disarmed.
  Task<Outcome<>> flush_out(InFlight& in_flight) {
    for (;;) {
      const int flushed = PQflush(conn);
      if (flushed == 0) co_return resilience::ok();
      if (flushed < 0) {
        in_flight.active = false;
        co_return lost("sending the statement");
      }
      const WaitResult w = co_await SocketWait(*this, true, true, options.query_timeout);
      if (w.timed_out) {
        in_flight.active = false;
        co_return stalled();
      }
      if (w.readable && PQconsumeInput(conn) == 0) {
        in_flight.active = false;
        co_return lost("reading the result");
      }
    }
  }

  // Waits until PQgetResult would not block. On a failure the connection
  // is dropped and `in_flight` disarmed. Every statement waited for here
  // went out in full: a connection lost now leaves its outcome unknown, even
  // one the server ended with a FATAL of its own (libpq keeps no SQLSTATE
  // for it, so it cannot be told from one sent after the commit).
  Task<Outcome<>> until_not_busy(InFlight& in_flight) {
    while (PQisBusy(conn) != 0) {
      const WaitResult w = co_await SocketWait(*this, true, false, options.query_timeout);
      if (w.timed_out || PQconsumeInput(conn) == 0) {
        in_flight.active = false;
        co_return w.timed_out ? stalled() : lost_reply("reading the result");
      }
    }
    co_return resilience::ok();
  }

  // The failure an error result says (freed here); the connection is
  // dropped when it is gone with it. A session's FATAL ends its
  // transaction uncommitted (transient), unless it came after the statement
  // had completed (`completed`: a result before the error), during the
  // commit: then whether it committed is unknown (timeout, as lost_reply).
  Failure failure_of(PGresult* error, bool completed) {
    // Both point into `error`: copied before it is freed.
    const char* state = PQresultErrorField(error, PG_DIAG_SQLSTATE);
    const std::string code = state != nullptr ? state : "";
    std::string message = trimmed(PQresultErrorMessage(error));
    PQclear(error);
    if (PQstatus(conn) != CONNECTION_OK) {
      drop();
      if (completed) {
        ++stats.replies_lost;
        return Failure{ErrorClass::timeout, "postgres: connection lost after the statement completed: " + message +
                                                " (whether it committed is unknown)"};
      }
      return Failure{ErrorClass::transient, "postgres: connection lost: " + message};
    }
    return Failure{class_of_sqlstate(code), "postgres: " + message + (code.empty() ? "" : " [" + code + "]")};
  }

  template <class Send>
  Task<Outcome<PgResult>> exchange(Send send) {
    FAULTLINE_ASSERT(conn != nullptr);
    if (!send(conn)) co_return lost("sending the statement");
    InFlight in_flight{this};
    auto flushed = co_await flush_out(in_flight);
    if (!flushed) co_return std::move(flushed).failure();
    PGresult* last = nullptr;
    PGresult* error = nullptr;
    for (;;) {
      auto ready = co_await until_not_busy(in_flight);
      if (!ready) {
        PQclear(last);
        PQclear(error);
        co_return std::move(ready).failure();
      }
      PGresult* r = PQgetResult(conn);
      if (r == nullptr) break;
      const ExecStatusType status = PQresultStatus(r);
      if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && error == nullptr) {
        error = r;
      } else {
        PQclear(last);
        last = r;
      }
    }
    in_flight.active = false;
    if (error != nullptr) {
      const bool completed = last != nullptr;
      PQclear(last);
      co_return failure_of(error, completed);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
      PQclear(last);
      co_return lost_reply("after the statement");
    }
    co_return PgResult(last);
  }

  // A statement with its parameters, in libpq's arrays (the values point
  // into the caller's PgParams).
  struct Statement {
    std::string sql;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    std::vector<Oid> types;
  };

  static std::string key_of(const Statement& st) {
    std::string key = st.sql;
    key.push_back('\0');
    key.append(reinterpret_cast<const char*>(st.types.data()), st.types.size() * sizeof(Oid));
    return key;
  }
  bool may_prepare(const Statement& st) const noexcept {
    return st.sql.size() <= kMaxPreparedSql && prepared.size() < kMaxPrepared;
  }

  // A query waiting for the connection: queued until a query holding the
  // turn takes it into its batch, then in that batch (`batch`, `slot`)
  // until its result is in. It lives in its caller's frame: a caller that
  // goes leaves the queue, or its batch slot empty.
  struct Pending {
    Impl* s;
    Statement st;
    bool queued = false;
    std::vector<Pending*>* batch = nullptr;
    std::size_t slot = 0;
    std::optional<Outcome<PgResult>> result;

    explicit Pending(Impl& impl) : s(&impl) {}
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;
    ~Pending() {
      if (queued) std::erase(s->queue, this);
      if (batch != nullptr) {
        (*batch)[slot] = nullptr;
        ++s->stats.abandoned;
      }
    }
    void settle(Outcome<PgResult> r) {
      result.emplace(std::move(r));
      if (batch != nullptr) (*batch)[slot] = nullptr;
      batch = nullptr;
    }
  };

  // The members of a batch still waiting when its leader goes (its task
  // cancelled mid-batch, which drops the connection) fail transiently.
  struct BatchGuard {
    std::vector<Pending*>* batch;
    ~BatchGuard() {
      for (std::size_t i = 1; i < batch->size(); ++i) {
        if (Pending* p = (*batch)[i]; p != nullptr) {
          // Its statement may have gone out with the batch: an unknown outcome.
          p->settle(Failure{ErrorClass::timeout, "postgres: the connection was dropped mid-batch"});
        }
      }
    }
  };

  // One query: queued, then either run in the batch of a query that held
  // the turn before it, or (its turn come and its statement still queued)
  // the leader of a batch of its own with the queries queued behind it, up
  // to kMaxBatch. A batch of several statements goes in one pipeline whose
  // implicit transaction commits them all at once, one commit (and one WAL
  // flush) for the lot; when any statement fails, all are rolled back and
  // each runs again alone, so every caller gets what its statement alone
  // would have given.
  Task<Outcome<PgResult>> run_query(Pending& me) {
    if (turn.waiting() >= options.max_waiting) {
      ++stats.refused_full;
      co_return Failure{ErrorClass::capacity_exceeded,
                        "postgres: " + std::to_string(turn.waiting()) + " queries already wait for the connection"};
    }
    queue.push_back(&me);
    me.queued = true;
    co_await turn.acquire();
    Turn held{&turn};
    if (me.result) co_return std::move(*me.result);  // run in an earlier query's batch
    std::erase(queue, &me);
    me.queued = false;
    if (conn != nullptr && idle_connection_broken()) drop();
    if (conn == nullptr) {
      auto connected = co_await connect();
      if (!connected) co_return std::move(connected).failure();
    }
    std::vector<Pending*> batch{&me};
    while (batch.size() < kMaxBatch && !queue.empty()) {
      Pending* p = queue.front();
      queue.pop_front();
      p->queued = false;
      p->batch = &batch;
      p->slot = batch.size();
      batch.push_back(p);
    }
    stats.queries += batch.size();
    if (batch.size() == 1) {
      Task<Outcome<PgResult>> alone = run_statement(me.st);
      co_return co_await std::move(alone);
    }
    ++stats.batches;
    const BatchGuard guard{&batch};
    std::vector<PgResult> results(batch.size());
    auto piped = co_await run_pipeline(batch, results);
    if (!piped) {
      for (std::size_t i = 1; i < batch.size(); ++i) {
        if (batch[i] != nullptr) batch[i]->settle(piped.failure());
      }
      co_return std::move(piped).failure();
    }
    if (piped.value()) {
      for (std::size_t i = 1; i < batch.size(); ++i) {
        if (batch[i] != nullptr) batch[i]->settle(std::move(results[i]));
      }
      co_return std::move(results[0]);
    }
    // A statement failed and took the others' work with it: each alone.
    ++stats.batches_rerun;
    for (std::size_t i = 1; i < batch.size(); ++i) {
      if (batch[i] != nullptr && conn == nullptr) {
        auto connected = co_await connect();
        if (!connected) {
          if (batch[i] != nullptr) batch[i]->settle(std::move(connected).failure());
          continue;
        }
      }
      if (batch[i] == nullptr) continue;  // its caller went
      // Sent before the first suspension: the statement's parameters live in
      // its caller's frame, which may go while this one waits for the result.
      const Statement& st = batch[i]->st;
      const int n = static_cast<int>(st.values.size());
      const auto found = prepared.find(key_of(st));
      Task<Outcome<PgResult>> alone = exchange([&](PGconn* c) {
        if (found != prepared.end()) {
          return PQsendQueryPrepared(c, found->second.c_str(), n, st.values.data(), st.lengths.data(),
                                     st.formats.data(), /*resultFormat=*/1) != 0;
        }
        return PQsendQueryParams(c, st.sql.c_str(), n, st.types.data(), st.values.data(), st.lengths.data(),
                                 st.formats.data(), /*resultFormat=*/1) != 0;
      });
      auto r = co_await std::move(alone);
      if (batch[i] != nullptr) batch[i]->settle(std::move(r));
    }
    if (conn == nullptr) {
      auto connected = co_await connect();
      if (!connected) co_return std::move(connected).failure();
    }
    Task<Outcome<PgResult>> alone = run_statement(me.st);
    co_return co_await std::move(alone);
  }

  // The batch's statements in one pipeline ending in one sync: true with
  // every result in `results`, false when a statement failed (nothing was
  // committed), a failure when the connection failed (it is dropped).
  Task<Outcome<bool>> run_pipeline(std::vector<Pending*>& batch, std::vector<PgResult>& results) {
    struct Sent {
      std::size_t member;
      bool prepare;
      std::string key;   // of a statement prepared here
      std::string name;
    };
    std::vector<Sent> sent;
    std::unordered_map<std::string, std::string> prepared_here;  // key -> name, this batch's prepares
    if (PQenterPipelineMode(conn) == 0) co_return lost("entering pipeline mode");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Statement& st = batch[i]->st;
      const int n = static_cast<int>(st.values.size());
      std::string key = key_of(st);
      const std::string* name_of = nullptr;
      if (auto f = prepared.find(key); f != prepared.end()) {
        name_of = &f->second;
      } else if (auto g = prepared_here.find(key); g != prepared_here.end()) {
        name_of = &g->second;
      }
      bool ok = true;
      if (name_of != nullptr) {
        ok = PQsendQueryPrepared(conn, name_of->c_str(), n, st.values.data(), st.lengths.data(),
                                 st.formats.data(), /*resultFormat=*/1) != 0;
      } else if (may_prepare(st)) {
        std::string name = "faultline_" + std::to_string(++prepared_serial);
        ok = PQsendPrepare(conn, name.c_str(), st.sql.c_str(), n, st.types.data()) != 0 &&
             PQsendQueryPrepared(conn, name.c_str(), n, st.values.data(), st.lengths.data(), st.formats.data(),
                                 /*resultFormat=*/1) != 0;
        if (ok) {
          prepared_here.emplace(key, name);
          sent.push_back(Sent{i, true, std::move(key), std::move(name)});
        }
      } else {
        ok = PQsendQueryParams(conn, st.sql.c_str(), n, st.types.data(), st.values.data(), st.lengths.data(),
                               st.formats.data(), /*resultFormat=*/1) != 0;
      }
      if (!ok) co_return lost("sending the statement");
      sent.push_back(Sent{i, false, {}, {}});
    }
    if (PQpipelineSync(conn) == 0) co_return lost("sending the statement");
    InFlight in_flight{this};
    auto flushed = co_await flush_out(in_flight);
    if (!flushed) co_return std::move(flushed).failure();
    bool all_ok = true;
    for (const Sent& one : sent) {
      PGresult* last = nullptr;
      bool failed = false;
      for (;;) {
        auto ready = co_await until_not_busy(in_flight);
        if (!ready) {
          PQclear(last);
          co_return std::move(ready).failure();
        }
        PGresult* r = PQgetResult(conn);
        if (r == nullptr) break;
        const ExecStatusType status = PQresultStatus(r);
        if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_PIPELINE_ABORTED) {
          failed = true;
          PQclear(r);
        } else {
          PQclear(last);
          last = r;
        }
      }
      if (failed) all_ok = false;
      if (failed || one.prepare) {
        PQclear(last);
      } else {
        results[one.member] = PgResult(last);
      }
    }
    auto ready = co_await until_not_busy(in_flight);
    if (!ready) co_return std::move(ready).failure();
    PGresult* sync = PQgetResult(conn);
    const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    in_flight.active = false;
    if (!synced || PQexitPipelineMode(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
      co_return lost_reply("ending the pipeline");
    }
    if (all_ok) {
      for (Sent& one : sent) {
        if (one.prepare && prepared.size() < kMaxPrepared) prepared.emplace(std::move(one.key), std::move(one.name));
      }
    }
    co_return all_ok;
  }

  // `st` on this connection, whose turn the caller holds: prepared the
  // first time (the same SQL with other parameter types is another
  // statement), then executed by name. A statement too long to keep (a
  // generated multi-row insert), or one more than the cache holds, goes
  // as the unnamed statement, parsed every time.
  Task<Outcome<PgResult>> run_statement(const Statement& st) {
    const int n = static_cast<int>(st.values.size());
    std::string key = key_of(st);
    auto found = prepared.find(key);
    if (found == prepared.end() && !may_prepare(st)) {
      co_return co_await exchange([&](PGconn* c) {
        return PQsendQueryParams(c, st.sql.c_str(), n, st.types.data(), st.values.data(), st.lengths.data(),
                                 st.formats.data(), /*resultFormat=*/1) != 0;
      });
    }
    if (found == prepared.end()) {
      std::string name = "faultline_" + std::to_string(++prepared_serial);
      auto made = co_await exchange(
          [&](PGconn* c) { return PQsendPrepare(c, name.c_str(), st.sql.c_str(), n, st.types.data()) != 0; });
      if (!made) co_return std::move(made).failure();
      found = prepared.emplace(std::move(key), std::move(name)).first;
    }
    const std::string& name = found->second;
    co_return co_await exchange([&](PGconn* c) {
      return PQsendQueryPrepared(c, name.c_str(), n, st.values.data(), st.lengths.data(), st.formats.data(),
                                 /*resultFormat=*/1) != 0;
    });
  }
};

PgConnection::PgConnection(runtime::LiveRuntime& rt, std::string url, PgOptions options)
    : impl_(std::make_shared<Impl>(rt, std::move(url), options)) {}

PgConnection::~PgConnection() { impl_->close(); }

bool PgConnection::connected() const noexcept {
  return impl_->conn != nullptr && PQstatus(impl_->conn) == CONNECTION_OK;
}

const PgStats& PgConnection::stats() const noexcept { return impl_->stats; }

Task<Outcome<PgResult>> PgConnection::query(std::string sql, std::vector<PgParam> params) {
  const std::shared_ptr<Impl> self = impl_;
  Impl::Pending me(*self);
  Impl::Statement& st = me.st;
  st.sql = std::move(sql);
  st.values.reserve(params.size());
  for (const auto& p : params) {
    st.values.push_back(p.is_null() ? nullptr : p.data().data());
    st.lengths.push_back(static_cast<int>(p.data().size()));
    st.formats.push_back(1);
    st.types.push_back(p.oid());
  }
  Task<Outcome<PgResult>> running = self->run_query(me);
  co_return co_await std::move(running);
}

Task<Outcome<>> PgConnection::execute(std::string script) {
  const std::shared_ptr<Impl> self = impl_;
  Impl& s = *self;
  auto r = co_await s.round_trip(
      [&]() { return s.exchange([&](PGconn* conn) { return PQsendQuery(conn, script.c_str()) != 0; }); });
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

}  // namespace faultline::reference_system::live
