// One connection to Redis for coroutines on the live runtime, on hiredis'
// async API: its socket's read and write readiness is watched by Asio on
// the LiveRuntime's io_context, so a command never blocks the event loop,
// and commands from many coroutines share the connection (pipelined, the
// replies come back in order).
//
//   RedisConnection redis(rt, "redis://127.0.0.1:6379");
//   Outcome<RedisReply> r = co_await redis.command("SET", "k", "v");
//   if (!r) ...                         // transient: refused, lost; timeout: no reply in time
//   else if (r->is_error()) ...         // the server's own error reply ("-ERR ...")
//
// Fault model: a refused or lost connection is a transient Failure for the
// commands it carried (whether the server applied them is unknown, as with
// any network call), and the next command reconnects. A connection the
// server closed while idle is noticed before the next command is sent, so
// that command goes out on a fresh connection. A connection on which no
// reply arrives for `command_timeout` while commands wait is dropped, and
// those commands fail with ErrorClass::timeout (a stopped or hung server);
// blocking commands (XREADGROUP BLOCK) need a connection whose
// command_timeout is longer than their block time. At most `max_in_flight`
// commands wait for replies; one more is refused with capacity_exceeded and
// counted. hiredis writes with write(2), so the process ignores SIGPIPE
// from the first connection on; a closed socket is an error value instead.
//
// The connection must be destroyed before its LiveRuntime, and used from
// the runtime's thread only.
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

namespace faultline::reference_system::live {

// A reply, copied out of hiredis' reply tree.
struct RedisReply {
  enum class Type : std::uint8_t { string, status, error, integer, nil, array };
  Type type = Type::nil;
  std::string text;            // string, status, error
  long long integer = 0;       // integer
  std::vector<RedisReply> elements;  // array

  bool is_error() const noexcept { return type == Type::error; }
  bool is_nil() const noexcept { return type == Type::nil; }
};

// redis://[[user]:password@]host[:port][/db]
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int database = 0;
  std::string password;
};
resilience::Outcome<RedisAddress> parse_redis_url(std::string_view url);

struct RedisOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds command_timeout{10'000};
  std::size_t max_in_flight = 65'536;
};

struct RedisStats {
  std::uint64_t commands = 0;         // sent
  std::uint64_t replies = 0;          // received (error replies included)
  std::uint64_t connects = 0;         // connections established
  std::uint64_t connect_failures = 0;
  std::uint64_t connections_lost = 0; // dropped while commands waited, or found closed while idle
  std::uint64_t timeouts = 0;         // connections dropped for want of a reply
  std::uint64_t refused_full = 0;     // commands refused at max_in_flight
};

class RedisConnection {
 public:
  RedisConnection(runtime::LiveRuntime& rt, std::string url, RedisOptions options = {});
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // One command, its arguments as binary-safe strings.
  runtime::Task<resilience::Outcome<RedisReply>> command(std::vector<std::string> args);

  // command("XADD", stream, "*", "field", value): strings and integers.
  template <class A, class... Rest>
    requires(!std::same_as<std::remove_cvref_t<A>, std::vector<std::string>>)
  runtime::Task<resilience::Outcome<RedisReply>> command(A&& first, Rest&&... rest) {
    std::vector<std::string> args;
    args.reserve(1 + sizeof...(Rest));
    args.push_back(to_argument(std::forward<A>(first)));
    (args.push_back(to_argument(std::forward<Rest>(rest))), ...);
    return command(std::move(args));
  }

  bool connected() const noexcept;
  const RedisStats& stats() const noexcept;
  const std::string& url() const noexcept { return url_; }

  struct Impl;

 private:
  template <class T>
  static std::string to_argument(T&& value) {
    if constexpr (std::is_integral_v<std::remove_cvref_t<T>>) {
      return std::to_string(value);
    } else {
      return std::string(std::string_view(value));
    }
  }

  std::string url_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace faultline::reference_system::live
