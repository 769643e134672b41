// Round trips of event payloads, for each layer's events test: every field
// of a payload is set to the largest value of its type, then the smallest
// (or none), then small distinct values, written into a 40-byte record and
// read back, and must come back field for field. The fields are found from
// the struct itself, not from its slots(), so a field that slots() forgets,
// two fields sharing a slot, or a value its slot cannot hold all show.
//
//   test_support::expect_payloads_round_trip<pattern_events::Attempt, pattern_events::Timeout>();
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime/event_log.h"

namespace faultline::test_support {

namespace payload_internal {

// Converts to any field type, for counting a payload's fields; never
// called. It has a body because clang counts the conversion as a use, which
// needs a definition when T has internal linkage.
struct AnyField {
  template <class T>
  operator T&() const noexcept {
    static T* never = nullptr;
    return *never;
  }
};

template <class P, class... Fields>
constexpr std::size_t field_count() {
  if constexpr (requires { P{std::declval<Fields>()..., AnyField{}}; }) {
    return field_count<P, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

template <class P>
auto fields(P& p) {
  constexpr std::size_t n = field_count<P>();
  static_assert(n <= 4, "a payload has at most four fields (three slots; one may be stored twice)");
  if constexpr (n == 0) {
    return std::tie();
  } else if constexpr (n == 1) {
    auto& [a] = p;
    return std::tie(a);
  } else if constexpr (n == 2) {
    auto& [a, b] = p;
    return std::tie(a, b);
  } else if constexpr (n == 3) {
    auto& [a, b, c] = p;
    return std::tie(a, b, c);
  } else {
    auto& [a, b, c, d] = p;
    return std::tie(a, b, c, d);
  }
}

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

// variant 0: largest; 1: smallest, most negative or none; 2: distinct small values.
template <class T>
T value_for(int variant, std::size_t index) {
  if constexpr (is_optional<T>) {
    if (variant == 1) return std::nullopt;
    return value_for<typename T::value_type>(variant, index);
  } else if constexpr (std::is_same_v<T, bool>) {
    return variant == 0 || (variant == 2 && index % 2 == 0);
  } else if constexpr (std::is_enum_v<T>) {
    return static_cast<T>(value_for<std::underlying_type_t<T>>(variant, index));
  } else if constexpr (std::is_same_v<T, runtime::Duration>) {
    return runtime::Duration(value_for<runtime::Duration::rep>(variant, index));
  } else {
    static_assert(std::is_integral_v<T>);
    if (variant == 0) return std::numeric_limits<T>::max();
    if (variant == 1) return std::numeric_limits<T>::min();
    const auto small = static_cast<T>(index + 1);
    if constexpr (std::is_signed_v<T>) return static_cast<T>(-small);
    return small;
  }
}

template <class P>
void expect_round_trip() {
  for (int variant = 0; variant < 3; ++variant) {
    P written{};
    std::apply(
        [&](auto&... field) {
          std::size_t index = 0;
          ((field = value_for<std::remove_cvref_t<decltype(field)>>(variant, index++)), ...);
        },
        fields(written));
    const runtime::Event e = runtime::make_event(runtime::kEpoch, 1, 2, written);
    ASSERT_TRUE(runtime::is<P>(e));
    P back = runtime::read<P>(e);
    if (fields(back) != fields(written)) {
      ADD_FAILURE() << "payload of kind " << std::hex << runtime::kind_code<P>() << std::dec
                    << " did not come back field for field (value set " << variant << ")";
      return;
    }
  }
}

}  // namespace payload_internal

// Each payload round-trips, and no two share a kind.
template <class... P>
void expect_payloads_round_trip() {
  (payload_internal::expect_round_trip<P>(), ...);
  std::array<std::uint16_t, sizeof...(P)> kinds{runtime::kind_code<P>()...};
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(std::adjacent_find(kinds.begin(), kinds.end()), kinds.end()) << "two payloads share a kind";
}

}  // namespace faultline::test_support
