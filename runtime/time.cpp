#include "runtime/time.h"

#include <charconv>
#include <cmath>

namespace faultline::runtime {

bool parse_duration(std::string_view text, Duration& out) {
  if (text == "0") {
    out = Duration::zero();
    return true;
  }
  std::size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) ++digits;
  if (digits == 0 || digits == text.size()) return false;
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  double value = 0.0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || ptr != number.data() + number.size() || !std::isfinite(value)) return false;
  double scale_ns;
  if (unit == "ns") scale_ns = 1.0;
  else if (unit == "us") scale_ns = 1e3;
  else if (unit == "ms") scale_ns = 1e6;
  else if (unit == "s") scale_ns = 1e9;
  else if (unit == "m" || unit == "min") scale_ns = 60e9;
  else if (unit == "h") scale_ns = 3600e9;
  else if (unit == "d") scale_ns = 86400e9;
  else return false;
  const double ns = value * scale_ns;
  if (ns > 1e18) return false;  // about 31 years: beyond any scenario
  out = Duration(static_cast<Duration::rep>(std::llround(ns)));
  return true;
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  if (ns == 0) return "0";
  struct Unit {
    long long ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{3600'000'000'000LL, "h"}, {60'000'000'000LL, "m"},
                                    {1'000'000'000LL, "s"},    {1'000'000LL, "ms"},
                                    {1'000LL, "us"},           {1LL, "ns"}};
  for (const auto& u : kUnits) {
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + u.name;
  }
  return std::to_string(ns) + "ns";
}

}  // namespace faultline::runtime
