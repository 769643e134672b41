// Durations ("250ms", "1.5s", "5m") as every configuration file writes them
// (runtime/time.h), read directly and through JsonView (runtime/json_config.h),
// and the JSON reader under them all: any bytes either parse or are refused
// with a line and column (or, for a duplicate key, its JSON path).
#include <string>

#include "fuzz/fuzz_check.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace {

using namespace faultline;

void check_duration(std::string_view text) {
  runtime::Duration parsed{};
  const bool ok = runtime::parse_duration(text, parsed);
  if (ok) {
    FAULTLINE_FUZZ_CHECK(parsed >= runtime::Duration::zero(), "a negative duration parsed");
    const std::string written = runtime::format_duration(parsed);
    runtime::Duration back{};
    FAULTLINE_FUZZ_CHECK(runtime::parse_duration(written, back), "format_duration wrote " + written);
    FAULTLINE_FUZZ_CHECK(back == parsed, "\"" + written + "\" reads as " + std::to_string(back.count()) +
                                             " ns, not " + std::to_string(parsed.count()));
    FAULTLINE_FUZZ_CHECK(runtime::format_duration(back) == written, written);
  }
  // The same text as a JSON string member: the same answer, or a clean refusal.
  constexpr std::string_view kFile = "durations.json";
  const nlohmann::json doc = std::string(text);
  try {
    const auto d = runtime::JsonView(doc, std::string(kFile)).as_duration();
    FAULTLINE_FUZZ_CHECK(ok && d == parsed, "JsonView and parse_duration disagree");
  } catch (const runtime::ConfigError& e) {
    FAULTLINE_FUZZ_CHECK(!ok, "JsonView refused what parse_duration reads");
    fuzz::expect_clean_refusal(e, kFile);
    FAULTLINE_FUZZ_CHECK(e.path() == "$", e.what());
  }
}

void check_json_text(std::string_view text) {
  constexpr std::string_view kFile = "any.json";
  try {
    const auto doc = runtime::parse_json_text(text, std::string(kFile));
    // Whatever parsed can be described in an error message.
    try {
      runtime::JsonView(doc, std::string(kFile)).fail("nothing");
    } catch (const runtime::ConfigError& e) {
      fuzz::expect_clean_refusal(e, kFile);
    }
  } catch (const runtime::ConfigError& e) {
    // A syntax error names a line and column, a duplicate key its JSON path.
    fuzz::expect_clean_refusal(e, kFile);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_duration(text);
  check_json_text(text);
  return 0;
}
