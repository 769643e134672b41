// The CheckpointStore port (resilience/checkpoint.h) on Redis: a workflow's
// checkpoint is a hash <prefix>cp/<id> (v, step, state) and every id is a
// member of the sorted set <prefix>cp-index (all scores 0, so members sort
// by their bytes). Each operation is one Lua script (EVAL), which Redis runs
// atomically: the version check and the write happen inside the server, so
// a stale writer is refused by Redis itself, never by a read here followed
// by a write. list() is ZRANGEBYLEX over the prefix's byte range, then the
// hashes, in the same script (one consistent view).
//
//   RedisConnection redis(rt, url);
//   RedisCheckpointStore store(redis, "faultline:");
//   auto v = co_await store.save("inv-42", 0, "ocr", state);  // 1, or conflict
//
// Fault model: what the connection gives (redis_connection.h): transient
// when unreachable or dropped, timeout when stalled; a save whose reply was
// lost may have been applied, which the next compare-and-set reveals as a
// conflict. Redis' own refusals (-OOM, -LOADING, -BUSY, -TRYAGAIN,
// -MASTERDOWN) are transient, other error replies permanent. Durability is
// the server's: with appendonly yes and appendfsync always (what
// harness/live_servers starts) Redis acknowledges a write after it is
// fsynced. The scripts touch keys they compute from ARGV, so the store
// needs one Redis (or one cluster slot), not a cluster.
#pragma once

#include <string>

#include "reference_system/live/redis_connection.h"
#include "resilience/checkpoint.h"

namespace faultline::reference_system::live {

class RedisCheckpointStore final : public resilience::CheckpointStore {
 public:
  // `key_prefix` separates this store's keys from others on the server.
  RedisCheckpointStore(RedisConnection& redis, std::string key_prefix)
      : redis_(&redis), prefix_(std::move(key_prefix)) {}

  std::string_view kind() const noexcept override { return "redis"; }
  runtime::Task<resilience::Outcome<std::uint64_t>> save(std::string workflow_id, std::uint64_t expected_version,
                                                         std::string step, std::string state) override;
  runtime::Task<resilience::Outcome<std::optional<resilience::Checkpoint>>> load(std::string workflow_id) override;
  runtime::Task<resilience::Outcome<>> remove(std::string workflow_id, std::uint64_t expected_version) override;
  runtime::Task<resilience::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix,
                                                                               std::size_t limit) override;

  std::uint64_t saves() const noexcept { return saves_; }
  std::uint64_t conflicts() const noexcept { return conflicts_; }

 private:
  std::string key_of(std::string_view workflow_id) const { return prefix_ + "cp/" + std::string(workflow_id); }
  std::string index_key() const { return prefix_ + "cp-index"; }

  RedisConnection* redis_;
  std::string prefix_;
  std::uint64_t saves_ = 0;
  std::uint64_t conflicts_ = 0;
};

// An error reply as a Failure: Redis' temporary refusals are transient.
resilience::Failure failure_of_error_reply(const RedisReply& reply);

}  // namespace faultline::reference_system::live
