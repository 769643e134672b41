// Latency histograms and metric helpers (metrics.h).
#include "reference_system/metrics.h"

#include <algorithm>
#include <cmath>

namespace faultline::reference_system {

static_assert(LatencyHistogram::bucket_index((std::uint64_t{1} << LatencyHistogram::kRangeBits) - 1) ==
              LatencyHistogram::kBuckets - 1);
static_assert(LatencyHistogram::bucket_index(std::uint64_t{1} << LatencyHistogram::kRangeBits) ==
              LatencyHistogram::kBuckets);

runtime::Duration LatencyHistogram::mean() const noexcept {
  if (count_ == 0) return {};
  return runtime::Duration(static_cast<runtime::Duration::rep>(sum_ns_ / static_cast<long double>(count_)));
}

runtime::Duration LatencyHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return {};
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  // The first and last ranks are known exactly.
  if (rank == 1) return min_;
  if (rank >= count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t midpoint_ns = bucket_lowest_ns(i) + bucket_width_ns(i) / 2;
      return std::clamp(runtime::Duration(static_cast<runtime::Duration::rep>(midpoint_ns)), min_, max_);
    }
  }
  return max_;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (counts_.empty()) counts_.resize(kBuckets);
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  overflow_ += other.overflow_;
  sum_ns_ += other.sum_ns_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
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
