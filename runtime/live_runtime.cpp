#include "runtime/live_runtime.h"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/live_io.h"

namespace faultline::runtime {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

struct LiveRuntime::Impl {
  struct Slot {
    std::coroutine_handle<> handle;
    std::optional<asio::steady_timer> timer;
    std::uint32_t generation = 1;
    bool pending = false;
  };

  explicit Impl(double scale) : time_scale(scale), start(SteadyClock::now()) {}

  asio::io_context io;
  double time_scale;
  SteadyClock::time_point start;
  std::vector<Slot> slots;
  std::vector<std::uint32_t> free_slots;

  WakeId allocate(std::coroutine_handle<> h) {
    std::uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots.size());
      slots.emplace_back();
    }
    slots[slot].handle = h;
    slots[slot].pending = true;
    return WakeId{slot, slots[slot].generation};
  }

  std::coroutine_handle<> take(WakeId id) noexcept {
    if (!id || id.slot >= slots.size()) return {};
    Slot& s = slots[id.slot];
    if (!s.pending || s.generation != id.generation) return {};
    const std::coroutine_handle<> h = s.handle;
    s.handle = {};
    s.pending = false;
    if (s.timer) s.timer->cancel();
    if (++s.generation == 0) s.generation = 1;
    free_slots.push_back(id.slot);
    return h;
  }

  SteadyClock::time_point real_time_of(Instant t) const {
    const auto scaled = std::chrono::duration<double, std::nano>(
        static_cast<double>(t.time_since_epoch().count()) / time_scale);
    return start + std::chrono::duration_cast<SteadyClock::duration>(scaled);
  }
};

asio::io_context& io_context_of(LiveRuntime& rt) noexcept { return rt.impl().io; }

LiveRuntime::LiveRuntime(std::uint64_t seed, double time_scale)
    : Runtime(seed), impl_(std::make_unique<Impl>(time_scale > 0 ? time_scale : 1.0)) {}

LiveRuntime::~LiveRuntime() { destroy_tasks(); }

double LiveRuntime::time_scale() const noexcept { return impl_->time_scale; }

Instant LiveRuntime::now() const noexcept {
  const auto real = SteadyClock::now() - impl_->start;
  const double ns = static_cast<double>(std::chrono::duration_cast<Duration>(real).count()) *
                    impl_->time_scale;
  return Instant(Duration(static_cast<Duration::rep>(ns)));
}

WakeId LiveRuntime::wake_soon(std::coroutine_handle<> h) {
  const WakeId id = impl_->allocate(h);
  asio::post(impl_->io, [this, id] {
    if (auto handle = impl_->take(id)) {
      handle.resume();
      if (has_task_failure()) impl_->io.stop();
    }
  });
  return id;
}

WakeId LiveRuntime::wake_at(Instant deadline, std::coroutine_handle<> h) {
  const WakeId id = impl_->allocate(h);
  auto& timer = impl_->slots[id.slot].timer;
  if (!timer) timer.emplace(impl_->io);
  timer->expires_at(impl_->real_time_of(deadline));
  timer->async_wait([this, id](const boost::system::error_code&) {
    // A cancelled or reused slot has a new generation: take() gives nothing.
    if (auto handle = impl_->take(id)) {
      handle.resume();
      if (has_task_failure()) impl_->io.stop();
    }
  });
  return id;
}

void LiveRuntime::cancel_wake(WakeId id) noexcept { (void)impl_->take(id); }

void LiveRuntime::run() {
  impl_->io.restart();
  impl_->io.run();
  rethrow_task_failure();
}

void LiveRuntime::run_until(Instant deadline) {
  impl_->io.restart();
  impl_->io.run_until(impl_->real_time_of(deadline));
  rethrow_task_failure();
}

void LiveRuntime::stop() noexcept { impl_->io.stop(); }

}  // namespace faultline::runtime
