// The repository root for tests (tests/support/source_dir.h).
#include "tests/support/source_dir.h"

#include <cstdlib>

namespace faultline::test_support {

std::filesystem::path source_dir() {
  const char* dir = std::getenv("FAULTLINE_SOURCE_DIR");
  return (dir != nullptr && *dir != '\0') ? std::filesystem::path(dir) : std::filesystem::path(FAULTLINE_CONFIGURED_SOURCE_DIR);
}

std::string source_path(std::string_view relative) { return (source_dir() / relative).string(); }

}  // namespace faultline::test_support
