#include "runtime/runtime.h"

#include "runtime/assert.h"

namespace faultline::runtime {

namespace {
detail::RootTask make_root(Task<void> task) { co_await std::move(task); }
}  // namespace

void detail::RootTask::promise_type::FinalAwaiter::await_suspend(
    std::coroutine_handle<promise_type> h) noexcept {
  Runtime* rt = h.promise().runtime;
  const TaskId id = h.promise().id;
  h.destroy();
  rt->on_task_finished(id);
}

void detail::RootTask::promise_type::unhandled_exception() noexcept {
  runtime->on_task_failed(std::current_exception());
}

Runtime::Runtime(std::uint64_t seed) : random_(seed) { log_.attach(this); }

Runtime::~Runtime() {
  // Implementations call destroy_tasks() while their wake tables exist.
  FAULTLINE_ASSERT(live_tasks_ == 0);
}

TaskId Runtime::spawn(Task<void> task) {
  detail::RootTask root = make_root(std::move(task));
  std::uint32_t slot;
  if (!free_task_slots_.empty()) {
    slot = free_task_slots_.back();
    free_task_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(tasks_.size());
    tasks_.emplace_back();
  }
  TaskSlot& entry = tasks_[slot];
  const TaskId id{slot, entry.generation};
  root.handle.promise().runtime = this;
  root.handle.promise().id = id;
  entry.handle = root.handle;
  entry.live = true;
  entry.start = wake_soon(root.handle);
  ++live_tasks_;
  ++tasks_spawned_;
  return id;
}

void Runtime::on_task_finished(TaskId id) noexcept {
  TaskSlot& entry = tasks_[id.slot];
  FAULTLINE_ASSERT(entry.live && entry.generation == id.generation);
  entry.live = false;
  entry.handle = {};
  if (++entry.generation == 0) entry.generation = 1;
  free_task_slots_.push_back(id.slot);
  --live_tasks_;
}

bool Runtime::cancel(TaskId id) noexcept {
  if (id.slot >= tasks_.size()) return false;
  TaskSlot& entry = tasks_[id.slot];
  if (!entry.live || entry.generation != id.generation) return false;
  cancel_wake(entry.start);
  const std::coroutine_handle<> h = entry.handle;
  on_task_finished(id);
  h.destroy();
  return true;
}

void Runtime::destroy_tasks() noexcept {
  for (std::uint32_t slot = 0; slot < tasks_.size(); ++slot) {
    if (tasks_[slot].live) cancel(TaskId{slot, tasks_[slot].generation});
  }
}

void Runtime::on_task_failed(std::exception_ptr error) noexcept {
  if (!task_failure_) task_failure_ = error;
  stop();
}

void Runtime::rethrow_task_failure() {
  if (task_failure_) std::rethrow_exception(std::exchange(task_failure_, nullptr));
}

// --- SleepAwaiter ----------------------------------------------------------

SleepAwaiter::~SleepAwaiter() {
  if (wake_) rt_->cancel_wake(wake_);
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  wake_ = deadline_ <= rt_->now() ? rt_->wake_soon(h) : rt_->wake_at(deadline_, h);
}

// --- WaitQueue and primitives --------------------------------------------------

void WaitQueue::push(Node& node) noexcept {
  FAULTLINE_ASSERT(!node.linked);
  node.prev = tail_;
  node.next = nullptr;
  if (tail_) tail_->next = &node;
  else head_ = &node;
  tail_ = &node;
  node.linked = true;
  ++size_;
}

void WaitQueue::remove(Node& node) noexcept {
  FAULTLINE_ASSERT(node.linked);
  if (node.prev) node.prev->next = node.next;
  else head_ = node.next;
  if (node.next) node.next->prev = node.prev;
  else tail_ = node.prev;
  node.prev = node.next = nullptr;
  node.linked = false;
  --size_;
}

WaitQueue::Node* WaitQueue::wake_one(Runtime& rt) {
  Node* node = head_;
  if (node == nullptr) return nullptr;
  remove(*node);
  node->wake = rt.wake_soon(node->handle);
  return node;
}

void WaitQueue::wake_all(Runtime& rt) {
  while (wake_one(rt) != nullptr) {
  }
}

void Signal::set() {
  set_ = true;
  waiters_.wake_all(*rt_);
}

Signal::Awaiter::~Awaiter() {
  if (node_.linked) event_->waiters_.remove(node_);
  if (node_.wake) event_->rt_->cancel_wake(node_.wake);
}

void Signal::Awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  node_.handle = h;
  node_.owner = this;
  event_->waiters_.push(node_);
}

Signal::TimedAwaiter::~TimedAwaiter() {
  if (node_.linked) event_->waiters_.remove(node_);
  if (node_.wake) event_->rt_->cancel_wake(node_.wake);
  if (timer_) event_->rt_->cancel_wake(timer_);
}

void Signal::TimedAwaiter::await_suspend(std::coroutine_handle<> h) {
  // The timer first, then the wait: the order with_timeout over a waiting
  // task registers them in.
  timer_ = event_->rt_->wake_at(deadline_, h);
  node_.handle = h;
  node_.owner = this;
  event_->waiters_.push(node_);
}

bool Signal::TimedAwaiter::await_resume() noexcept {
  Runtime& rt = *event_->rt_;
  if (node_.linked) {
    // Not woken by the signal: the timer ran (it has fired, so nothing to cancel).
    event_->waiters_.remove(node_);
    timer_ = {};
    rt.count_timeout();
    return false;
  }
  // Woken by the signal. Whichever wake-up did not resume us must not.
  if (timer_) rt.cancel_wake(std::exchange(timer_, {}));
  if (node_.wake) rt.cancel_wake(std::exchange(node_.wake, {}));
  return true;
}

bool Semaphore::try_acquire() noexcept {
  if (available_ == 0 || !waiters_.empty()) return false;
  --available_;
  return true;
}

void Semaphore::release() {
  // Hand the permit straight to the longest waiter, if any.
  if (waiters_.wake_one(*rt_) == nullptr) ++available_;
}

Semaphore::Awaiter::~Awaiter() {
  if (node_.linked) sem_->waiters_.remove(node_);
  if (node_.wake) {
    // Handed a permit but destroyed before using it: pass it on.
    sem_->rt_->cancel_wake(node_.wake);
    sem_->release();
  }
}

void Semaphore::Awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  node_.handle = h;
  node_.owner = this;
  sem_->waiters_.push(node_);
}

}  // namespace faultline::runtime
