// The wire codec's decode (reference_system/wire.h): what the Redis bus
// reads from a stream entry another process wrote, in any language, at any
// version. Input: an entry as text (wire_entry.h). A refusal is a permanent
// Failure whose message starts with "wire: " and is short, printable text;
// a message that decodes is encoded again, that entry decodes to an
// equivalent message, and encoding that gives the same bytes.
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "fuzz/wire_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  using namespace faultline::reference_system;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto fields = fuzz::entry_from_text(text);
  const WireClock clock;
  const Outcome<Message> first = decode(std::span<const WireFieldView>(fields), clock);
  if (!first.ok()) {
    const std::string& why = first.failure().message;
    FAULTLINE_FUZZ_CHECK(first.error_class() == ErrorClass::permanent, why);
    FAULTLINE_FUZZ_CHECK(why.rfind("wire: ", 0) == 0, why);
    FAULTLINE_FUZZ_CHECK(why.size() > 6 && why.size() <= 512, why);
    for (const char c : why) FAULTLINE_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, why);
    // Valid UTF-8: a report's JSON writer would throw on anything else.
    try {
      (void)nlohmann::json(why).dump();
    } catch (const nlohmann::json::exception& e) {
      fuzz::fail_check("the refusal is UTF-8", why + "\n" + e.what(), __FILE__, __LINE__);
    }
    return 0;
  }
  const WireFields written = encode(first.value(), clock);
  const Outcome<Message> second = decode(written, clock);
  FAULTLINE_FUZZ_CHECK(second.ok(), second.ok() ? "" : second.failure().message + "\n" + fuzz::entry_to_text(written));
  FAULTLINE_FUZZ_CHECK(equivalent(first.value(), second.value()), "decode(encode(m)) differs from m\n" +
                                                                       fuzz::entry_to_text(written));
  FAULTLINE_FUZZ_CHECK(encode(second.value(), clock) == written,
                       "a second encode wrote other bytes\n" + fuzz::entry_to_text(written) + "\n" +
                           fuzz::entry_to_text(encode(second.value(), clock)));
  return 0;
}
