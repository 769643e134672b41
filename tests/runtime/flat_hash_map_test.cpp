// FlatHashMap against std::unordered_map under a long random sequence of
// inserts, look-ups and erases (erase exercises backward-shift deletion and
// the move of the last entry), with string keys looked up by string_view.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/flat_hash_map.h"

namespace faultline::runtime {
namespace {

// A fixed-seed generator of the test's own: the sequence is the test.
struct Lcg {
  std::uint64_t state = 0x2545f4914f6cdd1dULL;
  std::uint64_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  }
};

TEST(FlatHashMap, MatchesUnorderedMapUnderRandomInsertsAndErases) {
  FlatHashMap<std::uint64_t, std::uint64_t> flat;
  std::unordered_map<std::uint64_t, std::uint64_t> reference;
  Lcg rng;
  for (int op = 0; op < 200'000; ++op) {
    const std::uint64_t key = rng.next() % 5'000;
    switch (rng.next() % 3) {
      case 0: {
        auto [value, inserted] = flat.try_emplace(key);
        EXPECT_EQ(inserted, !reference.contains(key));
        *value = static_cast<std::uint64_t>(op);
        reference[key] = static_cast<std::uint64_t>(op);
        break;
      }
      case 1:
        EXPECT_EQ(flat.erase(key), reference.erase(key) == 1);
        break;
      default: {
        const std::uint64_t* found = flat.find(key);
        const auto it = reference.find(key);
        ASSERT_EQ(found != nullptr, it != reference.end());
        if (found != nullptr) {
          EXPECT_EQ(*found, it->second);
        }
      }
    }
    ASSERT_EQ(flat.size(), reference.size());
  }
  // Every entry is reachable, and iteration sees each key once.
  std::vector<std::uint64_t> keys;
  for (const auto& e : flat.entries()) {
    keys.push_back(e.key);
    ASSERT_NE(flat.find(e.key), nullptr);
    EXPECT_EQ(e.value, reference.at(e.key));
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
  EXPECT_EQ(keys.size(), reference.size());
}

TEST(FlatHashMap, StringKeysAreFoundByStringView) {
  FlatHashMap<std::string, int, StringHash> map;
  for (int i = 0; i < 1'000; ++i) map["wf/" + std::to_string(i)] = i;
  EXPECT_EQ(map.size(), 1'000u);
  const std::string_view key = "wf/417";
  ASSERT_NE(map.find(key), nullptr);
  EXPECT_EQ(*map.find(key), 417);
  EXPECT_EQ(map.find(std::string_view("wf/1000")), nullptr);
  EXPECT_TRUE(map.erase(std::string("wf/417")));
  EXPECT_FALSE(map.contains(key));
  EXPECT_FALSE(map.erase(key));
  for (int i = 0; i < 1'000; ++i) {
    if (i == 417) continue;
    const std::string k = "wf/" + std::to_string(i);
    ASSERT_NE(map.find(k), nullptr) << k;
    EXPECT_EQ(*map.find(k), i);
  }
}

TEST(StringHash, EveryByteOfEveryLengthCounts) {
  // Short keys take the two-load paths, longer ones an overlapping last
  // word: changing any one byte, at any length, must change the hash.
  const StringHash hash;
  for (std::size_t length = 1; length <= 40; ++length) {
    const std::string base(length, 'a');
    for (std::size_t at = 0; at < length; ++at) {
      for (const char c : {'b', '\0', '\xff'}) {
        std::string changed = base;
        changed[at] = c;
        EXPECT_NE(hash(changed), hash(base)) << "length " << length << ", byte " << at;
      }
    }
    // The same bytes at another length are another key.
    EXPECT_NE(hash(base), hash(std::string(length - 1, 'a'))) << "length " << length;
  }
}

TEST(StringHash, TheSimulationsIdsDoNotCollide) {
  const StringHash hash;
  std::vector<std::size_t> hashes;
  for (int i = 0; i < 300'000; ++i) {
    hashes.push_back(hash("wf/" + std::to_string(i)));
    hashes.push_back(hash("saga/" + std::to_string(i)));
    hashes.push_back(hash("inv-" + std::to_string(i)));
  }
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(std::adjacent_find(hashes.begin(), hashes.end()), hashes.end());
}

TEST(FlatHashMap, CollidingKeysSurviveErasesInTheMiddleOfTheirRun) {
  // A hash that puts every key in one probe run.
  struct Constant {
    std::size_t operator()(std::uint64_t) const noexcept { return 7; }
  };
  FlatHashMap<std::uint64_t, int, Constant> map;
  for (std::uint64_t k = 0; k < 12; ++k) map[k] = static_cast<int>(k);
  for (std::uint64_t k = 0; k < 12; k += 3) EXPECT_TRUE(map.erase(k));
  for (std::uint64_t k = 0; k < 12; ++k) {
    if (k % 3 == 0) {
      EXPECT_EQ(map.find(k), nullptr);
    } else {
      ASSERT_NE(map.find(k), nullptr) << k;
      EXPECT_EQ(*map.find(k), static_cast<int>(k));
    }
  }
  EXPECT_EQ(map.size(), 8u);
}

}  // namespace
}  // namespace faultline::runtime
