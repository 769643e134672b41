// report.json (reports/json_report.h): what `faultline replay` and
// `faultline compare` read back, possibly from another machine or version.
// A report that reads is written again, and that text must read to a run
// that writes the same bytes.
#include <string>

#include "fuzz/fuzz_check.h"
#include "reports/json_report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline;
  constexpr std::string_view kFile = "report.json";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string written;
  try {
    written = reports::to_report_json(reports::parse_report_json(text, std::string(kFile)));
  } catch (const runtime::ConfigError& e) {
    fuzz::expect_clean_refusal(e, kFile);
    return 0;
  } catch (const std::exception& e) {
    fuzz::fail_check("refused with runtime::ConfigError", std::string("threw something else: ") + e.what(),
                     __FILE__, __LINE__);
  }
  std::string again;
  try {
    again = reports::to_report_json(reports::parse_report_json(written, std::string(kFile)));
  } catch (const std::exception& e) {
    fuzz::fail_check("a written report reads", std::string(e.what()) + "\nwritten: " + written, __FILE__,
                     __LINE__);
  }
  FAULTLINE_FUZZ_CHECK(again == written, "read(write(x)) != x\nfirst:\n" + written + "\nsecond:\n" + again);
  return 0;
}
