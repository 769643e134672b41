// Rendering and parsing the invoice document layout described in invoice.h.
#include "reference_system/invoice.h"

#include <algorithm>
#include <charconv>
#include <iterator>

namespace faultline::reference_system {

namespace {

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

// Printable ASCII or well-formed UTF-8, no markup brackets.
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

}  // namespace

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
    } else if (key == "po") {
      if (!clean_text(value)) out.problems |= kBadText;
      out.po_reference.assign(value);
      if (!value.empty()) out.problems &= ~kMissingPo;
    } else if (key == "currency") {
      if (!clean_text(value)) out.problems |= kBadText;
      out.currency.assign(value);
      if (!value.empty()) out.problems &= ~kMissingCurrency;
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
