// The layers' include graph, mechanised: a file of a layer includes only
// headers of its own layer or of the layers below it, so cli/ is on top and
// nothing includes it. The order is the one in the root CMakeLists.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/cli/process.h"

namespace {

namespace fs = std::filesystem;

// world/ (the simulated world) sits on the reference system's ports, so
// reference_system/ never includes it.
const std::vector<std::string> kLayers = {"runtime", "resilience", "reference_system", "world", "faults",
                                          "reports", "harness",    "policy_check",     "cli"};

int rank_of(const std::string& layer) {
  for (std::size_t i = 0; i < kLayers.size(); ++i) {
    if (kLayers[i] == layer) return static_cast<int>(i);
  }
  return -1;
}

// Every include of a higher layer, as "file:line: include".
std::vector<std::string> upward_includes(const fs::path& root) {
  static const std::regex include(R"(^\s*#\s*include\s*"([a-z_]+)/)");
  std::vector<std::string> hits;
  for (const auto& layer : kLayers) {
    if (!fs::exists(root / layer)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / layer)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp") continue;
      std::ifstream in(entry.path());
      std::string line;
      int number = 0;
      while (std::getline(in, line)) {
        ++number;
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const int target = rank_of(m[1]);
        if (target > rank_of(layer)) hits.push_back(entry.path().string() + ":" + std::to_string(number) + ": " + line);
      }
    }
  }
  return hits;
}

TEST(IncludeGraph, EveryLayerIncludesOnlyItselfAndTheLayersBelow) {
  const auto root = faultline::cli_testing::source_dir();
  ASSERT_TRUE(fs::exists(root / "cli" / "main.cpp")) << "not the source root: " << root;
  for (const auto& hit : upward_includes(root)) ADD_FAILURE() << hit;
}

TEST(IncludeGraph, TheScanFindsAnUpwardInclude) {
  const fs::path root = faultline::cli_testing::fresh_dir("faultline-include-graph");
  fs::create_directories(root / "harness");
  faultline::cli_testing::write_file(root / "harness" / "bad.cpp",
                                     "#include \"harness/engine.h\"\n#include \"cli/command.h\"\n"
                                     "#include \"policy_check/policy_lint.h\"\n#include \"runtime/task.h\"\n");
  EXPECT_EQ(upward_includes(root).size(), 2u);
  fs::remove_all(root);
}

TEST(IncludeGraph, TheReferenceSystemIncludingTheWorldIsAnUpwardInclude) {
  const fs::path root = faultline::cli_testing::fresh_dir("faultline-include-graph-world");
  fs::create_directories(root / "reference_system" / "live");
  faultline::cli_testing::write_file(root / "reference_system" / "live" / "bad.cpp",
                                     "#include \"world/workload.h\"\n#include \"reference_system/ports.h\"\n");
  fs::create_directories(root / "world");
  faultline::cli_testing::write_file(root / "world" / "fine.cpp", "#include \"reference_system/ports.h\"\n");
  EXPECT_EQ(upward_includes(root).size(), 1u);
  fs::remove_all(root);
}

}  // namespace
