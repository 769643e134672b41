// Writes the wire target's seed corpus (fuzz/corpus/wire/): a request to
// every role from the workload generator's invoices, one request whose
// document and OCR text are each corruption mode of the corrupted_input
// fault (faults/corruption.h), replies of every status, and entries the
// codec refuses (another version, a missing field, a body too deep).
//
//   make_wire_corpus fuzz/corpus/wire
#include <cstdio>
#include <fstream>
#include <string>

#include "faults/corruption.h"
#include "fuzz/wire_entry.h"
#include "reference_system/events.h"
#include "runtime/sim_runtime.h"
#include "world/workload.h"

int main(int argc, char** argv) {
  using namespace faultline;
  using namespace faultline::reference_system;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  const WireClock clock;
  auto write = [&](const std::string& name, const WireFields& fields) {
    std::ofstream(out + "/" + name + ".txt", std::ios::binary) << fuzz::entry_to_text(fields);
  };
  auto request = [](Topic topic, const Invoice& invoice, std::uint32_t attempt) {
    auto work = std::make_shared<WorkItem>();
    work->invoice = std::make_shared<const Invoice>(invoice);
    if (topic != Topic::ocr) {
      auto ex = std::make_shared<Extraction>();
      ex->text = invoice.document;
      ex->fields = parse_document(ex->text);
      work->extraction = std::move(ex);
    }
    if (topic == Topic::accounting || topic == Topic::archive) work->match.po_number = 1042;
    Message m;
    m.topic = topic;
    m.invoice_id = invoice.id;
    m.request_id = invoice.id * 8 + static_cast<std::uint64_t>(topic);
    m.step = static_cast<std::uint32_t>(topic);
    m.attempt = attempt;
    m.deadline = runtime::Instant(std::chrono::minutes(30));
    m.work = std::move(work);
    return m;
  };
  auto reply = [](StepReply r) {
    Message m;
    m.topic = Topic::replies;
    m.invoice_id = 7;
    m.request_id = 57;
    m.step = 2;
    m.attempt = 1;
    m.reply = std::make_shared<const StepReply>(std::move(r));
    return m;
  };

  runtime::SimRuntime rt(20261130);
  world::PoCatalogue catalogue;
  world::WorkloadGenerator gen(rt, world::default_world_model().workload, catalogue);
  Invoice last;
  for (std::size_t t = 0; t < 5; ++t) {
    last = gen.next().invoice;
    const auto topic = static_cast<Topic>(t);
    write("request-" + std::string(wire_name(topic)), encode(request(topic, last, 1 + t % 2), clock));
  }
  auto rng = rt.stream("fuzz/corpus");
  for (std::size_t c = 0; c < faults::kCorruptionCount; ++c) {
    const auto mode = static_cast<faults::Corruption>(c);
    Invoice corrupted = last;
    corrupted.document = faults::corrupt_document(last.document, mode, rng);
    write("request-corrupted-" + std::string(faults::to_string(mode)), encode(request(Topic::matching, corrupted, 3), clock));
  }

  StepReply ocr;
  auto ex = std::make_shared<Extraction>();
  ex->text = last.document;
  ex->fields = parse_document(ex->text);
  ocr.extraction = ex;
  write("reply-ocr", encode(reply(ocr), clock));
  StepReply degraded;
  degraded.status = StepStatus::degraded;
  degraded.match = MatchResult{0, {101, 102}, true, true, ErrorClass::circuit_open};
  write("reply-degraded", encode(reply(degraded), clock));
  StepReply rejected;
  rejected.status = StepStatus::rejected;
  rejected.problems = kTotalMismatch | kMissingPo;
  write("reply-rejected", encode(reply(rejected), clock));
  StepReply review;
  review.status = StepStatus::needs_review;
  review.review_reason = static_cast<std::uint8_t>(ReviewReason::compensation_failed);
  write("reply-needs-review", encode(reply(review), clock));
  StepReply failed;
  failed.status = StepStatus::failed;
  failed.error = ErrorClass::rate_limited;
  write("reply-failed", encode(reply(failed), clock));

  WireFields other_version = encode(reply(StepReply{}), clock);
  other_version[0].second = "2";
  write("refused-version", other_version);
  WireFields missing = encode(reply(StepReply{}), clock);
  missing.erase(missing.begin() + 3);
  write("refused-missing-field", missing);
  WireFields deep = encode(reply(StepReply{}), clock);
  deep.back().second = std::string(70, '[') + std::string(70, ']');
  write("refused-too-deep", deep);
  return 0;
}
