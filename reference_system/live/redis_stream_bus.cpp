// The message bus on Redis Streams (reference_system/live/redis_stream_bus.h).
// Every command but the blocking reads goes out on one pipelined connection,
// so replies come back in the order the commands went out: a count refreshed
// from a reply covers every XADD sent before it, and the XADDs still in
// flight are added on top. Coroutines that outlive a call (a publish's XADD,
// a flush of acks, the reader and the keeper of a topic) share ownership of
// the state, so a bus destroyed with commands in flight leaves them nothing
// dangling to resume into.
#include "reference_system/live/redis_stream_bus.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "reference_system/events.h"
#include "runtime/runtime.h"

namespace faultline::reference_system::live {

using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

namespace {

// Publishes between two refreshes of a topic's counts from Redis.
constexpr std::uint32_t kRefreshEvery = 32;
// Field/value pairs of an entry copied into its dead entry; a foreign entry
// may have any number.
constexpr std::size_t kDeadFieldsMax = 64;
// Entry ids one touch script handles.
constexpr std::size_t kTouchChunk = 256;
constexpr std::chrono::milliseconds kBackoffMin{10};
constexpr std::chrono::milliseconds kBackoffMax{1000};
constexpr std::chrono::milliseconds kKeeperPeriodMin{10};
constexpr std::chrono::milliseconds kKeeperPeriodMax{1000};

// Shared by the scripts: a group's XINFO row as a table, entry ids compared
// as the numbers they are (Redis writes them without leading zeros), and
// the backlog of group ARGV[1] on stream KEYS[1] (a stream no group reads
// yet has every entry undelivered; a lag Redis cannot compute, after an
// XDEL inside the group's range, is taken as the stream's length).
constexpr std::string_view kLuaCommon = R"lua(
local function info_of(g)
  local t = {}
  for i = 1, #g, 2 do t[g[i]] = g[i + 1] end
  return t
end
local function id_before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
local function backlog()
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0, 0 end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local info = info_of(g)
    if info['name'] == ARGV[1] then return info['lag'] or redis.call('XLEN', KEYS[1]), info['pending'] end
  end
  return redis.call('XLEN', KEYS[1]), 0
end
)lua";

// KEYS[1] stream; ARGV[1] group, ARGV[2] bound, ARGV[3..] the entry's
// fields. {entry id or 0 when refused, lag, pending} after it.
constexpr std::string_view kLuaPublish = R"lua(
local lag, pending = backlog()
if lag + pending >= tonumber(ARGV[2]) then return {0, lag, pending} end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
return {id, lag + 1, pending}
)lua";

// KEYS[1] stream; ARGV[1] group. Trims the entries every group is done
// with: below the oldest pending entry and the last delivered one of each
// group. {lag, pending, entries trimmed}.
constexpr std::string_view kLuaMaintain = R"lua(
local lag, pending = backlog()
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, 0} end
local keep = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = info_of(g)
  local first = info['last-delivered-id']
  if info['pending'] > 0 then
    local oldest = redis.call('XPENDING', KEYS[1], info['name'])[2]
    if id_before(oldest, first) then first = oldest end
  end
  if keep == nil or id_before(first, keep) then keep = first end
end
local trimmed = 0
if keep ~= nil then trimmed = redis.call('XTRIM', KEYS[1], 'MINID', keep) end
return {lag, pending, trimmed}
)lua";

// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids it
// holds. Resets their idle time where they are still its own (JUSTID counts
// no delivery). The number touched.
constexpr std::string_view kLuaTouch = R"lua(
local mine = {}
for i = 3, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) == 1 then mine[#mine + 1] = ARGV[i] end
end
if #mine == 0 then return 0 end
local n = #mine
mine[n + 1] = 'JUSTID'
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))
return n
)lua";

// KEYS[1] stream, KEYS[2] its dead stream; ARGV[1] group, ARGV[2] entry id,
// ARGV[3] the dead stream's cap, ARGV[4..] the dead entry's fields. Copies
// and acks in one step, and only while the entry is pending: an entry
// acked meanwhile was done with. 1 if moved.
constexpr std::string_view kLuaBury = R"lua(
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

// A reply as Outcome: the server's error reply is a permanent failure.
Outcome<RedisReply> checked(Outcome<RedisReply> r) {
  if (r && r->is_error()) return Failure{ErrorClass::permanent, "redis: " + r->text};
  return r;
}

bool is_nogroup(const Failure& f) { return f.message.find("NOGROUP") != std::string::npos; }

std::size_t as_count(const RedisReply& r) {
  return r.type == RedisReply::Type::integer && r.integer > 0 ? static_cast<std::size_t>(r.integer) : 0;
}

// One row of XPENDING's extended form: id, consumer, idle ms, deliveries.
struct PendingRow {
  std::string id;
  std::string consumer;
  std::uint64_t deliveries = 0;
};

std::vector<PendingRow> pending_rows(const RedisReply& r) {
  std::vector<PendingRow> rows;
  for (const auto& row : r.elements) {
    if (row.elements.size() < 4 || row.elements[0].type != RedisReply::Type::string) continue;
    rows.push_back(PendingRow{row.elements[0].text, row.elements[1].text,
                              static_cast<std::uint64_t>(std::max(0LL, row.elements[3].integer))});
  }
  return rows;
}

}  // namespace

std::string_view group_of(Topic topic) noexcept {
  return topic == Topic::replies ? std::string_view("orchestrator") : wire_name(topic);
}

RedisStreamBusOptions options_for(const Policy& policy, std::string redis_url, std::string consumer) {
  RedisStreamBusOptions o;
  o.redis_url = std::move(redis_url);
  o.consumer = std::move(consumer);
  for (std::size_t i = 0; i < kAgentCount; ++i) o.bound[i] = policy.agents[i].queue_bound;
  o.bound[static_cast<std::size_t>(Topic::replies)] = policy.max_in_flight + 1024;
  o.policy = policy.bus;
  o.dead_capacity = policy.dead_letter.capacity;
  return o;
}

struct RedisStreamBus::Impl {
  struct Script {
    std::string text;
  };

  struct TopicState {
    Topic topic = Topic::ocr;
    std::string key;
    std::string dead_key;
    std::string group;
    std::uint32_t source = 0;
    std::size_t bound = 0;
    // What this process knows of the group's backlog: refreshed from Redis,
    // plus the XADDs confirmed since.
    std::size_t known_lag = 0;
    std::size_t known_pending = 0;
    std::size_t in_flight = 0;  // XADDs sent, not answered
    std::uint32_t since_refresh = 0;
    bool refreshing = false;
    bool counts_known = false;  // a refresh or a checked publish answered
    // Receiving.
    bool consuming = false;
    bool group_ready = false;
    bool rereading = false;
    bool reread_due = false;
    std::deque<Message> ready;                // read, not yet handed to a receiver
    std::vector<std::uint64_t> in_hand;       // handed out, not acked
    std::unordered_set<std::uint64_t> held;   // ready, in hand or being buried
    std::unique_ptr<runtime::Semaphore> available;  // one permit per ready message
    std::unique_ptr<runtime::Signal> demand;        // a receiver waits
    std::unique_ptr<runtime::Signal> reread_over;   // no re-read of own entries runs
    std::unique_ptr<RedisConnection> blocking;
    runtime::TaskId reader;
    runtime::TaskId keeper;
    // Entry ids to XACK, in batches each flushed by a task of its own. A
    // batch takes acks only while no publish has been sent since it was
    // opened: a flush queued before a reply's publish would otherwise carry
    // that reply's ack to Redis ahead of the reply (the run's wire audit saw
    // it, harness/live/wire_audit.h).
    struct AckBatch {
      std::uint64_t after_publishes = 0;
      std::vector<std::string> ids;
    };
    std::deque<AckBatch> ack_batches;
  };

  Impl(runtime::LiveRuntime& runtime, RedisStreamBusOptions opts) : rt(runtime), options(std::move(opts)) {
    FAULTLINE_ASSERT(!options.consumer.empty() && "a consumer name");
    FAULTLINE_ASSERT(options.batch > 0);
    FAULTLINE_ASSERT(options.policy.delivery_limit > 0);
    commands = std::make_unique<RedisConnection>(rt, options.redis_url, options.connection);
    publish_script.text = std::string(kLuaCommon) + std::string(kLuaPublish);
    maintain_script.text = std::string(kLuaCommon) + std::string(kLuaMaintain);
    touch_script.text = std::string(kLuaTouch);
    bury_script.text = std::string(kLuaBury);
    for (std::size_t i = 0; i < kTopicCount; ++i) {
      TopicState& t = topics[i];
      t.topic = static_cast<Topic>(i);
      t.key = stream_name(t.topic, options.prefix);
      t.dead_key = t.key + ":dead";
      t.group = std::string(group_of(t.topic));
      t.source = rt.log().intern(to_string(t.topic));
      t.bound = std::max<std::size_t>(options.bound[i], 1);
      t.available = std::make_unique<runtime::Semaphore>(rt, 0);
      t.demand = std::make_unique<runtime::Signal>(rt);
      t.reread_over = std::make_unique<runtime::Signal>(rt);
      t.reread_over->set();
    }
  }

  runtime::LiveRuntime& rt;
  RedisStreamBusOptions options;
  std::unique_ptr<RedisConnection> commands;
  std::array<TopicState, kTopicCount> topics;
  Script publish_script;
  Script maintain_script;
  Script touch_script;
  Script bury_script;
  RedisStreamBusStats stats;
  bool closed = false;
  std::uint64_t publishes_sent = 0;  // sends spawned: orders acks behind the replies before them
  bool shut_down = false;

  TopicState& topic(Topic t) { return topics[static_cast<std::size_t>(t)]; }

  // --- time: options are on the runtime's clock, Redis counts wall ms ---
  std::chrono::milliseconds wall_ms(runtime::Duration d) const {
    const double ms = static_cast<double>(d.count()) / 1e6 / rt.time_scale();
    return std::chrono::milliseconds(std::max<long long>(1, std::llround(ms)));
  }
  runtime::Duration runtime_of(std::chrono::milliseconds wall) const {
    return runtime::Duration(std::llround(static_cast<double>(wall.count()) * 1e6 * rt.time_scale()));
  }
  std::chrono::milliseconds keeper_period() const {
    return std::clamp(wall_ms(options.policy.claim_idle) / 4, kKeeperPeriodMin, kKeeperPeriodMax);
  }

  void failed(const TopicState& t, BusOp op, const Failure& f, std::uint64_t subject = 0) {
    ++stats.commands_failed;
    rt.log().record(t.source, subject, system_events::BusFailure{op, f.error_class});
  }

  // A command on the pipelined connection; a failure once the bus is gone.
  Task<Outcome<RedisReply>> command(std::vector<std::string> args) {
    if (!commands) co_return Failure{ErrorClass::transient, "redis: the bus is closed"};
    co_return checked(co_await commands->command(std::move(args)));
  }

  // EVAL with the script's text, every time: the script goes out as the
  // caller's one command, so a reply's publish reaches the server before
  // the ack sent after it (an ack first loses the request to a SIGKILL
  // between the two; faultline check-agent's crash_mid_message found it).
  // EVALSHA would need SCRIPT LOAD first, and again after every restart of
  // Redis, which keeps no scripts: its NOSCRIPT answer comes after the ack
  // was sent. Redis caches the compiled script by its digest all the same.
  Task<Outcome<RedisReply>> eval(Script& script, std::vector<std::string> keys, std::vector<std::string> argv) {
    std::vector<std::string> args;
    args.reserve(3 + keys.size() + argv.size());
    args.push_back("EVAL");
    args.push_back(script.text);
    args.push_back(std::to_string(keys.size()));
    args.insert(args.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    args.insert(args.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
    co_return co_await command(std::move(args));
  }

  Task<Outcome<>> ensure_group(TopicState& t) {
    if (t.group_ready) co_return resilience::ok();
    std::vector<std::string> args;
    args.push_back("XGROUP");
    args.push_back("CREATE");
    args.push_back(t.key);
    args.push_back(t.group);
    args.push_back("0");  // entries published before the group existed are its work too
    args.push_back("MKSTREAM");
    auto r = co_await command(std::move(args));
    if (!r && r.failure().message.find("BUSYGROUP") == std::string::npos) co_return std::move(r).failure();
    t.group_ready = true;
    co_return resilience::ok();
  }

  // --- publishing ---

  static Task<void> send_publish(std::shared_ptr<Impl> self, Topic topic, WireFields fields, std::uint64_t invoice,
                                 bool checked_publish) {
    TopicState& t = self->topic(topic);
    Outcome<RedisReply> r = Failure{ErrorClass::transient, ""};
    if (checked_publish) {
      std::vector<std::string> keys;
      keys.push_back(t.key);
      std::vector<std::string> argv;
      argv.reserve(2 + 2 * fields.size());
      argv.push_back(t.group);
      argv.push_back(std::to_string(t.bound));
      for (auto& [field, value] : fields) {
        argv.push_back(std::move(field));
        argv.push_back(std::move(value));
      }
      r = co_await self->eval(self->publish_script, std::move(keys), std::move(argv));
    } else {
      std::vector<std::string> args;
      args.reserve(3 + 2 * fields.size());
      args.push_back("XADD");
      args.push_back(t.key);
      args.push_back("*");
      for (auto& [field, value] : fields) {
        args.push_back(std::move(field));
        args.push_back(std::move(value));
      }
      r = co_await self->command(std::move(args));
    }
    FAULTLINE_ASSERT(t.in_flight > 0);
    --t.in_flight;
    if (!r) {
      ++self->stats.publish_failed;
      self->failed(t, BusOp::publish, r.failure(), invoice);
      co_return;
    }
    if (!checked_publish) {
      ++t.known_lag;
      co_return;
    }
    if (r->elements.size() == 3) {
      t.known_lag = as_count(r->elements[1]);
      t.known_pending = as_count(r->elements[2]);
      t.counts_known = true;
      if (r->elements[0].type == RedisReply::Type::integer) {
        ++self->stats.rejected_by_server;
        self->rt.log().record(t.source, invoice, system_events::MessageRejected{t.bound, true});
      }
    }
  }

  // Counts from Redis, and trimming (the maintain script).
  static Task<void> refresh(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    std::vector<std::string> keys;
    keys.push_back(t.key);
    std::vector<std::string> argv;
    argv.push_back(t.group);
    auto r = co_await self->eval(self->maintain_script, std::move(keys), std::move(argv));
    t.refreshing = false;
    if (!r) {
      self->failed(t, BusOp::maintain, r.failure());
      co_return;
    }
    if (r->elements.size() == 3) {
      t.known_lag = as_count(r->elements[0]);
      t.known_pending = as_count(r->elements[1]);
      t.counts_known = true;
      self->stats.trimmed += as_count(r->elements[2]);
    }
    t.since_refresh = 0;
  }

  void start_refresh(std::shared_ptr<Impl> self, TopicState& t) {
    if (t.refreshing || !commands) return;
    t.refreshing = true;
    rt.spawn(refresh(std::move(self), t.topic));
  }

  // --- acks ---

  static Task<void> flush_acks(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    if (t.ack_batches.empty()) co_return;
    std::vector<std::string> ids = std::move(t.ack_batches.front().ids);
    t.ack_batches.pop_front();
    if (ids.empty()) co_return;
    const std::size_t n = ids.size();
    std::vector<std::string> args;
    args.reserve(3 + n);
    args.push_back("XACK");
    args.push_back(t.key);
    args.push_back(t.group);
    args.insert(args.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
    auto r = co_await self->command(std::move(args));
    if (!r) {
      self->stats.acks_failed += n;
      self->failed(t, BusOp::ack, r.failure());
      co_return;
    }
    t.known_pending -= std::min(t.known_pending, as_count(r.value()));
  }

  // --- receiving ---

  void start_consuming(std::shared_ptr<Impl> self, TopicState& t) {
    if (t.consuming || closed) return;
    t.consuming = true;
    RedisOptions blocking_options = options.connection;
    // A blocked read waits up to `block` for its reply by design.
    blocking_options.command_timeout = std::max(blocking_options.command_timeout,
                                                2 * wall_ms(options.block) + std::chrono::milliseconds(5'000));
    t.blocking = std::make_unique<RedisConnection>(rt, options.redis_url, blocking_options);
    t.reader = rt.spawn(read_loop(self, t.topic));
    t.keeper = rt.spawn(keep_loop(self, t.topic));
    schedule_reread(std::move(self), t);
  }

  void schedule_reread(std::shared_ptr<Impl> self, TopicState& t) {
    if (closed) return;
    if (t.rereading) {
      t.reread_due = true;
      return;
    }
    t.rereading = true;
    t.reread_due = false;
    t.reread_over->reset();
    rt.spawn(reread_own(std::move(self), t.topic));
  }

  Message take(TopicState& t) {
    FAULTLINE_ASSERT(!t.ready.empty());
    Message m = std::move(t.ready.front());
    t.ready.pop_front();
    t.in_hand.push_back(m.delivery_id);
    ++stats.received;
    return m;
  }

  static Task<std::optional<Message>> wait_for(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    t.demand->set();
    co_await t.available->acquire();
    if (self->closed) co_return std::nullopt;
    co_return self->take(t);
  }

  // An entry read from the stream (`deliveries`: its delivery count now).
  // What does not decode, or was delivered too often, goes to the dead
  // stream; the rest waits for a receiver.
  void deliver(std::shared_ptr<Impl> self, TopicState& t, const std::string& entry_id, const RedisReply* fields,
               std::uint64_t deliveries) {
    if (closed) return;
    const std::optional<std::uint64_t> id = delivery_id_of(entry_id);
    if (id && t.held.contains(*id)) return;
    std::vector<WireFieldView> views;
    bool pairs = fields != nullptr && fields->type == RedisReply::Type::array && fields->elements.size() % 2 == 0;
    if (pairs) {
      views.reserve(fields->elements.size() / 2);
      for (std::size_t i = 0; i + 1 < fields->elements.size(); i += 2) {
        views.emplace_back(fields->elements[i].text, fields->elements[i + 1].text);
      }
    }
    Outcome<Message> m = pairs ? decode(std::span<const WireFieldView>(views), options.clock)
                               : Outcome<Message>(Failure{ErrorClass::permanent,
                                                          "wire: the entry's fields are not field/value pairs"});
    if (m && m->topic != t.topic) {
      m = Failure{ErrorClass::permanent, "wire: field \"topic\": a message for " + std::string(wire_name(m->topic)) +
                                             " on the stream of " + std::string(wire_name(t.topic))};
    }
    if (m && !id) {
      m = Failure{ErrorClass::permanent, "wire: entry id " + entry_id + " has no delivery id (wire.h's range)"};
    }
    const std::uint64_t invoice = m ? m->invoice_id : 0;
    if (deliveries > options.policy.delivery_limit) {
      bury(std::move(self), t, entry_id, id, fields, DeadReason::delivery_limit,
           "delivery limit: delivered " + std::to_string(deliveries) + " times, the policy allows " +
               std::to_string(options.policy.delivery_limit),
           deliveries, invoice);
      return;
    }
    if (!m) {
      bury(std::move(self), t, entry_id, id, fields, DeadReason::undecodable, m.failure().message, deliveries, 0);
      return;
    }
    m->delivery_id = *id;
    if (deliveries > 1) {
      ++stats.redelivered;
      rt.log().record(t.source, m->invoice_id, system_events::MessageRedelivered{*id});
    }
    t.held.insert(*id);
    t.ready.push_back(std::move(m).value());
    t.available->release();
  }

  void bury(std::shared_ptr<Impl> self, TopicState& t, const std::string& entry_id, std::optional<std::uint64_t> id,
            const RedisReply* fields, DeadReason reason, std::string refusal, std::uint64_t deliveries,
            std::uint64_t invoice) {
    std::vector<std::string> argv;
    argv.push_back(t.group);
    argv.push_back(entry_id);
    argv.push_back(std::to_string(options.dead_capacity));
    argv.push_back("refusal");
    argv.push_back(std::move(refusal));
    argv.push_back("entry_id");
    argv.push_back(entry_id);
    argv.push_back("deliveries");
    argv.push_back(std::to_string(deliveries));
    if (fields != nullptr && fields->type == RedisReply::Type::array) {
      const std::size_t values = std::min(fields->elements.size(), 2 * kDeadFieldsMax);
      for (std::size_t i = 0; i < values; ++i) argv.push_back(fields->elements[i].text);
      if (values % 2 == 1) argv.push_back("");
      if (fields->elements.size() > values) {
        argv.push_back("truncated");
        argv.push_back(std::to_string(fields->elements.size() - values) + " more values");
      }
    }
    if (id) t.held.insert(*id);
    rt.spawn(send_bury(std::move(self), t.topic, id, std::move(argv), reason, deliveries, invoice));
  }

  static Task<void> send_bury(std::shared_ptr<Impl> self, Topic topic, std::optional<std::uint64_t> id, std::vector<std::string> argv, DeadReason reason,
                              std::uint64_t deliveries, std::uint64_t invoice) {
    TopicState& t = self->topic(topic);
    std::vector<std::string> keys;
    keys.push_back(t.key);
    keys.push_back(t.dead_key);
    auto r = co_await self->eval(self->bury_script, std::move(keys), std::move(argv));
    if (id) t.held.erase(*id);
    if (!r) {
      // Still pending: the next claim or re-read tries again.
      self->failed(t, BusOp::bury, r.failure(), invoice);
      co_return;
    }
    if (r->integer != 1) co_return;  // acked meanwhile
    if (reason == DeadReason::undecodable) ++self->stats.dead_undecodable;
    else ++self->stats.dead_over_limit;
    self->rt.log().record(t.source, invoice, system_events::MessageDead{deliveries, id.value_or(0), reason});
  }

  // XCLAIMs `rows` to this consumer (those still idle `min_idle_ms`) and
  // delivers what comes back. False if the command failed.
  Task<bool> claim(std::shared_ptr<Impl> self, TopicState& t, const std::vector<PendingRow>& rows,
                   std::chrono::milliseconds min_idle, BusOp op) {
    std::unordered_map<std::string, const PendingRow*> wanted;
    std::vector<std::string> args;
    args.push_back("XCLAIM");
    args.push_back(t.key);
    args.push_back(t.group);
    args.push_back(options.consumer);
    args.push_back(std::to_string(min_idle.count()));
    for (const auto& row : rows) {
      const auto id = delivery_id_of(row.id);
      if (id && t.held.contains(*id)) continue;
      wanted.emplace(row.id, &row);
      args.push_back(row.id);
    }
    if (wanted.empty()) co_return true;
    auto r = co_await command(std::move(args));
    if (!r) {
      failed(t, op, r.failure());
      co_return false;
    }
    for (const auto& entry : r->elements) {
      if (entry.elements.size() < 2 || entry.elements[0].type != RedisReply::Type::string) continue;
      const auto found = wanted.find(entry.elements[0].text);
      if (found == wanted.end()) continue;
      if (found->second->consumer != options.consumer) ++stats.claimed;
      deliver(self, t, entry.elements[0].text, &entry.elements[1], found->second->deliveries + 1);
    }
    co_return true;
  }

  // This consumer's pending entries, oldest first: what a restarted worker
  // (or reclaim()) takes back. A reclaim() while a pass runs asks for one
  // more; a failed pass is left to the keeper's next round.
  static Task<void> reread_own(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    while (!self->closed) {
      t.reread_due = false;
      if (!co_await self->reread_pass(self, t)) {
        t.reread_due = true;
        break;
      }
      if (!t.reread_due) break;
    }
    t.rereading = false;
    t.reread_over->set();
  }

  Task<bool> reread_pass(std::shared_ptr<Impl> self, TopicState& t) {
    auto group = co_await ensure_group(t);
    if (!group) {
      failed(t, BusOp::reread, group.failure());
      co_return false;
    }
    std::string start = "-";
    while (!closed) {
      std::vector<std::string> args;
      args.push_back("XPENDING");
      args.push_back(t.key);
      args.push_back(t.group);
      args.push_back(start);
      args.push_back("+");
      args.push_back(std::to_string(options.batch));
      args.push_back(options.consumer);
      auto r = co_await command(std::move(args));
      if (!r) {
        if (is_nogroup(r.failure())) t.group_ready = false;
        failed(t, BusOp::reread, r.failure());
        co_return false;
      }
      const std::vector<PendingRow> rows = pending_rows(r.value());
      if (rows.empty()) break;
      if (!co_await claim(self, t, rows, std::chrono::milliseconds(0), BusOp::reread)) co_return false;
      if (rows.size() < options.batch) break;
      start = "(" + rows.back().id;
    }
    co_return true;
  }

  static Task<void> read_loop(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    std::chrono::milliseconds backoff = kBackoffMin;
    const std::string block_ms = std::to_string(self->wall_ms(self->options.block).count());
    while (!self->closed) {
      if (t.available->waiting() == 0) {
        t.demand->reset();
        co_await t.demand->wait();
        continue;
      }
      // Own pending entries first: a new read beside a re-read could hand
      // an entry to both.
      if (t.rereading) {
        co_await t.reread_over->wait();
        continue;
      }
      Outcome<> group = co_await self->ensure_group(t);
      Outcome<RedisReply> r = Failure{ErrorClass::transient, ""};
      if (group) {
        const std::size_t count = std::min(t.available->waiting(), self->options.batch);
        std::vector<std::string> args;
        args.push_back("XREADGROUP");
        args.push_back("GROUP");
        args.push_back(t.group);
        args.push_back(self->options.consumer);
        args.push_back("COUNT");
        args.push_back(std::to_string(count));
        args.push_back("BLOCK");
        args.push_back(block_ms);
        args.push_back("STREAMS");
        args.push_back(t.key);
        args.push_back(">");
        ++self->stats.reads;
        r = checked(co_await t.blocking->command(std::move(args)));
        if (self->closed) co_return;
      } else {
        r = std::move(group).failure();
      }
      if (!r) {
        if (is_nogroup(r.failure())) t.group_ready = false;
        self->failed(t, BusOp::read, r.failure());
        co_await self->rt.sleep(self->runtime_of(backoff));
        backoff = std::min(2 * backoff, kBackoffMax);
        continue;
      }
      backoff = kBackoffMin;
      if (r->is_nil()) continue;  // nothing within the block time
      for (const auto& stream : r->elements) {
        if (stream.elements.size() < 2) continue;
        for (const auto& entry : stream.elements[1].elements) {
          if (entry.elements.size() < 2 || entry.elements[0].type != RedisReply::Type::string) continue;
          ++t.known_pending;
          if (t.known_lag > 0) --t.known_lag;
          self->deliver(self, t, entry.elements[0].text, &entry.elements[1], 1);
        }
      }
    }
  }

  // Keeps the messages this process holds from looking idle to the other
  // consumers (a live worker keeps its work).
  Task<void> touch(TopicState& t) {
    std::vector<std::string> ids;
    ids.reserve(t.held.size());
    for (const std::uint64_t id : t.held) ids.push_back(entry_id_of(id));
    for (std::size_t from = 0; from < ids.size() && !closed; from += kTouchChunk) {
      std::vector<std::string> keys;
      keys.push_back(t.key);
      std::vector<std::string> argv;
      argv.push_back(t.group);
      argv.push_back(options.consumer);
      const std::size_t to = std::min(ids.size(), from + kTouchChunk);
      argv.insert(argv.end(), std::make_move_iterator(ids.begin() + static_cast<std::ptrdiff_t>(from)),
                  std::make_move_iterator(ids.begin() + static_cast<std::ptrdiff_t>(to)));
      auto r = co_await eval(touch_script, std::move(keys), std::move(argv));
      if (!r) {
        failed(t, BusOp::maintain, r.failure());
        co_return;
      }
    }
  }

  // Entries of the group idle past the claim time: a dead or stopped
  // consumer's. Taken only while this process has room for them.
  Task<void> claim_idle(std::shared_ptr<Impl> self, TopicState& t) {
    if (t.ready.size() >= options.batch) co_return;
    const std::chrono::milliseconds idle = wall_ms(options.policy.claim_idle);
    std::vector<std::string> args;
    args.push_back("XPENDING");
    args.push_back(t.key);
    args.push_back(t.group);
    args.push_back("IDLE");
    args.push_back(std::to_string(idle.count()));
    args.push_back("-");
    args.push_back("+");
    args.push_back(std::to_string(options.batch - t.ready.size()));
    auto r = co_await command(std::move(args));
    if (!r) {
      if (is_nogroup(r.failure())) t.group_ready = false;
      failed(t, BusOp::claim, r.failure());
      co_return;
    }
    const std::vector<PendingRow> rows = pending_rows(r.value());
    if (!rows.empty()) (void)co_await claim(std::move(self), t, rows, idle, BusOp::claim);
  }

  static Task<void> keep_loop(std::shared_ptr<Impl> self, Topic topic) {
    TopicState& t = self->topic(topic);
    const runtime::Duration period = self->runtime_of(self->keeper_period());
    while (!self->closed) {
      co_await self->rt.sleep(period);
      if (self->closed) break;
      if (t.reread_due && !t.rereading) self->schedule_reread(self, t);
      co_await self->touch(t);
      co_await self->claim_idle(self, t);
      if (!t.refreshing) {
        t.refreshing = true;
        co_await refresh(self, topic);
      }
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    for (auto& t : topics) {
      if (t.consuming) {
        rt.cancel(t.reader);
        rt.cancel(t.keeper);
        t.blocking.reset();
      }
      // Read and not handed out: they stay pending under this consumer,
      // for its next run or another consumer's claim.
      for (const auto& m : t.ready) t.held.erase(m.delivery_id);
      t.ready.clear();
      for (std::size_t n = t.available->waiting(); n > 0; --n) t.available->release();
    }
  }
};

RedisStreamBus::RedisStreamBus(runtime::LiveRuntime& rt, RedisStreamBusOptions options)
    : impl_(std::make_shared<Impl>(rt, std::move(options))) {}

// Commands still in flight fail (their coroutines keep the state alive
// until they have seen it); nothing resumes into a destroyed bus.
RedisStreamBus::~RedisStreamBus() {
  impl_->close();
  impl_->commands.reset();
}

bool RedisStreamBus::publish(Message message) {
  Impl& s = *impl_;
  Impl::TopicState& t = s.topic(message.topic);
  const std::size_t backlog = t.known_lag + t.known_pending + t.in_flight;
  const auto refuse = [&] {
    ++s.stats.rejected;
    s.rt.log().record(t.source, message.invoice_id, system_events::MessageRejected{t.bound});
    return false;
  };
  if (s.closed) return refuse();
  if (backlog >= t.bound) {
    // Consumers may have caught up since the counts were last heard.
    s.start_refresh(impl_, t);
    return refuse();
  }
  WireFields fields = encode(message, s.options.clock);
  FAULTLINE_ASSERT(!fields.empty() && fields.back().first == "body");
  if (fields.back().second.size() > kMaxWireBodyBytes) return refuse();
  // Past half the bound, or before this process has heard the backlog,
  // Redis checks the bound itself, atomically.
  const bool checked_publish = !t.counts_known || 2 * backlog >= t.bound;
  ++t.in_flight;
  ++s.stats.published;
  s.rt.spawn(Impl::send_publish(impl_, message.topic, std::move(fields), message.invoice_id, checked_publish));
  ++s.publishes_sent;
  if (++t.since_refresh >= kRefreshEvery) s.start_refresh(impl_, t);
  return true;
}

Task<std::optional<Message>> RedisStreamBus::receive(Topic topic) {
  Impl& s = *impl_;
  if (s.closed) return Task<std::optional<Message>>::ready(std::nullopt);
  Impl::TopicState& t = s.topic(topic);
  s.start_consuming(impl_, t);
  if (t.available->try_acquire()) return Task<std::optional<Message>>::ready(s.take(t));
  return Impl::wait_for(impl_, topic);
}

void RedisStreamBus::ack(Topic topic, std::uint64_t delivery_id) {
  Impl& s = *impl_;
  Impl::TopicState& t = s.topic(topic);
  const auto at = std::find(t.in_hand.begin(), t.in_hand.end(), delivery_id);
  if (at != t.in_hand.end()) {
    *at = t.in_hand.back();
    t.in_hand.pop_back();
    t.held.erase(delivery_id);
  }
  if (!s.commands) return;
  if (t.ack_batches.empty() || t.ack_batches.back().after_publishes != s.publishes_sent) {
    t.ack_batches.push_back({s.publishes_sent, {}});
    s.rt.spawn(Impl::flush_acks(impl_, topic));
  }
  t.ack_batches.back().ids.push_back(entry_id_of(delivery_id));
}

std::size_t RedisStreamBus::reclaim(Topic topic) {
  Impl& s = *impl_;
  Impl::TopicState& t = s.topic(topic);
  const std::size_t n = t.in_hand.size();
  for (const std::uint64_t id : t.in_hand) t.held.erase(id);
  t.in_hand.clear();
  if (!t.consuming) {
    s.start_consuming(impl_, t);  // which re-reads this consumer's pending entries first
  } else {
    s.schedule_reread(impl_, t);
  }
  return n;
}

std::size_t RedisStreamBus::depth(Topic topic) const {
  const Impl::TopicState& t = impl_->topics[static_cast<std::size_t>(topic)];
  return t.known_lag + t.in_flight + t.ready.size();
}

std::size_t RedisStreamBus::pending(Topic topic) const {
  return impl_->topics[static_cast<std::size_t>(topic)].in_hand.size();
}

void RedisStreamBus::close() { impl_->close(); }

const RedisStreamBusStats& RedisStreamBus::stats() const noexcept { return impl_->stats; }

const RedisStreamBusOptions& RedisStreamBus::options() const noexcept { return impl_->options; }

}  // namespace faultline::reference_system::live
