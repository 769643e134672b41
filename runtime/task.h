// Task<T>: faultline's coroutine type, the one way agent and pattern code is
// written so that it runs unchanged on the sim and the live runtime.
//
//   Task<int> fetch(Runtime& rt) {
//     co_await rt.sleep(std::chrono::milliseconds(5));
//     co_return 42;
//   }
//   Task<void> caller(Runtime& rt) {
//     int v = co_await fetch(rt);          // starts fetch, resumes here after
//     auto r = co_await rt.with_timeout(fetch(rt), std::chrono::seconds(1));
//     if (!r) { /* timed out: fetch's frame is already destroyed */ }
//   }
//
// A Task is lazy: nothing runs until it is awaited or handed to
// Runtime::spawn. Task<T>::ready(value) makes a task that is finished from
// the start and has no frame at all: what an implementation returns when it
// can answer at once behind an interface that may have to wait (an
// in-memory store behind CheckpointStore), so the answer costs no frame.
//
//   Task<Outcome<int>> InMemory::get(Key k) { return Task<Outcome<int>>::ready(table_[k]); }
// It owns its coroutine frame; destroying a suspended Task
// destroys the frame and, with it, every frame it awaits. Awaitables of the
// runtime unregister themselves when destroyed, so a destroyed (cancelled)
// task is never resumed. Exceptions thrown inside a task reach its awaiter.
#pragma once

#include <cstddef>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/assert.h"
#include "runtime/frame_pool.h"

namespace faultline::runtime {

template <class T = void>
class Task;

namespace detail {

class PromiseBase {
 public:
  static void* operator new(std::size_t bytes) { return FramePool::allocate(bytes); }
  static void operator delete(void* frame, std::size_t bytes) noexcept {
    FramePool::deallocate(frame, bytes);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return h.promise().continuation_;
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> h) noexcept { continuation_ = h; }

 protected:
  void rethrow_if_failed() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  std::exception_ptr error_;
};

template <class T>
class Promise final : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;

  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }

  T take_result() {
    rethrow_if_failed();
    FAULTLINE_ASSERT(value_.has_value() && "task finished without a value");
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take_result() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
  // What a ready task holds: its value (a flag for Task<void>).
  using Ready = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

 public:
  using promise_type = detail::Promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : handle_(h) {}
  Task(Task&& other) noexcept(std::is_nothrow_move_constructible_v<Ready>)
      : handle_(std::exchange(other.handle_, {})), ready_(std::move(other.ready_)) {
    other.clear_ready();
  }
  Task& operator=(Task&& other) noexcept(std::is_nothrow_move_assignable_v<Ready>) {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
      ready_ = std::move(other.ready_);
      other.clear_ready();
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // A task finished from the start with `value`, without a coroutine frame.
  template <class U>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
  static Task ready(U&& value) {
    return ready_in_place(std::forward<U>(value));
  }
  // The same, with the value built in place from `args`: nothing is moved.
  template <class... Args>
    requires(!std::is_void_v<T> && std::is_constructible_v<T, Args && ...>)
  static Task ready_in_place(Args&&... args) {
    Task t;
    t.ready_.emplace(std::forward<Args>(args)...);
    return t;
  }
  static Task ready()
    requires std::is_void_v<T>
  {
    Task t;
    t.ready_ = true;
    return t;
  }

  bool valid() const noexcept { return handle_ || has_ready(); }
  bool done() const noexcept { return has_ready() || (handle_ && handle_.done()); }

  // Destroys the frame (cancels the task) if there is one.
  void reset() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
    clear_ready();
  }

  // Starts the task with `continuation` resumed when it finishes; used by the
  // runtime's own awaitables, on a task that is not done() (a ready task has
  // nothing to start).
  std::coroutine_handle<> start(std::coroutine_handle<> continuation) noexcept {
    FAULTLINE_ASSERT(handle_ && !handle_.done());
    handle_.promise().set_continuation(continuation);
    return handle_;
  }

  // The result of a finished task (rethrows what it threw).
  T result() {
    FAULTLINE_ASSERT(done());
    return take();
  }

  struct Awaiter {
    Task* task;
    bool await_ready() const noexcept { return task->has_ready() || !task->handle_ || task->handle_.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
      task->handle_.promise().set_continuation(parent);
      return task->handle_;
    }
    T await_resume() {
      FAULTLINE_ASSERT(task->valid() && "awaited an empty Task");
      return task->take();
    }
  };
  Awaiter operator co_await() & noexcept { return Awaiter{this}; }
  Awaiter operator co_await() && noexcept { return Awaiter{this}; }

 private:
  bool has_ready() const noexcept {
    if constexpr (std::is_void_v<T>) {
      return ready_;
    } else {
      return ready_.has_value();
    }
  }
  void clear_ready() noexcept {
    if constexpr (std::is_void_v<T>) {
      ready_ = false;
    } else {
      ready_.reset();
    }
  }
  T take() {
    if constexpr (std::is_void_v<T>) {
      if (!ready_) handle_.promise().take_result();
    } else {
      if (ready_) return std::move(*ready_);
      return handle_.promise().take_result();
    }
  }

  handle_type handle_;
  Ready ready_{};
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace faultline::runtime
