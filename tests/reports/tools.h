// External tools the report tests check output with (xmllint, promtool,
// chromium, python3 with jsonschema). scripts/test installs them from
// FAULTLINE_PACKAGES; a test that cannot find one fails and says which
// Debian package to install, it never skips.
#pragma once

#include <filesystem>
#include <string>

#include "tests/support/source_dir.h"

namespace faultline::reports::testing {

// Absolute path of `name` on PATH (or among `fallbacks`), or "" if absent.
std::string find_tool(const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command (the caller quotes), capturing its output.
CommandResult run_command(const std::string& command);

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& text);

// A fresh empty directory under the system temp dir, removed by the caller.
std::filesystem::path fresh_temp_dir(const std::string& stem);

std::string read_file(const std::filesystem::path& file);
void write_file(const std::filesystem::path& file, const std::string& text);

// The repository root (tests/support/source_dir.h).
using test_support::source_dir;

}  // namespace faultline::reports::testing

// Fails the current test, naming the package, when `tool` is missing.
#define FAULTLINE_REQUIRE_TOOL(var, tool, package)                                              \
  const std::string var = ::faultline::reports::testing::find_tool(tool);                       \
  ASSERT_FALSE(var.empty()) << "'" << (tool) << "' not found on PATH: install the Debian package " \
                            << (package) << " (scripts/test installs FAULTLINE_PACKAGES)"
