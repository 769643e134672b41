// The resilience layer's error model: a small set of error classes that
// decide what a pattern does with a failure (retry it, count it against a
// breaker, degrade, dead-letter), and the [[nodiscard]] result type every
// operation returns. Expected failures are values; nothing here throws.
//
//   Task<Outcome<Invoice>> ocr(Runtime& rt) {
//     if (busy) co_return Failure{ErrorClass::rate_limited, "429", 2s};  // retry after 2 s
//     co_return Invoice{...};
//   }
//   Outcome<Invoice> r = co_await ocr(rt);
//   if (!r) log(r.failure().message);        // r.failure().error_class says why
//   else use(r.value());
//
//   Outcome<> done = ok();                   // Outcome<void>: success or Failure
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "runtime/assert.h"
#include "runtime/time.h"

namespace faultline::resilience {

using runtime::Duration;
using runtime::Instant;

// Why a call failed. The first five come from the called service; the rest
// are produced by the patterns themselves, so a caller can tell "the service
// said no" from "we did not even ask".
enum class ErrorClass : std::uint8_t {
  transient = 0,      // may succeed if tried again (connection reset, 503)
  timeout = 1,        // no answer within the time limit; the call was abandoned
  rate_limited = 2,   // the service asked us to slow down (429), maybe with a retry-after
  permanent = 3,      // will fail again the same way (404, malformed request)
  business = 4,       // the request itself is invalid (bad invoice): reject, never retry
  circuit_open = 5,   // refused by an open (or saturated half-open) circuit breaker
  bulkhead_full = 6,  // refused by a bulkhead whose slots and queue are full
  retry_budget_exhausted = 7,  // a retry was due but the retry budget had none left
  deadline_exceeded = 8,       // the overall deadline would pass before the next attempt
  conflict = 9,                // a versioned write lost to a newer one (stale writer)
  capacity_exceeded = 10,      // a bounded queue (dead-letter queue) is full
};
inline constexpr std::size_t kErrorClassCount = 11;

std::string_view to_string(ErrorClass c) noexcept;
// Reads the names to_string writes; false on anything else.
[[nodiscard]] bool parse_error_class(std::string_view text, ErrorClass& out) noexcept;

// A set of error classes in one word: which classes a retry retries, which a
// breaker counts as failures.
class ErrorClassSet {
 public:
  constexpr ErrorClassSet() noexcept = default;
  constexpr ErrorClassSet(std::initializer_list<ErrorClass> classes) noexcept {
    for (ErrorClass c : classes) insert(c);
  }
  constexpr void insert(ErrorClass c) noexcept { bits_ |= bit(c); }
  constexpr void erase(ErrorClass c) noexcept { bits_ &= ~bit(c); }
  constexpr bool contains(ErrorClass c) const noexcept { return (bits_ & bit(c)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr std::uint32_t bits() const noexcept { return bits_; }
  friend constexpr bool operator==(ErrorClassSet, ErrorClassSet) = default;

 private:
  static constexpr std::uint32_t bit(ErrorClass c) noexcept {
    return std::uint32_t{1} << static_cast<unsigned>(c);
  }
  std::uint32_t bits_ = 0;
};

// What retry retries by default: the three classes that may go away.
inline constexpr ErrorClassSet kRetryableByDefault{ErrorClass::transient, ErrorClass::timeout,
                                                   ErrorClass::rate_limited};
// Classes a retry never retries, whatever its configuration says.
inline constexpr ErrorClassSet kNeverRetried{ErrorClass::permanent, ErrorClass::business};

struct Failure {
  ErrorClass error_class = ErrorClass::transient;
  std::string message;
  // For rate_limited: how long the service asked us to wait (zero: it did not say).
  Duration retry_after = Duration::zero();
  // An earlier attempt of the same operation timed out, so it may have
  // taken effect although this, the last failure, says otherwise (a retry
  // that met an open breaker after a post whose reply was lost). A saga
  // undoes such a step as it undoes one that timed out.
  bool effects_unknown = false;

  friend bool operator==(const Failure&, const Failure&) = default;
};

struct Unit {
  friend constexpr bool operator==(Unit, Unit) = default;
};

// A value or a Failure. Cheap to move; holding a value never allocates
// beyond what T itself does.
template <class T = void>
class [[nodiscard]] Outcome {
 public:
  using value_type = T;

  Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Outcome(Failure failure) : v_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT
  // The value built where it will live, from `args`.
  template <class... Args>
  explicit Outcome(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    FAULTLINE_ASSERT(ok() && "value() of a failed Outcome");
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    FAULTLINE_ASSERT(ok() && "value() of a failed Outcome");
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    FAULTLINE_ASSERT(ok() && "value() of a failed Outcome");
    return std::move(*std::get_if<0>(&v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Failure& failure() const& {
    FAULTLINE_ASSERT(!ok() && "failure() of a successful Outcome");
    return *std::get_if<1>(&v_);
  }
  Failure&& failure() && {
    FAULTLINE_ASSERT(!ok() && "failure() of a successful Outcome");
    return std::move(*std::get_if<1>(&v_));
  }
  ErrorClass error_class() const { return failure().error_class; }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Outcome<void> {
 public:
  using value_type = void;

  Outcome() noexcept = default;
  Outcome(Unit) noexcept {}  // NOLINT: implicit by design
  Outcome(Failure failure) : failure_(std::move(failure)) {}  // NOLINT

  bool ok() const noexcept { return !failure_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Failure& failure() const& {
    FAULTLINE_ASSERT(!ok() && "failure() of a successful Outcome");
    return *failure_;
  }
  Failure&& failure() && {
    FAULTLINE_ASSERT(!ok() && "failure() of a successful Outcome");
    return std::move(*failure_);
  }
  ErrorClass error_class() const { return failure().error_class; }

 private:
  std::optional<Failure> failure_;
};

inline Outcome<void> ok() noexcept { return Outcome<void>{}; }

template <class T>
struct IsOutcome : std::false_type {};
template <class T>
struct IsOutcome<Outcome<T>> : std::true_type {};

namespace detail {
template <class A>
auto get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else {
    return std::forward<A>(a);
  }
}
template <class Op>
struct OpAwaitable {
  using type = std::invoke_result_t<Op&>;
};
template <class Op>
  requires(!std::is_invocable_v<Op&> && std::is_invocable_v<Op&, Duration>)
struct OpAwaitable<Op> {
  using type = std::invoke_result_t<Op&, Duration>;
};
// The Outcome<T> an operation's awaitable (a Task or an awaiter) yields; an
// operation is called with no argument or with the time it has left.
template <class Op>
using OpOutcome = std::remove_cvref_t<
    decltype(get_awaiter(std::declval<typename OpAwaitable<Op>::type>()).await_resume())>;
}  // namespace detail

// The Outcome<T> that calling `op` and awaiting the result gives: what
// Retry::run, Pipeline::call and Bulkhead::call return for that operation.
template <class Op>
using OperationOutcome = detail::OpOutcome<Op>;

}  // namespace faultline::resilience
