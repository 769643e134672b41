// The wire codec (reference_system/wire.h): every topic and reply kind
// survives encode and decode with extreme values and arbitrary bytes; a
// foreign or malformed entry is refused with a message naming the field;
// the whole system runs the same on messages that went through the codec;
// the JSON Schemas of protocol/ accept what the codec writes, and what the
// reference agents send, (checked by Debian's python3-jsonschema) and
// refuse a broken message; and the worked example in protocol/README.md is
// what the codec writes today.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reference_system/events.h"
#include "reference_system/system.h"
#include "reference_system/wire.h"
#include "tests/support/source_dir.h"
#include "world/simulation.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

using runtime::Duration;
using runtime::Instant;

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kU32Max = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();

const std::array<Topic, 5> kRequestTopics = {Topic::ocr, Topic::validation, Topic::matching, Topic::accounting,
                                             Topic::archive};

std::string all_bytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

const std::string kInvalidUtf8 = std::string("caf\xc3", 4) + "\xff\xfe" + std::string("\xed\xa0\x80", 3) + "\xc0\xaf";
const std::string kUnicode = "Zoë Ångström 請求書 \xF0\x9F\xA7\xBE";  // and an emoji (U+1F9FE)

Invoice sample_invoice() {
  Invoice inv;
  inv.id = 1042;
  inv.vendor = "V0017 Northwind Freight";
  inv.po_reference = "PO-001042";
  inv.lines = {{"Freight", 2, 125000}, {"Handling", 1, 8050}};
  inv.total_cents = 258050;
  inv.currency = "EUR";
  inv.scan_quality = 0.93;
  inv.document = render_document(inv);
  return inv;
}

std::shared_ptr<const Extraction> extraction_of(const std::string& text) {
  auto ex = std::make_shared<Extraction>();
  ex->text = text;
  ex->fields = parse_document(text);
  return ex;
}

Message request(Topic topic, Invoice invoice, std::shared_ptr<const Extraction> extraction = nullptr,
                MatchResult match = {}) {
  auto work = std::make_shared<WorkItem>();
  work->invoice = std::make_shared<const Invoice>(std::move(invoice));
  work->extraction = std::move(extraction);
  work->match = std::move(match);
  Message m;
  m.topic = topic;
  m.invoice_id = work->invoice->id;
  m.request_id = 7;
  m.step = static_cast<std::uint32_t>(topic);
  m.attempt = 1;
  m.deadline = Instant(std::chrono::hours(1));
  m.work = std::move(work);
  return m;
}

Message reply(StepReply r) {
  Message m;
  m.topic = Topic::replies;
  m.invoice_id = 1042;
  m.request_id = 7;
  m.step = 1;
  m.attempt = 1;
  m.reply = std::make_shared<const StepReply>(std::move(r));
  return m;
}

StepReply with_status(StepStatus status) {
  StepReply r;
  r.status = status;
  return r;
}

// Every kind of message the system sends, plus the extremes of every field.
std::vector<Message> every_kind_of_message() {
  std::vector<Message> all;
  const Invoice inv = sample_invoice();
  const auto ex = extraction_of(inv.document);
  for (const Topic t : kRequestTopics) {
    all.push_back(request(t, inv));
    all.push_back(request(t, inv, ex, MatchResult{42, {}, false, false, ErrorClass::transient}));
    all.push_back(request(t, inv, ex, MatchResult{0, {7, 8, 9}, true, true, ErrorClass::circuit_open}));
    Message undo = request(t, inv, ex, MatchResult{42, {}, false, false, ErrorClass::transient});
    undo.undo = true;
    all.push_back(undo);
  }
  all.push_back(reply(StepReply{}));
  StepReply ocr;
  ocr.extraction = ex;
  all.push_back(reply(ocr));
  StepReply degraded = with_status(StepStatus::degraded);
  degraded.match = MatchResult{0, {1, kU64Max}, true, true, ErrorClass::timeout};
  all.push_back(reply(degraded));
  StepReply matched;
  matched.match.po_number = 1042;
  all.push_back(reply(matched));
  StepReply rejected = with_status(StepStatus::rejected);
  rejected.problems = kTotalMismatch | kBadText;
  all.push_back(reply(rejected));
  for (std::uint8_t r = 0; r < 3; ++r) {
    StepReply review = with_status(StepStatus::needs_review);
    review.review_reason = r;
    all.push_back(reply(review));
  }
  for (std::size_t c = 0; c < resilience::kErrorClassCount; ++c) {
    StepReply failed = with_status(StepStatus::failed);
    failed.error = static_cast<ErrorClass>(c);
    all.push_back(reply(failed));
  }

  // Extremes: numbers at both ends, empty, unicode and invalid UTF-8 text,
  // every byte value in the document and in OCR's text.
  Invoice wild;
  wild.id = kU64Max;
  wild.vendor = kInvalidUtf8;
  wild.po_reference = kUnicode;
  wild.currency = "";
  wild.lines = {{"", kI64Min, kI64Max}, {kInvalidUtf8, -1, 0}, {std::string("nul\0inside", 10), 0, -250}};
  wild.total_cents = -258050;
  wild.scan_quality = 0.0;
  wild.document = all_bytes();
  auto wild_ex = std::make_shared<Extraction>();
  wild_ex->text = all_bytes() + all_bytes();
  wild_ex->fields.id = kU64Max;
  wild_ex->fields.vendor = kUnicode;
  wild_ex->fields.po_reference = kInvalidUtf8;
  wild_ex->fields.currency = "\x01\x1f\"\\";
  wild_ex->fields.lines = {{kUnicode, kI64Max, kI64Min}};
  wild_ex->fields.total_cents = kI64Min;
  wild_ex->fields.problems = kU32Max;
  Message extreme = request(Topic::accounting, wild, wild_ex, MatchResult{kU64Max, {0, kU64Max}, true, false, ErrorClass::capacity_exceeded});
  extreme.invoice_id = kU64Max;
  extreme.request_id = kU64Max;
  extreme.step = kU32Max;
  extreme.attempt = kU32Max;
  extreme.deadline = Instant::min();
  all.push_back(extreme);
  Message zero = request(Topic::ocr, Invoice{});
  zero.invoice_id = 0;
  zero.request_id = 0;
  zero.step = 0;
  zero.attempt = 0;
  zero.deadline = Instant{};
  all.push_back(zero);
  Message no_deadline = request(Topic::validation, wild);
  no_deadline.deadline = Instant::max();
  all.push_back(no_deadline);
  Invoice pristine = inv;
  pristine.scan_quality = 1.0;
  pristine.document.clear();
  Message negative_deadline = request(Topic::matching, pristine);
  negative_deadline.deadline = Instant(Duration(-1));
  all.push_back(negative_deadline);
  StepReply everything = with_status(StepStatus::failed);
  everything.error = ErrorClass::deadline_exceeded;
  everything.review_reason = 2;
  everything.problems = kU32Max;
  everything.extraction = wild_ex;
  everything.match = MatchResult{kU64Max, {kU64Max}, true, true, ErrorClass::conflict};
  Message wild_reply = reply(everything);
  wild_reply.invoice_id = kU64Max;
  wild_reply.deadline = Instant(Duration(kI64Max - 1));
  all.push_back(wild_reply);
  return all;
}

std::string field(const WireFields& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no field " << name;
  return "";
}

void set_field(WireFields& fields, std::string_view name, std::string value) {
  for (auto& [n, v] : fields) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  ADD_FAILURE() << "no field " << name;
}

WireFields without(WireFields fields, std::string_view name) {
  std::erase_if(fields, [&](const auto& f) { return f.first == name; });
  return fields;
}

// The message of a refusal (the test fails when decode accepted).
std::string refusal(const WireFields& fields, const WireClock& clock = {}) {
  const Outcome<Message> m = decode(fields, clock);
  if (m.ok()) {
    ADD_FAILURE() << "decode accepted what it should refuse";
    return "";
  }
  EXPECT_EQ(m.error_class(), ErrorClass::permanent);
  EXPECT_EQ(m.failure().message.rfind("wire: ", 0), 0u) << m.failure().message;
  return m.failure().message;
}

// The request's body with one member changed (a JSON pointer and its new value).
WireFields with_body(const WireFields& fields, const std::string& pointer, const nlohmann::json& value) {
  auto body = nlohmann::json::parse(field(fields, "body"));
  body[nlohmann::json::json_pointer(pointer)] = value;
  WireFields out = fields;
  set_field(out, "body", body.dump());
  return out;
}

WireFields sample_request_fields() {
  const Invoice inv = sample_invoice();
  return encode(request(Topic::validation, inv, extraction_of(inv.document)), {});
}

// ---------------------------------------------------------------------------

TEST(Wire, EveryKindOfMessageSurvivesARoundTrip) {
  const auto messages = every_kind_of_message();
  ASSERT_GE(messages.size(), 30u);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const WireFields fields = encode(messages[i], {});
    const Outcome<Message> back = decode(fields, {});
    ASSERT_TRUE(back.ok()) << "message " << i << ": " << back.failure().message;
    EXPECT_TRUE(equivalent(messages[i], back.value())) << "message " << i << ": " << field(fields, "body");
    EXPECT_EQ(encode(back.value(), {}), fields) << "message " << i << " encodes differently the second time";
  }
}

TEST(Wire, EquivalenceSeesEveryField) {
  // A round trip proves nothing if `equivalent` cannot tell messages apart.
  const Message base = every_kind_of_message()[1];
  Message other = base;
  other.attempt += 1;
  EXPECT_FALSE(equivalent(base, other));
  auto work = std::make_shared<WorkItem>(*base.work);
  auto ex = std::make_shared<Extraction>(*work->extraction);
  ex->fields.lines[1].unit_price_cents += 1;
  work->extraction = ex;
  other = base;
  other.work = work;
  EXPECT_FALSE(equivalent(base, other));
  auto inv = std::make_shared<Invoice>(*base.work->invoice);
  inv->document.back() ^= 1;
  work = std::make_shared<WorkItem>(*base.work);
  work->invoice = inv;
  other.work = work;
  EXPECT_FALSE(equivalent(base, other));
  other = base;
  other.delivery_id = 99;  // the bus's own: not on the wire
  EXPECT_TRUE(equivalent(base, other));
}

TEST(Wire, TheEntryHasItsFieldsInOrderAndNoDeadlineIsNone) {
  Message m = request(Topic::matching, sample_invoice());
  m.deadline = Instant::max();
  const WireFields fields = encode(m, {});
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.first);
  EXPECT_EQ(names, (std::vector<std::string>{"v", "kind", "topic", "invoice_id", "request_id", "step", "attempt",
                                             "deadline", "body"}));
  EXPECT_EQ(field(fields, "v"), std::to_string(kWireVersion));
  EXPECT_EQ(field(fields, "kind"), "request");
  EXPECT_EQ(field(fields, "topic"), "matching");
  EXPECT_EQ(field(fields, "deadline"), "none");
  EXPECT_EQ(decode(fields, {}).value().deadline, Instant::max());
}

TEST(Wire, BytesThatAreNotUtf8TravelAsBase64AndTheDocumentAlways) {
  Invoice inv = sample_invoice();
  inv.vendor = kInvalidUtf8;
  inv.document = all_bytes();
  const auto body = nlohmann::json::parse(field(encode(request(Topic::ocr, inv), {}), "body"));
  EXPECT_TRUE(body["invoice"]["vendor"].is_object()) << body["invoice"]["vendor"];
  EXPECT_EQ(body["invoice"]["vendor"]["base64"], "Y2Fmw//+7aCAwK8=");
  EXPECT_EQ(body["invoice"]["po_reference"], "PO-001042");
  const std::string b64 = body["invoice"]["document_base64"];
  EXPECT_EQ(b64.size(), 344u);
  EXPECT_EQ(b64.substr(0, 8), "AAECAwQF");
  EXPECT_EQ(b64.substr(b64.size() - 8), "/P3+/w==");
}

TEST(Wire, AReplySaysWhatItsStatusMeansAndLittleElse) {
  EXPECT_EQ(field(encode(reply(StepReply{}), {}), "body"), R"({"status":"ok"})");
  StepReply failed = with_status(StepStatus::failed);
  EXPECT_EQ(field(encode(reply(failed), {}), "body"), R"({"status":"failed","error":"transient"})");
  StepReply review = with_status(StepStatus::needs_review);
  EXPECT_EQ(field(encode(reply(review), {}), "body"),
            R"({"status":"needs_review","review_reason":"matching_failed_large_amount"})");
  StepReply rejected = with_status(StepStatus::rejected);
  rejected.problems = kNoHeader;
  EXPECT_EQ(field(encode(reply(rejected), {}), "body"), R"({"status":"rejected","problems":1})");
}

TEST(Wire, AForeignReplyMayLeaveOutWhatItsStatusDoesNotNeed) {
  WireFields fields = encode(reply(StepReply{}), {});
  set_field(fields, "body", R"({"status":"degraded","match":{"degraded":true,"suggestions":[5]}})");
  const Outcome<Message> m = decode(fields, {});
  ASSERT_TRUE(m.ok()) << m.failure().message;
  EXPECT_EQ(m->reply->status, StepStatus::degraded);
  EXPECT_TRUE(m->reply->match.degraded);
  EXPECT_EQ(m->reply->match.suggestions, std::vector<std::uint64_t>{5});
  EXPECT_EQ(m->reply->match.po_number, 0u);
  EXPECT_EQ(m->reply->error, ErrorClass::transient);
  EXPECT_EQ(m->reply->extraction, nullptr);
}

TEST(Wire, DeadlinesCrossProcessesOnTheSharedClock) {
  // This process's runtime started 5 s into the scenario; another one 7 s in.
  const WireClock here(std::chrono::seconds(5));
  const WireClock there(std::chrono::seconds(7));
  Message m = request(Topic::ocr, sample_invoice());
  m.deadline = Instant(std::chrono::seconds(60));
  const WireFields fields = encode(m, here);
  EXPECT_EQ(field(fields, "deadline"), "65000000000");
  EXPECT_EQ(decode(fields, there).value().deadline, Instant(std::chrono::seconds(58)));
  EXPECT_EQ(decode(fields, here).value().deadline, m.deadline);
  // No deadline stays none whatever the clocks.
  m.deadline = Instant::max();
  EXPECT_EQ(decode(encode(m, here), there).value().deadline, Instant::max());
}

TEST(Wire, TheClockSaturatesInsteadOfWrapping) {
  const WireClock late(Duration(kI64Max / 2));
  EXPECT_EQ(late.to_wire(Instant(Duration(kI64Max - 1))), kI64Max);
  EXPECT_EQ(late.from_wire(kI64Min), Instant::min());
  const WireClock early(Duration(kI64Min / 2));
  EXPECT_EQ(early.to_wire(Instant::min()), kI64Min);
  EXPECT_EQ(early.from_wire(kI64Max), Instant::max());
  EXPECT_EQ(WireClock{}.from_wire(123), Instant(Duration(123)));
}

TEST(Wire, StreamEntryIdsMapToDeliveryIdsAndBack) {
  for (const std::string id : {"1700000000000-0", "1700000000000-5", "0-1", "17592186044415-1048575"}) {
    const auto d = delivery_id_of(id);
    ASSERT_TRUE(d.has_value()) << id;
    EXPECT_NE(*d, 0u);
    EXPECT_EQ(entry_id_of(*d), id);
  }
  EXPECT_LT(*delivery_id_of("1700000000000-5"), *delivery_id_of("1700000000000-6"));
  EXPECT_LT(*delivery_id_of("1700000000000-1048575"), *delivery_id_of("1700000000001-0"));
  for (const std::string bad : {"0-0", "", "-", "17", "1-", "-1", "a-1", "1-1-1", "17592186044416-0", "1-1048576",
                                "01-1", "1 -1"}) {
    EXPECT_FALSE(delivery_id_of(bad).has_value()) << bad;
  }
}

TEST(Wire, StreamsAreNamedByTopic) {
  EXPECT_EQ(stream_name(Topic::ocr), "faultline:ocr");
  EXPECT_EQ(stream_name(Topic::replies), "faultline:replies");
  EXPECT_EQ(stream_name(Topic::archive, "staging:"), "staging:archive");
  for (std::size_t t = 0; t < kTopicCount; ++t) {
    EXPECT_EQ(topic_from_wire_name(wire_name(static_cast<Topic>(t))), static_cast<Topic>(t));
  }
  EXPECT_FALSE(topic_from_wire_name("topic/ocr").has_value());
}

// ---------------------------------------------------------------------------
// Refusals.

TEST(WireRefusal, EveryMissingFieldIsNamed) {
  const WireFields fields = sample_request_fields();
  for (const auto& [name, value] : fields) {
    const std::string why = refusal(without(fields, name));
    EXPECT_NE(why.find("missing field \"" + name + "\""), std::string::npos) << why;
  }
}

TEST(WireRefusal, AnotherVersionIsRefusedSayingBoth) {
  WireFields fields = sample_request_fields();
  set_field(fields, "v", "2");
  fields.emplace_back("trace", "abc");  // what a version 2 may add: the version speaks first
  EXPECT_EQ(refusal(fields), "wire: field \"v\": the message speaks protocol version 2; this process speaks version 1");
  set_field(fields, "v", "one");
  EXPECT_NE(refusal(fields).find("field \"v\": expected the protocol version"), std::string::npos);
}

TEST(WireRefusal, UnknownAndRepeatedFieldsAreNamed) {
  WireFields fields = sample_request_fields();
  fields.emplace_back("trace\x01", "abc");
  EXPECT_NE(refusal(fields).find("unknown field \"trace\\x01\""), std::string::npos) << refusal(fields);
  fields = sample_request_fields();
  fields.emplace_back("attempt", "2");
  EXPECT_EQ(refusal(fields), "wire: field \"attempt\" appears twice");
}

TEST(WireRefusal, ScalarFieldsMustBeCanonicalDecimals) {
  const struct {
    const char* name;
    const char* value;
    const char* expected;
  } cases[] = {
      {"invoice_id", "-1", "field \"invoice_id\": expected a decimal integer from 0 to 18446744073709551615, got \"-1\""},
      {"invoice_id", "18446744073709551616", "field \"invoice_id\": expected a decimal integer"},
      {"request_id", "007", "field \"request_id\": expected a decimal integer"},
      {"request_id", "", "field \"request_id\": expected a decimal integer"},
      {"step", "4294967296", "field \"step\": expected a decimal integer from 0 to 4294967295"},
      {"attempt", "1.0", "field \"attempt\": expected a decimal integer"},
      {"attempt", " 1", "field \"attempt\": expected a decimal integer"},
      {"deadline", "-0", "field \"deadline\": expected \"none\" or wire nanoseconds"},
      {"deadline", "9223372036854775808", "field \"deadline\": expected \"none\" or wire nanoseconds"},
      {"deadline", "never", "field \"deadline\": expected \"none\" or wire nanoseconds"},
      {"kind", "command", "field \"kind\": expected \"request\", \"undo\" or \"reply\", got \"command\""},
      {"topic", "billing", "field \"topic\": expected ocr, validation, matching, accounting or archive"},
      {"topic", "replies", "field \"topic\": expected ocr, validation, matching, accounting or archive"},
  };
  for (const auto& c : cases) {
    WireFields fields = sample_request_fields();
    set_field(fields, c.name, c.value);
    const std::string why = refusal(fields);
    EXPECT_NE(why.find(c.expected), std::string::npos) << c.name << "=" << c.value << ": " << why;
  }
  WireFields fields = sample_request_fields();
  set_field(fields, "deadline", "-9223372036854775808");
  EXPECT_EQ(decode(fields, {}).value().deadline, Instant::min());
}

TEST(WireRefusal, AReplyMustGoToReplies) {
  WireFields fields = encode(reply(StepReply{}), {});
  set_field(fields, "topic", "ocr");
  EXPECT_NE(refusal(fields).find("field \"topic\": expected \"replies\" (the message is a reply), got \"ocr\""),
            std::string::npos);
  // And a request body under kind reply is refused by the reply's rules.
  fields = sample_request_fields();
  set_field(fields, "kind", "reply");
  set_field(fields, "topic", "replies");
  EXPECT_NE(refusal(fields).find("field \"body\": $: unknown member \"invoice\""), std::string::npos)
      << refusal(fields);
}

TEST(WireRefusal, BodyMembersOfTheWrongTypeAreNamedByTheirPath) {
  const WireFields fields = sample_request_fields();
  const struct {
    const char* pointer;
    nlohmann::json value;
    const char* expected;
  } cases[] = {
      {"/invoice/id", "1042", "$.invoice.id: expected an integer from 0 to 18446744073709551615, got \"1042\" (string)"},
      {"/invoice/id", -1, "$.invoice.id: expected an integer from 0 to 18446744073709551615, got -1"},
      {"/invoice/id", 1042.0, "$.invoice.id: expected an integer from 0 to 18446744073709551615, got 1042.0"},
      {"/invoice/total_cents", 9223372036854775808ull, "$.invoice.total_cents: expected an integer from -9223372036854775808"},
      {"/invoice/lines/1/quantity", true, "$.invoice.lines[1].quantity: expected an integer"},
      {"/invoice/lines", nlohmann::json::object(), "$.invoice.lines: expected an array of line items, got an object"},
      {"/invoice/lines/0", 5, "$.invoice.lines[0]: expected an object"},
      {"/invoice/vendor", 5, "$.invoice.vendor: expected a string, or {\"base64\": ...}"},
      {"/invoice/vendor", {{"base64", "QQ=="}, {"utf8", "A"}}, "$.invoice.vendor: expected a string, or {\"base64\""},
      {"/invoice/scan_quality", 1.5, "$.invoice.scan_quality: expected a number from 0 to 1, got 1.5"},
      {"/invoice/scan_quality", "0.5", "$.invoice.scan_quality: expected a number from 0 to 1"},
      {"/extraction/fields/problems", 4294967296ull, "$.extraction.fields.problems: expected an integer from 0 to 4294967295"},
      {"/extraction", "none", "$.extraction: expected an object"},
      {"/match/error", "flaky", "$.match.error: expected an error class (transient, timeout"},
      {"/match/degraded", 1, "$.match.degraded: expected true or false, got 1"},
      {"/match/suggestions/0", -5, "$.match.suggestions[0]: expected an integer from 0"},
      {"/match/suggestions", 5, "$.match.suggestions: expected an array of PO numbers"},
      {"/invoice/colour", "blue", "$.invoice: unknown member \"colour\""},
  };
  for (const auto& c : cases) {
    const std::string why = refusal(with_body(fields, c.pointer, c.value));
    EXPECT_NE(why.find(std::string("wire: field \"body\": ") + c.expected), std::string::npos)
        << c.pointer << ": " << why;
  }
  auto body = nlohmann::json::parse(field(fields, "body"));
  body["invoice"].erase("currency");
  WireFields missing = fields;
  set_field(missing, "body", body.dump());
  EXPECT_NE(refusal(missing).find("field \"body\": $.invoice: missing member \"currency\""), std::string::npos);
}

TEST(WireRefusal, ReplyMembersAreCheckedToo) {
  WireFields fields = encode(reply(StepReply{}), {});
  const struct {
    const char* body;
    const char* expected;
  } cases[] = {
      {R"({})", "$: missing member \"status\""},
      {R"({"status":"done"})", "$.status: expected a status (ok, degraded, rejected, needs_review, failed)"},
      {R"({"status":"needs_review","review_reason":"unsure"})", "$.review_reason: expected a review reason"},
      {R"({"status":"failed","error":3})", "$.error: expected an error class"},
      {R"({"status":"ok","extraction":{"text":"x"}})", "$.extraction: missing member \"fields\""},
      {R"([1,2])", "$: expected an object, got an array"},
      {R"("ok")", "$: expected an object"},
  };
  for (const auto& c : cases) {
    set_field(fields, "body", c.body);
    const std::string why = refusal(fields);
    EXPECT_NE(why.find(std::string("field \"body\": ") + c.expected), std::string::npos) << c.body << ": " << why;
  }
}

TEST(WireRefusal, BadBase64IsRefused) {
  const WireFields fields = sample_request_fields();
  for (const char* bad : {"QQ", "QQ=", "Q===", "QR==", "QUI=QUI=", "QU I", "QUJD\n", "QUJ-", "QUJ_", "\xc3\xa9QUI"}) {
    const std::string why = refusal(with_body(fields, "/invoice/document_base64", bad));
    EXPECT_NE(why.find("field \"body\": $.invoice.document_base64: expected base64 (RFC 4648"), std::string::npos)
        << bad << ": " << why;
  }
  const std::string why = refusal(with_body(fields, "/extraction/text", {{"base64", "a"}}));
  EXPECT_NE(why.find("$.extraction.text.base64: expected base64"), std::string::npos) << why;
  // And good base64 in the object form is read, even for valid UTF-8.
  const Outcome<Message> m = decode(with_body(fields, "/extraction/text", {{"base64", "SGk="}}), {});
  ASSERT_TRUE(m.ok()) << m.failure().message;
  EXPECT_EQ(m->work->extraction->text, "Hi");
}

TEST(WireRefusal, BodiesThatAreNotJsonOrTooDeepOrRepeatKeysAreRefused) {
  WireFields fields = sample_request_fields();
  set_field(fields, "body", "{\"invoice\": ");
  EXPECT_NE(refusal(fields).find("field \"body\": line 1, column 13: invalid JSON"), std::string::npos)
      << refusal(fields);
  set_field(fields, "body", std::string(100, '[') + std::string(100, ']'));
  EXPECT_NE(refusal(fields).find("field \"body\": line 1, column 65: JSON nested deeper than 64 levels"),
            std::string::npos)
      << refusal(fields);
  const std::string body = field(sample_request_fields(), "body");
  set_field(fields, "body", "{\"match\":{}," + body.substr(1));
  EXPECT_NE(refusal(fields).find("field \"body\": $.match: duplicate key \"match\""), std::string::npos)
      << refusal(fields);
  set_field(fields, "body", "{\"invoice\":\"caf\xc3\"}");
  EXPECT_NE(refusal(fields).find("field \"body\": line 1, column"), std::string::npos) << refusal(fields);
  set_field(fields, "body", std::string(kMaxWireBodyBytes + 1, ' '));
  EXPECT_NE(refusal(fields).find("field \"body\": 1048577 bytes, more than the 1048576 a message may have"),
            std::string::npos);
}

TEST(WireRefusal, ForeignBytesInARefusalAreEscapedAndCut) {
  WireFields fields = sample_request_fields();
  set_field(fields, "topic", std::string("\x1b[31mred\n", 9) + std::string(100, 'x'));
  std::string why = refusal(fields);
  EXPECT_NE(why.find("got \"\\x1b[31mred\\x0axxx"), std::string::npos) << why;
  EXPECT_NE(why.find("... (109 bytes)"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);

  // The JSON parser's messages quote what it read, and name a repeated
  // key by its whole path: both escaped and cut as well.
  auto printable_and_short = [](const std::string& text) {
    EXPECT_LE(text.size(), 512u) << text;
    for (const char c : text) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << text;
  };
  fields = sample_request_fields();
  set_field(fields, "body", "{\"a\":\"\xff\x1b");
  why = refusal(fields);
  printable_and_short(why);
  EXPECT_NE(why.find("\\xff"), std::string::npos) << why;
  set_field(fields, "body", "{\"" + std::string(5000, 'k') + "\\u001b\":{\"a\":1,\"a\":2}}");
  why = refusal(fields);
  printable_and_short(why);
  EXPECT_NE(why.find("...: duplicate key \"a\""), std::string::npos) << why;
}

// ---------------------------------------------------------------------------
// The system on the wire: every message published goes through encode and
// decode, and the agents and the orchestrator work on what decode gave.

class WireBus final : public MessageBus {
 public:
  explicit WireBus(std::shared_ptr<MessageBus> inner) : inner_(std::move(inner)) {}

  [[nodiscard]] bool publish(Message message) override {
    const WireFields fields = encode(message, clock_);
    Outcome<Message> back = decode(fields, clock_);
    if (!back.ok() || !equivalent(message, back.value())) {
      if (problems_.empty()) problems_ = back.ok() ? "not equivalent: " + fields.back().second : back.failure().message;
      ++mismatches_;
      return inner_->publish(std::move(message));
    }
    keep_sample(fields, back.value());
    ++carried_;
    return inner_->publish(std::move(back).value());
  }
  Task<std::optional<Message>> receive(Topic topic) override { return inner_->receive(topic); }
  void ack(Topic topic, std::uint64_t delivery_id) override { inner_->ack(topic, delivery_id); }
  std::size_t reclaim(Topic topic) override { return inner_->reclaim(topic); }
  std::size_t depth(Topic topic) const override { return inner_->depth(topic); }
  std::size_t pending(Topic topic) const override { return inner_->pending(topic); }
  void close() override { inner_->close(); }

  std::uint64_t carried() const noexcept { return carried_; }
  std::uint64_t mismatches() const noexcept { return mismatches_; }
  const std::string& first_problem() const noexcept { return problems_; }
  // A few entries of every kind seen: topic, reply status, which parts a
  // request carries, and whether some text had to travel as base64.
  const std::map<std::string, std::vector<WireFields>>& samples() const noexcept { return samples_; }

 private:
  void keep_sample(const WireFields& fields, const Message& m) {
    std::string kind(wire_name(m.topic));
    if (m.reply) {
      kind += "/" + nlohmann::json::parse(fields.back().second)["status"].get<std::string>();
      kind += m.reply->extraction ? "/extraction" : "";
      kind += m.reply->match.degraded ? "/degraded" : m.reply->match.po_number != 0 ? "/matched" : "";
    } else {
      kind += m.work->extraction ? "/extraction" : "";
      kind += m.work->match.degraded ? "/degraded" : "";
    }
    kind += fields.back().second.find("\"base64\"") != std::string::npos ? "/base64-text" : "";
    auto& kept = samples_[kind];
    if (kept.size() < 3) kept.push_back(fields);
  }

  std::shared_ptr<MessageBus> inner_;
  WireClock clock_;
  std::uint64_t carried_ = 0;
  std::uint64_t mismatches_ = 0;
  std::string problems_;
  std::map<std::string, std::vector<WireFields>> samples_;
};

Policy policy_file(std::string_view name) {
  Policy p = load_policy(test_support::source_path("scenarios/policies/" + std::string(name)));
  p.checkpoints = CheckpointStoreKind::memory;  // tests run side by side
  return p;
}

SimulationConfig wire_config(std::string_view policy, std::string_view world) {
  SimulationConfig config;
  config.invoices = 1'000;
  config.seed = 11;
  config.archive_stage = true;
  config.policy = policy_file(policy);
  config.world = load_world_model(test_support::source_path("scenarios/models/" + std::string(world)));
  return config;
}

std::shared_ptr<WireBus> wire_bus;  // the last run_on_the_wire's

SimulationResult run_on_the_wire(const SimulationConfig& config) {
  return run_simulation(config, [](SystemBuilder& b) {
    wire_bus = std::make_shared<WireBus>(b.ports().bus);
    b.ports().bus = wire_bus;
  });
}

TEST(WireSystem, TheSystemRunsTheSameOnDecodedMessages) {
  // Decoded messages carry everything the receivers read: the run's event
  // log, outcomes and ledger are those of the run that never left memory.
  for (const auto* policy : {"naive.json", "recommended.json"}) {
    for (const auto* world : {"baseline.json", "case_study.json"}) {
      SCOPED_TRACE(std::string(policy) + " in " + world);
      const SimulationConfig config = wire_config(policy, world);
      const SimulationResult plain = run_simulation(config);
      const SimulationResult wired = run_on_the_wire(config);
      EXPECT_EQ(wire_bus->mismatches(), 0u) << wire_bus->first_problem();
      EXPECT_GT(wire_bus->carried(), 8 * config.invoices / 2);
      EXPECT_EQ(wired.log_digest, plain.log_digest);
      EXPECT_EQ(wired.events, plain.events);
      EXPECT_EQ(wired.ledger_digest, plain.ledger_digest);
      for (std::size_t o = 0; o < kOutcomeCount; ++o) {
        EXPECT_EQ(wired.outcome(static_cast<InvoiceOutcome>(o)), plain.outcome(static_cast<InvoiceOutcome>(o)));
      }
      EXPECT_EQ(wired.unfinished, 0u);
    }
  }
}

// ---------------------------------------------------------------------------
// The schemas, checked by python3-jsonschema.

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run(const std::string& command, const std::filesystem::path& dir) {
  const auto out = dir / "command.out";
  const int status = std::system((command + " >" + out.string() + " 2>&1").c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

nlohmann::json entry_as_json(const WireFields& fields) {
  nlohmann::json entry = nlohmann::json::object();
  for (const auto& [name, value] : fields) entry[name] = value;
  return entry;
}

class WireSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("faultline-wire-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    const CommandResult probe = run(std::string(kPython) + " -c 'import jsonschema'", dir_);
    ASSERT_EQ(probe.exit_code, 0) << kPython << " cannot import jsonschema: install the Debian package "
                                  << "python3-jsonschema (scripts/test installs it)\n" << probe.output;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs the checker on `entries` (a JSON array of stream entries).
  CommandResult check(const nlohmann::json& entries) {
    const auto file = dir_ / "entries.json";
    std::ofstream(file) << entries.dump(1);
    const auto root = test_support::source_dir();
    return run(std::string(kPython) + " " + (root / "tests/reference_system/check_wire_schema.py").string() + " " +
                   (root / "protocol").string() + " " + file.string(),
               dir_);
  }

  static constexpr const char* kPython = "/usr/bin/python3";
  std::filesystem::path dir_;
};

TEST_F(WireSchema, AcceptsEveryMessageTheCodecWrites) {
  nlohmann::json entries = nlohmann::json::array();
  for (const Message& m : every_kind_of_message()) entries.push_back(entry_as_json(encode(m, {})));
  const CommandResult r = check(entries);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(std::to_string(entries.size()) + " entries valid"), std::string::npos) << r.output;
}

TEST_F(WireSchema, AcceptsWhatTheReferenceAgentsSend) {
  // Samples of every kind of entry four runs send (both policies, both
  // worlds): every role's requests, and replies of every status. (Text
  // that is not UTF-8 comes from the harness's corrupted_input fault, not
  // from the workload; the codec's own messages above cover it.)
  std::set<std::string> kinds;
  nlohmann::json entries = nlohmann::json::array();
  for (const auto* policy : {"naive.json", "recommended.json"}) {
    for (const auto* world : {"baseline.json", "case_study.json"}) {
      (void)run_on_the_wire(wire_config(policy, world));
      ASSERT_EQ(wire_bus->mismatches(), 0u) << wire_bus->first_problem();
      for (const auto& [kind, kept] : wire_bus->samples()) {
        kinds.insert(kind);
        for (const auto& fields : kept) entries.push_back(entry_as_json(fields));
      }
    }
  }
  std::string seen;
  for (const auto& kind : kinds) seen += kind + " ";
  for (const char* kind : {"ocr ", "validation/extraction ", "matching/extraction ", "accounting/extraction",
                           "archive/extraction", "replies/ok/extraction ", "replies/ok ", "replies/rejected",
                           "replies/degraded/degraded", "replies/ok/matched", "replies/failed",
                           "replies/needs_review"}) {
    EXPECT_NE(seen.find(kind), std::string::npos) << kind << " not among the kinds sent: " << seen;
  }
  const CommandResult r = check(entries);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(std::to_string(entries.size()) + " entries valid"), std::string::npos) << r.output;
}

TEST_F(WireSchema, RefusesBrokenMessages) {
  const WireFields good = sample_request_fields();
  nlohmann::json broken = nlohmann::json::array();
  broken.push_back(entry_as_json(with_body(good, "/invoice/id", "1042")));
  WireFields bad_topic = good;
  set_field(bad_topic, "topic", "billing");
  broken.push_back(entry_as_json(bad_topic));
  broken.push_back(entry_as_json(with_body(good, "/invoice/document_base64", "QQ=")));
  broken.push_back(entry_as_json(without(good, "attempt")));
  WireFields failed_reply = encode(reply(with_status(StepStatus::failed)), {});
  set_field(failed_reply, "body", R"({"status":"failed","error":"flaky"})");
  broken.push_back(entry_as_json(failed_reply));
  const CommandResult r = check(broken);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (const char* where : {"[0] body: invoice/id", "[1] entry: topic", "[2] body: invoice/document_base64",
                            "[3] entry: $:", "[4] body: error"}) {
    EXPECT_NE(r.output.find(where), std::string::npos) << where << " not in:\n" << r.output;
  }
  // Every one of them is refused by the codec too.
  for (const auto& entry : broken) {
    WireFields fields;
    for (auto it = entry.begin(); it != entry.end(); ++it) fields.emplace_back(it.key(), it.value().get<std::string>());
    EXPECT_FALSE(decode(fields, {}).ok()) << entry.dump();
  }
}

TEST_F(WireSchema, RequestAndReplyShareTheirCommonDefinitions) {
  // Each schema file stands alone for a team's validator; what they share
  // must not drift apart.
  const auto root = test_support::source_dir();
  const auto request_schema = nlohmann::json::parse(std::ifstream(root / "protocol/request.schema.json"));
  const auto reply_schema = nlohmann::json::parse(std::ifstream(root / "protocol/reply.schema.json"));
  std::size_t shared = 0;
  for (const auto& [name, def] : reply_schema["$defs"].items()) {
    if (name == "body") continue;
    ASSERT_TRUE(request_schema["$defs"].contains(name)) << name;
    EXPECT_EQ(request_schema["$defs"][name], def) << name << " differs between request and reply";
    ++shared;
  }
  EXPECT_GE(shared, 8u);
  EXPECT_EQ(request_schema["properties"]["v"]["const"], std::to_string(kWireVersion));
  EXPECT_EQ(reply_schema["properties"]["v"]["const"], std::to_string(kWireVersion));
}

// ---------------------------------------------------------------------------
// The worked example of protocol/README.md.

// One request to the validation agent, as the orchestrator sends it after
// OCR, and the validation agent's answer; then what a process of another
// version hears.
std::string worked_example() {
  const Invoice inv = sample_invoice();
  Message req = request(Topic::validation, inv, extraction_of(inv.document));
  req.request_id = 2;
  req.step = 1;
  req.deadline = Instant(std::chrono::minutes(10));
  const WireClock clock(std::chrono::seconds(30));  // this process started 30 s into the scenario
  StepReply answer;
  answer.problems = validate(req.work->extracted(), req.invoice_id);
  answer.status = answer.problems == 0 ? StepStatus::ok : StepStatus::rejected;
  Message rep = reply(answer);
  rep.request_id = req.request_id;
  rep.step = req.step;
  rep.attempt = req.attempt;

  auto show = [](const WireFields& fields, std::string_view stream) {
    std::string out = "```text\nXADD " + std::string(stream) + " *\n";
    for (const auto& [name, value] : fields) {
      std::string padded = "  " + name;
      padded.resize(14, ' ');
      out += padded + (name == "body" ? "<the JSON below, on one line>" : value) + "\n";
    }
    out += "```\n\n```json\n";
    out += nlohmann::ordered_json::parse(fields.back().second).dump(2) + "\n```\n";
    return out;
  };
  WireFields v2 = encode(req, clock);
  set_field(v2, "v", "2");
  return "The request (`deadline` is 10 minutes into the orchestrator's runtime, which started 30 s\n"
         "into the scenario):\n\n" +
         show(encode(req, clock), stream_name(Topic::validation)) + "\nThe reply:\n\n" +
         show(encode(rep, clock), stream_name(Topic::replies)) +
         "\nThe same request with `v` set to 2, as a process of version 1 refuses it:\n\n```text\n" +
         decode(v2, clock).failure().message + "\n```\n";
}

TEST(WireReadme, TheWorkedExampleIsWhatTheCodecWrites) {
  const auto path = test_support::source_dir() / "protocol/README.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  constexpr std::string_view kBegin = "<!-- BEGIN worked example: generated by tests/reference_system/wire_test.cpp -->\n";
  constexpr std::string_view kEnd = "<!-- END worked example -->";
  const auto begin = readme.find(kBegin);
  const auto end = readme.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "protocol/README.md has no line " << kBegin;
  ASSERT_NE(end, std::string::npos) << "protocol/README.md has no line " << kEnd;
  const std::string shown = readme.substr(begin + kBegin.size(), end - begin - kBegin.size());
  const std::string expected = worked_example();
  EXPECT_EQ(shown, expected) << "protocol/README.md's worked example differs from what the codec writes; "
                                "the block between the markers should read:\n"
                             << expected;
}

TEST(WireReadme, TheWorkedExampleDecodes) {
  // The example shows real messages: both parse back, and the reply is the
  // validation agent's verdict on a valid invoice.
  const std::string example = worked_example();
  EXPECT_NE(example.find("\"status\": \"ok\""), std::string::npos) << example;
  EXPECT_NE(example.find("wire: field \"v\": the message speaks protocol version 2"), std::string::npos);
}

}  // namespace
}  // namespace faultline::reference_system
