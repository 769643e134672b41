#include "harness/runner.h"

#include <atomic>
#include <filesystem>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "reference_system/policy.h"
#include "runtime/json_config.h"
#include "runtime/random.h"

namespace faultline::harness {

int exit_code_for(reports::Verdict v) {
  switch (v) {
    case reports::Verdict::kPass: return kPass;
    case reports::Verdict::kFail: return kFailed;
    case reports::Verdict::kError: return kInputError;
    case reports::Verdict::kInconclusive: return kInconclusive;
    case reports::Verdict::kAborted: return kAborted;
  }
  return kInternalError;
}

namespace {

namespace fs = std::filesystem;

std::string absolute(const std::string& file) {
  std::error_code ec;
  const auto p = fs::absolute(file, ec);
  return ec ? file : p.lexically_normal().string();
}

// A world model's error, reported against the scenario that names it.
void check_world(const Scenario& s) {
  try {
    (void)world_for(s);
  } catch (const runtime::ConfigError& e) {
    if (e.file() == s.file) throw;
    throw runtime::ConfigError(s.file, "$.world", "world model " + e.file() + ": " + e.path() + ": " + e.message());
  }
}

}  // namespace

std::vector<std::string> canonical_command(const RunnerOptions& o) {
  std::vector<std::string> cmd = {"faultline", "run"};
  for (const auto& p : o.paths) cmd.push_back(p);
  if (o.policy_file) cmd.insert(cmd.end(), {"--policy", *o.policy_file});
  if (o.seed) cmd.insert(cmd.end(), {"--seed", std::to_string(*o.seed)});
  if (o.seeds != 1) cmd.insert(cmd.end(), {"--seeds", std::to_string(o.seeds)});
  return cmd;
}

namespace {

struct Job {
  const Scenario* scenario;
  std::uint64_t seed;
};

// The scenarios, read and checked, and the runs to make of them.
struct Suite {
  std::vector<Scenario> scenarios;
  std::vector<Job> jobs;  // this shard's (all without one), in run order
  std::optional<reports::ShardInfo> shard;
};

void load_suite(const RunnerOptions& options, Suite& suite) {
  // Read everything first: a bad file or policy is an input error before
  // any simulation starts.
  const auto files = expand_scenario_paths(options.paths);
  if (files.empty()) throw runtime::ConfigError(options.paths.empty() ? "." : options.paths.front(), "$",
                                                "no scenario files (*.json) found");
  for (const auto& f : files) suite.scenarios.push_back(load_scenario(f));
  for (const auto& s : suite.scenarios) {
    (void)reference_system::load_policy(options.policy_file.value_or(s.policy_file));
    check_world(s);
    check_sim_scenario(s);
  }
  reports::RunSetDigest set;
  for (const auto& s : suite.scenarios) {
    const std::uint64_t first = options.seed.value_or(s.seed);
    for (std::uint32_t i = 0; i < std::max<std::uint32_t>(1, options.seeds); ++i) {
      const std::uint64_t seed = runtime::RandomStreams::derive_seed(first, i);
      if (!options.shard || reports::shard_takes(*options.shard, set.runs())) suite.jobs.push_back(Job{&s, seed});
      set.add(s.file, s.digest, seed);
    }
  }
  if (options.shard) {
    suite.shard = reports::ShardInfo{options.shard->index, options.shard->count, set.runs(), set.hex(), 0};
  }
}

}  // namespace

std::vector<PlannedRun> plan_suite(const RunnerOptions& options) {
  Suite suite;
  load_suite(options, suite);
  std::vector<PlannedRun> runs;
  for (const auto& job : suite.jobs) runs.push_back(PlannedRun{job.scenario->file, job.scenario->name, job.seed});
  return runs;
}

RunOutcome run_suite(const RunnerOptions& options, const ProgressFn& progress) {
  Suite suite;
  load_suite(options, suite);
  const std::vector<Job>& jobs = suite.jobs;

  std::vector<reports::ScenarioResult> results(jobs.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> internal_errors{0};
  std::mutex lock;
  std::size_t done = 0;
  runtime::AbortLimits limits = options.limits;
  if (options.time_limit.count() > 0) limits.deadline = std::chrono::steady_clock::now() + options.time_limit;
  // Why a run not yet started will not start, or "".
  auto not_starting = [&]() -> std::string {
    if (limits.stop != nullptr && limits.stop->load()) return "not run: the suite was stopped by a signal";
    if (std::chrono::steady_clock::now() >= limits.deadline) return "not run: the suite's wall-clock limit had passed";
    return "";
  };
  auto worker = [&] {
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      const Job& job = jobs[i];
      const std::string policy_file = options.policy_file.value_or(job.scenario->policy_file);
      reports::ScenarioResult r;
      if (auto why = not_starting(); !why.empty()) {
        r.name = job.scenario->name;
        r.seed = job.seed;
        r.verdict = reports::Verdict::kAborted;
        r.verdict_reason = std::move(why);
      } else {
        EngineOptions eo;
        eo.policy_file = options.policy_file;
        eo.seed = job.seed;
        eo.step_budget = options.step_budget;
        eo.limits = limits;
        eo.on_run_log = options.on_run_log;
        try {
          r = run_scenario(*job.scenario, eo);
        } catch (const runtime::ConfigError& e) {
          r.name = job.scenario->name;
          r.seed = job.seed;
          r.verdict = reports::Verdict::kError;
          r.verdict_reason = e.file() + ": " + e.path() + ": " + e.message();
        } catch (const std::exception& e) {
          r.name = job.scenario->name;
          r.seed = job.seed;
          r.verdict = reports::Verdict::kError;
          r.verdict_reason = std::string("internal error: ") + e.what();
          ++internal_errors;
        }
      }
      r.scenario_file = job.scenario->file;
      r.scenario_path = job.scenario->absolute_file.empty() ? absolute(job.scenario->file) : job.scenario->absolute_file;
      if (r.scenario_digest.empty()) r.scenario_digest = job.scenario->digest;
      r.policy_file = policy_file;
      r.policy_path = absolute(policy_file);
      std::lock_guard<std::mutex> guard(lock);
      results[i] = std::move(r);
      ++done;
      if (progress) progress(results[i], done, jobs.size());
    }
  };
  const std::uint32_t threads = std::max<std::uint32_t>(1, std::min<std::uint32_t>(options.jobs, jobs.size()));
  std::vector<std::thread> pool;
  for (std::uint32_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  RunOutcome out;
  out.run.tool_version = "0.1.0";
  out.run.command_line = canonical_command(options);
  out.run.runtime = "sim";
  out.run.scenarios = std::move(results);
  out.run.shard = suite.shard;
  out.internal_errors = internal_errors.load();
  if (out.run.shard) out.run.shard->internal_errors = out.internal_errors;
  out.exit_code = out.internal_errors > 0 ? kInternalError : exit_code_for(reports::overall_verdict(out.run));
  return out;
}

}  // namespace faultline::harness
