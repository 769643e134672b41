// The messages one invoice's workflow sends on the bus, for the benchmarks
// that encode, decode or carry them (wire_bench, live_bus_bench): a
// three-line invoice whose document is 176 bytes, a request before OCR
// and after it, OCR's reply and a plain `ok` one.
#pragma once

#include <chrono>
#include <memory>

#include "reference_system/invoice.h"
#include "reference_system/ports.h"

namespace faultline::bench {

using namespace faultline::reference_system;


inline Invoice sample_invoice() {
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

inline std::shared_ptr<const Extraction> extraction_of(const Invoice& inv) {
  auto ex = std::make_shared<Extraction>();
  ex->text = inv.document;
  ex->fields = parse_document(ex->text);
  return ex;
}

// A request after OCR (validation, matching, accounting carry this much);
// OCR's own request has no extraction.
inline Message request(bool with_extraction) {
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
inline Message reply(bool with_extraction) {
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

}  // namespace faultline::bench
