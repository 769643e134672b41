// House rules mechanised: this test scans the sources and fails on a hit,
// naming file and line.
//  - Time and randomness only through the runtime: the layers that run under
//    simulation must not read a clock or draw randomness of their own.
//  - Assertions stay on: the release build defines NDEBUG, which empties the
//    standard `assert`, so every layer uses FAULTLINE_ASSERT
//    (runtime/assert.h) and never a bare `assert(`.
//  - Events are read and written through their payload structs: only the
//    mapping in runtime/event_log.h touches a record's slots.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/source_dir.h"

namespace {

namespace fs = std::filesystem;

// Clocks, randomness and threads of their own.
const std::regex& nondeterminism() {
  static const std::regex banned(
      R"(std::random_device|system_clock::now|steady_clock::now|high_resolution_clock::now|[^_a-zA-Z0-9]s?rand\s*\(|std::[a-z_]+_distribution|std::mt19937|std::default_random_engine|std::thread\b|time\s*\(\s*(nullptr|NULL|0)\s*\))");
  return banned;
}

// The standard assert, which NDEBUG empties (static_assert and
// FAULTLINE_ASSERT are not matched), and its header.
const std::regex& bare_assert() {
  static const std::regex banned(R"((^|[^_a-zA-Z0-9])assert\s*\(|#\s*include\s*<(cassert|assert\.h)>)");
  return banned;
}

// An event's payload slots read or written by name (the slot writer's and
// reader's calls, `.word0(x)`, are how a payload maps itself, and pass).
const std::regex& raw_event_slots() {
  static const std::regex banned(R"(\.(word0|word1|narrow)\b(?!\s*\())");
  return banned;
}

// Lines of the .h/.cpp files under root/<layer> matching `banned`, outside
// `//` comments.
std::vector<std::string> scan(const fs::path& root, const std::vector<std::string>& layers,
                              const std::regex& banned = nondeterminism()) {
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

TEST(SourceScan, SimulatedLayersUseOnlyTheRuntimeForTimeAndRandomness) {
  const auto root = faultline::test_support::source_dir();
  ASSERT_TRUE(fs::exists(root / "runtime" / "runtime.h")) << "not the source root: " << root;
  const auto hits = scan(root, {"resilience", "reference_system", "world", "faults"});
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

TEST(SourceScan, EveryLayerAssertsWithFaultlineAssert) {
  const auto root = faultline::test_support::source_dir();
  ASSERT_TRUE(fs::exists(root / "runtime" / "assert.h")) << "not the source root: " << root;
  const auto hits = scan(
      root,
      {"runtime", "resilience", "reference_system", "world", "faults", "reports", "harness", "policy_check", "cli"},
      bare_assert());
  for (const auto& hit : hits) ADD_FAILURE() << hit << "  (use FAULTLINE_ASSERT, runtime/assert.h)";
}

TEST(SourceScan, OnlyThePayloadMappingTouchesAnEventsSlots) {
  const auto root = faultline::test_support::source_dir();
  ASSERT_TRUE(fs::exists(root / "runtime" / "event_log.h")) << "not the source root: " << root;
  const auto hits = scan(
      root,
      {"runtime", "resilience", "reference_system", "world", "faults", "reports", "harness", "policy_check", "cli"},
      raw_event_slots());
  // The mapping itself, and describe_event's raw dump into evidence lines.
  const std::vector<std::string> allowed = {(root / "runtime" / "event_log.h").string(),
                                            (root / "harness" / "checks" / "evidence.cpp").string()};
  std::size_t mapping = 0;
  for (const auto& hit : hits) {
    const bool ok = std::any_of(allowed.begin(), allowed.end(),
                                [&](const std::string& file) { return hit.rfind(file + ":", 0) == 0; });
    if (ok) {
      ++mapping;
      continue;
    }
    ADD_FAILURE() << hit << "  (read and record a payload struct: read<P>(e), log.record(source, subject, P{...}))";
  }
  EXPECT_GT(mapping, 0u) << "the scan no longer sees the mapping's own use of the slots";
}

TEST(SourceScan, TheScannerFindsRawEventSlots) {
  const fs::path root = fs::temp_directory_path() / "faultline-slot-scan-test";
  fs::remove_all(root);
  fs::create_directories(root / "harness");
  {
    std::ofstream out(root / "harness" / "bad.cpp");
    out << "if (e.word0 > 3) return;\n"
        << "const auto d = events[i].narrow;\n"
        << "x.word1 = 7;\n"
        << "constexpr void slots(auto& s) { s.word0(amount).word1(sequence).narrow(keyed); }\n"
        << "// e.word0 in a comment is fine\n";
  }
  EXPECT_EQ(scan(root, {"harness"}, raw_event_slots()).size(), 3u);
  fs::remove_all(root);
}

TEST(SourceScan, TheScannerFindsABareAssert) {
  const fs::path root = fs::temp_directory_path() / "faultline-assert-scan-test";
  fs::remove_all(root);
  fs::create_directories(root / "runtime" / "internal");
  {
    std::ofstream out(root / "runtime" / "internal" / "bad.h");
    out << "#include <cassert>\n"
        << "  assert(size_ > 0);\n"
        << "if (x) assert (y);\n"
        << "static_assert(sizeof(int) == 4);\n"
        << "FAULTLINE_ASSERT(size_ > 0);\n"
        << "// assert(x) in a comment is fine\n";
  }
  EXPECT_EQ(scan(root, {"runtime"}, bare_assert()).size(), 3u);
  fs::remove_all(root);
}

}  // namespace
