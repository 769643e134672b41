// Time as the runtimes see it. Both runtimes measure time from their own start:
// the sim runtime's clock is virtual and jumps from deadline to deadline, the
// live runtime's is the machine's steady clock. Code above runtime/ only ever
// sees these types, never a std clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace faultline::runtime {

using Duration = std::chrono::nanoseconds;

// The clock tag of runtime time points. It has no now(): only a Runtime
// knows what time it is.
struct RuntimeClock {
  using duration = Duration;
  using rep = Duration::rep;
  using period = Duration::period;
  using time_point = std::chrono::time_point<RuntimeClock, Duration>;
  static constexpr bool is_steady = true;
};

using Instant = RuntimeClock::time_point;

constexpr Instant kEpoch{};

constexpr double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
constexpr double to_millis(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
constexpr Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
constexpr Duration from_millis(double ms) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}
constexpr double seconds_since_epoch(Instant t) { return to_seconds(t.time_since_epoch()); }

// "250ms", "30s", "5m", "2h", "1.5s", "0": what scenario and policy files
// write. Returns false (and leaves `out` alone) on anything else, including
// negative values.
[[nodiscard]] bool parse_duration(std::string_view text, Duration& out);

// The shortest exact form parse_duration reads back: "1500ms", "30s", "5m".
std::string format_duration(Duration d);

}  // namespace faultline::runtime
