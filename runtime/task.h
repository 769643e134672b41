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
// Runtime::spawn. It owns its coroutine frame; destroying a suspended Task
// destroys the frame and, with it, every frame it awaits. Awaitables of the
// runtime unregister themselves when destroyed, so a destroyed (cancelled)
// task is never resumed. Exceptions thrown inside a task reach its awaiter.
#pragma once

#include <cassert>
#include <cstddef>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

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
    assert(value_.has_value() && "task finished without a value");
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
 public:
  using promise_type = detail::Promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return handle_ && handle_.done(); }

  // Destroys the frame (cancels the task) if there is one.
  void reset() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  // Starts the task with `continuation` resumed when it finishes; used by the
  // runtime's own awaitables.
  std::coroutine_handle<> start(std::coroutine_handle<> continuation) noexcept {
    assert(handle_ && !handle_.done());
    handle_.promise().set_continuation(continuation);
    return handle_;
  }

  // The result of a finished task (rethrows what it threw).
  T result() {
    assert(done());
    return handle_.promise().take_result();
  }

  struct Awaiter {
    handle_type handle;
    bool await_ready() const noexcept { return !handle || handle.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
      handle.promise().set_continuation(parent);
      return handle;
    }
    T await_resume() {
      assert(handle && "awaited an empty Task");
      return handle.promise().take_result();
    }
  };
  Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

 private:
  handle_type handle_;
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
