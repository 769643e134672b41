// Time and randomness only through the runtime: the layers that run under
// simulation must not read a clock or draw randomness of their own. This test
// scans their sources and fails on a hit, naming file and line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> scan(const fs::path& root, const std::vector<std::string>& layers) {
  static const std::regex banned(
      R"(std::random_device|system_clock::now|steady_clock::now|high_resolution_clock::now|[^_a-zA-Z0-9]s?rand\s*\(|std::[a-z_]+_distribution|std::mt19937|std::default_random_engine|std::thread\b|time\s*\(\s*(nullptr|NULL|0)\s*\))");
  std::vector<std::string> hits;
  for (const auto& layer : layers) {
    const fs::path dir = root / layer;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp" && ext != ".hpp") continue;
      std::ifstream in(entry.path());
      std::string line;
      int number = 0;
      while (std::getline(in, line)) {
        ++number;
        const auto comment = line.find("//");
        const std::string code = comment == std::string::npos ? line : line.substr(0, comment);
        if (std::regex_search(code, banned)) {
          hits.push_back(entry.path().string() + ":" + std::to_string(number) + ": " + line);
        }
      }
    }
  }
  return hits;
}

fs::path source_root() {
  const char* dir = std::getenv("FAULTLINE_SOURCE_DIR");
  return dir ? fs::path(dir) : fs::current_path();
}

TEST(SourceScan, SimulatedLayersUseOnlyTheRuntimeForTimeAndRandomness) {
  const auto root = source_root();
  ASSERT_TRUE(fs::exists(root / "runtime" / "runtime.h")) << "not the source root: " << root;
  const auto hits = scan(root, {"resilience", "reference_system", "faults"});
  for (const auto& hit : hits) ADD_FAILURE() << hit;
}

TEST(SourceScan, TheScannerFindsWhatItBans) {
  // Proves the scan can fail: a file with banned calls in a scratch tree.
  const fs::path root = fs::temp_directory_path() / "faultline-scan-test";
  fs::create_directories(root / "faults");
  {
    std::ofstream out(root / "faults" / "bad.cpp");
    out << "auto t = std::chrono::system_clock::now();\n"
        << "std::random_device rd;\n"
        << "int x = rand();\n"
        << "std::normal_distribution<double> n;\n"
        << "// std::random_device in a comment is fine\n";
  }
  EXPECT_EQ(scan(root, {"faults"}).size(), 4u);
  fs::remove_all(root);
}

}  // namespace
