// Latency histograms and metric helpers (metrics.h).
#include "reference_system/metrics.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

namespace faultline::reference_system {

namespace {
constexpr double kBucketsPerDoubling = 4.0;
constexpr double kFirstBoundNs = 1000.0;  // 1 us
}  // namespace

runtime::Duration LatencyHistogram::bucket_upper_bound(std::size_t i) noexcept {
  return runtime::Duration(static_cast<runtime::Duration::rep>(
      kFirstBoundNs * std::exp2(static_cast<double>(i) / kBucketsPerDoubling)));
}

namespace {

// The bucket of a latency, by definition: ceil(4 log2(ns / 1 us)).
std::size_t bucket_by_formula(double ns) noexcept {
  if (ns <= kFirstBoundNs) return 0;
  return static_cast<std::size_t>(std::ceil(std::log2(ns / kFirstBoundNs) * kBucketsPerDoubling));
}

// The same without a logarithm per call. thresholds[i] is the smallest
// latency (in whole ns) whose bucket by the formula is past i, found once by
// bisection with the formula itself, so a latency's bucket is the number of
// thresholds at or below it: integer comparisons, the same answers. The
// latency's highest set bit says where to start counting.
struct BucketThresholds {
  std::array<std::int64_t, LatencyHistogram::kBuckets> thresholds{};
  BucketThresholds() noexcept {
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
      // Bracketed from the previous threshold: a bucket at most i below,
      // one past i above (a doubling adds four buckets).
      std::int64_t below = i == 0 ? 1000 : thresholds[i - 1] - 1;
      std::int64_t at_or_past = 2 * below;
      while (bucket_by_formula(static_cast<double>(at_or_past)) <= i) at_or_past *= 2;
      while (at_or_past - below > 1) {
        const std::int64_t mid = below + (at_or_past - below) / 2;
        (bucket_by_formula(static_cast<double>(mid)) > i ? at_or_past : below) = mid;
      }
      thresholds[i] = at_or_past;
    }
  }
};
const BucketThresholds kThresholds;

// kBuckets or more: past the last bucket.
std::size_t bucket_of(std::int64_t ns_count) noexcept {
  if (ns_count <= 1000) return 0;
  // 2^k <= ns, so 4 log2(ns / 1 us) > 4k - 40: the bucket is past 4k - 40,
  // and every threshold before that one is at or below ns.
  const auto k = static_cast<std::size_t>(std::bit_width(static_cast<std::uint64_t>(ns_count)) - 1);
  std::size_t i = 4 * k >= 40 ? 4 * k - 40 : 0;
  const auto& t = kThresholds.thresholds;
  while (i < t.size() && t[i] <= ns_count) ++i;
  return i;
}

}  // namespace

void LatencyHistogram::record(runtime::Duration d) noexcept {
  const std::int64_t ns_count = std::max<runtime::Duration::rep>(d.count(), 0);
  const auto ns = static_cast<double>(ns_count);
  std::size_t i = bucket_of(ns_count);
  if (i >= kBuckets) {
    i = kBuckets - 1;
    ++overflow_;
  }
  ++buckets_[i];
  ++count_;
  sum_ns_ += ns;
  max_ = std::max(max_, d);
}

runtime::Duration LatencyHistogram::mean() const noexcept {
  if (count_ == 0) return {};
  return runtime::Duration(static_cast<runtime::Duration::rep>(sum_ns_ / static_cast<long double>(count_)));
}

runtime::Duration LatencyHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return {};
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(bucket_upper_bound(i), max_);
  }
  return max_;
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  overflow_ += other.overflow_;
  sum_ns_ += other.sum_ns_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t SystemMetrics::terminal() const {
  std::uint64_t n = 0;
  for (auto c : outcomes) n += c;
  return n;
}

std::string_view to_string(InvoiceOutcome o) noexcept {
  switch (o) {
    case InvoiceOutcome::posted: return "posted";
    case InvoiceOutcome::posted_degraded: return "posted_degraded";
    case InvoiceOutcome::rejected_invalid: return "rejected_invalid";
    case InvoiceOutcome::dead_lettered: return "dead_lettered";
    case InvoiceOutcome::manual_review: return "manual_review";
  }
  return "?";
}

std::string_view to_string(ReviewReason r) noexcept {
  switch (r) {
    case ReviewReason::matching_failed_large_amount: return "matching_failed_large_amount";
    case ReviewReason::compensation_failed: return "compensation_failed";
    case ReviewReason::unreadable_document: return "unreadable_document";
  }
  return "?";
}

}  // namespace faultline::reference_system
