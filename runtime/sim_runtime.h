// The deterministic discrete-event runtime. One thread, a virtual clock, a
// FIFO of ready coroutines and a timer heap ordered by (deadline, sequence
// number). The loop runs everything ready, then jumps the clock to the next
// deadline, so five simulated minutes of sleep cost no wall time. Given the
// same seed and the same code, every run resumes the same coroutines in the
// same order at the same virtual instants.
//
// Most timers are cancelled long before they are due (a timeout guarding a
// call that answered), so a cancelled timer leaves the heap at once: each
// pending wake-up knows its place in the heap. The heap then holds only the
// timers still pending, a few hundred even when thousands of timeouts have
// been set and cancelled in the last minutes of virtual time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace faultline::runtime {

// Safety limits checked inside the run loop, every kAbortPollSteps steps, so
// that a scenario which runs too long or grows too large ends in the middle
// instead of after it. The wall clock and the process's resident memory are
// read here for this abort only: they never change what a run does until it
// is stopped, so a run that no limit stops stays deterministic.
struct AbortLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* stop = nullptr;             // set from a signal handler
  std::uint64_t events_max = UINT64_MAX;               // events appended to the log
  std::uint64_t resident_bytes_max = UINT64_MAX;       // the whole process's resident memory
};
// Steps between two checks of the limits (a clock read and two loads), and
// checks between two reads of the resident memory (a file read).
inline constexpr std::uint64_t kAbortPollSteps = 1u << 12;
inline constexpr std::uint64_t kMemoryPollChecks = 1u << 6;

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
  void set_abort_limits(const AbortLimits& limits) noexcept { limits_ = limits; }
  // True once the step budget or any AbortLimits stopped the loop; the
  // reason says which, for people ("" while nothing has).
  bool step_budget_exhausted() const noexcept { return budget_exhausted_; }
  const std::string& abort_reason() const noexcept { return abort_reason_; }
  std::size_t pending_timers() const noexcept { return timers_.size(); }

 private:
  static constexpr std::uint32_t kNotInHeap = UINT32_MAX;
  struct Slot {
    std::coroutine_handle<> handle;
    std::uint32_t generation = 1;
    std::uint32_t heap_index = kNotInHeap;  // where its timer is in timers_, if it has one
    std::uint32_t next_free = kNoSlot;      // the free list's link, while the slot is free
  };
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;
  struct Timer {
    Instant deadline;
    std::uint64_t sequence;
    std::uint32_t slot;
  };
  // Sequence numbers are unique, so this is a strict total order: whatever
  // shape the heap has, timers come off it in one order.
  static bool earlier(const Timer& a, const Timer& b) noexcept {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
  }
  // A 4-ary heap: half the levels of a binary one, so a timer that fires
  // (taken from the top) or is cancelled moves half as many times, and a
  // level's four children share a cache line or two.
  static constexpr std::size_t kArity = 4;

  // The ready FIFO as a ring that only grows: a std::deque would allocate
  // a block every few dozen wake-ups, on the hot path of every call.
  class ReadyRing {
   public:
    bool empty() const noexcept { return size_ == 0; }
    void push_back(WakeId id);
    WakeId pop_front() noexcept;

   private:
    // Doubles the ring; out of line so push_back needs no stack frame.
    [[gnu::cold, gnu::noinline]] void grow();
    std::vector<WakeId> slots_;  // size is zero or a power of two
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  WakeId allocate(std::coroutine_handle<> h);
  // A new slot when none is free; out of line for the same reason.
  [[gnu::cold, gnu::noinline]] std::uint32_t new_slot();
  // Frees the slot and returns its handle if `id` is still pending.
  std::coroutine_handle<> take(WakeId id) noexcept;
  void loop(const Instant* deadline);
  // The timer heap (a 4-ary min-heap under earlier()), keeping each
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
  AbortLimits limits_;
  std::uint64_t next_limit_check_ = kAbortPollSteps;
  std::string abort_reason_;
  std::uint64_t limit_checks_ = 0;
  // Checks limits_; true (with abort_reason_ set) when one is reached.
  bool limit_reached();
  bool stopped_ = false;
  std::vector<Slot> slots_;
  std::uint32_t free_head_ = kNoSlot;  // free slots, linked through Slot::next_free
  std::vector<Timer> timers_;  // a heap under earlier()
  ReadyRing ready_;
};

}  // namespace faultline::runtime
