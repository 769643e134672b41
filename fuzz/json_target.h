// The shape shared by the targets over JSON configuration files: parse the
// input as the file `kFile`; a refusal must be clean (fuzz_check.h); a
// value that parses is written back in its file format, and that text must
// parse to the same value again (compared through its serialisation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "fuzz/round_trip.h"
#include "runtime/json_config.h"

namespace faultline::fuzz {

// `parse(text, file)` turns a document's text into a value or throws
// runtime::ConfigError.
template <class Parse>
int check_json_file_parser(const std::uint8_t* data, std::size_t size, std::string_view file, Parse parse) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string file_name(file);
  std::string written;
  try {
    written = canonical(to_file_json(parse(text, file_name)));
  } catch (const runtime::ConfigError& e) {
    expect_clean_refusal(e, file);
    return 0;
  } catch (const std::exception& e) {
    fail_check("refused with runtime::ConfigError", std::string("threw something else: ") + e.what(), __FILE__,
               __LINE__);
  }
  std::string again;
  try {
    again = canonical(to_file_json(parse(written, file_name)));
  } catch (const std::exception& e) {
    fail_check("its own serialisation parses", std::string(e.what()) + "\nwritten: " + written, __FILE__,
               __LINE__);
  }
  FAULTLINE_FUZZ_CHECK(again == written, "parse(write(x)) != x\nfirst:  " + written + "\nsecond: " + again);
  return 0;
}

}  // namespace faultline::fuzz
