// What one checkpoint save costs on the live stores, one save at a time
// (each a round trip and a durable commit: PostgreSQL with fsync and
// synchronous_commit on, Redis with appendfsync always), against private
// servers this program starts (harness/live_servers.h) and stops.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <unistd.h>
#include <string>

#include "harness/live_servers.h"
#include "reference_system/live/pg_checkpoint_store.h"
#include "reference_system/live/redis_checkpoint_store.h"
#include "runtime/live_runtime.h"

namespace {

using namespace faultline;
using reference_system::live::PgCheckpointStore;
using reference_system::live::PgConnection;
using reference_system::live::RedisCheckpointStore;
using reference_system::live::RedisConnection;

harness::LiveServers& servers() {
  static harness::LiveServers started = [] {
    auto s = harness::start_live_servers();
    if (!s) {
      std::fprintf(stderr, "cannot start the servers: %s\n", s.failure().message.c_str());
      std::exit(2);
    }
    return std::move(s).value();
  }();
  return started;
}

template <class T>
T run(runtime::LiveRuntime& rt, runtime::Task<T> task) {
  std::optional<T> out;
  rt.spawn([](runtime::Task<T> t, std::optional<T>& o) -> runtime::Task<> { o.emplace(co_await std::move(t)); }(
      std::move(task), out));
  rt.run();
  return std::move(*out);
}

// Each iteration saves the next version of one workflow's checkpoint (a
// 300-byte state, the size of an invoice workflow's).
void save_loop(benchmark::State& state, runtime::LiveRuntime& rt, resilience::CheckpointStore& store) {
  const std::string body(300, 'x');
  static int runs = 0;  // google-benchmark calls this several times: a fresh workflow each
  const std::string workflow = "bench-workflow-" + std::to_string(++runs);
  std::uint64_t version = 0;
  for (auto _ : state) {
    auto v = run(rt, store.save(workflow, version, "ocr", body));
    if (!v) {
      state.SkipWithError(v.failure().message.c_str());
      break;
    }
    version = v.value();
  }
}

void BM_PostgresCheckpointSave(benchmark::State& state) {
  runtime::LiveRuntime rt(1);
  PgConnection pg(rt, servers().postgres->url());
  auto store = run(rt, PgCheckpointStore::open(pg, "bench_" + std::to_string(::getpid())));
  if (!store) {
    state.SkipWithError(store.failure().message.c_str());
    return;
  }
  save_loop(state, rt, *store.value());
}
BENCHMARK(BM_PostgresCheckpointSave)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_RedisCheckpointSave(benchmark::State& state) {
  runtime::LiveRuntime rt(1);
  RedisConnection redis(rt, servers().redis->url());
  RedisCheckpointStore store(redis, "bench:" + std::to_string(::getpid()) + ":");
  save_loop(state, rt, store);
}
BENCHMARK(BM_RedisCheckpointSave)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
