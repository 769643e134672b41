// The live runtime: the same interface in real time, on a Boost.Asio
// io_context driven by one thread. Asio stays inside live_runtime.cpp (and
// live_io.h for the few translation units that do real I/O), so the rest of
// the build never parses it.
//
// time_scale compresses scenario time: with a scale of 100, a 5-minute
// outage passes in 3 real seconds and now() advances 100 times faster than the
// wall clock.
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/runtime.h"

namespace faultline::runtime {

class LiveRuntime final : public Runtime {
 public:
  explicit LiveRuntime(std::uint64_t seed, double time_scale = 1.0);
  ~LiveRuntime() override;

  Instant now() const noexcept override;
  std::string_view kind() const noexcept override { return "live"; }
  double time_scale() const noexcept;

  void run() override;
  void run_until(Instant deadline) override;
  void stop() noexcept override;

  WakeId wake_at(Instant deadline, std::coroutine_handle<> h) override;
  WakeId wake_soon(std::coroutine_handle<> h) override;
  void cancel_wake(WakeId id) noexcept override;

  struct Impl;
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::runtime
