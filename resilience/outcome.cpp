// Names of the error classes, as policy files and reports write them.
#include "resilience/outcome.h"

#include <array>

namespace faultline::resilience {

namespace {
constexpr std::array<std::string_view, kErrorClassCount> kNames = {
    "transient",     "timeout",       "rate_limited",           "permanent",
    "business",      "circuit_open",  "bulkhead_full",          "retry_budget_exhausted",
    "deadline_exceeded", "conflict",  "capacity_exceeded",
};
}  // namespace

std::string_view to_string(ErrorClass c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

bool parse_error_class(std::string_view text, ErrorClass& out) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) {
      out = static_cast<ErrorClass>(i);
      return true;
    }
  }
  return false;
}

}  // namespace faultline::resilience
