// The message bus on Redis Streams: MessageBus (ports.h) for processes on
// the live runtime, following protocol/README.md. Each topic is a stream
// (`<prefix><topic>`, "faultline:ocr"), read by one consumer group (the
// role: "ocr" .. "archive", "orchestrator" for replies), and this process is
// one consumer of each group it receives from, under a name that stays the
// same when the same worker restarts ("ocr-0"), so that a restarted worker
// first takes back what it had read and not acked. Agent and orchestrator
// code use it unchanged, in place of the in-process bus.
//
//   RedisStreamBus bus(rt, options_for(policy, "redis://127.0.0.1:6379", "ocr-0"));
//   std::optional<Message> m = co_await bus.receive(Topic::ocr);  // XREADGROUP on its own connection
//   (void)bus.publish(reply);                                      // XADD, pipelined
//   bus.ack(Topic::ocr, m->delivery_id);                           // XACK, pipelined
//
// Fault model, what a caller sees:
//   publish  false at once, counted in `rejected`, when the topic's backlog
//            (entries not yet delivered plus pending ones) is known to be at
//            its bound, when the body is over 1 MiB, or after close().
//            Otherwise true, and the XADD goes out on the pipelined
//            connection. Near the bound (past half of it), and until this
//            process has heard the backlog from Redis, the XADD runs in a
//            Lua script that checks the backlog atomically, so publishers in
//            several processes do not overfill a stream together; a publish
//            the server refuses then (`rejected_by_server`, logged as
//            Kind::message_rejected with b = 1), or one that
//            fails (Redis down, no reply in time: `publish_failed`, logged as
//            Kind::bus_failure), was already answered true: the
//            orchestrator's step timeout and retry recover the request, as
//            for a reply lost with a crashed worker.
//   receive  waits for an entry without blocking the event loop (XREADGROUP
//            BLOCK runs on a connection of its own, one per topic received
//            from) and reads only as many entries as receivers wait for. A
//            failed read (Redis down, a lost connection) is retried after a
//            backoff up to 1 s, counted and logged, never seen by the
//            caller. An entry that does not decode (a foreign or malformed
//            one) and a delivery past the policy's delivery limit never
//            reach the caller: the entry is copied to `<stream>:dead` with
//            its reason and acked, in one script (Kind::message_dead).
//            nullopt only once close() was called.
//   ack      forgets the message at once (pending() drops); the XACKs of
//            one step go out together. A failed XACK (counted, logged)
//            leaves the entry pending in Redis: it comes back after a
//            restart or a claim, and the idempotent consumer acks it as a
//            duplicate.
//   reclaim  forgets this process's received, unacked messages of the topic
//            and re-reads its consumer's pending entries from Redis
//            (XPENDING + XCLAIM): they come back oldest first, each
//            delivery counted toward the limit. Returns how many this
//            process had; entries an earlier run of the same consumer left
//            come on top (the first receive() on a topic re-reads them too).
//   depth    the group's entries not yet delivered, as last heard from Redis
//            (each checked publish, every 32 publishes and every
//            maintenance round refresh it), plus this process's XADDs in
//            flight and entries read but not yet handed to a receiver.
//   pending  messages this process received and has not acked (exact).
//   dead consumers
//            every `claim_idle` / 4 (at least 10 ms, at most 1 s of wall
//            time), each receiving process claims its group's entries idle
//            longer than `claim_idle` (XPENDING IDLE + XCLAIM): those of a
//            worker that died or stopped. It keeps its own messages in hand
//            from looking idle while its handlers work on them (XCLAIM
//            JUSTID, which resets the idle time without counting a
//            delivery), so a slow step is not taken away from a live worker.
//   growth   the same round trims each stream it reads below the oldest
//            entry some group still needs (XTRIM MINID: the oldest pending
//            entry, or the last delivered one): acked entries go, work never
//            does, unlike MAXLEN, which would cut undelivered requests once
//            a stream is long. Dead streams are capped at `dead_capacity`
//            (MAXLEN ~: the oldest dead entries go first).
//
// Every duration in the options is on the runtime's clock (scenario time),
// converted to Redis's wall-clock milliseconds with the runtime's time
// scale. A bus that receives keeps the runtime busy (its keeper's timer), so
// LiveRuntime::run() returns only after close() or stop(). The bus must be
// destroyed before its LiveRuntime, and used from the runtime's thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "reference_system/live/redis_connection.h"
#include "reference_system/policy.h"
#include "reference_system/ports.h"
#include "reference_system/wire.h"
#include "runtime/live_runtime.h"

namespace faultline::reference_system::live {

struct RedisStreamBusOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  // Stream names are `<prefix><topic>`; the dead streams `<prefix><topic>:dead`.
  std::string prefix = std::string(kDefaultStreamPrefix);
  // This worker's consumer name in every group it reads from: the same
  // after a restart of the same worker ("<role>-<index>"), different for
  // every worker running at once.
  std::string consumer;
  // Per topic, the backlog (undelivered + pending entries) at which a
  // publish is refused.
  std::array<std::size_t, kTopicCount> bound{};
  BusPolicy policy;
  WireClock clock;
  // Entries each dead stream keeps, about (MAXLEN ~).
  std::size_t dead_capacity = 1'000'000;
  // How long one XREADGROUP blocks before it is sent again.
  runtime::Duration block = std::chrono::seconds(1);
  // Entries one XREADGROUP, XPENDING or XCLAIM takes at most.
  std::size_t batch = 64;
  RedisOptions connection;
};

// The options a process of `policy` uses: each agent's queue_bound for its
// topic, and for replies the workflows that can wait for one (as the
// in-process system sizes them).
RedisStreamBusOptions options_for(const Policy& policy, std::string redis_url, std::string consumer);

// The consumer group that reads `topic`: its role's name, "orchestrator" for replies.
std::string_view group_of(Topic topic) noexcept;

struct RedisStreamBusStats {
  std::uint64_t published = 0;           // publishes answered true
  std::uint64_t rejected = 0;            // refused at once (bound known reached, body too large, closed)
  std::uint64_t rejected_by_server = 0;  // answered true, then found at the bound by the checking script
  std::uint64_t publish_failed = 0;      // answered true, then the XADD failed
  std::uint64_t reads = 0;               // XREADGROUPs sent
  std::uint64_t received = 0;            // messages handed to receivers
  std::uint64_t redelivered = 0;         // of them, deliveries after the first (re-read or claimed)
  std::uint64_t claimed = 0;             // entries taken over from other consumers
  std::uint64_t dead_undecodable = 0;    // entries moved to a dead stream because they did not decode
  std::uint64_t dead_over_limit = 0;     // ... because they were delivered more often than the limit
  std::uint64_t acks_failed = 0;         // XACKs that failed (entries left pending)
  std::uint64_t commands_failed = 0;     // every failed command (reads, claims, trims ... included)
  std::uint64_t trimmed = 0;             // acked entries trimmed from the streams
};

class RedisStreamBus final : public MessageBus {
 public:
  RedisStreamBus(runtime::LiveRuntime& rt, RedisStreamBusOptions options);
  RedisStreamBus(const RedisStreamBus&) = delete;
  RedisStreamBus& operator=(const RedisStreamBus&) = delete;
  ~RedisStreamBus() override;

  [[nodiscard]] bool publish(Message message) override;
  Task<std::optional<Message>> receive(Topic topic) override;
  void ack(Topic topic, std::uint64_t delivery_id) override;
  std::size_t reclaim(Topic topic) override;
  std::size_t depth(Topic topic) const override;
  std::size_t pending(Topic topic) const override;
  void close() override;

  const RedisStreamBusStats& stats() const noexcept;
  std::uint64_t published() const noexcept { return stats().published; }
  std::uint64_t rejected() const noexcept { return stats().rejected + stats().rejected_by_server; }
  std::uint64_t redelivered() const noexcept { return stats().redelivered; }
  const RedisStreamBusOptions& options() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace faultline::reference_system::live
