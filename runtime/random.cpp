#include "runtime/random.h"

#include <cmath>
#include <numbers>

namespace faultline::runtime {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) noexcept {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

namespace {
__extension__ typedef unsigned __int128 uint128;
constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(std::uint64_t seed) noexcept {
  std::uint64_t sm = seed;
  for (auto& word : s_) word = splitmix64(sm);
}

std::uint64_t Rng::next_u64() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform01(); }

std::uint64_t Rng::uniform_int(std::uint64_t lo, std::uint64_t hi) noexcept {
  if (hi <= lo) return lo;
  const std::uint64_t span = hi - lo;
  if (span == UINT64_MAX) return next_u64();
  const std::uint64_t range = span + 1;
  uint128 m = static_cast<uint128>(next_u64()) * range;
  std::uint64_t low = static_cast<std::uint64_t>(m);
  if (low < range) {
    const std::uint64_t threshold = -range % range;
    while (low < threshold) {
      m = static_cast<uint128>(next_u64()) * range;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return lo + static_cast<std::uint64_t>(m >> 64);
}

bool Rng::bernoulli(double p) noexcept {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return uniform01() < p;
}

double Rng::exponential(double rate) noexcept {
  // 1 - u lies in (0, 1], so the log is finite.
  return -std::log(1.0 - uniform01()) / rate;
}

double Rng::normal(double mean, double stddev) noexcept {
  const double u1 = 1.0 - uniform01();  // (0, 1]
  const double u2 = uniform01();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  return mean + stddev * radius * std::cos(2.0 * std::numbers::pi * u2);
}

double Rng::lognormal(double mu, double sigma) noexcept { return std::exp(normal(mu, sigma)); }

double Rng::pareto(double x_min, double alpha) noexcept {
  const double u = 1.0 - uniform01();  // (0, 1]
  return x_min / std::pow(u, 1.0 / alpha);
}

std::uint64_t RandomStreams::stream_seed(std::string_view name) const noexcept {
  std::uint64_t state = root_ ^ fnv1a64(name);
  return splitmix64(state);
}

Rng RandomStreams::stream(std::string_view name) const noexcept { return Rng(stream_seed(name)); }

std::uint64_t RandomStreams::derive_seed(std::uint64_t root, std::uint64_t index) noexcept {
  if (index == 0) return root;
  std::uint64_t state = root + index * 0x9e3779b97f4a7c15ULL;
  return splitmix64(state);
}

}  // namespace faultline::runtime
