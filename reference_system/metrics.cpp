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

// The same without a logarithm per call: the latency's highest set bit
// puts it within a few buckets, and the buckets' bounds decide, except
// where a latency lies so close to a bound that rounding could tell them
// apart: there the formula decides.
struct BucketBounds {
  std::array<double, LatencyHistogram::kBuckets> upper{};
  BucketBounds() noexcept {
    for (std::size_t i = 0; i < upper.size(); ++i) {
      upper[i] = kFirstBoundNs * std::exp2(static_cast<double>(i) / kBucketsPerDoubling);
    }
  }
};
const BucketBounds kBounds;

std::size_t bucket_of(std::int64_t ns_count) noexcept {
  const auto ns = static_cast<double>(ns_count);
  if (ns <= kFirstBoundNs) return 0;
  const auto& upper = kBounds.upper;
  // 2^k <= ns, and bound 4k - 40 is 1000 * 2^(k - 10) < 2^k: the bucket is past it.
  const auto k = static_cast<std::size_t>(std::bit_width(static_cast<std::uint64_t>(ns_count)) - 1);
  std::size_t i = 4 * k >= 40 ? 4 * k - 40 : 0;
  while (i < upper.size() && upper[i] < ns) ++i;
  constexpr double kClose = 1e-9;  // relative; far above any rounding error of the formula
  const bool near_upper = i < upper.size() && upper[i] - ns <= ns * kClose;
  const bool near_lower = i > 0 && ns - upper[i - 1] <= ns * kClose;
  if (i >= upper.size() || near_upper || near_lower) return bucket_by_formula(ns);
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
