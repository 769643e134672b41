// Deterministic random streams. One 64-bit root seed is split into named,
// independent streams ("fault/ocr-latency", "workload/arrivals", ...), so that
// adding a fault or a service never shifts the numbers another one draws.
// Every distribution is written here rather than taken from <random>, whose
// distributions differ between standard libraries: a seed gives the same
// numbers with any compiler.
#pragma once

#include <cstdint>
#include <string_view>

namespace faultline::runtime {

// SplitMix64 step: used to expand seeds, never as a stream by itself.
std::uint64_t splitmix64(std::uint64_t& state) noexcept;

// FNV-1a, 64 bit: names to stream keys, and digests of logs and reports.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) noexcept;

// xoshiro256** with the project's own distributions.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept;

  std::uint64_t next_u64() noexcept;

  // [0, 1) with 53 random bits.
  double uniform01() noexcept;
  // [lo, hi).
  double uniform(double lo, double hi) noexcept;
  // [lo, hi], unbiased (Lemire's multiply-and-reject).
  std::uint64_t uniform_int(std::uint64_t lo, std::uint64_t hi) noexcept;
  // true with probability p (p clamped to [0, 1]).
  bool bernoulli(double p) noexcept;
  // Mean 1/rate.
  double exponential(double rate) noexcept;
  // Box-Muller; consumes two uniforms per draw so a stream's position never
  // depends on a cached spare.
  double normal(double mean, double stddev) noexcept;
  // exp(normal(mu, sigma)): mu and sigma are those of the underlying normal.
  double lognormal(double mu, double sigma) noexcept;
  // Pareto type I with scale x_min and shape alpha.
  double pareto(double x_min, double alpha) noexcept;

 private:
  std::uint64_t s_[4];
};

class RandomStreams {
 public:
  explicit RandomStreams(std::uint64_t root_seed) noexcept : root_(root_seed) {}
  std::uint64_t root_seed() const noexcept { return root_; }
  // The same name always gives the same stream for one root seed.
  Rng stream(std::string_view name) const noexcept;
  // The seed `stream(name)` starts from (for reports and replays).
  std::uint64_t stream_seed(std::string_view name) const noexcept;
  // The i-th seed derived from the root (for --seeds K runs).
  static std::uint64_t derive_seed(std::uint64_t root, std::uint64_t index) noexcept;

 private:
  std::uint64_t root_;
};

}  // namespace faultline::runtime
