// Rendering and parsing the invoice document layout described in invoice.h.
#include "reference_system/invoice.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <iterator>

namespace faultline::reference_system {

// Both directions run once per invoice on the simulation's hot path, so they
// work on raw pointers into one buffer: the renderer writes digits straight
// into the output, the parser makes one pass over the lines and dispatches on
// the key's length. tests/reference_system/invoice_test.cpp holds a
// straightforward version of the same rules as the oracle they are checked
// against.
namespace {

constexpr std::string_view kHeader = "INVOICE/1";

// Longest output of put_uint, and of put_amount (sign, 17 digits of whole
// units for INT64_MIN, point, two decimals).
constexpr std::size_t kUintChars = 20;
constexpr std::size_t kAmountChars = 1 + 17 + 3;

char* put_uint(char* out, std::uint64_t v) noexcept { return std::to_chars(out, out + kUintChars, v).ptr; }

char* put_text(char* out, std::string_view text) noexcept {
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// The magnitude of a negative value is taken in unsigned arithmetic, so
// INT64_MIN prints as its true magnitude without relying on overflow.
std::uint64_t magnitude(std::int64_t v) noexcept {
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

char* put_amount(char* out, std::int64_t cents) noexcept {
  if (cents < 0) *out++ = '-';
  const std::uint64_t m = magnitude(cents);
  out = put_uint(out, m / 100);
  const auto frac = static_cast<unsigned>(m % 100);
  out[0] = '.';
  out[1] = static_cast<char>('0' + frac / 10);
  out[2] = static_cast<char>('0' + frac % 10);
  return out + 3;
}

// The parser's helpers below are small and called several times per line;
// they are forced inline because GCC 12 at -O2 otherwise keeps them as calls.

[[gnu::always_inline]] inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

// Trims blanks from both ends of [begin, end).
[[gnu::always_inline]] inline void trim(const char*& begin, const char*& end) noexcept {
  while (begin != end && is_blank(*begin)) ++begin;
  while (begin != end && is_blank(end[-1])) --end;
}

[[gnu::always_inline]] inline unsigned digit_value(char c) noexcept {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - unsigned{'0'};
}

// One to eighteen ASCII digits, nothing else (no sign, no blanks).
[[gnu::always_inline]] inline bool parse_uint(const char* begin, const char* end, std::uint64_t& out) noexcept {
  const auto n = end - begin;
  if (n <= 0 || n > 18) return false;
  std::uint64_t v = 0;
  for (const char* p = begin; p != end; ++p) {
    const unsigned digit = digit_value(*p);
    if (digit > 9) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

// parse_amount_cents on [begin, end), blanks trimmed first: one to eighteen
// digits worth at most 10^13, then optionally a point and one or two digits.
[[gnu::always_inline]] inline bool amount_cents(const char* begin, const char* end, std::int64_t& cents) noexcept {
  trim(begin, end);
  const char* p = begin;
  std::uint64_t units = 0;  // wraps on absurdly long inputs, which are rejected below
  for (; p != end; ++p) {
    const unsigned digit = digit_value(*p);
    if (digit > 9) break;
    units = units * 10 + digit;
  }
  const auto whole_digits = p - begin;
  if (whole_digits == 0 || whole_digits > 18 || units > 10'000'000'000'000ULL) return false;
  std::uint64_t fraction = 0;
  if (p != end) {
    if (*p != '.') return false;
    const auto n = end - (p + 1);
    if (n < 1 || n > 2) return false;
    const unsigned tens = digit_value(p[1]);
    const unsigned ones = n == 2 ? digit_value(p[2]) : 0;
    if (tens > 9 || ones > 9) return false;
    fraction = tens * 10 + ones;
  }
  cents = static_cast<std::int64_t>(units * 100 + fraction);
  return true;
}

// For each byte: 0 printable ASCII, 1 rejected, 2..4 the length of the UTF-8
// sequence it leads (only leads of well-formed lengths: C2..DF, E0..EF, F0..F4).
constexpr auto kTextClass = [] {
  std::array<std::uint8_t, 256> table{};
  for (unsigned c = 0; c < 256; ++c) {
    std::uint8_t kind = 1;
    if (c < 0x80) kind = (c < 0x20 || c == 0x7f || c == '<' || c == '>') ? 1 : 0;
    else if (c >= 0xc2 && c <= 0xdf) kind = 2;
    else if (c >= 0xe0 && c <= 0xef) kind = 3;
    else if (c >= 0xf0 && c <= 0xf4) kind = 4;
    table[c] = kind;
  }
  return table;
}();

// Printable ASCII or well-formed UTF-8, no markup brackets.
[[gnu::always_inline]] inline bool clean_text(const char* p, const char* end) noexcept {
  while (p != end) {
    const std::uint8_t kind = kTextClass[static_cast<unsigned char>(*p)];
    if (kind == 0) {
      ++p;
      continue;
    }
    if (kind == 1 || end - p < kind) return false;
    for (std::uint8_t k = 1; k < kind; ++k) {
      if ((static_cast<unsigned char>(p[k]) & 0xc0) != 0x80) return false;
    }
    p += kind;
  }
  return true;
}

// Whether a key already known to have the name's length is that name.
template <std::size_t N>
[[gnu::always_inline]] inline bool key_is(const char* key, const char (&name)[N]) noexcept {
  return std::memcmp(key, name, N - 1) == 0;
}

// A text field's value, kept as written: flagged when it is not clean text,
// present (its `missing` bit cleared) when not empty and missing again when
// a repeated key leaves it empty. Appending to a cleared string is cheaper
// than std::string::assign, which must allow for aliasing.
[[gnu::always_inline]] inline void text_field(ExtractedInvoice& out, std::string& field, std::uint32_t missing,
                                              const char* begin, const char* end) {
  if (!clean_text(begin, end)) out.problems |= kBadText;
  field.clear();
  field.append(begin, static_cast<std::size_t>(end - begin));
  if (begin != end) out.problems &= ~missing;
  else out.problems |= missing;
}

}  // namespace

bool parse_amount_cents(std::string_view text, std::int64_t& cents) noexcept {
  return amount_cents(text.data(), text.data() + text.size(), cents);
}

std::string format_amount(std::int64_t cents) {
  char buf[kAmountChars];
  return std::string(buf, put_amount(buf, cents));
}

bool parse_po_number(std::string_view reference, std::uint64_t& number) noexcept {
  if (reference.size() < 9 || reference.substr(0, 3) != "PO-") return false;
  return parse_uint(reference.data() + 3, reference.data() + reference.size(), number);
}

std::string format_po_reference(std::uint64_t number) {
  char digits[kUintChars] = {};  // initialised only to quiet GCC 12 -Wmaybe-uninitialized
  const auto n = static_cast<std::size_t>(put_uint(digits, number) - digits);
  char buf[3 + 6 + kUintChars] = {'P', 'O', '-', '0', '0', '0', '0', '0', '0'};
  const std::size_t pad = n < 6 ? 6 - n : 0;
  std::memcpy(buf + 3 + pad, digits, n);
  return std::string(buf, 3 + pad + n);
}

std::string render_document(const Invoice& invoice) {
  static constexpr std::string_view kId = "\nid: ";
  static constexpr std::string_view kVendor = "\nvendor: ";
  static constexpr std::string_view kPo = "\npo: ";
  static constexpr std::string_view kCurrency = "\ncurrency: ";
  static constexpr std::string_view kLine = "\nline: ";
  static constexpr std::string_view kSeparator = "; ";
  static constexpr std::string_view kTotal = "\ntotal: ";
  std::size_t bound = kHeader.size() + kId.size() + kUintChars + kVendor.size() + invoice.vendor.size() +
                      kPo.size() + invoice.po_reference.size() + kCurrency.size() + invoice.currency.size() +
                      kTotal.size() + kAmountChars + 1;
  for (const auto& line : invoice.lines) {
    bound += kLine.size() + line.description.size() + 2 * kSeparator.size() + 1 + kUintChars + kAmountChars;
  }
  auto write = [&invoice](char* out) {
    out = put_text(out, kHeader);
    out = put_text(out, kId);
    out = put_uint(out, invoice.id);
    out = put_text(out, kVendor);
    out = put_text(out, invoice.vendor);
    out = put_text(out, kPo);
    out = put_text(out, invoice.po_reference);
    out = put_text(out, kCurrency);
    out = put_text(out, invoice.currency);
    for (const auto& line : invoice.lines) {
      out = put_text(out, kLine);
      out = put_text(out, line.description);
      out = put_text(out, kSeparator);
      if (line.quantity < 0) *out++ = '-';
      out = put_uint(out, magnitude(line.quantity));
      out = put_text(out, kSeparator);
      out = put_amount(out, line.unit_price_cents);
    }
    out = put_text(out, kTotal);
    out = put_amount(out, invoice.total_cents);
    *out++ = '\n';
    return out;
  };
  // Typical documents are built on the stack and copied out once; larger
  // ones are written into a string sized for the bound and cut to length.
  char buf[512];
  if (bound <= sizeof buf) return std::string(buf, write(buf));
  std::string out(bound, '\0');
  out.resize(static_cast<std::size_t>(write(out.data()) - out.data()));
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
  const char* const end = text.data() + text.size();
  // Every line after the first '\n' (the header line is skipped whole).
  auto* newline = static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
  while (newline != nullptr) {
    const char* const line = newline + 1;
    newline = static_cast<const char*>(std::memchr(line, '\n', static_cast<std::size_t>(end - line)));
    const char* const line_end = newline != nullptr ? newline : end;
    const char* colon = line;
    while (colon != line_end && *colon != ':') ++colon;
    if (colon == line_end) continue;
    const char* key = line;
    const char* key_end = colon;
    trim(key, key_end);
    const char* value = colon + 1;
    const char* value_end = line_end;
    trim(value, value_end);
    switch (key_end - key) {
      case 2:
        if (key_is(key, "id")) {
          std::uint64_t id = 0;
          if (parse_uint(value, value_end, id)) {
            out.id = id;
            out.problems &= ~kMissingId;
          } else {
            out.problems |= kBadNumber;
          }
        } else if (key_is(key, "po")) {
          text_field(out, out.po_reference, kMissingPo, value, value_end);
        }
        break;
      case 6:
        if (key_is(key, "vendor")) {
          text_field(out, out.vendor, kMissingVendor, value, value_end);
        }
        break;
      case 8:
        if (key_is(key, "currency")) {
          text_field(out, out.currency, kMissingCurrency, value, value_end);
        }
        break;
      case 5:
        if (key_is(key, "total")) {
          std::int64_t cents = 0;
          const bool negative = value != value_end && *value == '-';
          if (amount_cents(value + (negative ? 1 : 0), value_end, cents)) {
            out.total_cents = negative ? -cents : cents;
            out.problems &= ~kMissingTotal;
          } else {
            out.problems |= kBadNumber;
          }
        }
        break;
      case 4:
        if (key_is(key, "line")) {
          if (out.lines.size() >= kMaxLines) {
            out.problems |= kTooManyLines;
            break;
          }
          const char* const s1 = std::find(value, value_end, ';');
          const char* const s2 = s1 == value_end ? s1 : std::find(s1 + 1, value_end, ';');
          if (s2 == value_end) {
            out.problems |= kBadNumber;
            break;
          }
          const char* desc = value;
          const char* desc_end = s1;
          trim(desc, desc_end);
          if (!clean_text(desc, desc_end)) out.problems |= kBadText;
          const char* qty = s1 + 1;
          const char* qty_end = s2;
          trim(qty, qty_end);
          const bool negative = qty != qty_end && *qty == '-';
          std::uint64_t q = 0;
          std::int64_t price = 0;
          if (!parse_uint(qty + (negative ? 1 : 0), qty_end, q) || !amount_cents(s2 + 1, value_end, price)) {
            out.problems |= kBadNumber;
            break;
          }
          // Room for the default workload's largest invoice in one allocation.
          if (out.lines.empty()) out.lines.reserve(4);
          out.lines.push_back(LineItem{std::string(desc, desc_end),
                                       negative ? -static_cast<std::int64_t>(q) : static_cast<std::int64_t>(q),
                                       price});
          out.problems &= ~kNoLines;
        }
        break;
      default: break;
    }
  }
  return out;
}

std::uint32_t validate(const ExtractedInvoice& invoice, std::uint64_t expected_id) {
  std::uint32_t problems = invoice.problems & kRejectingProblems;
  if (!invoice.has(kMissingId) && invoice.id != expected_id) problems |= kIdMismatch;
  static constexpr std::string_view kCurrencies[] = {"EUR", "USD", "GBP", "CHF"};
  if (!invoice.has(kMissingCurrency) &&
      std::find(std::begin(kCurrencies), std::end(kCurrencies), invoice.currency) == std::end(kCurrencies)) {
    problems |= kBadCurrency;
  }
  if (!invoice.has(kMissingTotal)) {
    if (invoice.total_cents <= 0) problems |= kNonPositive;
    if (invoice.total_cents > kMaxTotalCents) problems |= kAmountTooLarge;
  }
  std::int64_t sum = 0;
  for (const auto& line : invoice.lines) {
    if (line.quantity <= 0 || line.unit_price_cents <= 0) {
      problems |= kNonPositive;
      continue;
    }
    if (line.unit_price_cents > kMaxTotalCents || line.quantity > 1'000'000) {
      problems |= kAmountTooLarge;
      continue;
    }
    sum += line.quantity * line.unit_price_cents;
  }
  if (problems == 0 && sum != invoice.total_cents) problems |= kTotalMismatch;
  return problems;
}

}  // namespace faultline::reference_system
