// What the Redis Streams bus costs (reference_system/live/redis_stream_bus.h),
// against a private Redis this program starts (harness/live_servers.h:
// append-only file, fsynced on every write) and stops. One bus in one
// process publishes and receives, as a worker does: one pipelined connection
// for XADD/XACK, one for the blocking reads.
//   BM_BusRoundTrip/<fsync>: one message at a time, publish -> receive ->
//     ack: the latency a step's request sees on an idle bus.
//   BM_BusThroughput/<receivers>/<fsync>: 1,000 messages published at once,
//     then received and acked by `receivers` waiting receivers (an agent's
//     workers): messages per second.
// <fsync> 1 runs Redis as the harness starts it (appendfsync always), 0
// with `CONFIG SET appendfsync no`, to tell Redis's disk from the bus.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

#include "bench/reference_system/sample_messages.h"
#include "harness/live_servers.h"
#include "reference_system/live/redis_connection.h"
#include "reference_system/live/redis_stream_bus.h"
#include "runtime/live_runtime.h"

namespace {

using namespace faultline;
using reference_system::Message;
using reference_system::MessageBus;
using reference_system::Topic;
using reference_system::live::RedisConnection;
using reference_system::live::RedisStreamBus;
using reference_system::live::RedisStreamBusOptions;

harness::PrivateServer& redis_server() {
  static std::unique_ptr<harness::PrivateServer> started = [] {
    auto s = harness::PrivateServer::start(harness::ServerKind::redis);
    if (!s) {
      std::fprintf(stderr, "cannot start Redis: %s\n", s.failure().message.c_str());
      std::exit(2);
    }
    return std::move(s).value();
  }();
  return *started;
}

void set_fsync(runtime::LiveRuntime& rt, bool always) {
  RedisConnection redis(rt, redis_server().url());
  bool done = false;
  rt.spawn([](RedisConnection& r, bool always, bool& done) -> runtime::Task<> {
    (void)co_await r.command("CONFIG", "SET", "appendfsync", always ? "always" : "no");
    done = true;
  }(redis, always, done));
  rt.run();
  if (!done) std::exit(3);
}

// An accounting request as the orchestrator sends one: the invoice with its
// scanned document and OCR's extraction (1,349 bytes on the wire).
Message request() {
  Message m = bench::request(/*with_extraction=*/true);
  m.topic = Topic::accounting;
  m.step = 3;
  return m;
}

RedisStreamBusOptions bus_options(const char* name) {
  RedisStreamBusOptions o;
  o.redis_url = redis_server().url();
  o.prefix = std::string("bench:") + name + ":" + std::to_string(::getpid()) + ":";
  o.consumer = "accounting-0";
  o.bound.fill(1'000'000);
  return o;
}

// Receivers that ack what they get and stop the loop once `left` reaches zero.
struct Sink {
  int left = 0;
};

void start_receivers(runtime::LiveRuntime& rt, MessageBus& bus, Sink& sink, int receivers) {
  for (int r = 0; r < receivers; ++r) {
    rt.spawn([](runtime::LiveRuntime& rt, MessageBus& bus, Sink& sink) -> runtime::Task<> {
      for (;;) {
        auto m = co_await bus.receive(Topic::accounting);
        if (!m) co_return;
        bus.ack(Topic::accounting, m->delivery_id);
        if (--sink.left == 0) rt.stop();
      }
    }(rt, bus, sink));
  }
}

void BM_BusRoundTrip(benchmark::State& state) {
  Sink sink;
  runtime::LiveRuntime rt(1);
  set_fsync(rt, state.range(0) != 0);
  RedisStreamBus bus(rt, bus_options("round_trip"));
  start_receivers(rt, bus, sink, 1);
  const Message m = request();
  for (auto _ : state) {
    sink.left = 1;
    if (!bus.publish(m)) {
      state.SkipWithError("publish refused");
      break;
    }
    rt.run();
  }
  state.counters["commands_failed"] = static_cast<double>(bus.stats().commands_failed);
}
BENCHMARK(BM_BusRoundTrip)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_BusThroughput(benchmark::State& state) {
  constexpr int kBatch = 1'000;
  Sink sink;
  runtime::LiveRuntime rt(1);
  set_fsync(rt, state.range(1) != 0);
  RedisStreamBus bus(rt, bus_options("throughput"));
  start_receivers(rt, bus, sink, static_cast<int>(state.range(0)));
  const Message m = request();
  for (auto _ : state) {
    sink.left = kBatch;
    for (int i = 0; i < kBatch; ++i) {
      if (!bus.publish(m)) state.SkipWithError("publish refused");
    }
    rt.run();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["commands_failed"] = static_cast<double>(bus.stats().commands_failed);
}
BENCHMARK(BM_BusThroughput)
    ->Args({64, 1})
    ->Args({64, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
