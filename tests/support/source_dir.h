// Where the tests find the repository's files (scenarios, policies, schemas,
// sources): FAULTLINE_SOURCE_DIR when set (CTest sets it for every test),
// else the source tree this binary was configured from, so a test binary
// run by hand from any directory finds them too.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace faultline::test_support {

// The repository root.
std::filesystem::path source_dir();

// A file of the repository, as a string: source_path("scenarios/policies/naive.json").
std::string source_path(std::string_view relative);

}  // namespace faultline::test_support
