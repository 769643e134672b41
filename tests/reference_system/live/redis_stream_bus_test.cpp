// The Redis Streams bus against a real Redis (the fixture's, and for the
// outage test a private one): the bus contract it shares with the
// in-process bus (bus_contract.h), and what only a bus between processes
// has to show. Entries on the wire are the codec's; a consumer SIGKILLed
// between receive and ack loses nothing (another consumer claims the entry,
// or the same worker restarted takes it back); the delivery limit and
// undecodable entries end in the dead stream with their reason; the bound
// holds across publishers; Redis stopped mid-run costs counted, transient
// failures and the bus carries on once it is back. Each test has streams
// of its own (a prefix unique to it), so tests run in parallel.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/live/wire_audit.h"
#include "harness/live_servers.h"
#include "reference_system/events.h"
#include "reference_system/live/redis_connection.h"
#include "reference_system/live/redis_stream_bus.h"
#include "runtime/live_runtime.h"
#include "tests/reference_system/bus_contract.h"
#include "tests/support/live_servers.h"

namespace faultline::reference_system::live {
namespace {

using namespace std::chrono_literals;
using contract::on;
using resilience::ErrorClass;
using resilience::Outcome;
using runtime::Task;

// Runs `rt` in short slices until `done` holds; false if it did not within
// the hang guard (generous: every wait here ends in milliseconds).
bool drive(runtime::LiveRuntime& rt, const std::function<bool()>& done) {
  for (int i = 0; i < 6'000 && !done(); ++i) rt.run_for(10ms);
  return done();
}

// One command on `redis`, driven to its reply (the bus keeps the runtime
// busy, so run() would not return).
Outcome<RedisReply> ask(runtime::LiveRuntime& rt, RedisConnection& redis, std::vector<std::string> args) {
  std::optional<Outcome<RedisReply>> out;
  rt.spawn([](RedisConnection& r, std::vector<std::string> a, std::optional<Outcome<RedisReply>>& o) -> Task<> {
    o.emplace(co_await r.command(std::move(a)));
  }(redis, std::move(args), out));
  if (!drive(rt, [&] { return out.has_value(); })) return resilience::Failure{ErrorClass::timeout, "no reply"};
  return std::move(*out);
}

RedisStreamBusOptions test_options(std::string url, std::string prefix, std::string consumer) {
  RedisStreamBusOptions o;
  o.redis_url = std::move(url);
  o.prefix = std::move(prefix);
  o.consumer = std::move(consumer);
  o.bound = contract::capacity_of(1'000);
  o.policy.claim_idle = std::chrono::hours(1);  // no claims unless a test asks for them
  o.policy.delivery_limit = 10;
  return o;
}

// ---------------------------------------------------------------------------
// The contract.

struct RedisBusEnv {
  static constexpr const char* kName = "redis";
  using Bus = RedisStreamBus;
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().redis;
  const std::string prefix = test_support::unique_name("bus_contract") + ":";

  runtime::Runtime& runtime() { return rt; }
  std::unique_ptr<Bus> make(std::array<std::size_t, kTopicCount> capacity) {
    auto options = test_options(url, prefix, "contract-0");
    options.bound = capacity;
    return std::make_unique<RedisStreamBus>(rt, options);
  }
  void settle(const std::function<bool()>& done) { EXPECT_TRUE(drive(rt, done)) << "hang guard"; }
  // Until the bus has sent its blocking read (Redis 7.0 shows a consumer
  // only once it has read something).
  void until_waiting(Bus& bus, Topic topic) {
    EXPECT_TRUE(drive(rt, [&] { return bus.stats().reads > 0; })) << "no XREADGROUP on " << stream_name(topic, prefix);
  }
};

}  // namespace
}  // namespace faultline::reference_system::live

namespace faultline::reference_system::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(redis, BusContract, ::testing::Types<live::RedisBusEnv>, BusEnvNames);
}  // namespace faultline::reference_system::contract

namespace faultline::reference_system::live {
namespace {

// ---------------------------------------------------------------------------
// What only a bus between processes shows.

class RedisBus : public ::testing::Test {
 protected:
  runtime::LiveRuntime rt{1};
  const std::string url = test_support::live_servers().redis;
  const std::string prefix = test_support::unique_name("bus") + ":";
  RedisConnection raw{rt, url};

  RedisStreamBusOptions options(const std::string& consumer) { return test_options(url, prefix, consumer); }
  std::string key(Topic t) const { return stream_name(t, prefix); }

  RedisReply redis(std::vector<std::string> args) {
    auto r = ask(rt, raw, std::move(args));
    EXPECT_TRUE(r.ok()) << r.failure().message;
    return r.ok() ? std::move(r).value() : RedisReply{};
  }
  long long count(std::vector<std::string> args) { return redis(std::move(args)).integer; }

  // XPENDING's rows for the group of `t`: entry id -> (consumer, deliveries).
  std::map<std::string, std::pair<std::string, long long>> pending_entries(Topic t) {
    std::map<std::string, std::pair<std::string, long long>> out;
    const RedisReply r = redis({"XPENDING", key(t), std::string(group_of(t)), "-", "+", "100"});
    for (const auto& row : r.elements) out[row.elements[0].text] = {row.elements[1].text, row.elements[3].integer};
    return out;
  }

  // Receives one message in a task; the slot is filled when it arrives.
  std::shared_ptr<std::optional<Message>> receive_later(MessageBus& bus, Topic t) {
    auto slot = std::make_shared<std::optional<Message>>();
    rt.spawn([](MessageBus& b, Topic topic, std::shared_ptr<std::optional<Message>> s) -> Task<> {
      auto m = co_await b.receive(topic);
      if (m) *s = std::move(*m);
    }(bus, t, slot));
    return slot;
  }

  std::optional<Message> receive_now(MessageBus& bus, Topic t) {
    auto slot = receive_later(bus, t);
    EXPECT_TRUE(drive(rt, [&] { return slot->has_value(); })) << "nothing received on " << key(t);
    return *slot;
  }

  std::size_t dead_events(DeadReason reason) const {
    std::size_t n = 0;
    for (const auto& e : rt.log().events()) {
      n += runtime::is<system_events::MessageDead>(e) && runtime::read<system_events::MessageDead>(e).reason == reason;
    }
    return n;
  }

  // A child process receives one message of `t` as `consumer` and dies by
  // SIGKILL before acking it. Returns the delivery id it received.
  std::uint64_t receive_in_a_child_then_die(const std::string& consumer, Topic t) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      runtime::LiveRuntime child_rt(2);
      std::uint64_t id = 0;
      {
        RedisStreamBus bus(child_rt, options(consumer));
        std::optional<Message> m;
        child_rt.spawn([](MessageBus& b, Topic topic, std::optional<Message>& out) -> Task<> {
          out = co_await b.receive(topic);
        }(bus, t, m));
        if (drive(child_rt, [&] { return m.has_value(); })) id = m->delivery_id;
        // Received, not acked: the process dies here, as a crashed worker does.
        if (::write(fds[1], &id, sizeof id) != static_cast<ssize_t>(sizeof id)) ::_exit(3);
        ::raise(SIGKILL);
      }
      ::_exit(4);
    }
    ::close(fds[1]);
    std::uint64_t id = 0;
    EXPECT_EQ(::read(fds[0], &id, sizeof id), static_cast<ssize_t>(sizeof id));
    ::close(fds[0]);
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    return id;
  }

  // Publishes through a bus of its own, until the entries are in Redis.
  void publish_and_wait(const std::vector<Message>& messages) {
    RedisStreamBus publisher(rt, options("publisher-0"));
    for (const auto& m : messages) ASSERT_TRUE(publisher.publish(m));
    ASSERT_TRUE(drive(rt, [&] {
      return count({"XLEN", key(messages.front().topic)}) == static_cast<long long>(messages.size());
    }));
  }
};

TEST_F(RedisBus, AnEntryIsTheCodecsFieldsAndItsIdIsTheDeliveryId) {
  RedisStreamBus bus(rt, options("ocr-0"));
  const Message sent = on(Topic::ocr, 1042);
  ASSERT_TRUE(bus.publish(sent));
  ASSERT_TRUE(drive(rt, [&] { return count({"XLEN", key(Topic::ocr)}) == 1; }));
  const RedisReply range = redis({"XRANGE", key(Topic::ocr), "-", "+"});
  ASSERT_EQ(range.elements.size(), 1u);
  const std::string entry_id = range.elements[0].elements[0].text;
  const auto& fields = range.elements[0].elements[1].elements;
  const WireFields expected = encode(sent, WireClock{});
  ASSERT_EQ(fields.size(), 2 * expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(fields[2 * i].text, expected[i].first);
    EXPECT_EQ(fields[2 * i + 1].text, expected[i].second) << expected[i].first;
  }

  const auto got = receive_now(bus, Topic::ocr);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(equivalent(*got, sent));
  EXPECT_EQ(got->delivery_id, delivery_id_of(entry_id));
  EXPECT_EQ(pending_entries(Topic::ocr).at(entry_id), std::make_pair(std::string("ocr-0"), 1LL));
  bus.ack(Topic::ocr, got->delivery_id);
  EXPECT_TRUE(drive(rt, [&] { return pending_entries(Topic::ocr).empty(); })) << "XACK never reached Redis";
  EXPECT_EQ(bus.stats().commands_failed, 0u);
}

// A reply's publish reaches Redis before the ack of its request sent after
// it, even when a flush of acks was already queued when the reply went out
// (that flush once carried the later ack ahead of the reply: a SIGKILL
// between the two lost the request). Seen by the wire audit's MONITOR.
TEST_F(RedisBus, AnAckNeverReachesRedisBeforeTheReplyPublishedBeforeIt) {
  publish_and_wait({on(Topic::ocr, 21), on(Topic::ocr, 22)});
  auto audit = harness::WireAudit::start(url, prefix);
  RedisStreamBus bus(rt, options("ocr-0"));
  const auto first = receive_now(bus, Topic::ocr);
  const auto second = receive_now(bus, Topic::ocr);
  ASSERT_TRUE(first.has_value() && second.has_value());
  bus.ack(Topic::ocr, first->delivery_id);  // its flush is queued, not yet run
  Message reply = on(Topic::replies, second->invoice_id);
  reply.request_id = second->request_id;
  ASSERT_TRUE(bus.publish(reply));
  bus.ack(Topic::ocr, second->delivery_id);
  ASSERT_TRUE(drive(rt, [&] { return pending_entries(Topic::ocr).empty(); }));
  const harness::WireEvidence e = audit->stop(1.0);
  const std::string second_entry = entry_id_of(second->delivery_id);
  std::optional<std::size_t> reply_at;
  std::optional<std::size_t> ack_at;
  for (std::size_t i = 0; i < e.commands.size(); ++i) {
    const auto& args = e.commands[i].args;
    if (args.size() < 2) continue;
    if (args[0] == "XADD" && args[1] == key(Topic::replies) && !reply_at) reply_at = i;
    if (args[0] == "XACK" && args[1] == key(Topic::ocr) &&
        std::find(args.begin() + 2, args.end(), second_entry) != args.end()) {
      ack_at = i;
    }
  }
  ASSERT_TRUE(reply_at.has_value()) << "no XADD of the reply seen";
  ASSERT_TRUE(ack_at.has_value()) << "no XACK of " << second_entry << " seen";
  EXPECT_LT(*reply_at, *ack_at) << "the ack of " << second_entry << " reached Redis before the reply";
  // The audit agrees: the only early ack is the first entry's, which got no reply here.
  const harness::WireAuditResult r = harness::audit_wire(e);
  ASSERT_EQ(r.early_acks.size(), 1u);
  EXPECT_NE(r.early_acks[0].find("request " + std::to_string(first->request_id) + " "), std::string::npos)
      << r.early_acks[0];
}

TEST_F(RedisBus, AConsumerKilledBetweenReceiveAndAckLosesNothingAnotherClaimsIt) {
  publish_and_wait({on(Topic::ocr, 7)});
  const std::uint64_t id = receive_in_a_child_then_die("ocr-dead", Topic::ocr);
  ASSERT_NE(id, 0u) << "the child received nothing";
  const std::string entry_id = entry_id_of(id);
  EXPECT_EQ(pending_entries(Topic::ocr).at(entry_id), std::make_pair(std::string("ocr-dead"), 1LL));

  auto o = options("ocr-alive");
  o.policy.claim_idle = 200ms;  // what the worker's death costs in time, before another takes over
  RedisStreamBus bus(rt, o);
  const auto got = receive_now(bus, Topic::ocr);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->delivery_id, id);
  EXPECT_EQ(got->invoice_id, 7u);
  // Claimed (XPENDING IDLE + XCLAIM): its second delivery, now ours.
  EXPECT_EQ(pending_entries(Topic::ocr).at(entry_id), std::make_pair(std::string("ocr-alive"), 2LL));
  EXPECT_EQ(bus.stats().claimed, 1u);
  EXPECT_EQ(bus.redelivered(), 1u);
  bus.ack(Topic::ocr, got->delivery_id);
  EXPECT_TRUE(drive(rt, [&] { return pending_entries(Topic::ocr).empty(); }));
}

TEST_F(RedisBus, ARestartedWorkerTakesBackItsOwnPendingEntriesAtOnce) {
  publish_and_wait({on(Topic::accounting, 8), on(Topic::accounting, 9)});
  const std::uint64_t id = receive_in_a_child_then_die("accounting-0", Topic::accounting);
  ASSERT_NE(id, 0u) << "the child received nothing";

  // The same worker name, and no claim for an hour: only its own re-read
  // can give it back the entry.
  RedisStreamBus bus(rt, options("accounting-0"));
  const auto first = receive_now(bus, Topic::accounting);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->delivery_id, id);
  EXPECT_EQ(first->invoice_id, 8u);
  EXPECT_EQ(pending_entries(Topic::accounting).at(entry_id_of(id)).second, 2);
  const auto second = receive_now(bus, Topic::accounting);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->invoice_id, 9u);
  EXPECT_EQ(bus.stats().claimed, 0u);
  EXPECT_EQ(bus.redelivered(), 1u);
}

TEST_F(RedisBus, TheDeliveryLimitMovesAnEntryToTheDeadStreamWithItsReason) {
  auto o = options("validation-0");
  o.policy.delivery_limit = 2;
  RedisStreamBus bus(rt, o);
  ASSERT_TRUE(bus.publish(on(Topic::validation, 5)));
  const auto first = receive_now(bus, Topic::validation);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(bus.reclaim(Topic::validation), 1u);  // as if its handler had crashed
  const auto second = receive_now(bus, Topic::validation);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->delivery_id, first->delivery_id);
  EXPECT_EQ(bus.reclaim(Topic::validation), 1u);
  auto third = receive_later(bus, Topic::validation);
  ASSERT_TRUE(drive(rt, [&] { return bus.stats().dead_over_limit == 1; }));

  const RedisReply dead = redis({"XRANGE", key(Topic::validation) + ":dead", "-", "+"});
  ASSERT_EQ(dead.elements.size(), 1u);
  const auto& f = dead.elements[0].elements[1].elements;
  ASSERT_GE(f.size(), 6u + 18u);
  EXPECT_EQ(f[0].text, "refusal");
  EXPECT_EQ(f[1].text, "delivery limit: delivered 3 times, the policy allows 2");
  EXPECT_EQ(f[2].text, "entry_id");
  EXPECT_EQ(f[3].text, entry_id_of(first->delivery_id));
  EXPECT_EQ(f[4].text, "deliveries");
  EXPECT_EQ(f[5].text, "3");
  EXPECT_EQ(f[6].text, "v");  // then the entry as it was
  EXPECT_TRUE(pending_entries(Topic::validation).empty()) << "a dead entry is acked";
  EXPECT_FALSE(third->has_value()) << "a dead entry is not delivered";
  EXPECT_EQ(bus.stats().received, 2u);
  EXPECT_EQ(dead_events(DeadReason::delivery_limit), 1u);
  bus.close();
}

TEST_F(RedisBus, AnEntryThatDoesNotDecodeGoesToTheDeadStreamAndNothingCrashes) {
  RedisStreamBus bus(rt, options("matching-0"));
  // A foreign entry, and one of a protocol version this process does not speak.
  ASSERT_FALSE(redis({"XADD", key(Topic::matching), "*", "foo", "bar"}).is_error());
  WireFields v2 = encode(on(Topic::matching, 11), WireClock{});
  v2[0].second = "2";
  std::vector<std::string> args{"XADD", key(Topic::matching), "*"};
  for (auto& [field, value] : v2) {
    args.push_back(field);
    args.push_back(value);
  }
  ASSERT_FALSE(redis(std::move(args)).is_error());
  ASSERT_TRUE(bus.publish(on(Topic::matching, 12)));

  const auto got = receive_now(bus, Topic::matching);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->invoice_id, 12u) << "the first message that decodes";
  ASSERT_TRUE(drive(rt, [&] { return bus.stats().dead_undecodable == 2; }));
  const RedisReply dead = redis({"XRANGE", key(Topic::matching) + ":dead", "-", "+"});
  ASSERT_EQ(dead.elements.size(), 2u);
  const auto& foreign = dead.elements[0].elements[1].elements;
  EXPECT_EQ(foreign[0].text, "refusal");
  EXPECT_EQ(foreign[1].text.rfind("wire: ", 0), 0u) << foreign[1].text;
  EXPECT_EQ(foreign[6].text, "foo");
  EXPECT_EQ(foreign[7].text, "bar");
  const auto& other_version = dead.elements[1].elements[1].elements;
  EXPECT_EQ(other_version[1].text,
            "wire: field \"v\": the message speaks protocol version 2; this process speaks version 1");
  bus.ack(Topic::matching, got->delivery_id);
  EXPECT_TRUE(drive(rt, [&] { return pending_entries(Topic::matching).empty(); }));
  EXPECT_EQ(dead_events(DeadReason::undecodable), 2u);
}

TEST_F(RedisBus, TheBoundHoldsAcrossPublishersAndOpensAgainOnceConsumersCatchUp) {
  auto o = options("orchestrator-0");
  o.bound[static_cast<std::size_t>(Topic::ocr)] = 4;
  RedisStreamBus first(rt, o);
  for (std::uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(first.publish(on(Topic::ocr, i)));
  EXPECT_FALSE(first.publish(on(Topic::ocr, 5)));  // known at once: four in flight
  EXPECT_EQ(first.rejected(), 1u);
  ASSERT_TRUE(drive(rt, [&] { return count({"XLEN", key(Topic::ocr)}) == 4; }));

  // Another publisher that has heard nothing yet: Redis itself refuses.
  o.consumer = "orchestrator-1";
  RedisStreamBus second(rt, o);
  EXPECT_TRUE(second.publish(on(Topic::ocr, 6)));
  ASSERT_TRUE(drive(rt, [&] { return second.stats().rejected_by_server == 1; }));
  EXPECT_EQ(count({"XLEN", key(Topic::ocr)}), 4);
  EXPECT_EQ(second.rejected(), 1u);
  EXPECT_EQ(second.depth(Topic::ocr), 4u);
  EXPECT_FALSE(second.publish(on(Topic::ocr, 7)));  // now it knows

  // A worker takes two and acks them: the backlog is 2, and the publisher
  // finds out when it refreshes (a refusal asks for a refresh).
  RedisStreamBus worker(rt, options("ocr-0"));
  for (int i = 0; i < 2; ++i) {
    const auto m = receive_now(worker, Topic::ocr);
    ASSERT_TRUE(m.has_value());
    worker.ack(Topic::ocr, m->delivery_id);
  }
  ASSERT_TRUE(drive(rt, [&] { return pending_entries(Topic::ocr).empty(); }));
  EXPECT_TRUE(drive(rt, [&] { return second.publish(on(Topic::ocr, 8)); }));
  EXPECT_TRUE(drive(rt, [&] {
    const RedisReply last = redis({"XREVRANGE", key(Topic::ocr), "+", "-", "COUNT", "1"});
    return last.elements.size() == 1 && last.elements[0].elements[1].elements[7].text == "8";
  })) << "the publish after the refresh reached the stream";
  std::size_t refused_by_redis = 0;
  for (const auto& e : rt.log().events()) {
    refused_by_redis += runtime::is<system_events::MessageRejected>(e) &&
                        runtime::read<system_events::MessageRejected>(e).by_server;
  }
  EXPECT_EQ(refused_by_redis, 1u);
}

TEST_F(RedisBus, AckedEntriesAreTrimmedAndPendingOnesKept) {
  auto o = options("archive-0");
  o.policy.claim_idle = 40ms;  // a maintenance round every 10 ms
  RedisStreamBus bus(rt, o);
  std::vector<Message> got;
  for (std::uint64_t i = 1; i <= 6; ++i) ASSERT_TRUE(bus.publish(on(Topic::archive, i)));
  for (int i = 0; i < 6; ++i) {
    auto m = receive_now(bus, Topic::archive);
    ASSERT_TRUE(m.has_value());
    got.push_back(*m);
  }
  // All acked but the third: it and what follows it stay.
  for (const auto& m : got) {
    if (m.invoice_id != 3) bus.ack(Topic::archive, m.delivery_id);
  }
  ASSERT_TRUE(drive(rt, [&] { return bus.stats().trimmed >= 2; }));
  EXPECT_TRUE(drive(rt, [&] { return count({"XLEN", key(Topic::archive)}) == 4; }));
  const RedisReply first = redis({"XRANGE", key(Topic::archive), "-", "+", "COUNT", "1"});
  ASSERT_EQ(first.elements.size(), 1u);
  EXPECT_EQ(first.elements[0].elements[0].text, entry_id_of(got[2].delivery_id));
  bus.ack(Topic::archive, got[2].delivery_id);
  // Now only the last delivered entry is kept (it marks the group's place).
  EXPECT_TRUE(drive(rt, [&] { return count({"XLEN", key(Topic::archive)}) == 1; }));
  EXPECT_EQ(bus.stats().trimmed, 5u);
}

TEST_F(RedisBus, RedisStoppedMidRunGivesTransientFailuresAndTheBusCarriesOnWhenItIsBack) {
  auto server = harness::PrivateServer::start(harness::ServerKind::redis);
  ASSERT_TRUE(server.ok()) << server.failure().message;
  auto o = options("replies-0");
  o.redis_url = server.value()->url();
  o.connection.connect_timeout = 2s;
  RedisStreamBus bus(rt, o);
  std::vector<std::uint64_t> got;
  rt.spawn([](MessageBus& b, std::vector<std::uint64_t>& out) -> Task<> {
    for (;;) {
      auto m = co_await b.receive(Topic::replies);
      if (!m) co_return;
      out.push_back(m->invoice_id);
      b.ack(Topic::replies, m->delivery_id);
    }
  }(bus, got));
  ASSERT_TRUE(bus.publish(on(Topic::replies, 1)));
  ASSERT_TRUE(drive(rt, [&] { return got.size() == 1; }));

  ASSERT_EQ(::kill(server.value()->pid(), SIGKILL), 0);
  ASSERT_TRUE(bus.publish(on(Topic::replies, 2)));  // answered true: the failure comes later
  ASSERT_TRUE(drive(rt, [&] { return bus.stats().publish_failed == 1; }));
  ASSERT_TRUE(drive(rt, [&] { return bus.stats().commands_failed >= 3; }))
      << "the blocked read fails, and so do the reads retried while Redis is away";
  std::size_t publish_failures = 0;
  for (const auto& e : rt.log().events()) {
    if (!runtime::is<system_events::BusFailure>(e)) continue;
    const auto failure = runtime::read<system_events::BusFailure>(e);
    EXPECT_EQ(failure.cause, ErrorClass::transient) << "a stopped server is a transient failure";
    publish_failures += failure.op == BusOp::publish && e.subject == 2;
  }
  EXPECT_EQ(publish_failures, 1u);

  ASSERT_TRUE(server.value()->crash_and_restart().ok());
  ASSERT_TRUE(bus.publish(on(Topic::replies, 3)));
  ASSERT_TRUE(drive(rt, [&] { return got.size() == 2; }));
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 3})) << "2 was lost with its XADD, as the fault model says";
  bus.close();
  ASSERT_TRUE(drive(rt, [&] { return bus.pending(Topic::replies) == 0; }));
}

}  // namespace
}  // namespace faultline::reference_system::live
