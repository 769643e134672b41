// The runtime interface: now, sleep, spawn, timeout and cancel, a random
// stream per name and an event log. Agent and pattern code is written once
// against `Runtime&` and runs on either implementation:
//
//   SimRuntime rt(/*seed=*/42);                 // runtime/sim_runtime.h
//   rt.spawn([](Runtime& rt) -> Task<> {
//     co_await rt.sleep(std::chrono::minutes(5)); // costs no wall time in sim
//     auto r = co_await rt.with_timeout(slow_call(rt), std::chrono::seconds(2));
//     if (!r) rt.log().record(/*source=*/0, /*subject=*/0, TimedOut{});  // a payload: event_log.h
//   }(rt));
//   rt.run();                                    // until nothing is left to do
//
// The seam sits above Boost.Asio, as FoundationDB's Net2/Sim2 split does: an
// implementation provides only the clock and three wake-up primitives
// (wake_at, wake_soon, cancel_wake); everything else here is shared.
//
// Cancellation is destruction: cancelling a task destroys its frames, and
// every awaitable of this layer unregisters its pending wake-up in its
// destructor, so a cancelled or abandoned coroutine is never resumed.
#pragma once

#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/assert.h"
#include "runtime/event_log.h"
#include "runtime/random.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace faultline::runtime {

class Runtime;

// A pending wake-up: a slot and its generation. A stale id (its wake-up
// already ran or was cancelled) is harmless to cancel.
struct WakeId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0: no wake-up
  explicit operator bool() const noexcept { return generation != 0; }
};

// Identifies a spawned task for Runtime::cancel.
struct TaskId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  explicit operator bool() const noexcept { return generation != 0; }
};

struct Unit {
  friend bool operator==(Unit, Unit) = default;
};

// What with_timeout gives back: the task's value, or nothing if the time ran
// out first (a Task<void> gives Unit on success).
template <class T>
using TimeoutResult = std::optional<std::conditional_t<std::is_void_v<T>, Unit, T>>;

class SleepAwaiter {
 public:
  SleepAwaiter(Runtime& rt, Instant deadline) noexcept : rt_(&rt), deadline_(deadline) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter();

  // Even a deadline already passed suspends: every sleep is a yield point,
  // which keeps interleavings the same on both runtimes.
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { wake_ = {}; }

 private:
  Runtime* rt_;
  Instant deadline_;
  WakeId wake_;
};

template <class T>
class TimeoutAwaiter {
 public:
  TimeoutAwaiter(Runtime& rt, Task<T> task, Instant deadline) noexcept
      : rt_(&rt), task_(std::move(task)), deadline_(deadline) {}
  TimeoutAwaiter(const TimeoutAwaiter&) = delete;
  TimeoutAwaiter& operator=(const TimeoutAwaiter&) = delete;
  ~TimeoutAwaiter();

  // A ready task (Task::ready) needs no race.
  bool await_ready() const noexcept { return task_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent);
  TimeoutResult<T> await_resume();

 private:
  Runtime* rt_;
  Task<T> task_;
  Instant deadline_;
  WakeId timer_;
};

namespace detail {
// The coroutine that owns a spawned task: it lives in the runtime's task
// table until the task finishes or is cancelled.
struct RootTask {
  struct promise_type {
    static void* operator new(std::size_t bytes) { return FramePool::allocate(bytes); }
    static void operator delete(void* frame, std::size_t bytes) noexcept {
      FramePool::deallocate(frame, bytes);
    }
    Runtime* runtime = nullptr;
    TaskId id;
    RootTask get_return_object() noexcept {
      return RootTask{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept;
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept;
  };
  std::coroutine_handle<promise_type> handle;
};
}  // namespace detail

class Runtime {
 public:
  explicit Runtime(std::uint64_t seed);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  virtual ~Runtime();

  virtual Instant now() const noexcept = 0;
  // "sim" or "live".
  virtual std::string_view kind() const noexcept = 0;

  // Runs until no task can make progress (nothing ready, no timer pending),
  // or until stop(). Rethrows the first exception that escaped a spawned task.
  virtual void run() = 0;
  // Runs everything due at or before `deadline`, then returns with the clock
  // at `deadline` (sim) or when real time reaches it (live).
  virtual void run_until(Instant deadline) = 0;
  void run_for(Duration d) { run_until(now() + d); }
  // Makes run()/run_until() return after the current step.
  virtual void stop() noexcept = 0;

  SleepAwaiter sleep(Duration d) noexcept { return SleepAwaiter(*this, now() + d); }
  SleepAwaiter sleep_until(Instant t) noexcept { return SleepAwaiter(*this, t); }
  SleepAwaiter yield() noexcept { return SleepAwaiter(*this, now()); }

  // Runs `task` with a time limit. If the limit passes first, the task is
  // abandoned: its frames are destroyed at once and it never resumes.
  template <class T>
  TimeoutAwaiter<T> with_timeout(Task<T> task, Duration limit) noexcept {
    return TimeoutAwaiter<T>(*this, std::move(task), now() + limit);
  }

  // Starts `task` on the next step, detached. The runtime owns it until it
  // finishes; tasks still suspended when the runtime is destroyed are
  // destroyed with it.
  TaskId spawn(Task<void> task);
  // Destroys a spawned task that has not finished. Returns false if it had
  // already finished or been cancelled. Never cancel the task that is running.
  bool cancel(TaskId id) noexcept;
  std::size_t live_tasks() const noexcept { return live_tasks_; }
  std::uint64_t tasks_spawned() const noexcept { return tasks_spawned_; }
  std::uint64_t timeouts_fired() const noexcept { return timeouts_fired_; }

  std::uint64_t seed() const noexcept { return random_.root_seed(); }
  const RandomStreams& random() const noexcept { return random_; }
  Rng stream(std::string_view name) const noexcept { return random_.stream(name); }
  EventLog& log() noexcept { return log_; }
  const EventLog& log() const noexcept { return log_; }

  // The primitives every awaitable is built on. A wake-up resumes `h` once,
  // unless cancelled first.
  virtual WakeId wake_at(Instant deadline, std::coroutine_handle<> h) = 0;
  virtual WakeId wake_soon(std::coroutine_handle<> h) = 0;
  virtual void cancel_wake(WakeId id) noexcept = 0;

  void count_timeout() noexcept { ++timeouts_fired_; }

 protected:
  // Implementations call this first in their destructor, while their wake
  // tables still exist.
  void destroy_tasks() noexcept;
  // Called by run loops after each step: rethrows a task's escaped exception.
  void rethrow_task_failure();
  bool has_task_failure() const noexcept { return static_cast<bool>(task_failure_); }

 private:
  friend struct detail::RootTask::promise_type::FinalAwaiter;
  friend struct detail::RootTask::promise_type;
  void on_task_finished(TaskId id) noexcept;
  void on_task_failed(std::exception_ptr error) noexcept;

  struct TaskSlot {
    std::coroutine_handle<> handle;
    WakeId start;
    std::uint32_t generation = 1;
    bool live = false;
  };
  std::vector<TaskSlot> tasks_;
  std::vector<std::uint32_t> free_task_slots_;
  std::size_t live_tasks_ = 0;
  std::uint64_t tasks_spawned_ = 0;
  std::uint64_t timeouts_fired_ = 0;
  std::exception_ptr task_failure_;
  RandomStreams random_;
  EventLog log_;
};

// ---------------------------------------------------------------------------
// Wait queues and the synchronisation primitives built on them. A waiter
// removes itself from its queue, or cancels its pending wake-up, when its
// coroutine is destroyed.

class WaitQueue {
 public:
  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    std::coroutine_handle<> handle;
    WakeId wake;
    bool linked = false;
    void* owner = nullptr;  // the awaiter that holds this node
  };

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  void push(Node& node) noexcept;
  void remove(Node& node) noexcept;
  // Unlinks the first waiter and schedules it; nullptr if there is none.
  Node* wake_one(Runtime& rt);
  void wake_all(Runtime& rt);

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  std::size_t size_ = 0;
};

// A manual-reset signal: wait() suspends until set().
class Signal {
 public:
  explicit Signal(Runtime& rt) noexcept : rt_(&rt) {}
  void set();
  void reset() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }

  class Awaiter {
   public:
    explicit Awaiter(Signal& e) noexcept : event_(&e) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter();
    bool await_ready() const noexcept { return event_->set_; }
    void await_suspend(std::coroutine_handle<> h) noexcept;
    void await_resume() noexcept { node_.wake = {}; }

   private:
    Signal* event_;
    WaitQueue::Node node_;
  };
  Awaiter wait() noexcept { return Awaiter(*this); }

  // Waits until set() or until `deadline`, whichever comes first: true if
  // set. The same as with_timeout over a task that waits, without the task:
  // no coroutine frame, one timer. A wait that times out is counted in
  // Runtime::timeouts_fired().
  class TimedAwaiter {
   public:
    TimedAwaiter(Signal& e, Instant deadline) noexcept : event_(&e), deadline_(deadline) {}
    TimedAwaiter(const TimedAwaiter&) = delete;
    TimedAwaiter& operator=(const TimedAwaiter&) = delete;
    ~TimedAwaiter();
    bool await_ready() const noexcept { return event_->set_; }
    void await_suspend(std::coroutine_handle<> h);
    bool await_resume() noexcept;

   private:
    Signal* event_;
    Instant deadline_;
    WakeId timer_;
    WaitQueue::Node node_;
  };
  TimedAwaiter wait_until(Instant deadline) noexcept { return TimedAwaiter(*this, deadline); }

 private:
  Runtime* rt_;
  bool set_ = false;
  WaitQueue waiters_;
};

// A counting semaphore with FIFO hand-off: release() gives the permit to the
// longest waiter. A waiter destroyed after being handed a permit gives it back.
class Semaphore {
 public:
  Semaphore(Runtime& rt, std::size_t permits) noexcept : rt_(&rt), available_(permits) {}

  bool try_acquire() noexcept;
  void release();
  std::size_t available() const noexcept { return available_; }
  std::size_t waiting() const noexcept { return waiters_.size(); }

  class Awaiter {
   public:
    explicit Awaiter(Semaphore& s) noexcept : sem_(&s) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter();
    bool await_ready() noexcept { return sem_->try_acquire(); }
    void await_suspend(std::coroutine_handle<> h) noexcept;
    void await_resume() noexcept { node_.wake = {}; }

   private:
    Semaphore* sem_;
    WaitQueue::Node node_;
  };
  Awaiter acquire() noexcept { return Awaiter(*this); }

 private:
  Runtime* rt_;
  std::size_t available_;
  WaitQueue waiters_;
};

// A bounded FIFO channel. try_send never waits; send waits for room;
// receive waits for a value and gives nullopt once the channel is closed and
// drained. A receiver destroyed after being handed a value puts it back at
// the front, so cancellation loses nothing.
template <class T>
class Channel {
 public:
  Channel(Runtime& rt, std::size_t capacity) : rt_(&rt), capacity_(capacity) {
    FAULTLINE_ASSERT(capacity > 0);
  }

  std::size_t size() const noexcept { return items_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  bool closed() const noexcept { return closed_; }
  bool full() const noexcept { return items_.size() >= capacity_; }

  // False when full or closed; the value is not consumed then.
  [[nodiscard]] bool try_send(T& value);
  [[nodiscard]] bool try_send(T&& value) { return try_send(value); }
  std::optional<T> try_receive();
  void close();

  class SendAwaiter;
  class ReceiveAwaiter;
  // Completes with true once the value is queued, false if the channel closed.
  SendAwaiter send(T value) { return SendAwaiter(*this, std::move(value)); }
  ReceiveAwaiter receive() noexcept { return ReceiveAwaiter(*this); }

  class SendAwaiter {
   public:
    SendAwaiter(Channel& c, T value) : ch_(&c), value_(std::move(value)) {}
    SendAwaiter(const SendAwaiter&) = delete;
    SendAwaiter& operator=(const SendAwaiter&) = delete;
    ~SendAwaiter() {
      if (node_.linked) ch_->senders_.remove(node_);
      if (node_.wake) ch_->rt_->cancel_wake(node_.wake);
    }
    bool await_ready() {
      if (ch_->closed_) return true;
      if (ch_->senders_.empty() && ch_->try_send(*value_)) {
        value_.reset();
        return true;
      }
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      node_.handle = h;
      node_.owner = this;
      ch_->senders_.push(node_);
    }
    // True if the value went into the channel.
    bool await_resume() noexcept {
      node_.wake = {};
      return !value_.has_value();
    }

   private:
    friend class Channel;
    Channel* ch_;
    std::optional<T> value_;
    WaitQueue::Node node_;
  };

  class ReceiveAwaiter {
   public:
    explicit ReceiveAwaiter(Channel& c) noexcept : ch_(&c) {}
    ReceiveAwaiter(const ReceiveAwaiter&) = delete;
    ReceiveAwaiter& operator=(const ReceiveAwaiter&) = delete;
    ~ReceiveAwaiter() {
      if (node_.linked) ch_->receivers_.remove(node_);
      if (node_.wake) {
        ch_->rt_->cancel_wake(node_.wake);
        if (value_) ch_->items_.push_front(std::move(*value_));
      }
    }
    bool await_ready() {
      if (!ch_->items_.empty() || ch_->closed_) {
        value_ = ch_->try_receive();
        return true;
      }
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      node_.handle = h;
      node_.owner = this;
      ch_->receivers_.push(node_);
    }
    std::optional<T> await_resume() noexcept {
      node_.wake = {};
      return std::move(value_);
    }

   private:
    friend class Channel;
    Channel* ch_;
    std::optional<T> value_;
    WaitQueue::Node node_;
  };

 private:
  void admit_waiting_senders();

  Runtime* rt_;
  std::size_t capacity_;
  bool closed_ = false;
  std::deque<T> items_;
  WaitQueue receivers_;
  WaitQueue senders_;
};

// ---------------------------------------------------------------------------
// Template definitions.

template <class T>
TimeoutAwaiter<T>::~TimeoutAwaiter() {
  if (timer_) rt_->cancel_wake(timer_);
}

template <class T>
std::coroutine_handle<> TimeoutAwaiter<T>::await_suspend(std::coroutine_handle<> parent) {
  // The parent is resumed by whichever comes first: the task finishing (it
  // transfers control straight to the parent) or the timer.
  timer_ = rt_->wake_at(deadline_, parent);
  return task_.start(parent);
}

template <class T>
TimeoutResult<T> TimeoutAwaiter<T>::await_resume() {
  if (task_.done()) {
    if (timer_) rt_->cancel_wake(std::exchange(timer_, {}));
    if constexpr (std::is_void_v<T>) {
      task_.result();
      return Unit{};
    } else {
      return task_.result();
    }
  }
  // The timer won: abandon the task. Its frames go now, and with them every
  // wake-up it had pending.
  timer_ = {};
  task_.reset();
  rt_->count_timeout();
  return std::nullopt;
}

template <class T>
bool Channel<T>::try_send(T& value) {
  if (closed_) return false;
  if (auto* node = receivers_.wake_one(*rt_)) {
    auto* r = static_cast<ReceiveAwaiter*>(node->owner);
    r->value_.emplace(std::move(value));
    return true;
  }
  if (items_.size() >= capacity_) return false;
  items_.push_back(std::move(value));
  return true;
}

template <class T>
std::optional<T> Channel<T>::try_receive() {
  if (items_.empty()) return std::nullopt;
  std::optional<T> out(std::move(items_.front()));
  items_.pop_front();
  admit_waiting_senders();
  return out;
}

template <class T>
void Channel<T>::admit_waiting_senders() {
  while (items_.size() < capacity_) {
    auto* node = senders_.wake_one(*rt_);
    if (node == nullptr) break;
    auto* s = static_cast<SendAwaiter*>(node->owner);
    FAULTLINE_ASSERT(s->value_.has_value());
    items_.push_back(std::move(*s->value_));
    s->value_.reset();
  }
}

template <class T>
void Channel<T>::close() {
  closed_ = true;
  receivers_.wake_all(*rt_);
  senders_.wake_all(*rt_);
}

}  // namespace faultline::runtime
