// Names of the criticality levels, as policy files write them.
#include "resilience/degradation.h"

namespace faultline::resilience {

std::string_view to_string(Criticality c) noexcept {
  return c == Criticality::critical ? "critical" : "non_critical";
}

bool parse_criticality(std::string_view text, Criticality& out) noexcept {
  if (text == "critical") {
    out = Criticality::critical;
    return true;
  }
  if (text == "non_critical") {
    out = Criticality::non_critical;
    return true;
  }
  return false;
}

}  // namespace faultline::resilience
