#include "runtime/sim_runtime.h"

#include <unistd.h>

#include <cassert>
#include <cstdio>

namespace faultline::runtime {

void SimRuntime::ReadyRing::grow() {
  std::vector<WakeId> grown(slots_.empty() ? 64 : slots_.size() * 2);
  for (std::size_t i = 0; i < size_; ++i) grown[i] = slots_[(head_ + i) & (slots_.size() - 1)];
  slots_.swap(grown);
  head_ = 0;
}

void SimRuntime::ReadyRing::push_back(WakeId id) {
  if (size_ == slots_.size()) grow();
  slots_[(head_ + size_) & (slots_.size() - 1)] = id;
  ++size_;
}

WakeId SimRuntime::ReadyRing::pop_front() noexcept {
  assert(size_ > 0);
  const WakeId id = slots_[head_];
  head_ = (head_ + 1) & (slots_.size() - 1);
  --size_;
  return id;
}

SimRuntime::SimRuntime(std::uint64_t seed) : Runtime(seed) { log().attach_clock(&now_); }

SimRuntime::~SimRuntime() {
  destroy_tasks();
  log().attach_clock(nullptr);  // now_ goes before the log does
}

std::uint32_t SimRuntime::new_slot() {
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

WakeId SimRuntime::allocate(std::coroutine_handle<> h) {
  std::uint32_t slot = free_head_;
  if (slot != kNoSlot) {
    free_head_ = slots_[slot].next_free;
  } else {
    slot = new_slot();
  }
  Slot& s = slots_[slot];
  s.handle = h;
  return WakeId{slot, s.generation};
}

std::coroutine_handle<> SimRuntime::take(WakeId id) noexcept {
  if (!id || id.slot >= slots_.size()) return {};
  Slot& s = slots_[id.slot];
  if (s.generation != id.generation) return {};
  if (s.heap_index != kNotInHeap) erase_timer(s.heap_index);
  const std::coroutine_handle<> h = s.handle;
  s.handle = {};
  if (++s.generation == 0) s.generation = 1;
  s.next_free = free_head_;
  free_head_ = id.slot;
  return h;
}

void SimRuntime::sift_up(std::size_t index, Timer timer) noexcept {
  while (index > 0) {
    const std::size_t parent = (index - 1) / kArity;
    if (!earlier(timer, timers_[parent])) break;
    place(index, timers_[parent]);
    index = parent;
  }
  place(index, timer);
}

void SimRuntime::sift_down(std::size_t index, Timer timer) noexcept {
  const std::size_t n = timers_.size();
  for (;;) {
    const std::size_t first = kArity * index + 1;
    if (first >= n) break;
    const std::size_t end = first + kArity < n ? first + kArity : n;
    std::size_t child = first;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (earlier(timers_[c], timers_[child])) child = c;
    }
    if (!earlier(timers_[child], timer)) break;
    place(index, timers_[child]);
    index = child;
  }
  place(index, timer);
}

void SimRuntime::erase_timer(std::size_t index) noexcept {
  assert(index < timers_.size());
  slots_[timers_[index].slot].heap_index = kNotInHeap;
  const Timer last = timers_.back();
  timers_.pop_back();
  if (index == timers_.size()) return;
  // The last timer fills the hole and moves whichever way restores the heap.
  if (index > 0 && earlier(last, timers_[(index - 1) / kArity])) {
    sift_up(index, last);
  } else {
    sift_down(index, last);
  }
}

WakeId SimRuntime::wake_soon(std::coroutine_handle<> h) {
  const WakeId id = allocate(h);
  ready_.push_back(id);
  return id;
}

WakeId SimRuntime::wake_at(Instant deadline, std::coroutine_handle<> h) {
  if (deadline <= now_) return wake_soon(h);
  const WakeId id = allocate(h);
  const Timer timer{deadline, sequence_++, id.slot};
  timers_.emplace_back();
  sift_up(timers_.size() - 1, timer);
  return id;
}

void SimRuntime::cancel_wake(WakeId id) noexcept {
  // A timer leaves the heap now; a ready-queue entry stays behind and is
  // skipped when it comes up.
  (void)take(id);
}

void SimRuntime::run() { loop(nullptr); }

void SimRuntime::run_until(Instant deadline) {
  loop(&deadline);
  if (!stopped_ && !budget_exhausted_ && now_ < deadline) now_ = deadline;
}

namespace {
// Resident memory of this process, from /proc/self/statm; 0 if unknown.
std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int read = std::fscanf(f, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(f);
  if (read != 2) return 0;
  return static_cast<std::uint64_t>(resident_pages) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}
}  // namespace

bool SimRuntime::limit_reached() {
  if (limits_.stop != nullptr && limits_.stop->load(std::memory_order_relaxed)) {
    abort_reason_ = "a signal (SIGINT or SIGTERM)";
    return true;
  }
  if (limits_.deadline != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= limits_.deadline) {
    abort_reason_ = "the wall-clock time limit";
    return true;
  }
  if (log().appended() > limits_.events_max) {
    abort_reason_ = "the event budget of " + std::to_string(limits_.events_max) + " events";
    return true;
  }
  if (limits_.resident_bytes_max != UINT64_MAX && ++limit_checks_ % kMemoryPollChecks == 1) {
    const std::uint64_t rss = resident_bytes();
    if (rss > limits_.resident_bytes_max) {
      abort_reason_ = "the memory budget of " + std::to_string(limits_.resident_bytes_max >> 20) +
                      " MiB (resident " + std::to_string(rss >> 20) + " MiB)";
      return true;
    }
  }
  return false;
}

void SimRuntime::loop(const Instant* deadline) {
  stopped_ = false;
  while (!stopped_) {
    if (steps_ >= step_budget_) {
      budget_exhausted_ = true;
      abort_reason_ = "the safety limit of " + std::to_string(step_budget_) + " simulation steps";
      break;
    }
    if (steps_ >= next_limit_check_) {
      next_limit_check_ = steps_ + kAbortPollSteps;
      if (limit_reached()) {
        budget_exhausted_ = true;
        break;
      }
    }
    std::coroutine_handle<> h;
    if (!ready_.empty()) {
      h = take(ready_.pop_front());
    } else if (!timers_.empty()) {
      const Timer& next = timers_.front();
      if (deadline != nullptr && next.deadline > *deadline) break;
      const Instant at = next.deadline;
      const std::uint32_t slot = next.slot;
      h = take(WakeId{slot, slots_[slot].generation});  // takes it off the heap
      assert(h);
      now_ = at;
    } else {
      break;
    }
    if (!h) continue;  // cancelled
    ++steps_;
    h.resume();
    if (has_task_failure()) {
      stopped_ = true;
      rethrow_task_failure();
    }
  }
}

}  // namespace faultline::runtime
