// One connection to PostgreSQL for coroutines on the live runtime, on
// libpq's non-blocking mode: the connection is made with PQconnectPoll,
// a query sent with PQsendQueryParams and PQflush, and its result read with
// PQconsumeInput/PQisBusy, each step waiting for PQsocket's readiness through
// Asio on the LiveRuntime's io_context, so nothing blocks the event loop.
// Queries from many coroutines take turns, first come first served; the
// query whose turn comes takes the queries queued behind it (up to 32) into
// one batch: one pipeline (PQenterPipelineMode) ending in one sync, so one
// implicit transaction and one commit for all of them. If any statement of
// a batch fails, the transaction takes the others with it and each then
// runs again alone: every caller gets what its statement alone would have
// given. A query's statement is prepared on the connection the first time
// it is sent (PQsendPrepare) and executed by name afterwards, so the server
// parses and plans it once per session (long generated statements, over
// 4 KiB, are not kept).
//
//   PgConnection pg(rt, "postgresql://faultline@127.0.0.1:5432/faultline");
//   Outcome<PgResult> r = co_await pg.query("SELECT version FROM t WHERE id = $1", id_bytes);
//   if (r && r->rows() == 1) std::int64_t v = r->integer(0, 0);
//
// Parameters and results travel in binary: strings are raw bytes (so a bytea
// column holds any bytes, NUL included), integers are int8. Results give
// bytea and text columns as bytes and int2/int4/int8/bool as integers.
//
// Fault model: a refused connection, or one lost before a statement had
// gone out in full, is a transient Failure (nothing was committed) and the
// next query reconnects; a connection the server closed while idle is found
// before the next query is sent. A connection lost after a statement went
// out and before its result came back (the server crashed or restarted, the
// network cut) fails it with ErrorClass::timeout: its reply is lost, and
// whether it committed is unknown (a server killed after flushing the
// commit record has committed it), so a caller must find out or undo it,
// never take it as not done. A query or connection step that makes no
// progress for `query_timeout` (`connect_timeout`) drops the connection and
// fails with ErrorClass::timeout too; either fails every query of the batch
// in flight. A caller abandoned mid-query (its task cancelled by a timeout)
// while its query leads a batch drops the connection too (the batch's other
// queries fail with ErrorClass::timeout, their outcome unknown): its
// statement's fate is the server's, the next query starts clean. One abandoned while a batch led by another query
// carries its statement leaves that batch running: its statement may
// commit, as any statement in flight when its caller gives up. The server's errors
// are classed by SQLSTATE: serialization failures, deadlocks, lock waits
// refused, resource exhaustion and shutdowns are transient, a unique
// violation is a conflict, the rest permanent. At most `max_waiting`
// queries queue for their turn; one more is refused with capacity_exceeded.
//
// The connection must be destroyed before its LiveRuntime and after the
// coroutines using it, and used from the runtime's thread only.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "resilience/outcome.h"
#include "runtime/live_runtime.h"
#include "runtime/task.h"

struct pg_result;  // libpq's PGresult

namespace faultline::reference_system::live {

// A statement parameter: bytes (the server infers the type, bytea or text),
// a 64-bit integer, or NULL.
class PgParam {
 public:
  PgParam(std::string bytes) : data_(std::move(bytes)) {}  // NOLINT: implicit by design
  PgParam(std::string_view bytes) : data_(bytes) {}        // NOLINT
  PgParam(const char* bytes) : data_(bytes) {}             // NOLINT
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
  PgParam(I value) : data_(8, '\0'), oid_(20) {  // NOLINT: int8
    auto v = static_cast<std::uint64_t>(static_cast<std::int64_t>(value));
    for (int i = 7; i >= 0; --i, v >>= 8) data_[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  }
  static PgParam null() {
    PgParam p{std::string()};
    p.null_ = true;
    return p;
  }

  const std::string& data() const noexcept { return data_; }
  unsigned oid() const noexcept { return oid_; }
  bool is_null() const noexcept { return null_; }

 private:
  std::string data_;
  unsigned oid_ = 0;
  bool null_ = false;
};

// A statement's result (binary format), owning libpq's PGresult.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result) noexcept : result_(result) {}

  std::size_t rows() const noexcept;
  std::size_t columns() const noexcept;
  bool is_null(std::size_t row, std::size_t column) const noexcept;
  // bytea, text: the raw bytes (valid while this result lives).
  std::string_view bytes(std::size_t row, std::size_t column) const noexcept;
  // int2, int4, int8, bool; asserts on any other type (a bug in the SQL).
  std::int64_t integer(std::size_t row, std::size_t column) const;
  // Rows an INSERT/UPDATE/DELETE touched.
  std::uint64_t affected() const noexcept;

 private:
  struct Clear {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

struct PgOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds query_timeout{30'000};
  std::size_t max_waiting = 4'096;
};

struct PgStats {
  std::uint64_t queries = 0;
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t connections_lost = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t abandoned = 0;     // callers cancelled mid-query
  std::uint64_t refused_full = 0;  // queries refused at max_waiting
  std::uint64_t batches = 0;       // pipelines of several queries, one transaction each
  std::uint64_t batches_rerun = 0;  // of them, run again one query at a time (a statement failed)
  std::uint64_t replies_lost = 0;   // statements failed with an unknown outcome (sent, connection lost)
};

class PgConnection {
 public:
  // `url`: any libpq connection string or URI (postgresql://user@host:port/db).
  PgConnection(runtime::LiveRuntime& rt, std::string url, PgOptions options = {});
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // One statement with $1.. parameters.
  runtime::Task<resilience::Outcome<PgResult>> query(std::string sql, std::vector<PgParam> params = {});

  template <class P, class... Rest>
    requires(std::constructible_from<PgParam, P> && (std::constructible_from<PgParam, Rest> && ...))
  runtime::Task<resilience::Outcome<PgResult>> query(std::string sql, P&& first, Rest&&... rest) {
    std::vector<PgParam> params;
    params.reserve(1 + sizeof...(Rest));
    params.emplace_back(std::forward<P>(first));
    (params.emplace_back(std::forward<Rest>(rest)), ...);
    return query(std::move(sql), std::move(params));
  }

  // Several statements without parameters (schema set-up), in one round trip.
  runtime::Task<resilience::Outcome<>> execute(std::string script);

  bool connected() const noexcept;
  const PgStats& stats() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace faultline::reference_system::live
