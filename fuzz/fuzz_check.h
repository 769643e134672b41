// What every fuzz target asserts beyond "no crash", as checks that stay on
// in every build and abort with a message libFuzzer shows beside the input:
//
//   FAULTLINE_FUZZ_CHECK(back == first, "a parsed scenario did not survive a round trip");
//   try { parse(...); } catch (const runtime::ConfigError& e) { expect_clean_refusal(e, kFile); }
//
// A refusal is clean when it is a runtime::ConfigError that names the file
// it was given and a place in it: a JSON path ("$.faults[2].start") or a
// line and column ("line 3, column 7"), with a message saying what was
// expected. That is what `faultline` turns into exit code 2.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/json_config.h"

#define FAULTLINE_FUZZ_CHECK(condition, message)                                                    \
  do {                                                                                               \
    if (!(condition)) ::faultline::fuzz::fail_check(#condition, message, __FILE__, __LINE__);       \
  } while (false)

namespace faultline::fuzz {

[[noreturn]] inline void fail_check(const char* condition, std::string_view message, const char* file,
                                    int line) {
  std::fprintf(stderr, "%s:%d: FAULTLINE_FUZZ_CHECK(%s) failed: %.*s\n", file, line, condition,
               static_cast<int>(message.size()), message.data());
  std::abort();
}

inline bool names_a_place(std::string_view path) {
  return (!path.empty() && path.front() == '$') || path.substr(0, 5) == "line ";
}

inline void expect_clean_refusal(const runtime::ConfigError& e, std::string_view file) {
  FAULTLINE_FUZZ_CHECK(e.file() == file, e.what());
  FAULTLINE_FUZZ_CHECK(names_a_place(e.path()), e.what());
  FAULTLINE_FUZZ_CHECK(!e.message().empty(), e.what());
  const std::string_view text = e.what();
  FAULTLINE_FUZZ_CHECK(text.substr(0, file.size()) == file, e.what());
  FAULTLINE_FUZZ_CHECK(text.find(e.path()) != std::string_view::npos, e.what());
}

}  // namespace faultline::fuzz
