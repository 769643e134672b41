// Invoice documents (reference_system/invoice.h): the bytes the OCR agent
// reads, corrupted on purpose by the corrupted_input fault. parse_document
// never throws; what it extracts from a complete document renders to a
// document that extracts to the same fields and problems; amounts and PO
// references read back what their formatters write.
#include <string>

#include "fuzz/fuzz_check.h"
#include "reference_system/invoice.h"

namespace {

using namespace faultline::reference_system;

// The same fields and problems, except that bad text in a value a repeated
// key replaced still counts in the first (by design: corrupted bytes
// anywhere reject the document) and is gone from the rendering.
bool same(const ExtractedInvoice& first, const ExtractedInvoice& rendered) {
  const std::uint32_t sticky = first.problems & kBadText;
  return first.id == rendered.id && first.vendor == rendered.vendor && first.po_reference == rendered.po_reference &&
         first.currency == rendered.currency && first.lines == rendered.lines &&
         first.total_cents == rendered.total_cents && (first.problems & ~sticky) == (rendered.problems & ~sticky) &&
         (rendered.problems & ~first.problems) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ExtractedInvoice first = parse_document(text);
  FAULTLINE_FUZZ_CHECK(first.lines.size() <= kMaxLines, "more lines than kMaxLines kept");
  FAULTLINE_FUZZ_CHECK(looks_like_document(text) == !first.has(kNoHeader), "header check disagrees");
  (void)validate(first, first.id);

  // A document with every field readable renders and extracts the same.
  // Missing or unreadable numbers are rendered as zeros (no longer missing),
  // so those documents are left out, as are renderings past the size limit.
  constexpr std::uint32_t kNotRendered = kNoHeader | kMissingId | kMissingTotal | kBadNumber | kTooManyLines;
  if ((first.problems & kNotRendered) == 0) {
    Invoice invoice;
    invoice.id = first.id;
    invoice.vendor = first.vendor;
    invoice.po_reference = first.po_reference;
    invoice.currency = first.currency;
    invoice.lines = first.lines;
    invoice.total_cents = first.total_cents;
    const std::string rendered = render_document(invoice);
    if (rendered.size() <= kMaxDocumentBytes) {
      const ExtractedInvoice second = parse_document(rendered);
      FAULTLINE_FUZZ_CHECK(same(first, second), "render(parse(doc)) extracts differently:\n" + rendered);
    }
  }

  // The first line as an amount and as a PO reference.
  const std::string_view head = text.substr(0, text.find('\n'));
  std::int64_t cents = 0;
  if (parse_amount_cents(head, cents)) {
    FAULTLINE_FUZZ_CHECK(cents >= 0, "a negative amount parsed");
    std::int64_t back = -1;
    FAULTLINE_FUZZ_CHECK(parse_amount_cents(format_amount(cents), back) && back == cents, format_amount(cents));
  }
  std::uint64_t po = 0;
  if (parse_po_number(head, po)) {
    std::uint64_t back = 0;
    FAULTLINE_FUZZ_CHECK(parse_po_number(format_po_reference(po), back) && back == po, format_po_reference(po));
  }
  return 0;
}
