// A typed GoogleTest fixture that runs each test once on the sim runtime and
// once on the live one: what code above the runtime relies on must hold in
// simulation and in real time alike. A suite derives from it, choosing the
// seed and the live runtime's time scale (large enough that its sleeps stay
// short, small enough that scheduling jitter stays far below the test's
// shortest interval):
//
//   template <class Kind>
//   class Behaviour : public test_support::OnBothRuntimes<Kind> {
//    protected:
//     Behaviour() : test_support::OnBothRuntimes<Kind>(/*seed=*/7, /*live_time_scale=*/10.0) {}
//   };
//   TYPED_TEST_SUITE(Behaviour, test_support::BothRuntimes, test_support::RuntimeNames);
//   TYPED_TEST(Behaviour, Sleeps) { this->rt->spawn(...); this->rt->run(); }
//
// Tests are named <suite>/sim.<test> and <suite>/live.<test>.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/live_runtime.h"
#include "runtime/sim_runtime.h"

namespace faultline::test_support {

struct SimKind {
  static constexpr const char* kName = "sim";
  static std::unique_ptr<runtime::Runtime> make(std::uint64_t seed, double /*live_time_scale*/) {
    return std::make_unique<runtime::SimRuntime>(seed);
  }
};

struct LiveKind {
  static constexpr const char* kName = "live";
  static std::unique_ptr<runtime::Runtime> make(std::uint64_t seed, double live_time_scale) {
    return std::make_unique<runtime::LiveRuntime>(seed, live_time_scale);
  }
};

using BothRuntimes = ::testing::Types<SimKind, LiveKind>;

class RuntimeNames {
 public:
  template <class Kind>
  static std::string GetName(int) {
    return Kind::kName;
  }
};

template <class Kind>
class OnBothRuntimes : public ::testing::Test {
 protected:
  OnBothRuntimes(std::uint64_t seed, double live_time_scale) : rt(Kind::make(seed, live_time_scale)) {}
  std::unique_ptr<runtime::Runtime> rt;
};

}  // namespace faultline::test_support
