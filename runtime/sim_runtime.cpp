#include "runtime/sim_runtime.h"

#include <cassert>

namespace faultline::runtime {

void SimRuntime::ReadyRing::push_back(WakeId id) {
  if (size_ == slots_.size()) {
    std::vector<WakeId> grown(slots_.empty() ? 64 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) grown[i] = slots_[(head_ + i) & (slots_.size() - 1)];
    slots_.swap(grown);
    head_ = 0;
  }
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

SimRuntime::SimRuntime(std::uint64_t seed) : Runtime(seed) { lanes_.reserve(kMaxLanes); }

SimRuntime::~SimRuntime() { destroy_tasks(); }

WakeId SimRuntime::allocate(std::coroutine_handle<> h) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot].handle = h;
  return WakeId{slot, slots_[slot].generation};
}

std::coroutine_handle<> SimRuntime::take(WakeId id) noexcept {
  if (!id || id.slot >= slots_.size()) return {};
  Slot& s = slots_[id.slot];
  if (s.generation != id.generation) return {};
  if (s.heap_index == kInLane) {
    // The lane entry stays; the generation below marks it dead.
    --lane_timers_;
    s.heap_index = kNotInHeap;
  } else if (s.heap_index != kNotInHeap) {
    erase_timer(s.heap_index);
  }
  const std::coroutine_handle<> h = s.handle;
  s.handle = {};
  if (++s.generation == 0) s.generation = 1;
  free_slots_.push_back(id.slot);
  return h;
}

void SimRuntime::sift_up(std::size_t index, Timer timer) noexcept {
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!earlier(timer, timers_[parent])) break;
    place(index, timers_[parent]);
    index = parent;
  }
  place(index, timer);
}

void SimRuntime::sift_down(std::size_t index, Timer timer) noexcept {
  const std::size_t n = timers_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && earlier(timers_[child + 1], timers_[child])) ++child;
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
  if (index > 0 && earlier(last, timers_[(index - 1) / 2])) {
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

void SimRuntime::Lane::push_back(const Timer& timer, std::uint32_t generation) {
  if (size == ring.size()) {
    const std::size_t grown_size = ring.empty() ? 64 : ring.size() * 2;
    std::vector<Timer> grown(grown_size);
    std::vector<std::uint32_t> grown_generations(grown_size);
    for (std::size_t i = 0; i < size; ++i) {
      grown[i] = ring[(head + i) & (ring.size() - 1)];
      grown_generations[i] = generations[(head + i) & (ring.size() - 1)];
    }
    ring.swap(grown);
    generations.swap(grown_generations);
    head = 0;
  }
  const std::size_t at = (head + size) & (ring.size() - 1);
  ring[at] = timer;
  generations[at] = generation;
  ++size;
}

SimRuntime::Lane* SimRuntime::lane_for(Duration delay) {
  // Only round delays get a lane: configured limits are, random latencies
  // almost never are.
  if (delay.count() % 1'000'000 != 0) return nullptr;
  Lane* idle = nullptr;
  for (auto& lane : lanes_) {
    if (lane.delay == delay) return &lane;
    if (idle == nullptr && lane.size == 0) idle = &lane;
  }
  if (idle == nullptr) {
    if (lanes_.size() >= kMaxLanes) return nullptr;
    idle = &lanes_.emplace_back();
  }
  // An empty lane (even one a chance round latency took) is free to reuse.
  idle->delay = delay;
  return idle;
}

SimRuntime::Lane* SimRuntime::earliest_lane() noexcept {
  if (!lanes_dirty_ && earliest_ != nullptr && earliest_->size != 0 &&
      slots_[earliest_->ring[earliest_->head].slot].generation == earliest_->generations[earliest_->head]) {
    return earliest_;
  }
  Lane* best = nullptr;
  for (auto& lane : lanes_) {
    while (lane.size != 0) {
      const Timer& t = lane.ring[lane.head];
      if (slots_[t.slot].generation == lane.generations[lane.head]) break;
      lane.pop_front();  // cancelled
    }
    if (lane.size == 0) continue;
    if (best == nullptr || earlier(lane.ring[lane.head], best->ring[best->head])) best = &lane;
  }
  earliest_ = best;
  lanes_dirty_ = false;
  return best;
}

WakeId SimRuntime::wake_at(Instant deadline, std::coroutine_handle<> h) {
  if (deadline <= now_) return wake_soon(h);
  const WakeId id = allocate(h);
  const Timer timer{deadline, sequence_++, id.slot};
  if (Lane* lane = lane_for(deadline - now_)) {
    if (lane->size == 0 && !lanes_dirty_ &&
        (earliest_ == nullptr || earliest_->size == 0 || earlier(timer, earliest_->ring[earliest_->head]))) {
      earliest_ = lane;
    }
    lane->push_back(timer, id.generation);
    slots_[id.slot].heap_index = kInLane;
    ++lane_timers_;
    return id;
  }
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
  if (!stopped_ && now_ < deadline) now_ = deadline;
}

void SimRuntime::loop(const Instant* deadline) {
  stopped_ = false;
  while (!stopped_) {
    if (steps_ >= step_budget_) {
      budget_exhausted_ = true;
      break;
    }
    std::coroutine_handle<> h;
    if (!ready_.empty()) {
      h = take(ready_.pop_front());
    } else {
      Lane* lane = lane_timers_ != 0 ? earliest_lane() : nullptr;
      const bool from_heap = !timers_.empty() && (lane == nullptr || earlier(timers_.front(), lane->ring[lane->head]));
      if (!from_heap && lane == nullptr) break;
      const Timer next = from_heap ? timers_.front() : lane->ring[lane->head];
      if (deadline != nullptr && next.deadline > *deadline) break;
      if (!from_heap) {
        lane->pop_front();
        lanes_dirty_ = true;
      }
      h = take(WakeId{next.slot, slots_[next.slot].generation});  // off the heap or out of the lane count
      assert(h);
      now_ = next.deadline;
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
