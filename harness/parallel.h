// Runs n independent jobs on up to `threads` worker threads, the caller's
// thread among them, and returns when all are done. Each job writes its own
// slot of the caller's results, so the results come out in job order
// whichever thread ran which: what makes explore and check-policy's blame
// deterministic for any --jobs.
//
//   std::vector<Result> out(n);
//   for_each_parallel(n, jobs, [&](std::size_t i) { out[i] = run(i); });
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace faultline::harness {

template <class Job>
void for_each_parallel(std::size_t n, std::size_t threads, const Job& job) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) job(i);
  };
  const std::size_t count = std::min(std::max<std::size_t>(threads, 1), std::max<std::size_t>(n, 1));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < count; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace faultline::harness
