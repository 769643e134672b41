// The deterministic discrete-event runtime. One thread, a virtual clock, a
// FIFO of ready coroutines and a timer heap ordered by (deadline, sequence
// number). The loop runs everything ready, then jumps the clock to the next
// deadline, so five simulated minutes of sleep cost no wall time. Given the
// same seed and the same code, every run resumes the same coroutines in the
// same order at the same virtual instants.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/runtime.h"

namespace faultline::runtime {

class SimRuntime final : public Runtime {
 public:
  explicit SimRuntime(std::uint64_t seed);
  ~SimRuntime() override;

  Instant now() const noexcept override { return now_; }
  std::string_view kind() const noexcept override { return "sim"; }

  void run() override;
  void run_until(Instant deadline) override;
  void stop() noexcept override { stopped_ = true; }

  WakeId wake_at(Instant deadline, std::coroutine_handle<> h) override;
  WakeId wake_soon(std::coroutine_handle<> h) override;
  void cancel_wake(WakeId id) noexcept override;

  // Coroutine resumptions so far: the unit of simulated work.
  std::uint64_t steps() const noexcept { return steps_; }
  // A safety limit: once this many steps have run, the loop stops and
  // step_budget_exhausted() says so (a runaway scenario ends, never hangs).
  void set_step_budget(std::uint64_t steps) noexcept { step_budget_ = steps; }
  bool step_budget_exhausted() const noexcept { return budget_exhausted_; }
  std::size_t pending_timers() const noexcept { return timers_.size(); }

 private:
  struct Slot {
    std::coroutine_handle<> handle;
    std::uint32_t generation = 1;
  };
  struct Timer {
    Instant deadline;
    std::uint64_t sequence;
    WakeId wake;
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const noexcept {
      return a.deadline != b.deadline ? a.deadline > b.deadline : a.sequence > b.sequence;
    }
  };

  // The ready FIFO as a ring that only grows: a std::deque would allocate
  // a block every few dozen wake-ups, on the hot path of every call.
  class ReadyRing {
   public:
    bool empty() const noexcept { return size_ == 0; }
    void push_back(WakeId id);
    WakeId pop_front() noexcept;

   private:
    std::vector<WakeId> slots_;  // size is zero or a power of two
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  WakeId allocate(std::coroutine_handle<> h);
  // Frees the slot and returns its handle if `id` is still pending.
  std::coroutine_handle<> take(WakeId id) noexcept;
  void loop(const Instant* deadline);

  Instant now_{};
  std::uint64_t sequence_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t step_budget_ = UINT64_MAX;
  bool budget_exhausted_ = false;
  bool stopped_ = false;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Timer> timers_;  // a heap under Later
  ReadyRing ready_;
};

}  // namespace faultline::runtime
