// The wire form of a bus Message (ports.h): a request or a reply written as
// the field/value pairs of one Redis Stream entry, and read back. This is
// the seam where a process in any language can stand in for an agent, so a
// message that did not come from this codec is expected: decode refuses
// anything foreign or malformed with a message naming the field and what
// was expected, and never asserts on its input. The protocol (streams,
// fields, acks, redelivery) is protocol/README.md; the JSON Schemas beside
// it describe the same entries.
//
//   WireFields entry = encode(request, clock);          // XADD faultline:ocr * v 1 kind request ...
//   Outcome<Message> back = decode(entry, clock);       // from XREADGROUP
//   if (!back) log(back.failure().message);             // wire: field "attempt": expected ...
//
// Deadlines cross processes as scenario-clock nanoseconds since an epoch all
// processes share; WireClock maps this process's runtime clock onto it.
// decode(encode(m)) is equivalent(m) for every Message encode accepts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reference_system/ports.h"
#include "runtime/time.h"

namespace faultline::reference_system {

// The protocol version this build speaks (field `v`). A message of another
// version is refused, naming both.
inline constexpr std::uint32_t kWireVersion = 1;

// The largest `body` decode reads; larger ones are refused. An invoice's
// document is at most kMaxDocumentBytes for the OCR parser, so real bodies
// stay far below. encode does not check it: a bus refuses (and counts) an
// entry whose body is larger before it publishes.
inline constexpr std::size_t kMaxWireBodyBytes = 1024 * 1024;

// Maps runtime Instants to wire deadlines and back. A process's runtime
// clock reads zero at some point of the shared scenario clock; that point,
// in wire nanoseconds, is `runtime_zero_on_wire` (zero for the sim and
// tests, where the two clocks are the same). Both directions saturate at
// the ends of the int64 range instead of wrapping.
class WireClock {
 public:
  constexpr WireClock() noexcept = default;
  constexpr explicit WireClock(runtime::Duration runtime_zero_on_wire) noexcept
      : offset_ns_(runtime_zero_on_wire.count()) {}

  std::int64_t to_wire(runtime::Instant t) const noexcept;
  runtime::Instant from_wire(std::int64_t wire_ns) const noexcept;

 private:
  std::int64_t offset_ns_ = 0;
};

// The stream entry's fields, in the order encode writes them: v, kind,
// topic, invoice_id, request_id, step, attempt, deadline, body.
using WireFields = std::vector<std::pair<std::string, std::string>>;
using WireFieldView = std::pair<std::string_view, std::string_view>;

// A request (topic ocr .. archive) must carry `work` with its invoice; a
// reply (topic replies) must carry `reply`; the other pointer and
// delivery_id are not written. Asserts on a Message the system cannot
// have made (no payload, an enum value out of range, a scan quality
// outside 0..1).
WireFields encode(const Message& message, const WireClock& clock);

// The Message of an entry, with delivery_id 0 (the bus sets it from the
// entry id, see delivery_id_of). A refusal is a Failure of class
// permanent whose message starts with "wire: " and names the field: at
// most 512 bytes, with the bytes it quotes escaped, so it can go into a
// log line or a report as it is.
Outcome<Message> decode(std::span<const WireFieldView> fields, const WireClock& clock);
Outcome<Message> decode(const WireFields& fields, const WireClock& clock);

// Whether two messages say the same thing on the wire: every field but
// delivery_id, and the work item (requests) or the reply (replies) by value.
bool equivalent(const Message& a, const Message& b);

// A topic's name on the wire ("ocr" .. "archive", "replies") and back.
std::string_view wire_name(Topic topic) noexcept;
std::optional<Topic> topic_from_wire_name(std::string_view name) noexcept;

// Stream names: `<prefix><wire name>` ("faultline:ocr", "faultline:replies").
inline constexpr std::string_view kDefaultStreamPrefix = "faultline:";
std::string stream_name(Topic topic, std::string_view prefix = kDefaultStreamPrefix);

// Redis Stream entry ids ("<ms>-<seq>") as delivery ids and back: ms in the
// high 44 bits (until the year 2527), seq in the low 20 (a million entries
// per millisecond on one stream, beyond what one Redis accepts). nullopt
// for text that is not an entry id, for "0-0" (which Redis never assigns)
// and for ids outside those ranges (only explicit XADD ids can be).
std::optional<std::uint64_t> delivery_id_of(std::string_view entry_id) noexcept;
std::string entry_id_of(std::uint64_t delivery_id);

}  // namespace faultline::reference_system
