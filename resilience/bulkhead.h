// The bulkhead: at most `max_concurrent` calls in flight and at most
// `max_queue` waiting for a slot; a call that finds both full is refused at
// once with Failure{bulkhead_full} and counted, so a saturated dependency
// sheds load instead of growing an unbounded backlog. Waiters get slots in
// FIFO order (runtime::Semaphore); a cancelled waiter or call gives its slot
// back.
//
//   Bulkhead bulkhead(rt, {.max_concurrent = 8, .max_queue = 32}, Observer::named(rt.log(), "ocr"));
//   Outcome<Fields> r = co_await bulkhead.call([&] { return ocr.extract(doc); }, invoice_id);
//
//   // Synchronous form (no waiting, no queue): a slot or a refusal.
//   if (auto slot = bulkhead.try_enter(invoice_id)) { ... }   // released when `slot` dies
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::resilience {

struct BulkheadConfig {
  std::size_t max_concurrent = 10;  // at least 1
  std::size_t max_queue = 0;        // 0: refuse whenever every slot is busy
};
std::optional<ConfigProblem> check(const BulkheadConfig& config);

struct BulkheadCounters {
  std::uint64_t admitted = 0;
  std::uint64_t queued = 0;    // admitted after waiting
  std::uint64_t rejected = 0;
  std::size_t peak_in_flight = 0;
  std::size_t peak_queued = 0;
};

class Bulkhead {
 public:
  // A held slot; gives it back when destroyed.
  class Slot {
   public:
    Slot() noexcept = default;
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    ~Slot() { release(); }
    explicit operator bool() const noexcept { return owner_ != nullptr; }
    void release() noexcept;

   private:
    friend class Bulkhead;
    explicit Slot(Bulkhead* owner) noexcept : owner_(owner) {}
    Bulkhead* owner_ = nullptr;
  };

  // Asserts that check(config) finds nothing.
  Bulkhead(runtime::Runtime& rt, BulkheadConfig config, Observer observer = {});

  // A slot now, or an empty Slot (refusal counted) if none is free.
  [[nodiscard]] Slot try_enter(std::uint64_t subject = 0);

  // Runs `op()` in a slot, waiting in the queue if there is room there.
  // `op` must outlive the returned task.
  template <class Op>
  runtime::Task<detail::OpOutcome<Op>> call(Op op, std::uint64_t subject = 0);

  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t queued() const noexcept { return semaphore_.waiting(); }
  const BulkheadConfig& config() const noexcept { return config_; }
  const BulkheadCounters& counters() const noexcept { return counters_; }

 private:
  Slot try_enter_quietly() noexcept;
  void on_admit() noexcept;
  void reject(std::uint64_t subject);

  BulkheadConfig config_;
  Observer observer_;
  runtime::Semaphore semaphore_;
  std::size_t in_flight_ = 0;
  BulkheadCounters counters_;
};

template <class Op>
runtime::Task<detail::OpOutcome<Op>> Bulkhead::call(Op op, std::uint64_t subject) {
  using Result = detail::OpOutcome<Op>;
  Slot slot = try_enter_quietly();
  if (!slot) {
    if (semaphore_.waiting() >= config_.max_queue) {
      reject(subject);
      co_return Result(Failure{ErrorClass::bulkhead_full, "bulkhead full"});
    }
    ++counters_.queued;
    if (semaphore_.waiting() + 1 > counters_.peak_queued) {
      counters_.peak_queued = semaphore_.waiting() + 1;
    }
    co_await semaphore_.acquire();
    on_admit();
    slot = Slot(this);
  }
  co_return co_await op();
}

}  // namespace faultline::resilience
