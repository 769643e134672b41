// What the wire codec (reference_system/wire.h) costs per message: encode
// and decode of the requests and replies one invoice's workflow sends,
// with the entry's size. A live worker pays one decode and one encode per
// step, the orchestrator the other two.
#include <benchmark/benchmark.h>

#include "reference_system/wire.h"

namespace {

using namespace faultline::reference_system;

Invoice sample_invoice() {
  Invoice inv;
  inv.id = 1042;
  inv.vendor = "V0017 Northwind Freight";
  inv.po_reference = "PO-001042";
  inv.lines = {{"Freight", 2, 125000}, {"Handling", 1, 8050}, {"Fuel surcharge", 3, 4120}};
  inv.total_cents = 270410;
  inv.currency = "EUR";
  inv.scan_quality = 0.93;
  inv.document = render_document(inv);
  return inv;
}

std::shared_ptr<const Extraction> extraction_of(const Invoice& inv) {
  auto ex = std::make_shared<Extraction>();
  ex->text = inv.document;
  ex->fields = parse_document(ex->text);
  return ex;
}

// A request after OCR (validation, matching, accounting carry this much);
// OCR's own request has no extraction.
Message request(bool with_extraction) {
  auto work = std::make_shared<WorkItem>();
  const Invoice inv = sample_invoice();
  if (with_extraction) work->extraction = extraction_of(inv);
  work->invoice = std::make_shared<const Invoice>(inv);
  Message m;
  m.topic = with_extraction ? Topic::matching : Topic::ocr;
  m.invoice_id = inv.id;
  m.request_id = 123456;
  m.step = 2;
  m.attempt = 1;
  m.deadline = faultline::runtime::Instant(std::chrono::minutes(30));
  m.work = std::move(work);
  return m;
}

// OCR's reply carries the extraction; the others are a status and little more.
Message reply(bool with_extraction) {
  auto r = std::make_shared<StepReply>();
  if (with_extraction) r->extraction = extraction_of(sample_invoice());
  Message m;
  m.topic = Topic::replies;
  m.invoice_id = 1042;
  m.request_id = 123456;
  m.step = 2;
  m.attempt = 1;
  m.reply = std::move(r);
  return m;
}

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
