#include "reference_system/live/redis_checkpoint_store.h"

#include <charconv>

#include "reference_system/live/pg_checkpoint_store.h"  // prefix_successor, version_conflict

namespace faultline::reference_system::live {

using resilience::Checkpoint;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

namespace {

// Versions travel as decimal strings and are compared as strings in Lua,
// whose numbers are doubles: exact for every 64-bit version.
constexpr const char* kSave = R"lua(
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return {0, v} end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'step', ARGV[2], 'state', ARGV[3])
if v == '0' then redis.call('ZADD', KEYS[2], 0, ARGV[5]) end
return {1, ARGV[4]}
)lua";

constexpr const char* kRemove = R"lua(
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return 1 end
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
)lua";

constexpr const char* kList = R"lua(
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[4] .. id, 'v', 'step', 'state')
  if f[1] then
    out[#out + 1] = id
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
    out[#out + 1] = f[3]
  end
end
return out
)lua";

bool parse_version(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Failure malformed(std::string_view what) {
  return Failure{ErrorClass::permanent, "redis checkpoint store: unexpected reply to " + std::string(what)};
}

}  // namespace

Failure failure_of_error_reply(const RedisReply& reply) {
  const std::string_view text = reply.text;
  for (std::string_view temporary : {"OOM", "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"}) {
    if (text.substr(0, temporary.size()) == temporary) return Failure{ErrorClass::transient, "redis: " + reply.text};
  }
  return Failure{ErrorClass::permanent, "redis: " + reply.text};
}

Task<Outcome<std::uint64_t>> RedisCheckpointStore::save(std::string workflow_id, std::uint64_t expected_version,
                                                        std::string step, std::string state) {
  std::vector<std::string> args;
  args.reserve(10);
  args.push_back("EVAL");
  args.push_back(kSave);
  args.push_back("2");
  args.push_back(key_of(workflow_id));
  args.push_back(index_key());
  args.push_back(std::to_string(expected_version));
  args.push_back(std::move(step));
  args.push_back(std::move(state));
  args.push_back(std::to_string(expected_version + 1));
  args.push_back(std::move(workflow_id));
  auto r = co_await redis_->command(std::move(args));
  if (!r) co_return std::move(r).failure();
  if (r->is_error()) co_return failure_of_error_reply(r.value());
  std::uint64_t version = 0;
  if (r->elements.size() != 2 || !parse_version(r->elements[1].text, version)) co_return malformed("save");
  if (r->elements[0].integer != 1) {
    ++conflicts_;
    co_return Failure{ErrorClass::conflict, "checkpoint: the stored version is " + r->elements[1].text + ", not " +
                                                std::to_string(expected_version)};
  }
  ++saves_;
  co_return version;
}

Task<Outcome<std::optional<Checkpoint>>> RedisCheckpointStore::load(std::string workflow_id) {
  auto r = co_await redis_->command("HMGET", key_of(workflow_id), "v", "step", "state");
  if (!r) co_return std::move(r).failure();
  if (r->is_error()) co_return failure_of_error_reply(r.value());
  if (r->elements.size() != 3) co_return malformed("load");
  if (r->elements[0].is_nil()) co_return std::optional<Checkpoint>{};
  std::uint64_t version = 0;
  if (!parse_version(r->elements[0].text, version)) co_return malformed("load");
  co_return std::optional<Checkpoint>{
      Checkpoint{std::move(workflow_id), version, std::move(r->elements[1].text), std::move(r->elements[2].text)}};
}

Task<Outcome<>> RedisCheckpointStore::remove(std::string workflow_id, std::uint64_t expected_version) {
  std::vector<std::string> args;
  args.push_back("EVAL");
  args.push_back(kRemove);
  args.push_back("2");
  args.push_back(key_of(workflow_id));
  args.push_back(index_key());
  args.push_back(std::to_string(expected_version));
  args.push_back(std::move(workflow_id));
  auto r = co_await redis_->command(std::move(args));
  if (!r) co_return std::move(r).failure();
  if (r->is_error()) co_return failure_of_error_reply(r.value());
  if (r->integer != 1) {
    ++conflicts_;
    co_return version_conflict(expected_version);
  }
  co_return resilience::ok();
}

Task<Outcome<std::vector<Checkpoint>>> RedisCheckpointStore::list(std::string prefix, std::size_t limit) {
  std::vector<Checkpoint> out;
  if (limit == 0) co_return out;
  const std::string end = prefix_successor(prefix);
  std::vector<std::string> args;
  args.push_back("EVAL");
  args.push_back(kList);
  args.push_back("1");
  args.push_back(index_key());
  args.push_back(prefix.empty() ? std::string("-") : "[" + prefix);
  args.push_back(end.empty() ? std::string("+") : "(" + end);
  args.push_back(std::to_string(limit));
  args.push_back(prefix_ + "cp/");
  auto r = co_await redis_->command(std::move(args));
  if (!r) co_return std::move(r).failure();
  if (r->is_error()) co_return failure_of_error_reply(r.value());
  if (r->elements.size() % 4 != 0) co_return malformed("list");
  out.reserve(r->elements.size() / 4);
  for (std::size_t i = 0; i < r->elements.size(); i += 4) {
    std::uint64_t version = 0;
    if (!parse_version(r->elements[i + 1].text, version)) co_return malformed("list");
    out.push_back(Checkpoint{std::move(r->elements[i].text), version, std::move(r->elements[i + 2].text),
                             std::move(r->elements[i + 3].text)});
  }
  co_return out;
}

}  // namespace faultline::reference_system::live
