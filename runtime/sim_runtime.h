// The deterministic discrete-event runtime. One thread, a virtual clock, a
// FIFO of ready coroutines and a timer heap ordered by (deadline, sequence
// number). The loop runs everything ready, then jumps the clock to the next
// deadline, so five simulated minutes of sleep cost no wall time. Given the
// same seed and the same code, every run resumes the same coroutines in the
// same order at the same virtual instants.
//
// Most timers are timeouts (a fixed limit guarding a call) and are cancelled
// long before they are due. A timer set a whole number of milliseconds
// ahead goes into a lane of timers with that same delay: a FIFO, already in
// deadline order since the clock never goes back, so adding one is an
// append and cancelling one marks it dead where it stands. Other timers
// (random latencies) go to a binary heap from which a cancelled one leaves
// at once. The next timer due is the earliest of the heap's top and the
// lanes' heads, by (deadline, sequence number): the same order one heap of
// every timer would give.
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
  std::size_t pending_timers() const noexcept { return timers_.size() + lane_timers_; }

 private:
  static constexpr std::uint32_t kNotInHeap = UINT32_MAX;
  static constexpr std::uint32_t kInLane = UINT32_MAX - 1;
  struct Slot {
    std::coroutine_handle<> handle;
    std::uint32_t generation = 1;
    // Where its timer is in timers_, kInLane, or kNotInHeap (no timer).
    std::uint32_t heap_index = kNotInHeap;
  };
  struct Timer {
    Instant deadline;
    std::uint64_t sequence;
    std::uint32_t slot;
  };
  static bool earlier(const Timer& a, const Timer& b) noexcept {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence;
  }
  // Timers of one delay, in the order they were set (a growing ring). An
  // entry whose slot generation has moved on was cancelled.
  struct Lane {
    Duration delay{};
    std::vector<Timer> ring;  // size zero or a power of two
    std::vector<std::uint32_t> generations;
    std::size_t head = 0;
    std::size_t size = 0;
    void push_back(const Timer& timer, std::uint32_t generation);
    void pop_front() noexcept {
      head = (head + 1) & (ring.size() - 1);
      --size;
    }
  };
  static constexpr std::size_t kMaxLanes = 16;
  Lane* lane_for(Duration delay);
  // Drops cancelled timers from the lanes' heads; the lane whose head is
  // due first, or nullptr.
  Lane* earliest_lane() noexcept;

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
  // The timer heap (a binary min-heap under earlier()), keeping each
  // slot's heap_index up to date.
  void place(std::size_t index, const Timer& timer) noexcept {
    timers_[index] = timer;
    slots_[timer.slot].heap_index = static_cast<std::uint32_t>(index);
  }
  void sift_up(std::size_t index, Timer timer) noexcept;
  void sift_down(std::size_t index, Timer timer) noexcept;
  void erase_timer(std::size_t index) noexcept;

  Instant now_{};
  std::uint64_t sequence_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t step_budget_ = UINT64_MAX;
  bool budget_exhausted_ = false;
  bool stopped_ = false;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Timer> timers_;  // a heap under earlier()
  std::vector<Lane> lanes_;
  std::size_t lane_timers_ = 0;  // pending (not cancelled) timers in lanes
  // The lane whose head was due first when last looked for, while
  // lanes_dirty_ is false: a head only gets earlier when a timer goes into an
  // empty lane, which updates it, and the cache is rechecked when its own
  // head fires or turns out cancelled.
  Lane* earliest_ = nullptr;
  bool lanes_dirty_ = true;
  ReadyRing ready_;
};

}  // namespace faultline::runtime
