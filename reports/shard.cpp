// Shards of one run and their merge (shard.h).
#include "reports/shard.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/json_config.h"
#include "runtime/random.h"

namespace faultline::reports {

bool shard_takes(const Shard& shard, std::uint64_t run_index) {
  FAULTLINE_ASSERT(shard.count >= 1);
  FAULTLINE_ASSERT(shard.index >= 1 && shard.index <= shard.count);
  return run_index % shard.count == shard.index - 1;
}

std::uint64_t shard_size(const Shard& shard, std::uint64_t runs_in_set) {
  FAULTLINE_ASSERT(shard.count >= 1);
  FAULTLINE_ASSERT(shard.index >= 1 && shard.index <= shard.count);
  if (runs_in_set < shard.index) return 0;
  return (runs_in_set - shard.index) / shard.count + 1;
}

void RunSetDigest::add(std::string_view scenario_file, std::string_view scenario_digest, std::uint64_t seed) {
  // A path holds no NUL, so the separators keep ("ab", "c") apart from ("a", "bc").
  hash_ = runtime::fnv1a64(scenario_file, hash_);
  hash_ = runtime::fnv1a64(std::string_view("\0", 1), hash_);
  hash_ = runtime::fnv1a64(scenario_digest, hash_);
  hash_ = runtime::fnv1a64(std::string_view("\0", 1), hash_);
  hash_ = runtime::fnv1a64(std::to_string(seed) + "\n", hash_);
  ++runs_;
}

std::string RunSetDigest::hex() const { return fmt::format("{:016x}", hash_); }

namespace {

using runtime::ConfigError;

std::string joined(const std::vector<std::string>& words) { return fmt::format("\"{}\"", fmt::join(words, " ")); }

// Refuses `s` for disagreeing with `first` on `what`.
[[noreturn]] void refuse_mismatch(const ShardReport& s, const ShardReport& first, std::string_view path,
                                  std::string_view what, const std::string& here, const std::string& there) {
  throw ConfigError(s.file, std::string(path),
                    fmt::format("{} {} here and {} in {}: not shards of the same run", what, here, there, first.file));
}

}  // namespace

MergedRun merge_shards(const std::vector<ShardReport>& shards) {
  FAULTLINE_ASSERT(!shards.empty());
  for (const auto& s : shards) {
    if (!s.run.shard) {
      throw ConfigError(s.file, "$", "not a shard's report: it has no \"shard\" member (made without --shard K/N)");
    }
  }
  const ShardReport& first = shards.front();
  const ShardInfo& reference = *first.run.shard;
  for (const auto& s : shards) {
    const ShardInfo& info = *s.run.shard;
    if (info.count != reference.count) {
      refuse_mismatch(s, first, "$.shard.count", "cut into", fmt::format("{} shards", info.count),
                      fmt::format("{}", reference.count));
    }
    if (info.runs_in_set != reference.runs_in_set || info.set_digest != reference.set_digest) {
      refuse_mismatch(s, first, "$.shard.set_digest", "a set of",
                      fmt::format("{} runs (digest {})", info.runs_in_set, info.set_digest),
                      fmt::format("{} runs (digest {})", reference.runs_in_set, reference.set_digest));
    }
    if (s.run.command_line != first.run.command_line) {
      refuse_mismatch(s, first, "$.command_line", "command", joined(s.run.command_line),
                      joined(first.run.command_line));
    }
    if (s.run.tool_version != first.run.tool_version) {
      refuse_mismatch(s, first, "$.tool_version", "faultline", s.run.tool_version, first.run.tool_version);
    }
    if (s.run.runtime != first.run.runtime) {
      refuse_mismatch(s, first, "$.runtime", "runtime", s.run.runtime, first.run.runtime);
    }
  }

  const std::uint32_t count = reference.count;
  const std::uint64_t runs_in_set = reference.runs_in_set;
  std::vector<const ShardReport*> by_index(count, nullptr);
  for (const auto& s : shards) {
    const Shard shard{s.run.shard->index, count};
    FAULTLINE_ASSERT(shard.index >= 1 && shard.index <= count);  // the reader checks it
    const ShardReport*& slot = by_index[shard.index - 1];
    if (slot != nullptr) {
      throw ConfigError(s.file, "$.shard.index",
                        fmt::format("shard {}/{} twice: {} is that shard too", shard.index, count, slot->file));
    }
    slot = &s;
    const std::uint64_t expected = shard_size(shard, runs_in_set);
    if (s.run.scenarios.size() != expected) {
      throw ConfigError(s.file, "$.scenarios",
                        fmt::format("{} runs, but shard {}/{} of a set of {} runs has {}", s.run.scenarios.size(),
                                    shard.index, count, runs_in_set, expected));
    }
  }
  std::vector<std::string> missing;
  std::vector<std::string> given;
  for (std::uint32_t k = 1; k <= count; ++k) {
    if (by_index[k - 1] == nullptr) {
      missing.push_back(fmt::format("{}/{}", k, count));
    } else {
      given.push_back(fmt::format("{}/{} ({})", k, count, by_index[k - 1]->file));
    }
  }
  if (!missing.empty()) {
    throw ConfigError(first.file, "$.shard",
                      fmt::format("{} {} missing: a merge needs all {} shards of the run, and was given {}",
                                  missing.size() == 1 ? "shard" : "shards", fmt::join(missing, ", "), count,
                                  fmt::join(given, ", ")));
  }

  MergedRun merged;
  merged.run.tool_version = first.run.tool_version;
  merged.run.command_line = first.run.command_line;
  merged.run.runtime = first.run.runtime;
  for (const auto* s : by_index) {
    merged.internal_errors += s->run.shard->internal_errors;
    const std::string& at = s->run.started_at;
    if (!at.empty() && (merged.run.started_at.empty() || at < merged.run.started_at)) merged.run.started_at = at;
  }
  RunSetDigest set;
  merged.run.scenarios.reserve(runs_in_set);
  for (std::uint64_t i = 0; i < runs_in_set; ++i) {
    const ScenarioResult& r = by_index[i % count]->run.scenarios[i / count];
    set.add(r.scenario_file, r.scenario_digest, r.seed);
    merged.run.scenarios.push_back(r);
  }
  if (set.hex() != reference.set_digest) {
    throw ConfigError(first.file, "$.shard.set_digest",
                      fmt::format("the shards' runs are not the set they were cut from (digest {}, recorded {}): "
                                  "a scenario file differed between the machines, or a report was edited",
                                  set.hex(), reference.set_digest));
  }
  return merged;
}

}  // namespace faultline::reports
