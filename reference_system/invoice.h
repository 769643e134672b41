// Invoices as the system sees them: the ground truth the workload generates
// (id, vendor, PO reference, line items, total, currency, scan quality) and
// the raw document bytes the OCR agent actually reads. The document is a
// small line-oriented text layout, so corrupted bytes (truncation, bit flips,
// bad encoding, injected markup) reach a real parser:
//
//   INVOICE/1
//   id: 1042
//   vendor: V0017 Northwind Freight
//   po: PO-001042
//   currency: EUR
//   line: Freight; 2; 1250.00
//   line: Handling; 1; 80.50
//   total: 2580.50
//
// Keys may come in any order; a repeated key keeps its last value (an empty
// last value is a missing field), while a problem seen in an earlier value
// still counts (corrupted bytes anywhere reject the document); unknown
// keys are ignored; amounts have at most two decimals. parse_document never
// throws and never trusts its input: what it cannot read it reports in
// ExtractedInvoice::problems, and amount validation decides.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::reference_system {

struct LineItem {
  std::string description;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;
  friend bool operator==(const LineItem&, const LineItem&) = default;
};

struct Invoice {
  std::uint64_t id = 0;
  std::string vendor;
  std::string po_reference;
  std::vector<LineItem> lines;
  std::int64_t total_cents = 0;
  std::string currency;
  double scan_quality = 1.0;  // 0 unreadable .. 1 pristine
  std::string document;       // what the OCR engine is given
};

// A purchase order as the PO database serves it (ports.h); the world's
// catalogue holds them (world/workload.h).
struct PurchaseOrder {
  std::uint64_t number = 0;
  std::string vendor;
  std::int64_t amount_cents = 0;
};

// The document text for an invoice's fields (not its `document`).
std::string render_document(const Invoice& invoice);

// Bits of ExtractedInvoice::problems.
enum Problem : std::uint32_t {
  kNoHeader = 1u << 0,          // not an invoice document at all
  kMissingId = 1u << 1,
  kMissingVendor = 1u << 2,
  kMissingCurrency = 1u << 3,
  kMissingTotal = 1u << 4,
  kNoLines = 1u << 5,
  kBadNumber = 1u << 6,         // a number field that is not a number
  kBadText = 1u << 7,           // control bytes, bad UTF-8 or markup in a text field
  kTooManyLines = 1u << 8,      // more than kMaxLines: the rest are ignored
  kMissingPo = 1u << 9,         // not an error by itself: matching then finds nothing
  // Found by validate(), not by the parser:
  kIdMismatch = 1u << 10,       // the document names another invoice
  kBadCurrency = 1u << 11,
  kTotalMismatch = 1u << 12,    // lines do not add up to the total
  kNonPositive = 1u << 13,      // a quantity, price or total at or below zero
  kAmountTooLarge = 1u << 14,   // beyond kMaxTotalCents
};
inline constexpr std::int64_t kMaxTotalCents = 1'000'000'000;  // 10 million
// Problems that make an invoice invalid (everything but kMissingPo).
inline constexpr std::uint32_t kRejectingProblems = ~static_cast<std::uint32_t>(kMissingPo);
inline constexpr std::size_t kMaxLines = 64;
inline constexpr std::size_t kMaxDocumentBytes = 16 * 1024;

struct ExtractedInvoice {
  std::uint64_t id = 0;
  std::string vendor;
  std::string po_reference;
  std::string currency;
  std::vector<LineItem> lines;
  std::int64_t total_cents = 0;
  std::uint32_t problems = 0;
  bool has(Problem p) const noexcept { return (problems & p) != 0; }
};

ExtractedInvoice parse_document(std::string_view text);

// Amount validation: the parser's problems plus id, currency, sign, size
// and totals. Zero means valid; otherwise the Problem bits found.
std::uint32_t validate(const ExtractedInvoice& invoice, std::uint64_t expected_id);

// Whether engine output is an invoice document at all (its header is
// there); what an OCR agent checks before trusting an engine's answer.
bool looks_like_document(std::string_view text) noexcept;

// "1250.50" -> 125050; false on anything else (sign, more than two
// decimals, overflow past 10^15 cents).
[[nodiscard]] bool parse_amount_cents(std::string_view text, std::int64_t& cents) noexcept;
std::string format_amount(std::int64_t cents);

// Canonical PO references are "PO-" and six or more digits.
[[nodiscard]] bool parse_po_number(std::string_view reference, std::uint64_t& number) noexcept;
std::string format_po_reference(std::uint64_t number);

}  // namespace faultline::reference_system
