// A hash map for the simulation's large, growing tables (checkpoints, ledger
// keys, purchase orders): entries live in one dense vector and the index is
// an open-addressing table of 8-byte slots (linear probing, at most half
// full, backward-shift deletion, no tombstones). A lookup touches one slot
// and one entry instead of a bucket, a node and a separately allocated key,
// and an insert allocates nothing once the vectors have grown. std::
// unordered_map's node per entry made those tables the simulation's main
// source of cache misses and malloc work at a day's 240,000 invoices.
//
//   FlatHashMap<std::string, Stored> map;
//   auto [value, inserted] = map.try_emplace("wf/42");  // value: Stored*
//   if (Stored* v = map.find("wf/42")) ...
//   map.erase("wf/42");
//   for (const auto& e : map.entries()) use(e.key, e.value);
//
// Pointers returned by find/try_emplace are valid until the next insert or
// erase. Iteration order (entries()) is insertion order, except that erase
// moves the last entry into the erased one's place: deterministic for a
// given sequence of operations, but no order to rely on. Keys are looked up
// by anything Hash and == accept (std::string_view for std::string keys).
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::runtime {

// Hashes std::string keys and std::string_view look-ups alike. The keys
// here are short ids ("wf/1042", "inv-1042", vendor names), so the hash is
// inline and reads eight bytes at a time rather than calling libstdc++'s
// general-purpose one.
struct StringHash {
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
    const char* p = s.data();
    const std::size_t size = s.size();
    if (size >= 8) {
      std::size_t n = size;
      for (; n >= 8; p += 8, n -= 8) h = mix(h, load64(p), 0xbf58476d1ce4e5b9ULL, 31);
      // The last eight bytes again, overlapping the words already mixed:
      // the length (in the seed) tells the overlaps apart.
      if (n != 0) h = mix(h, load64(s.data() + size - 8), 0x94d049bb133111ebULL, 29);
    } else if (size != 0) {
      // Short keys in two loads at most, without a loop over their bytes:
      // 4 to 7 bytes as two overlapping 4-byte words, 1 to 3 as first,
      // middle and last byte. Either way, given the length, the bytes are
      // all there.
      std::uint64_t tail;
      if (size >= 4) {
        tail = load32(p) | (std::uint64_t{load32(p + size - 4)} << 32);
      } else {
        tail = std::uint64_t{static_cast<unsigned char>(p[0])} |
               (std::uint64_t{static_cast<unsigned char>(p[size / 2])} << 8) |
               (std::uint64_t{static_cast<unsigned char>(p[size - 1])} << 16);
      }
      h = mix(h, tail, 0x94d049bb133111ebULL, 29);
    }
    // A multiply carries bits only upwards: the finaliser (MurmurHash3's)
    // brings the high bits back down, where the map takes its slot from.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }

 private:
  static std::uint64_t load64(const char* p) noexcept {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    return word;
  }
  static std::uint32_t load32(const char* p) noexcept {
    std::uint32_t word;
    std::memcpy(&word, p, 4);
    return word;
  }
  static std::uint64_t mix(std::uint64_t h, std::uint64_t word, std::uint64_t multiplier, int shift) noexcept {
    h = (h ^ word) * multiplier;
    return h ^ (h >> shift);
  }
};

template <class Key, class Value, class Hash = std::hash<Key>>
class FlatHashMap {
 public:
  struct Entry {
    // A constructor, not aggregate initialisation, so emplace_back builds it
    // in place under clang 14 too (no parenthesised aggregate init there).
    Entry(Key k, Value v, std::uint32_t t) : key(std::move(k)), value(std::move(v)), tag(t) {}
    Key key;
    Value value;
    std::uint32_t tag;  // the low 32 bits of the key's hash
  };

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const std::vector<Entry>& entries() const noexcept { return entries_; }

  void reserve(std::size_t n) {
    entries_.reserve(n);
    if (n * 2 > slots_.size()) rehash(n * 2);
  }

  void clear() noexcept {
    entries_.clear();
    for (auto& s : slots_) s = Slot{};
  }

  template <class K>
  Value* find(const K& key) noexcept {
    const std::size_t slot = find_slot(key, tag_of(key));
    return slot == kNone ? nullptr : &entries_[slots_[slot].index - 1].value;
  }
  template <class K>
  const Value* find(const K& key) const noexcept {
    return const_cast<FlatHashMap*>(this)->find(key);
  }
  template <class K>
  bool contains(const K& key) const noexcept {
    return find(key) != nullptr;
  }

  // The value under `key`, default-constructed if it was not there; true
  // if it was inserted.
  template <class K>
  std::pair<Value*, bool> try_emplace(K&& key) {
    const std::uint32_t tag = tag_of(key);
    std::size_t i = 0;
    if (!slots_.empty()) {
      // One probe: it ends on the key's slot or on the empty one it would take.
      for (i = tag & mask(); slots_[i].index != 0; i = (i + 1) & mask()) {
        const Slot& s = slots_[i];
        if (s.tag == tag && entries_[s.index - 1].key == key) return {&entries_[s.index - 1].value, false};
      }
    }
    if ((entries_.size() + 1) * 2 > slots_.size()) {
      rehash(slots_.empty() ? 16 : slots_.size() * 2);
      for (i = tag & mask(); slots_[i].index != 0;) i = (i + 1) & mask();
    }
    // Built in place: the key is moved (or copied) once, the value made once.
    entries_.emplace_back(Key(std::forward<K>(key)), Value{}, tag);
    slots_[i] = Slot{tag, static_cast<std::uint32_t>(entries_.size())};
    return {&entries_.back().value, true};
  }
  template <class K>
  Value& operator[](K&& key) {
    return *try_emplace(std::forward<K>(key)).first;
  }

  // True if the key was there.
  template <class K>
  bool erase(const K& key) noexcept {
    const std::size_t slot = find_slot(key, tag_of(key));
    if (slot == kNone) return false;
    const std::uint32_t index = slots_[slot].index;  // 1-based
    remove_slot(slot);
    if (index != entries_.size()) {
      // The last entry fills the hole; its slot follows it.
      Entry& last = entries_.back();
      std::size_t i = last.tag & mask();
      while (slots_[i].index != entries_.size()) i = (i + 1) & mask();
      slots_[i].index = index;
      entries_[index - 1] = std::move(last);
    }
    entries_.pop_back();
    return true;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = 0;  // 1-based into entries_; 0: empty
  };

  template <class K>
  static std::uint32_t tag_of(const K& key) noexcept {
    const auto h = static_cast<std::uint64_t>(Hash{}(key));
    // Fold the high bits in: some std::hash specialisations are the identity.
    return static_cast<std::uint32_t>((h ^ (h >> 32)) * 0x9e3779b1u);
  }
  std::size_t mask() const noexcept { return slots_.size() - 1; }

  template <class K>
  std::size_t find_slot(const K& key, std::uint32_t tag) const noexcept {
    if (slots_.empty()) return kNone;
    for (std::size_t i = tag & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.index == 0) return kNone;
      if (s.tag == tag && entries_[s.index - 1].key == key) return i;
    }
  }

  // Backward-shift deletion keeps every probe sequence unbroken.
  void remove_slot(std::size_t hole) noexcept {
    for (std::size_t j = (hole + 1) & mask();; j = (j + 1) & mask()) {
      const Slot s = slots_[j];
      if (s.index == 0) break;
      const std::size_t home = s.tag & mask();
      // Move s into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole] = s;
      hole = j;
    }
    slots_[hole] = Slot{};
  }

  void rehash(std::size_t capacity) {
    std::size_t n = 16;
    while (n < capacity) n *= 2;
    slots_.assign(n, Slot{});
    for (std::size_t e = 0; e < entries_.size(); ++e) {
      std::size_t i = entries_[e].tag & mask();
      while (slots_[i].index != 0) i = (i + 1) & mask();
      slots_[i] = Slot{entries_[e].tag, static_cast<std::uint32_t>(e + 1)};
    }
  }

  std::vector<Entry> entries_;
  std::vector<Slot> slots_;  // size zero or a power of two
};

}  // namespace faultline::runtime
