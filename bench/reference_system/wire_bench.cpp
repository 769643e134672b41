// What the wire codec (reference_system/wire.h) costs per message: encode
// and decode of the requests and replies one invoice's workflow sends,
// with the entry's size. A live worker pays one decode and one encode per
// step, the orchestrator the other two.
#include <benchmark/benchmark.h>

#include "bench/reference_system/sample_messages.h"
#include "reference_system/wire.h"

namespace {

using namespace faultline::reference_system;
using faultline::bench::reply;
using faultline::bench::request;

std::size_t entry_bytes(const WireFields& fields) {
  std::size_t n = 0;
  for (const auto& [name, value] : fields) n += name.size() + value.size();
  return n;
}

void encode_bench(benchmark::State& state, const Message& m) {
  const WireClock clock;
  for (auto _ : state) {
    WireFields fields = encode(m, clock);
    benchmark::DoNotOptimize(fields);
  }
  state.counters["entry_bytes"] = static_cast<double>(entry_bytes(encode(m, clock)));
}

void decode_bench(benchmark::State& state, const Message& m) {
  const WireClock clock;
  const WireFields fields = encode(m, clock);
  std::vector<WireFieldView> views(fields.begin(), fields.end());
  for (auto _ : state) {
    Outcome<Message> back = decode(std::span<const WireFieldView>(views), clock);
    if (!back.ok()) state.SkipWithError(back.failure().message.c_str());
    benchmark::DoNotOptimize(back);
  }
  state.counters["entry_bytes"] = static_cast<double>(entry_bytes(fields));
}

void BM_EncodeRequestBeforeOcr(benchmark::State& s) { encode_bench(s, request(false)); }
void BM_DecodeRequestBeforeOcr(benchmark::State& s) { decode_bench(s, request(false)); }
void BM_EncodeRequestAfterOcr(benchmark::State& s) { encode_bench(s, request(true)); }
void BM_DecodeRequestAfterOcr(benchmark::State& s) { decode_bench(s, request(true)); }
void BM_EncodeOcrReply(benchmark::State& s) { encode_bench(s, reply(true)); }
void BM_DecodeOcrReply(benchmark::State& s) { decode_bench(s, reply(true)); }
void BM_EncodeOkReply(benchmark::State& s) { encode_bench(s, reply(false)); }
void BM_DecodeOkReply(benchmark::State& s) { decode_bench(s, reply(false)); }

}  // namespace

BENCHMARK(BM_EncodeRequestBeforeOcr);
BENCHMARK(BM_DecodeRequestBeforeOcr);
BENCHMARK(BM_EncodeRequestAfterOcr);
BENCHMARK(BM_DecodeRequestAfterOcr);
BENCHMARK(BM_EncodeOcrReply);
BENCHMARK(BM_DecodeOcrReply);
BENCHMARK(BM_EncodeOkReply);
BENCHMARK(BM_DecodeOkReply);

BENCHMARK_MAIN();
