// The wire codec (wire.h). The body is written by hand rather than through
// a nlohmann::json tree: keys come out in the order protocol/README.md
// shows them, and encoding a message builds no tree. It is read back
// through runtime::parse_json_text, which bounds nesting and refuses
// repeated keys and ill-formed UTF-8, and then walked by a reader that
// builds a field's JSON path only when it refuses it.
#include "reference_system/wire.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "reference_system/events.h"
#include "runtime/assert.h"
#include "runtime/json_config.h"

namespace faultline::reference_system {

namespace {

// ---------------------------------------------------------------------------
// Names.

constexpr std::array<std::string_view, 5> kStatusNames = {"ok", "degraded", "rejected", "needs_review", "failed"};
constexpr std::array<ReviewReason, 3> kReviewReasons = {
    ReviewReason::matching_failed_large_amount, ReviewReason::compensation_failed, ReviewReason::unreadable_document};

// The stream entry's fields, in the order encode writes them.
enum Field : std::size_t { kV, kKind, kTopic, kInvoiceId, kRequestId, kStep, kAttempt, kDeadline, kBody, kFieldCount };
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "v", "kind", "topic", "invoice_id", "request_id", "step", "attempt", "deadline", "body"};

constexpr std::string_view kNoDeadline = "none";

// A refusal's message is at most this long: what it quotes is cut, but a
// repeated key deep in a body is named by its whole path.
constexpr std::size_t kMaxRefusalBytes = 512;

// ---------------------------------------------------------------------------
// Bytes: UTF-8 validity (RFC 3629, as nlohmann's parser checks it) and base64.

bool valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t continuation = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      continuation = 1;
    } else if (c == 0xE0) {
      continuation = 2;
      lo = 0xA0;  // no overlong forms
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      continuation = 2;
    } else if (c == 0xED) {
      continuation = 2;
      hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
      continuation = 3;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      continuation = 3;
    } else if (c == 0xF4) {
      continuation = 3;
      hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= continuation) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void append_base64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  for (; n >= 3; n -= 3, p += 3) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  if (n == 1) {
    const std::uint32_t v = std::uint32_t{p[0]} << 16;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (n == 2) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8);
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
}

constexpr std::array<std::int8_t, 256> base64_values() {
  std::array<std::int8_t, 256> values{};
  for (auto& v : values) v = -1;
  for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) {
    values[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return values;
}
constexpr std::array<std::int8_t, 256> kBase64Values = base64_values();

// Strict RFC 4648: the standard alphabet, padded to a multiple of four, no
// whitespace, and the bits a padded group leaves over are zero (so every
// byte string has exactly one form).
bool parse_base64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.clear();
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4 - pad; ++j) {
      const std::int8_t d = kBase64Values[static_cast<unsigned char>(text[i + j])];
      if (d < 0) return false;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    v <<= 6 * pad;
    if (pad == 2 && (v & 0xFFFF) != 0) return false;
    if (pad == 1 && (v & 0xFF) != 0) return false;
    out += static_cast<char>((v >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(v & 0xFF);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Writing the body.

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(&out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  JsonWriter& key(std::string_view name) {
    separate();
    *out_ += '"';
    *out_ += name;  // the codec's own keys: plain ASCII
    *out_ += "\":";
    after_key_ = true;
    return *this;
  }

  JsonWriter& null() { return raw("null"); }
  JsonWriter& boolean(bool b) { return raw(b ? "true" : "false"); }
  template <class Int>
  JsonWriter& integer(Int v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    FAULTLINE_ASSERT(ec == std::errc{});
    return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  JsonWriter& number(double v) {
    FAULTLINE_ASSERT(std::isfinite(v));
    if (v == 0) v = 0;  // -0 and 0 write the same
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    FAULTLINE_ASSERT(ec == std::errc{});
    return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  // A JSON string of valid UTF-8.
  JsonWriter& string(std::string_view utf8) {
    separate();
    *out_ += '"';
    for (const char ch : utf8) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        *out_ += '\\';
        *out_ += ch;
      } else if (c >= 0x20) {
        *out_ += ch;
      } else if (c == '\n') {
        *out_ += "\\n";
      } else if (c == '\t') {
        *out_ += "\\t";
      } else if (c == '\r') {
        *out_ += "\\r";
      } else {
        constexpr std::string_view kHex = "0123456789abcdef";
        *out_ += "\\u00";
        *out_ += kHex[c >> 4];
        *out_ += kHex[c & 15];
      }
    }
    *out_ += '"';
    return *this;
  }
  JsonWriter& base64(std::string_view bytes) {
    separate();
    *out_ += '"';
    append_base64(*out_, bytes);
    *out_ += '"';
    return *this;
  }
  // Text from a document or an engine: a string when it is UTF-8, else
  // {"base64": ...} with its bytes.
  JsonWriter& text(std::string_view bytes) {
    if (valid_utf8(bytes)) return string(bytes);
    return begin_object().key("base64").base64(bytes).end_object();
  }

 private:
  JsonWriter& raw(std::string_view token) {
    separate();
    *out_ += token;
    return *this;
  }
  JsonWriter& open(char bracket) {
    separate();
    *out_ += bracket;
    FAULTLINE_ASSERT(depth_ < first_.size());
    first_[depth_++] = true;
    return *this;
  }
  JsonWriter& close(char bracket) {
    FAULTLINE_ASSERT(depth_ > 0);
    --depth_;
    *out_ += bracket;
    return *this;
  }
  // The comma before a value or key that is not the first in its container.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    if (!first_[depth_ - 1]) *out_ += ',';
    first_[depth_ - 1] = false;
  }

  std::string* out_;
  std::array<bool, 8> first_{};  // the body nests six levels at most
  std::size_t depth_ = 0;
  bool after_key_ = false;
};

std::string_view status_name(StepStatus s) {
  const auto i = static_cast<std::size_t>(s);
  FAULTLINE_ASSERT(i < kStatusNames.size());
  return kStatusNames[i];
}

std::string_view error_name(ErrorClass c) {
  FAULTLINE_ASSERT(static_cast<std::size_t>(c) < resilience::kErrorClassCount);
  return resilience::to_string(c);
}

std::string_view review_reason_name(std::uint8_t r) {
  FAULTLINE_ASSERT(r < kReviewReasons.size());
  return to_string(kReviewReasons[r]);
}

void write_lines(JsonWriter& w, const std::vector<LineItem>& lines) {
  w.begin_array();
  for (const auto& line : lines) {
    w.begin_object();
    w.key("description").text(line.description);
    w.key("quantity").integer(line.quantity);
    w.key("unit_price_cents").integer(line.unit_price_cents);
    w.end_object();
  }
  w.end_array();
}

// The members an Invoice and the fields OCR extracted have in common.
template <class InvoiceLike>
void write_invoice_fields(JsonWriter& w, const InvoiceLike& inv) {
  w.key("id").integer(inv.id);
  w.key("vendor").text(inv.vendor);
  w.key("po_reference").text(inv.po_reference);
  w.key("currency").text(inv.currency);
  w.key("lines");
  write_lines(w, inv.lines);
  w.key("total_cents").integer(inv.total_cents);
}

void write_invoice(JsonWriter& w, const Invoice& inv) {
  FAULTLINE_ASSERT(inv.scan_quality >= 0.0 && inv.scan_quality <= 1.0);
  w.begin_object();
  write_invoice_fields(w, inv);
  w.key("scan_quality").number(inv.scan_quality);
  w.key("document_base64").base64(inv.document);
  w.end_object();
}

void write_extraction(JsonWriter& w, const Extraction& ex) {
  const ExtractedInvoice& f = ex.fields;
  w.begin_object();
  w.key("text").text(ex.text);
  w.key("fields").begin_object();
  write_invoice_fields(w, f);
  w.key("problems").integer(f.problems);
  w.end_object();
  w.end_object();
}

void write_match(JsonWriter& w, const MatchResult& m) {
  w.begin_object();
  w.key("po_number").integer(m.po_number);
  w.key("suggestions").begin_array();
  for (const auto s : m.suggestions) w.integer(s);
  w.end_array();
  w.key("degraded").boolean(m.degraded);
  w.key("failed").boolean(m.failed);
  w.key("error").string(error_name(m.error));
  w.end_object();
}

bool same(const MatchResult& a, const MatchResult& b) {
  return a.po_number == b.po_number && a.suggestions == b.suggestions && a.degraded == b.degraded &&
         a.failed == b.failed && a.error == b.error;
}

std::string request_body(const WorkItem& work) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("invoice");
  write_invoice(w, *work.invoice);
  w.key("extraction");
  if (work.extraction) {
    write_extraction(w, *work.extraction);
  } else {
    w.null();
  }
  w.key("match");
  write_match(w, work.match);
  w.end_object();
  return out;
}

// A reply writes its status and what that status means (error, reason or
// problems); anything else only when it differs from its default, so a
// plain answer stays short. decode fills absent members with the defaults.
std::string reply_body(const StepReply& reply) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("status").string(status_name(reply.status));
  if (reply.status == StepStatus::failed || reply.error != ErrorClass::transient) {
    w.key("error").string(error_name(reply.error));
  }
  if (reply.status == StepStatus::needs_review || reply.review_reason != 0) {
    w.key("review_reason").string(review_reason_name(reply.review_reason));
  }
  if (reply.status == StepStatus::rejected || reply.problems != 0) w.key("problems").integer(reply.problems);
  if (reply.extraction) {
    w.key("extraction");
    write_extraction(w, *reply.extraction);
  }
  if (!same(reply.match, MatchResult{})) {
    w.key("match");
    write_match(w, reply.match);
  }
  w.end_object();
  return out;
}

template <class Int>
std::string decimal(Int v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  FAULTLINE_ASSERT(ec == std::errc{});
  return std::string(buf, end);
}

// ---------------------------------------------------------------------------
// Reading: refusals.

// Thrown inside decode only, and turned into its Failure there.
struct Refusal {
  std::string message;
};

[[noreturn]] void refuse(std::string message) { throw Refusal{std::move(message)}; }

// Bytes from outside, fit for a log line or a report: printable ASCII as
// it is, every other byte as \xNN (so no control character and no broken
// UTF-8 reaches a terminal or a JSON writer).
void append_escaped(std::string& out, std::string_view bytes) {
  constexpr std::string_view kHex = "0123456789abcdef";
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// A value from outside, quoted and escaped, cut after 40 bytes.
std::string outside_text(std::string_view value) {
  constexpr std::size_t kShown = 40;
  std::string out = "\"";
  for (const char ch : value.substr(0, kShown)) {
    if (ch == '"' || ch == '\\') out += '\\';
    append_escaped(out, std::string_view(&ch, 1));
  }
  out += '"';
  if (value.size() > kShown) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

// Cuts UTF-8 text to at most `max` bytes (and "..."), between characters.
void cut(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t end = max - 3;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  text += "...";
}

std::string field_label(Field f) { return "field \"" + std::string(kFieldNames[f]) + "\""; }

[[noreturn]] void refuse_field(Field f, std::string_view expected, std::string_view got) {
  refuse(field_label(f) + ": expected " + std::string(expected) + ", got " + outside_text(got));
}

// ---------------------------------------------------------------------------
// Reading: the stream entry's scalar fields.

// Canonical decimal: digits only, no sign, no leading zero (but "0").
std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::uint64_t read_u64(Field f, std::string_view text) {
  const auto v = parse_decimal(text);
  if (!v) refuse_field(f, "a decimal integer from 0 to 18446744073709551615", text);
  return *v;
}

std::uint32_t read_u32(Field f, std::string_view text) {
  const auto v = parse_decimal(text);
  if (!v || *v > std::numeric_limits<std::uint32_t>::max()) refuse_field(f, "a decimal integer from 0 to 4294967295", text);
  return static_cast<std::uint32_t>(*v);
}

runtime::Instant read_deadline(std::string_view text, const WireClock& clock) {
  if (text == kNoDeadline) return runtime::Instant::max();
  const bool negative = !text.empty() && text.front() == '-';
  const auto magnitude = parse_decimal(negative ? text.substr(1) : text);
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!magnitude || *magnitude > kMax + (negative ? 1 : 0) || (negative && *magnitude == 0)) {
    refuse_field(kDeadline, "\"none\" or wire nanoseconds, a decimal integer from -9223372036854775808 to 9223372036854775807",
                 text);
  }
  const std::int64_t ns = negative ? static_cast<std::int64_t>(0 - *magnitude) : static_cast<std::int64_t>(*magnitude);
  return clock.from_wire(ns);
}

// ---------------------------------------------------------------------------
// Reading: the body. A node knows its parent and its name in it, so the
// JSON path of a refused value is built only when it is refused.

using Json = nlohmann::json;

class Node {
 public:
  explicit Node(const Json& value) : value_(&value) {}
  Node(const Json& value, const Node& parent, std::string_view key) : value_(&value), parent_(&parent), key_(key) {}
  Node(const Json& value, const Node& parent, std::size_t index)
      : value_(&value), parent_(&parent), index_(index), is_element_(true) {}

  const Json& value() const noexcept { return *value_; }

  std::string path() const {
    if (parent_ == nullptr) return "$";
    std::string p = parent_->path();
    if (is_element_) return p + "[" + std::to_string(index_) + "]";
    return p + "." + std::string(key_);
  }

  [[noreturn]] void fail(std::string_view expected) const {
    refuse(field_label(kBody) + ": " + path() + ": expected " + std::string(expected) + ", got " + describe());
  }

  // An object whose members are all in `allowed` (the unknown one is named).
  void expect_object(std::initializer_list<std::string_view> allowed) const {
    if (!value_->is_object()) fail("an object");
    for (auto it = value_->begin(); it != value_->end(); ++it) {
      bool known = false;
      for (const auto k : allowed) known = known || k == it.key();
      if (known) continue;
      std::string list;
      for (const auto k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      refuse(field_label(kBody) + ": " + path() + ": unknown member " + outside_text(it.key()) + " (expected one of: " +
             list + ")");
    }
  }
  const Json* find(std::string_view key) const {
    const auto it = value_->find(key);
    return it == value_->end() ? nullptr : &*it;
  }
  // A required member of an object already checked by expect_object.
  const Json& member(std::string_view key) const {
    const Json* v = find(key);
    if (v == nullptr) refuse(field_label(kBody) + ": " + path() + ": missing member \"" + std::string(key) + "\"");
    return *v;
  }

 private:
  std::string describe() const {
    if (value_->is_object()) return "an object";
    if (value_->is_array()) return "an array";
    std::string text = value_->dump(-1, ' ', false, Json::error_handler_t::replace);
    cut(text, 60);
    return text + " (" + value_->type_name() + ")";
  }

  const Json* value_;
  const Node* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_element_ = false;
};

std::uint64_t as_u64(const Node& n) {
  if (!n.value().is_number_unsigned()) n.fail("an integer from 0 to 18446744073709551615");
  return n.value().get<std::uint64_t>();
}

std::uint32_t as_u32(const Node& n) {
  if (!n.value().is_number_unsigned() || n.value().get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
    n.fail("an integer from 0 to 4294967295");
  }
  return static_cast<std::uint32_t>(n.value().get<std::uint64_t>());
}

std::int64_t as_i64(const Node& n) {
  const Json& v = n.value();
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= kMax) return static_cast<std::int64_t>(v.get<std::uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
  n.fail("an integer from -9223372036854775808 to 9223372036854775807");
}

bool as_bool(const Node& n) {
  if (!n.value().is_boolean()) n.fail("true or false");
  return n.value().get<bool>();
}

double as_quality(const Node& n) {
  if (!n.value().is_number()) n.fail("a number from 0 to 1");
  const double q = n.value().get<double>();
  if (!(q >= 0.0 && q <= 1.0)) n.fail("a number from 0 to 1");
  return q;
}

const std::string& as_string(const Node& n, std::string_view expected) {
  if (!n.value().is_string()) n.fail(expected);
  return n.value().get_ref<const std::string&>();
}

std::string as_base64(const Node& n) {
  constexpr std::string_view kExpected = "base64 (RFC 4648: A-Z a-z 0-9 + /, padded with = to a multiple of 4)";
  std::string bytes;
  if (!parse_base64(as_string(n, kExpected), bytes)) n.fail(kExpected);
  return bytes;
}

std::string as_text(const Node& n) {
  constexpr std::string_view kExpected = "a string, or {\"base64\": ...} for bytes that are not UTF-8";
  if (n.value().is_string()) return n.value().get<std::string>();
  if (!n.value().is_object() || n.value().size() != 1 || n.find("base64") == nullptr) n.fail(kExpected);
  return as_base64(Node(n.member("base64"), n, "base64"));
}

ErrorClass as_error_class(const Node& n) {
  constexpr std::string_view kExpected =
      "an error class (transient, timeout, rate_limited, permanent, business, circuit_open, bulkhead_full, "
      "retry_budget_exhausted, deadline_exceeded, conflict, capacity_exceeded)";
  ErrorClass c{};
  if (!resilience::parse_error_class(as_string(n, kExpected), c)) n.fail(kExpected);
  return c;
}

StepStatus as_status(const Node& n) {
  constexpr std::string_view kExpected = "a status (ok, degraded, rejected, needs_review, failed)";
  const std::string& s = as_string(n, kExpected);
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<StepStatus>(i);
  }
  n.fail(kExpected);
}

std::uint8_t as_review_reason(const Node& n) {
  constexpr std::string_view kExpected =
      "a review reason (matching_failed_large_amount, compensation_failed, unreadable_document)";
  const std::string& s = as_string(n, kExpected);
  for (std::size_t i = 0; i < kReviewReasons.size(); ++i) {
    if (to_string(kReviewReasons[i]) == s) return static_cast<std::uint8_t>(i);
  }
  n.fail(kExpected);
}

std::vector<LineItem> as_lines(const Node& n) {
  if (!n.value().is_array()) n.fail("an array of line items");
  std::vector<LineItem> lines;
  lines.reserve(n.value().size());
  for (std::size_t i = 0; i < n.value().size(); ++i) {
    const Node item(n.value()[i], n, i);
    item.expect_object({"description", "quantity", "unit_price_cents"});
    LineItem line;
    line.description = as_text(Node(item.member("description"), item, "description"));
    line.quantity = as_i64(Node(item.member("quantity"), item, "quantity"));
    line.unit_price_cents = as_i64(Node(item.member("unit_price_cents"), item, "unit_price_cents"));
    lines.push_back(std::move(line));
  }
  return lines;
}

// What write_invoice_fields writes.
template <class InvoiceLike>
void read_invoice_fields(const Node& n, InvoiceLike& inv) {
  inv.id = as_u64(Node(n.member("id"), n, "id"));
  inv.vendor = as_text(Node(n.member("vendor"), n, "vendor"));
  inv.po_reference = as_text(Node(n.member("po_reference"), n, "po_reference"));
  inv.currency = as_text(Node(n.member("currency"), n, "currency"));
  inv.lines = as_lines(Node(n.member("lines"), n, "lines"));
  inv.total_cents = as_i64(Node(n.member("total_cents"), n, "total_cents"));
}

std::shared_ptr<const Invoice> as_invoice(const Node& n) {
  n.expect_object({"id", "vendor", "po_reference", "currency", "lines", "total_cents", "scan_quality", "document_base64"});
  auto inv = std::make_shared<Invoice>();
  read_invoice_fields(n, *inv);
  inv->scan_quality = as_quality(Node(n.member("scan_quality"), n, "scan_quality"));
  inv->document = as_base64(Node(n.member("document_base64"), n, "document_base64"));
  return inv;
}

// null is no extraction (before OCR, and in replies of other steps).
std::shared_ptr<const Extraction> as_extraction(const Node& n) {
  if (n.value().is_null()) return nullptr;
  n.expect_object({"text", "fields"});
  auto ex = std::make_shared<Extraction>();
  ex->text = as_text(Node(n.member("text"), n, "text"));
  const Node f(n.member("fields"), n, "fields");
  f.expect_object({"id", "vendor", "po_reference", "currency", "lines", "total_cents", "problems"});
  read_invoice_fields(f, ex->fields);
  ex->fields.problems = as_u32(Node(f.member("problems"), f, "problems"));
  return ex;
}

// Every member is optional, with MatchResult's defaults.
MatchResult as_match(const Node& n) {
  n.expect_object({"po_number", "suggestions", "degraded", "failed", "error"});
  MatchResult m;
  if (const Json* v = n.find("po_number")) m.po_number = as_u64(Node(*v, n, "po_number"));
  if (const Json* v = n.find("suggestions")) {
    const Node list(*v, n, "suggestions");
    if (!v->is_array()) list.fail("an array of PO numbers");
    m.suggestions.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) m.suggestions.push_back(as_u64(Node((*v)[i], list, i)));
  }
  if (const Json* v = n.find("degraded")) m.degraded = as_bool(Node(*v, n, "degraded"));
  if (const Json* v = n.find("failed")) m.failed = as_bool(Node(*v, n, "failed"));
  if (const Json* v = n.find("error")) m.error = as_error_class(Node(*v, n, "error"));
  return m;
}

std::shared_ptr<const WorkItem> as_work(const Node& root) {
  root.expect_object({"invoice", "extraction", "match"});
  auto work = std::make_shared<WorkItem>();
  work->invoice = as_invoice(Node(root.member("invoice"), root, "invoice"));
  work->extraction = as_extraction(Node(root.member("extraction"), root, "extraction"));
  work->match = as_match(Node(root.member("match"), root, "match"));
  return work;
}

std::shared_ptr<const StepReply> as_reply(const Node& root) {
  root.expect_object({"status", "error", "review_reason", "problems", "extraction", "match"});
  auto reply = std::make_shared<StepReply>();
  reply->status = as_status(Node(root.member("status"), root, "status"));
  if (const Json* v = root.find("error")) reply->error = as_error_class(Node(*v, root, "error"));
  if (const Json* v = root.find("review_reason")) reply->review_reason = as_review_reason(Node(*v, root, "review_reason"));
  if (const Json* v = root.find("problems")) reply->problems = as_u32(Node(*v, root, "problems"));
  if (const Json* v = root.find("extraction")) reply->extraction = as_extraction(Node(*v, root, "extraction"));
  if (const Json* v = root.find("match")) reply->match = as_match(Node(*v, root, "match"));
  return reply;
}

Json parse_body(std::string_view body) {
  if (body.size() > kMaxWireBodyBytes) {
    refuse(field_label(kBody) + ": " + std::to_string(body.size()) + " bytes, more than the " +
           std::to_string(kMaxWireBodyBytes) + " a message may have");
  }
  try {
    return runtime::parse_json_text(body, std::string(kFieldNames[kBody]));
  } catch (const runtime::ConfigError& e) {
    // The parser's message quotes what it read, which may be any bytes,
    // and a repeated key is named by its whole path, which may be long.
    std::string path;
    append_escaped(path, e.path());
    cut(path, 160);
    std::string message;
    append_escaped(message, e.message());
    cut(message, 240);
    refuse(field_label(kBody) + ": " + path + ": " + message);
  }
}

Message decode_or_refuse(std::span<const WireFieldView> fields, const WireClock& clock) {
  std::array<std::optional<std::string_view>, kFieldCount> found;
  std::optional<std::string_view> unknown;
  for (const auto& [name, value] : fields) {
    std::size_t f = 0;
    while (f < kFieldCount && kFieldNames[f] != name) ++f;
    if (f == kFieldCount) {
      if (!unknown) unknown = name;
      continue;
    }
    if (found[f]) refuse(field_label(static_cast<Field>(f)) + " appears twice");
    found[f] = value;
  }
  // The version first: a message of another version may differ in anything else.
  if (!found[kV]) {
    refuse("missing field \"v\" (the protocol version; this process speaks version " + std::to_string(kWireVersion) + ")");
  }
  const auto version = parse_decimal(*found[kV]);
  if (!version) refuse_field(kV, "the protocol version, a decimal integer", *found[kV]);
  if (*version != kWireVersion) {
    refuse(field_label(kV) + ": the message speaks protocol version " + std::to_string(*version) +
           "; this process speaks version " + std::to_string(kWireVersion));
  }
  if (unknown) {
    std::string list;
    for (const auto n : kFieldNames) list += (list.empty() ? "" : ", ") + std::string(n);
    refuse("unknown field " + outside_text(*unknown) + " (a message has: " + list + ")");
  }
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    if (!found[f]) refuse("missing field \"" + std::string(kFieldNames[f]) + "\"");
  }

  Message m;
  const std::string_view kind = *found[kKind];
  if (kind != "request" && kind != "undo" && kind != "reply") {
    refuse_field(kKind, "\"request\", \"undo\" or \"reply\"", kind);
  }
  const bool is_reply = kind == "reply";
  const auto topic = topic_from_wire_name(*found[kTopic]);
  if (is_reply && topic != Topic::replies) refuse_field(kTopic, "\"replies\" (the message is a reply)", *found[kTopic]);
  if (!is_reply && (!topic || *topic == Topic::replies)) {
    refuse_field(kTopic, "ocr, validation, matching, accounting or archive (the message is a request)", *found[kTopic]);
  }
  m.topic = *topic;
  m.undo = kind == "undo";
  m.invoice_id = read_u64(kInvoiceId, *found[kInvoiceId]);
  m.request_id = read_u64(kRequestId, *found[kRequestId]);
  m.step = read_u32(kStep, *found[kStep]);
  m.attempt = read_u32(kAttempt, *found[kAttempt]);
  m.deadline = read_deadline(*found[kDeadline], clock);
  const Json body = parse_body(*found[kBody]);
  const Node root(body);
  if (is_reply) {
    m.reply = as_reply(root);
  } else {
    m.work = as_work(root);
  }
  return m;
}

// ---------------------------------------------------------------------------
// Equivalence.

bool same(const ExtractedInvoice& a, const ExtractedInvoice& b) {
  return a.id == b.id && a.vendor == b.vendor && a.po_reference == b.po_reference && a.currency == b.currency &&
         a.lines == b.lines && a.total_cents == b.total_cents && a.problems == b.problems;
}

bool same(const Extraction* a, const Extraction* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->text == b->text && same(a->fields, b->fields);
}

bool same(const Invoice* a, const Invoice* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->id == b->id && a->vendor == b->vendor && a->po_reference == b->po_reference && a->lines == b->lines &&
         a->total_cents == b->total_cents && a->currency == b->currency && a->scan_quality == b->scan_quality &&
         a->document == b->document;
}

bool same(const WorkItem* a, const WorkItem* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return same(a->invoice.get(), b->invoice.get()) && same(a->extraction.get(), b->extraction.get()) &&
         same(a->match, b->match);
}

bool same(const StepReply* a, const StepReply* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->status == b->status && a->error == b->error && a->review_reason == b->review_reason &&
         a->problems == b->problems && same(a->extraction.get(), b->extraction.get()) && same(a->match, b->match);
}

}  // namespace

// ---------------------------------------------------------------------------

std::int64_t WireClock::to_wire(runtime::Instant t) const noexcept {
  std::int64_t out = 0;
  if (__builtin_add_overflow(t.time_since_epoch().count(), offset_ns_, &out)) {
    return offset_ns_ > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  }
  return out;
}

runtime::Instant WireClock::from_wire(std::int64_t wire_ns) const noexcept {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(wire_ns, offset_ns_, &out)) {
    return offset_ns_ < 0 ? runtime::Instant::max() : runtime::Instant::min();
  }
  return runtime::Instant(runtime::Duration(out));
}

std::string_view wire_name(Topic topic) noexcept {
  // to_string(Topic) is "topic/<name>" (the event log's source names).
  std::string_view name = to_string(topic);
  constexpr std::string_view kPrefix = "topic/";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  return name;
}

std::optional<Topic> topic_from_wire_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    if (wire_name(static_cast<Topic>(i)) == name) return static_cast<Topic>(i);
  }
  return std::nullopt;
}

std::string stream_name(Topic topic, std::string_view prefix) {
  std::string out(prefix);
  out += wire_name(topic);
  return out;
}

WireFields encode(const Message& message, const WireClock& clock) {
  const bool is_reply = message.topic == Topic::replies;
  FAULTLINE_ASSERT(static_cast<std::size_t>(message.topic) < kTopicCount);
  if (is_reply) {
    FAULTLINE_ASSERT(message.reply != nullptr);
  } else {
    FAULTLINE_ASSERT(message.work != nullptr);
    FAULTLINE_ASSERT(message.work->invoice != nullptr);
  }
  WireFields out;
  out.reserve(kFieldCount);
  out.emplace_back(kFieldNames[kV], decimal(kWireVersion));
  out.emplace_back(kFieldNames[kKind], is_reply ? "reply" : message.undo ? "undo" : "request");
  out.emplace_back(kFieldNames[kTopic], wire_name(message.topic));
  out.emplace_back(kFieldNames[kInvoiceId], decimal(message.invoice_id));
  out.emplace_back(kFieldNames[kRequestId], decimal(message.request_id));
  out.emplace_back(kFieldNames[kStep], decimal(message.step));
  out.emplace_back(kFieldNames[kAttempt], decimal(message.attempt));
  out.emplace_back(kFieldNames[kDeadline], message.deadline == runtime::Instant::max()
                                               ? std::string(kNoDeadline)
                                               : decimal(clock.to_wire(message.deadline)));
  out.emplace_back(kFieldNames[kBody], is_reply ? reply_body(*message.reply) : request_body(*message.work));
  return out;
}

Outcome<Message> decode(std::span<const WireFieldView> fields, const WireClock& clock) {
  try {
    return decode_or_refuse(fields, clock);
  } catch (Refusal& r) {
    cut(r.message, kMaxRefusalBytes - 6);
    return Failure{ErrorClass::permanent, "wire: " + std::move(r.message)};
  }
}

Outcome<Message> decode(const WireFields& fields, const WireClock& clock) {
  std::vector<WireFieldView> views;
  views.reserve(fields.size());
  for (const auto& [name, value] : fields) views.emplace_back(name, value);
  return decode(std::span<const WireFieldView>(views), clock);
}

bool equivalent(const Message& a, const Message& b) {
  if (a.topic != b.topic || a.invoice_id != b.invoice_id || a.request_id != b.request_id || a.step != b.step ||
      a.attempt != b.attempt || a.undo != b.undo || a.deadline != b.deadline) {
    return false;
  }
  if (a.topic == Topic::replies) return same(a.reply.get(), b.reply.get());
  return same(a.work.get(), b.work.get());
}

std::optional<std::uint64_t> delivery_id_of(std::string_view entry_id) noexcept {
  const auto dash = entry_id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto ms = parse_decimal(entry_id.substr(0, dash));
  const auto seq = parse_decimal(entry_id.substr(dash + 1));
  constexpr std::uint64_t kMsLimit = std::uint64_t{1} << 44;
  constexpr std::uint64_t kSeqLimit = std::uint64_t{1} << 20;
  if (!ms || !seq || *ms >= kMsLimit || *seq >= kSeqLimit || (*ms == 0 && *seq == 0)) return std::nullopt;
  return (*ms << 20) | *seq;
}

std::string entry_id_of(std::uint64_t delivery_id) {
  return decimal(delivery_id >> 20) + "-" + decimal(delivery_id & ((std::uint64_t{1} << 20) - 1));
}

}  // namespace faultline::reference_system
