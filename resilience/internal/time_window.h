// A sliding window of time holding two counts (calls and failures for the
// circuit breaker, calls and retries for the retry budget). The window is
// kept in kBuckets buckets of window/kBuckets each, with running totals, so
// reading it costs no loop; calls age out one bucket at a time. The common
// case, a call in the same bucket as the last one, is one compare.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "runtime/assert.h"
#include "runtime/time.h"

namespace faultline::resilience::internal {

template <class Count>
class TimeWindow {
 public:
  static constexpr std::int64_t kBuckets = 10;

  TimeWindow() noexcept = default;
  explicit TimeWindow(runtime::Duration window) noexcept
      : bucket_width_(std::max(runtime::Duration(1), window / kBuckets)) {}

  // Counts `calls` and `marked` (failures, retries) at `now`.
  void add(runtime::Instant now, Count calls, Count marked) noexcept {
    Bucket& b = bucket(now);
    b.calls += calls;
    b.marked += marked;
    calls_ += calls;
    marked_ += marked;
  }

  // The window's totals at `now`.
  Count calls(runtime::Instant now) noexcept {
    (void)bucket(now);
    return calls_;
  }
  Count marked(runtime::Instant now) noexcept {
    (void)bucket(now);
    return marked_;
  }
  // The marked total as last updated, not aged: zero means no failure can be
  // in the window, which spares a hot path the full check.
  Count marked_so_far() const noexcept { return marked_; }

  void clear() noexcept { *this = TimeWindow(bucket_width_ * kBuckets); }

 private:
  struct Bucket {
    Count calls = 0;
    Count marked = 0;
  };

  Bucket& bucket(runtime::Instant now) noexcept {
    if (now >= bucket_start_ && now < bucket_end_) [[likely]] return buckets_[bucket_index_];
    return roll(now);
  }

  Bucket& roll(runtime::Instant now) noexcept {
    const std::int64_t epoch = now.time_since_epoch() / bucket_width_;
    FAULTLINE_ASSERT(epoch >= bucket_epoch_ && "time went backwards");
    if (epoch - bucket_epoch_ >= kBuckets) {
      buckets_.fill(Bucket{});
      calls_ = 0;
      marked_ = 0;
    } else {
      for (std::int64_t e = bucket_epoch_ + 1; e <= epoch; ++e) {
        Bucket& b = buckets_[static_cast<std::size_t>(e % kBuckets)];
        calls_ -= b.calls;
        marked_ -= b.marked;
        b = Bucket{};
      }
    }
    bucket_epoch_ = epoch;
    bucket_index_ = static_cast<std::size_t>(epoch % kBuckets);
    bucket_start_ = runtime::Instant(bucket_width_ * epoch);
    bucket_end_ = bucket_start_ + bucket_width_;
    return buckets_[bucket_index_];
  }

  runtime::Duration bucket_width_{1};
  std::array<Bucket, kBuckets> buckets_{};
  std::int64_t bucket_epoch_ = INT64_MIN / 2;  // which bucket_width_ slice of time is current
  std::size_t bucket_index_ = 0;
  runtime::Instant bucket_start_ = runtime::Instant::max();
  runtime::Instant bucket_end_ = runtime::Instant::max();
  Count calls_ = 0;
  Count marked_ = 0;
};

}  // namespace faultline::resilience::internal
