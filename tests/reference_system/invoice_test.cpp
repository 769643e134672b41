// The invoice document layout: rendering, parsing and amount validation,
// including the corrupted inputs the fault layer will send.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "reference_system/invoice.h"
#include "runtime/random.h"
#include "runtime/sim_runtime.h"
#include "world/workload.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

// The straightforward renderer and parser the optimised ones in invoice.cpp
// replaced, kept verbatim as the oracle they must agree with byte for byte
// and bit for bit, on every input. One rule changed in both since: a
// repeated text key whose last value is empty leaves its field missing
// (found by fuzz/invoice_fuzzer.cpp).
namespace oracle {

constexpr std::string_view kHeader = "INVOICE/1";

void append_int(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool clean_text(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
      ++i;
      continue;
    }
    std::size_t extra = 0;
    if ((c & 0xe0) == 0xc0 && c >= 0xc2) extra = 1;
    else if ((c & 0xf0) == 0xe0) extra = 2;
    else if ((c & 0xf8) == 0xf0 && c <= 0xf4) extra = 3;
    else return false;
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

bool parse_uint(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return false;
  out = v;
  return true;
}

bool parse_amount_cents(std::string_view text, std::int64_t& cents) noexcept {
  text = trim(text);
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::uint64_t units = 0;
  if (!parse_uint(whole, units) || units > 10'000'000'000'000ULL) return false;
  std::uint64_t fraction = 0;
  if (dot != std::string_view::npos) {
    const std::string_view frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 2 || !parse_uint(frac, fraction)) return false;
    if (frac.size() == 1) fraction *= 10;
  }
  cents = static_cast<std::int64_t>(units * 100 + fraction);
  return true;
}

std::string format_amount(std::int64_t cents) {
  std::string out;
  if (cents < 0) {
    out.push_back('-');
    cents = -cents;
  }
  append_int(out, static_cast<std::uint64_t>(cents / 100));
  out.push_back('.');
  const auto frac = cents % 100;
  out.push_back(static_cast<char>('0' + frac / 10));
  out.push_back(static_cast<char>('0' + frac % 10));
  return out;
}

bool parse_po_number(std::string_view reference, std::uint64_t& number) noexcept {
  if (reference.size() < 9 || reference.substr(0, 3) != "PO-") return false;
  return parse_uint(reference.substr(3), number);
}

std::string format_po_reference(std::uint64_t number) {
  std::string digits;
  append_int(digits, number);
  std::string out = "PO-";
  if (digits.size() < 6) out.append(6 - digits.size(), '0');
  out += digits;
  return out;
}

std::string render_document(const Invoice& invoice) {
  std::string out;
  out.reserve(128 + invoice.vendor.size() + invoice.lines.size() * 40);
  out += kHeader;
  out += "\nid: ";
  append_int(out, invoice.id);
  out += "\nvendor: ";
  out += invoice.vendor;
  out += "\npo: ";
  out += invoice.po_reference;
  out += "\ncurrency: ";
  out += invoice.currency;
  for (const auto& line : invoice.lines) {
    out += "\nline: ";
    out += line.description;
    out += "; ";
    if (line.quantity < 0) out.push_back('-');
    append_int(out, static_cast<std::uint64_t>(line.quantity < 0 ? -line.quantity : line.quantity));
    out += "; ";
    out += format_amount(line.unit_price_cents);
  }
  out += "\ntotal: ";
  out += format_amount(invoice.total_cents);
  out.push_back('\n');
  return out;
}

bool looks_like_document(std::string_view text) noexcept {
  return text.size() >= kHeader.size() && text.substr(0, kHeader.size()) == kHeader &&
         (text.size() == kHeader.size() || text[kHeader.size()] == '\n' || text[kHeader.size()] == '\r');
}

ExtractedInvoice parse_document(std::string_view text) {
  ExtractedInvoice out;
  out.problems = kMissingId | kMissingVendor | kMissingCurrency | kMissingTotal | kNoLines | kMissingPo;
  if (!looks_like_document(text)) {
    out.problems |= kNoHeader;
    return out;
  }
  if (text.size() > kMaxDocumentBytes) text = text.substr(0, kMaxDocumentBytes);
  std::size_t pos = text.find('\n');
  while (pos != std::string_view::npos && pos < text.size()) {
    const std::size_t start = pos + 1;
    std::size_t end = text.find('\n', start);
    const std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    pos = end;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "id") {
      std::uint64_t id = 0;
      if (parse_uint(value, id)) {
        out.id = id;
        out.problems &= ~kMissingId;
      } else {
        out.problems |= kBadNumber;
      }
    } else if (key == "vendor") {
      if (!clean_text(value)) out.problems |= kBadText;
      out.vendor.assign(value);
      if (!value.empty()) out.problems &= ~kMissingVendor;
      else out.problems |= kMissingVendor;
    } else if (key == "po") {
      if (!clean_text(value)) out.problems |= kBadText;
      out.po_reference.assign(value);
      if (!value.empty()) out.problems &= ~kMissingPo;
      else out.problems |= kMissingPo;
    } else if (key == "currency") {
      if (!clean_text(value)) out.problems |= kBadText;
      out.currency.assign(value);
      if (!value.empty()) out.problems &= ~kMissingCurrency;
      else out.problems |= kMissingCurrency;
    } else if (key == "total") {
      std::int64_t cents = 0;
      const bool negative = !value.empty() && value.front() == '-';
      if (parse_amount_cents(negative ? value.substr(1) : value, cents)) {
        out.total_cents = negative ? -cents : cents;
        out.problems &= ~kMissingTotal;
      } else {
        out.problems |= kBadNumber;
      }
    } else if (key == "line") {
      if (out.lines.size() >= kMaxLines) {
        out.problems |= kTooManyLines;
        continue;
      }
      const auto s1 = value.find(';');
      const auto s2 = s1 == std::string_view::npos ? s1 : value.find(';', s1 + 1);
      if (s2 == std::string_view::npos) {
        out.problems |= kBadNumber;
        continue;
      }
      LineItem item;
      const std::string_view desc = trim(value.substr(0, s1));
      if (!clean_text(desc)) out.problems |= kBadText;
      item.description.assign(desc);
      std::string_view qty = trim(value.substr(s1 + 1, s2 - s1 - 1));
      const bool negative = !qty.empty() && qty.front() == '-';
      std::uint64_t q = 0;
      std::int64_t price = 0;
      if (!parse_uint(negative ? qty.substr(1) : qty, q) || !parse_amount_cents(value.substr(s2 + 1), price)) {
        out.problems |= kBadNumber;
        continue;
      }
      item.quantity = negative ? -static_cast<std::int64_t>(q) : static_cast<std::int64_t>(q);
      item.unit_price_cents = price;
      out.lines.push_back(std::move(item));
      out.problems &= ~kNoLines;
    }
  }
  return out;
}

}  // namespace oracle


Invoice sample() {
  Invoice inv;
  inv.id = 1042;
  inv.vendor = "V0017 Northwind Freight";
  inv.po_reference = "PO-001042";
  inv.currency = "EUR";
  inv.lines = {{"Freight", 2, 125000}, {"Handling", 1, 8050}};
  inv.total_cents = 258050;
  inv.document = render_document(inv);
  return inv;
}

TEST(Invoice, RenderedDocumentParsesBackToTheSameFields) {
  const Invoice inv = sample();
  EXPECT_EQ(inv.document.substr(0, 10), "INVOICE/1\n");
  const ExtractedInvoice ex = parse_document(inv.document);
  EXPECT_EQ(ex.problems, 0u);
  EXPECT_EQ(ex.id, inv.id);
  EXPECT_EQ(ex.vendor, inv.vendor);
  EXPECT_EQ(ex.po_reference, inv.po_reference);
  EXPECT_EQ(ex.currency, "EUR");
  EXPECT_EQ(ex.lines, inv.lines);
  EXPECT_EQ(ex.total_cents, inv.total_cents);
  EXPECT_EQ(validate(ex, inv.id), 0u);
}

TEST(Invoice, AmountsParseWithAtMostTwoDecimals) {
  std::int64_t c = 0;
  EXPECT_TRUE(parse_amount_cents("2580.50", c));
  EXPECT_EQ(c, 258050);
  EXPECT_TRUE(parse_amount_cents("7.5", c));
  EXPECT_EQ(c, 750);
  EXPECT_TRUE(parse_amount_cents("12", c));
  EXPECT_EQ(c, 1200);
  EXPECT_FALSE(parse_amount_cents("1.234", c));
  EXPECT_FALSE(parse_amount_cents("-3.00", c));
  EXPECT_FALSE(parse_amount_cents("12a", c));
  EXPECT_FALSE(parse_amount_cents("99999999999999999999", c));
  EXPECT_EQ(format_amount(258050), "2580.50");
  EXPECT_EQ(format_amount(-5), "-0.05");
}

TEST(Invoice, PoReferencesAreCanonicalOnlyWithDashAndSixDigits) {
  std::uint64_t n = 0;
  EXPECT_TRUE(parse_po_number("PO-001042", n));
  EXPECT_EQ(n, 1042u);
  EXPECT_FALSE(parse_po_number("PO 001042", n));
  EXPECT_FALSE(parse_po_number("po-001042", n));
  EXPECT_FALSE(parse_po_number("P0-001042", n));
  EXPECT_EQ(format_po_reference(42), "PO-000042");
}

TEST(Invoice, TotalsThatDoNotAddUpAreRejected) {
  Invoice inv = sample();
  inv.total_cents += 1;
  inv.document = render_document(inv);
  EXPECT_EQ(validate(parse_document(inv.document), inv.id), static_cast<std::uint32_t>(kTotalMismatch));
}

TEST(Invoice, CorruptedDocumentsAreRejectedNeverTrusted) {
  const Invoice inv = sample();
  const std::string doc = inv.document;
  auto problems = [&](const std::string& text) { return validate(parse_document(text), inv.id); };

  EXPECT_NE(problems(doc.substr(0, doc.size() / 2)), 0u);                         // truncated
  EXPECT_NE(problems(""), 0u);                                                    // empty
  EXPECT_TRUE(parse_document("garbage").has(kNoHeader));
  std::string missing = doc;
  missing.erase(missing.find("vendor:"), missing.find('\n', missing.find("vendor:")) - missing.find("vendor:") + 1);
  EXPECT_NE(problems(missing) & kMissingVendor, 0u);                              // missing field
  std::string wrong_type = doc;
  wrong_type.replace(wrong_type.find("total: ") + 7, 7, "lots");
  EXPECT_NE(problems(wrong_type) & kBadNumber, 0u);                               // wrong type
  std::string negative = doc;
  negative.replace(negative.find("total: ") + 7, 0, "-");
  EXPECT_NE(problems(negative) & kNonPositive, 0u);                               // negative amount
  std::string huge = doc;
  huge.replace(huge.find("total: ") + 7, 0, "99999999");
  EXPECT_NE(problems(huge) & kAmountTooLarge, 0u);                                // huge amount
  std::string encoding = doc;
  encoding.replace(encoding.find("Northwind"), 1, "\xff\xfe");
  EXPECT_NE(problems(encoding) & kBadText, 0u);                                   // bad encoding
  std::string markup = doc;
  markup.replace(markup.find("Northwind"), 0, "<script>alert(1)</script>");
  EXPECT_NE(problems(markup) & kBadText, 0u);                                     // markup
  EXPECT_NE(validate(parse_document(doc), inv.id + 1) & kIdMismatch, 0u);         // another invoice's id
  std::string currency = doc;
  currency.replace(currency.find("EUR"), 3, "XXX");
  EXPECT_NE(problems(currency) & kBadCurrency, 0u);
}

// Found by fuzz/invoice_fuzzer.cpp (fuzz/corpus/invoice/regression-*): a
// required field given twice, the second time empty, was empty yet not
// missing, so an invoice without a vendor or currency validated.
TEST(Invoice, ARepeatedFieldLeftEmptyIsMissing) {
  const Invoice inv = sample();
  for (const std::string key : {"vendor", "currency", "po"}) {
    const std::string doc = inv.document + key + ":  \n";
    const ExtractedInvoice got = parse_document(doc);
    const std::uint32_t bit = key == "vendor" ? kMissingVendor : key == "currency" ? kMissingCurrency : kMissingPo;
    EXPECT_TRUE(got.has(static_cast<Problem>(bit))) << key;
    if (key != "po") {
      EXPECT_NE(validate(got, inv.id) & bit, 0u) << key;
    }
  }
  // Given again with a value, the field is present again.
  EXPECT_FALSE(parse_document(inv.document + "vendor:\nvendor: V0001 Acme\n").has(kMissingVendor));
}

TEST(Invoice, ParserSurvivesEverySingleBitFlip) {
  const Invoice inv = sample();
  std::size_t rejected = 0;
  for (std::size_t byte = 0; byte < inv.document.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = inv.document;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      rejected += validate(parse_document(flipped), inv.id) != 0 ? 1 : 0;
    }
  }
  // Most flips break something; none crashes the parser.
  EXPECT_GT(rejected, inv.document.size() * 4);
}


// Differential tests: the parser and renderer against the oracle above.

std::string escaped(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(ch);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool same(const ExtractedInvoice& a, const ExtractedInvoice& b) {
  return a.id == b.id && a.vendor == b.vendor && a.po_reference == b.po_reference && a.currency == b.currency &&
         a.lines == b.lines && a.total_cents == b.total_cents && a.problems == b.problems;
}

// Parses `doc` with both parsers; false (and one test failure naming the
// document) when they disagree.
bool parses_like_oracle(std::string_view doc) {
  const ExtractedInvoice got = parse_document(doc);
  const ExtractedInvoice want = oracle::parse_document(doc);
  if (same(got, want)) return true;
  ADD_FAILURE() << "parsers disagree on \"" << escaped(doc) << "\": problems " << got.problems << " vs "
                << want.problems << ", id " << got.id << " vs " << want.id << ", total " << got.total_cents
                << " vs " << want.total_cents << ", lines " << got.lines.size() << " vs " << want.lines.size();
  return false;
}

template <std::size_t N>
std::string_view pick(runtime::Rng& rng, const std::string_view (&options)[N]) {
  return options[rng.uniform_int(0, N - 1)];
}

// Fragments that mean something to the parser: separators, whitespace it
// trims, UTF-8 lead and continuation bytes, keys, numbers at their limits.
constexpr std::string_view kFragments[] = {
    " ", "\t", "\r", "\n", ":", ";", ".", "-", "+", "<", ">", "0", "9", "\x7f", "\x80", "\xbf", "\xc1", "\xc2",
    "\xc3\xa9", "\xe2\x82", "\xe2\x82\xac", "\xed\xa0\x80", "\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80",
    "\xf5", "\xf8", "\xff", std::string_view("\0", 1), "\x1f", "\nline: a; 1; 1\n", "\nline: ", "\ntotal: -",
    "\nid: ", " id :", "\nvendor:", "\npo:", "\ncurrency:", "INVOICE/1", "\r\n", "12345678901234567890",
    "123456789012345678", "10000000000000", "10000000000001", "99999999999999.99", ";;", "..", "--", "::",
    "<script>", " ; ", "\nline: \xc3\xa9t\xc3\xa9; -3; 0.5\n"};

std::string mutated(std::string doc, runtime::Rng& rng) {
  const auto edits = rng.uniform_int(1, 4);
  for (std::uint64_t e = 0; e < edits; ++e) {
    const std::size_t at = doc.empty() ? 0 : rng.uniform_int(0, doc.size() - 1);
    switch (rng.uniform_int(0, 6)) {
      case 0:
        if (!doc.empty()) doc[at] = static_cast<char>(doc[at] ^ (1 << rng.uniform_int(0, 7)));
        break;
      case 1:
        if (!doc.empty()) doc[at] = static_cast<char>(rng.uniform_int(0, 255));
        break;
      case 2: doc.insert(std::min(at + rng.uniform_int(0, 1), doc.size()), pick(rng, kFragments)); break;
      case 3:
        if (!doc.empty()) doc.replace(at, 1, pick(rng, kFragments));
        break;
      case 4: doc.resize(rng.uniform_int(0, doc.size())); break;
      case 5:
        if (!doc.empty()) doc.erase(at, rng.uniform_int(1, 20));
        break;
      default: {
        if (doc.empty()) break;
        const std::string piece = doc.substr(rng.uniform_int(0, doc.size() - 1), rng.uniform_int(1, 80));
        doc.insert(at, piece);
        break;
      }
    }
  }
  return doc;
}

// A document made of random lines: known and unknown keys with padding,
// values made of fragments, any line ending.
std::string random_document(runtime::Rng& rng) {
  static constexpr std::string_view kHeaders[] = {"INVOICE/1\n", "INVOICE/1\r\n", "INVOICE/1\r", "INVOICE/1",
                                                  "INVOICE/1x\n", "INVOICE/", "invoice/1\n", ""};
  static constexpr std::string_view kKeys[] = {"id", "vendor", "po", "currency", "total", "line", "ID",
                                               "lines", "i", "", "x", "tota", "vendors", "p", "line;"};
  static constexpr std::string_view kPads[] = {"", "", "", " ", "\t", "\r", "  ", " \t\r"};
  static constexpr std::string_view kValues[] = {
      "0", "1", "12", "007", "5", "123456789012345678", "1234567890123456789", "10000000000000",
      "10000000000001", "9999999999999", ".", ".5", ".50", ".505", "-", ";", " ", "\t", "\r", "a", "Freight",
      "V0017 Northwind Freight", "PO-000042", "EUR", "\xc3\xa9", "\xe2\x82\xac", "\xff", "\xc3", "<", ">", ":",
      "\x01", "\x7f", "+1", "1.2.3", "1e5", "0x10", " ; ", "; 1; 1.00", ";-2;3.5", "Fuel surcharge"};
  std::string doc(pick(rng, kHeaders));
  if (rng.bernoulli(0.03)) doc.clear();
  const auto lines = rng.uniform_int(0, 14);
  for (std::uint64_t i = 0; i < lines; ++i) {
    doc += pick(rng, kPads);
    doc += pick(rng, kKeys);
    doc += pick(rng, kPads);
    if (!rng.bernoulli(0.05)) doc += ':';
    const auto parts = rng.uniform_int(0, 6);
    for (std::uint64_t k = 0; k < parts; ++k) doc += pick(rng, kValues);
    doc += rng.bernoulli(0.1) ? "\r\n" : "\n";
  }
  if (rng.bernoulli(0.3) && !doc.empty()) doc.pop_back();
  return doc;
}

// Invoices with fields no workload would produce: any bytes in text fields,
// negative and extreme numbers (but never INT64_MIN, where the oracle's
// negation overflows), many lines.
Invoice random_invoice(runtime::Rng& rng) {
  static constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  static constexpr std::string_view kText[] = {"", "EUR", "V0017 Northwind Freight", "PO-000042", "Fuel surcharge",
                                               "\xc3\xa9", "\n", ";", ":", "\xff", "a very long description "
                                               "that will not fit in a small string buffer at all"};
  auto number = [&rng]() -> std::int64_t {
    switch (rng.uniform_int(0, 4)) {
      case 0: return static_cast<std::int64_t>(rng.uniform_int(0, 200));
      case 1: return -static_cast<std::int64_t>(rng.uniform_int(0, 200));
      case 2: return static_cast<std::int64_t>(rng.uniform_int(0, static_cast<std::uint64_t>(kMax)));
      case 3: return -static_cast<std::int64_t>(rng.uniform_int(0, static_cast<std::uint64_t>(kMax)));
      default: return rng.bernoulli(0.5) ? kMax : -kMax;
    }
  };
  Invoice inv;
  inv.id = rng.bernoulli(0.5) ? rng.uniform_int(0, 100'000) : rng.next_u64();
  inv.vendor = pick(rng, kText);
  if (rng.bernoulli(0.05)) inv.vendor.assign(rng.uniform_int(100, 20'000), 'v');
  inv.po_reference = pick(rng, kText);
  inv.currency = pick(rng, kText);
  const auto lines = rng.bernoulli(0.1) ? rng.uniform_int(0, 100) : rng.uniform_int(0, 6);
  for (std::uint64_t i = 0; i < lines; ++i) inv.lines.push_back({std::string(pick(rng, kText)), number(), number()});
  inv.total_cents = number();
  return inv;
}

TEST(InvoiceAgainstOracle, RenderingIsByteIdentical) {
  runtime::Rng rng(11);
  for (int i = 0; i < 20'000; ++i) {
    const Invoice inv = random_invoice(rng);
    ASSERT_EQ(render_document(inv), oracle::render_document(inv)) << i;
  }
  Invoice sample_invoice = sample();
  EXPECT_EQ(render_document(sample_invoice), sample_invoice.document);
  EXPECT_EQ(render_document(sample_invoice),
            "INVOICE/1\nid: 1042\nvendor: V0017 Northwind Freight\npo: PO-001042\ncurrency: EUR\n"
            "line: Freight; 2; 1250.00\nline: Handling; 1; 80.50\ntotal: 2580.50\n");
}

TEST(InvoiceAgainstOracle, TheMostNegativeAmountsRenderAsTheReleaseBuildAlwaysDid) {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(format_amount(kMin), "-92233720368547758.08");
  Invoice inv;
  inv.lines.push_back({"x", kMin, kMin});
  inv.total_cents = kMin;
  EXPECT_EQ(render_document(inv),
            "INVOICE/1\nid: 0\nvendor: \npo: \ncurrency: \nline: x; -9223372036854775808; -92233720368547758.08\n"
            "total: -92233720368547758.08\n");
}

TEST(InvoiceAgainstOracle, AmountsAndPoReferencesFormatAndParseTheSame) {
  runtime::Rng rng(12);
  std::vector<std::int64_t> amounts = {0, 1, -1, 9, 10, 99, 100, 101, -99, -100, -101,
                                       std::numeric_limits<std::int64_t>::max(),
                                       -std::numeric_limits<std::int64_t>::max()};
  std::vector<std::uint64_t> numbers = {0, 1, 9, 10, 99'999, 100'000, 999'999, 1'000'000, 900'000'001,
                                        std::numeric_limits<std::uint64_t>::max()};
  for (std::uint64_t p = 1; p < 10'000'000'000'000'000'000ULL; p *= 10) {
    for (const std::uint64_t n : {p - 1, p, p + 1}) {
      numbers.push_back(n);
      amounts.push_back(static_cast<std::int64_t>(n));
      amounts.push_back(-static_cast<std::int64_t>(n));
    }
  }
  for (int i = 0; i < 20'000; ++i) {
    numbers.push_back(rng.uniform_int(0, rng.bernoulli(0.5) ? 2'000'000 : ~0ULL));
    const auto a = static_cast<std::int64_t>(rng.uniform_int(0, rng.bernoulli(0.5) ? 1'000'000 : ~0ULL >> 1));
    amounts.push_back(rng.bernoulli(0.5) ? a : -a);
  }
  for (const auto n : numbers) ASSERT_EQ(format_po_reference(n), oracle::format_po_reference(n)) << n;
  for (const auto a : amounts) ASSERT_EQ(format_amount(a), oracle::format_amount(a)) << a;

  static constexpr std::string_view kPieces[] = {"0", "1", "5", "9", "12", "007", "10000000000000", "1000000000000",
                                                 "123456789012345678", ".", "-", " ", "\t", "\r", "PO-", "PO",
                                                 "po-", "a", "+", ";"};
  for (int i = 0; i < 50'000; ++i) {
    std::string text;
    const auto parts = rng.uniform_int(0, 5);
    for (std::uint64_t k = 0; k < parts; ++k) text += pick(rng, kPieces);
    std::int64_t got_cents = -7, want_cents = -7;
    ASSERT_EQ(parse_amount_cents(text, got_cents), oracle::parse_amount_cents(text, want_cents)) << escaped(text);
    ASSERT_EQ(got_cents, want_cents) << escaped(text);
    std::uint64_t got_po = 7, want_po = 7;
    ASSERT_EQ(parse_po_number(text, got_po), oracle::parse_po_number(text, want_po)) << escaped(text);
    ASSERT_EQ(got_po, want_po) << escaped(text);
  }
}

TEST(InvoiceAgainstOracle, GeneratedAndCorruptedDocumentsParseTheSame) {
  WorkloadModel model = default_world_model().workload;
  model.inexact_po_share = 0.2;
  model.missing_po_share = 0.1;
  model.invalid_share = 0.1;
  model.max_lines = 32;
  model.vendors = 100'000;
  runtime::SimRuntime rt(5);
  PoCatalogue catalogue;
  WorkloadGenerator gen(rt, model, catalogue);
  runtime::Rng rng(13);
  int failures = 0;
  for (int i = 0; i < 3'000 && failures < 5; ++i) {
    const std::string doc = i % 2 == 0 ? gen.next().invoice.document : render_document(random_invoice(rng));
    failures += parses_like_oracle(doc) ? 0 : 1;
    for (int m = 0; m < 20 && failures < 5; ++m) failures += parses_like_oracle(mutated(doc, rng)) ? 0 : 1;
  }
  for (std::size_t byte = 0; byte < sample().document.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = sample().document;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      failures += parses_like_oracle(flipped) ? 0 : 1;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(InvoiceAgainstOracle, RandomLineSoupParsesTheSame) {
  runtime::Rng rng(14);
  int failures = 0;
  for (int i = 0; i < 100'000 && failures < 5; ++i) {
    const std::string doc = random_document(rng);
    failures += parses_like_oracle(doc) ? 0 : 1;
    failures += parses_like_oracle(mutated(doc, rng)) ? 0 : 1;
  }
  EXPECT_EQ(failures, 0);
}

TEST(InvoiceAgainstOracle, OversizedDocumentsAndTooManyLinesParseTheSame) {
  const std::string doc = sample().document;
  int failures = 0;
  // Cut at the size limit anywhere within a line, a key or a value.
  std::string many = doc;
  while (many.size() < kMaxDocumentBytes + 200) many += "line: Handling; 1; 80.50\n";
  for (std::size_t cut = kMaxDocumentBytes - 40; cut <= kMaxDocumentBytes + 40; ++cut) {
    failures += parses_like_oracle(std::string_view(many).substr(0, cut)) ? 0 : 1;
  }
  for (const std::size_t pad : {0UL, 1UL, 7UL, 100UL, kMaxDocumentBytes - 30, kMaxDocumentBytes - 2,
                                kMaxDocumentBytes, kMaxDocumentBytes + 5}) {
    std::string long_vendor = "INVOICE/1\nvendor: " + std::string(pad, 'v') + "\xc3\xa9" + "\nid: 5\n";
    failures += parses_like_oracle(long_vendor) ? 0 : 1;
    std::string long_line = "INVOICE/1\nline: " + std::string(pad, 'd') + "; 1; 2.00\ntotal: 2\n";
    failures += parses_like_oracle(long_line) ? 0 : 1;
    std::string padded = "INVOICE/1\n" + std::string(pad, ' ') + "id" + std::string(pad % 50, '\t') + ": 7\n";
    failures += parses_like_oracle(padded) ? 0 : 1;
  }
  // More than kMaxLines lines, some of them malformed after the limit.
  std::string lines = "INVOICE/1\nid: 1\n";
  for (int i = 0; i < 70; ++i) lines += i % 3 == 0 && i > 62 ? "line: broken\n" : "line: x; 1; 1.00\n";
  failures += parses_like_oracle(lines) ? 0 : 1;
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace faultline::reference_system
