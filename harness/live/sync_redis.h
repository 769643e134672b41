// A small synchronous Redis client on hiredis for the harness's own reads
// and writes outside the live runtime (check-agent's battery, the wire
// audit's MONITOR and stream tailer), and the parser of MONITOR's lines.
// Include it from .cpp files only: it brings hiredis.
//
//   sync_redis::Redis redis("redis://127.0.0.1:6379");
//   sync_redis::Value v = redis.command({"GET", "k"});  // throws sync_redis::RedisError on an error reply
//   monitor_arguments(R"(1.5 [0 lua] "XACK" "s" "g" "1-0")");  // {"XACK", "s", "g", "1-0"}
#pragma once

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace faultline::harness::sync_redis {

struct RedisError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Value {
  int type = REDIS_REPLY_NIL;
  std::string text;
  long long integer = 0;
  std::vector<Value> elements;
  bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

inline Value convert(const redisReply* r) {
  Value v;
  v.type = r->type;
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
    v.text.assign(r->str, r->len);
  } else if (r->type == REDIS_REPLY_INTEGER) {
    v.integer = r->integer;
  } else if (r->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
  }
  return v;
}

inline std::pair<std::string, int> host_port(const std::string& url) {
  std::string rest = url.substr(url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  return {rest.substr(0, colon), colon == std::string::npos ? 6379 : std::stoi(rest.substr(colon + 1))};
}

class Redis {
 public:
  explicit Redis(const std::string& url) {
    const auto [host, port] = host_port(url);
    const timeval timeout{10, 0};
    c_ = redisConnectWithTimeout(host.c_str(), port, timeout);
    if (c_ == nullptr || c_->err != 0) {
      const std::string why = c_ != nullptr ? c_->errstr : "out of memory";
      if (c_ != nullptr) redisFree(c_);
      c_ = nullptr;
      throw RedisError("redis " + url + ": " + why);
    }
    redisSetTimeout(c_, timeout);
  }
  ~Redis() {
    if (c_ != nullptr) redisFree(c_);
  }
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  Value command(const std::vector<std::string>& args) {
    auto* r = static_cast<redisReply*>(send(args));
    Value v = convert(r);
    freeReplyObject(r);
    if (v.is_error()) throw RedisError(fmt::format("redis: {}: {}", args.front(), v.text));
    return v;
  }
  // The same, but an error reply is returned rather than thrown.
  Value try_command(const std::vector<std::string>& args) {
    auto* r = static_cast<redisReply*>(send(args));
    Value v = convert(r);
    freeReplyObject(r);
    return v;
  }
  // The next reply pushed on this connection (MONITOR); nullopt once it is closed.
  std::optional<Value> next() {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) return std::nullopt;
    Value v = convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return v;
  }
  void no_timeout() {
    const timeval none{0, 0};
    redisSetTimeout(c_, none);
  }
  void shutdown() { ::shutdown(c_->fd, SHUT_RDWR); }

 private:
  void* send(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    void* r = redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (r == nullptr) throw RedisError(fmt::format("redis: {}: {}", args.front(), c_->errstr));
    return r;
  }
  redisContext* c_ = nullptr;
};

// The quoted arguments of a MONITOR line:
// `1700000000.123456 [0 127.0.0.1:5000] "XACK" "s" "g" "1-0"` (escapes as sdscatrepr writes them).
std::vector<std::string> monitor_arguments(std::string_view line);

}  // namespace faultline::harness::sync_redis
