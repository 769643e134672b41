// One run cut into shards for a CI matrix (`faultline run --shard K/N` on N
// machines, then `faultline merge`): which shard takes which run, the digest
// that ties the shards of one run together, and the merge of their results
// back into the run they were cut from.
//
// The runs of a suite are numbered in the order the unsharded run takes them
// (scenario files in the order given, a folder's files sorted by name, each
// file's seeds in order after --seeds derivation). Run i, counting from 0,
// belongs to shard (i mod N) + 1. The rule reads nothing but that order, so
// every machine cuts the same slices whatever its cores or --jobs, and
// round-robin spreads each scenario's seeds evenly over the shards. The
// merge puts run i back in place i, so the merged result is the unsharded
// run's, and writes the same bytes.
//
//   reports::RunSetDigest set;
//   for (const auto& r : all_runs) set.add(r.scenario_file, r.scenario_digest, r.seed);
//   if (reports::shard_takes({2, 3}, i)) ...   // run i is shard 2/3's
//   reports::MergedRun whole = reports::merge_shards({{"shard-1/report.json", a}, {"shard-2/report.json", b}});
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/result.h"

namespace faultline::reports {

// The most shards a run is cut into (a CI matrix has tens).
inline constexpr std::uint32_t kShardCountMax = 10'000;

struct Shard {
  std::uint32_t index = 1;  // K, from 1
  std::uint32_t count = 1;  // N, from 1 to kShardCountMax
};

// Whether run `run_index` (from 0, in run order) is `shard`'s.
[[nodiscard]] bool shard_takes(const Shard& shard, std::uint64_t run_index);
// How many of a set of `runs_in_set` runs `shard` takes (0 when the set has
// fewer runs than shards before it).
[[nodiscard]] std::uint64_t shard_size(const Shard& shard, std::uint64_t runs_in_set);

// FNV-1a over each run's scenario file (as given), scenario digest and seed,
// in run order: equal digests, the same runs of the same files in the same
// order. For telling sets apart, not for security.
class RunSetDigest {
 public:
  void add(std::string_view scenario_file, std::string_view scenario_digest, std::uint64_t seed);
  std::uint64_t runs() const { return runs_; }
  std::string hex() const;  // 16 lower-case hex digits

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::uint64_t runs_ = 0;
};

struct ShardReport {
  std::string file;  // where it was read, named in errors
  RunResult run;
};

struct MergedRun {
  RunResult run;  // as the unsharded run would have recorded it
  std::uint64_t internal_errors = 0;  // over all shards: the unsharded run's exit code is then 5
};

// The run the shards were cut from. Throws runtime::ConfigError naming the
// file (and the other file, where two disagree) when a report is not a
// shard, two reports are the same shard, shards of different runs are
// mixed (shard count, set of runs, command line, tool version or runtime
// differ), a shard is missing, or a shard's runs are not its slice of the
// set. `started_at` is the earliest any shard recorded (--timestamp).
[[nodiscard]] MergedRun merge_shards(const std::vector<ShardReport>& shards);

}  // namespace faultline::reports
