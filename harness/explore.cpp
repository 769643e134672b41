// The explorer (see explore.h): generation, the search loop on worker
// threads, shrinking through harness/shrink.h and deduplication; what it
// writes is explore_report.cpp's.
#include "harness/explore.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/core.h>

#include "harness/engine.h"
#include "harness/parallel.h"
#include "harness/shrink.h"
#include "reference_system/policy.h"
#include "runtime/assert.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::harness {

namespace fs = std::filesystem;
using faults::FaultKind;
using faults::FaultSpec;
using runtime::Duration;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// How many aborted runs and internal errors a result names.
constexpr std::size_t kListedMax = 20;
// Search runs handed to the worker threads at once, per thread.
constexpr std::size_t kBatchPerJob = 4;

template <class T>
const T& pick(runtime::Rng& rng, const std::vector<T>& from) {
  FAULTLINE_ASSERT(!from.empty());
  return from[rng.uniform_int(0, from.size() - 1)];
}

double log_uniform(runtime::Rng& rng, double lo, double hi) {
  FAULTLINE_ASSERT(lo > 0 && hi >= lo);
  return std::exp(rng.uniform(std::log(lo), std::log(hi)));
}

// Log-uniform in [lo, hi] on a grid of `step`, never below `step`.
Duration log_uniform_duration(runtime::Rng& rng, Duration lo, Duration hi, Duration step) {
  const double x = log_uniform(rng, runtime::to_seconds(lo), runtime::to_seconds(hi));
  const auto steps = std::max<std::int64_t>(1, std::llround(x / runtime::to_seconds(step)));
  return std::min(step * steps, hi - (hi % step));
}

// Every kind but pause: a pause may not overlap a crash or pause of its
// role (scenario.cpp), which the generator does not arrange for yet.
std::vector<FaultKind> all_kinds() {
  std::vector<FaultKind> out;
  for (std::size_t i = 0; i < faults::kFaultKindCount; ++i) {
    // Explore runs the simulator, which refuses a live-only kind; it does not
    // draw pause (its generator does not keep pauses and crashes apart).
    const auto kind = static_cast<FaultKind>(i);
    if (kind != FaultKind::pause && !faults::live_only_kind(kind)) out.push_back(kind);
  }
  return out;
}

std::vector<std::string> targets_of(FaultKind kind) {
  std::vector<std::string> out;
  for (const auto& t : faults::known_targets()) {
    if (faults::kind_accepts(kind, t.family)) out.emplace_back(t.name);
  }
  return out;
}

void draw_parameters(const GenerationBounds& b, runtime::Rng& rng, FaultSpec& f,
                     const reference_system::Policy* policy) {
  switch (f.kind) {
    case FaultKind::latency:
      if (const auto service = reference_system::service_from(f.target);
          policy != nullptr && service && rng.bernoulli(b.near_timeout_share)) {
        const Duration timeout = policy->service(*service).timeout;
        const auto low = static_cast<std::int64_t>(runtime::to_seconds(timeout) * b.near_timeout_low * 100);
        const auto high = std::max<std::int64_t>(low, timeout / milliseconds(10) - 1);
        f.delay = milliseconds(10) * static_cast<std::int64_t>(rng.uniform_int(low, high));
        if (f.delay > Duration::zero()) break;
      }
      f.delay = log_uniform_duration(rng, b.latency_min, b.latency_max, milliseconds(10));
      if (rng.bernoulli(b.jitter_share)) {
        f.delay_jitter = milliseconds(10) * static_cast<std::int64_t>(rng.uniform_int(0, f.delay / milliseconds(10)));
      }
      break;
    case FaultKind::error: {
      static const std::vector<resilience::ErrorClass> classes = {
          resilience::ErrorClass::transient, resilience::ErrorClass::permanent, resilience::ErrorClass::rate_limited};
      f.error_class = pick(rng, classes);
      break;
    }
    case FaultKind::saturation:
      f.multiplier = std::round(log_uniform(rng, b.multiplier_min, b.multiplier_max) * 10) / 10;
      break;
    case FaultKind::corrupted_input:
      for (std::size_t m = 0; m < faults::kCorruptionCount; ++m) {
        if (rng.bernoulli(b.mode_share)) f.corruptions.push_back(static_cast<faults::Corruption>(m));
      }
      if (f.corruptions.empty()) {
        f.corruptions.push_back(static_cast<faults::Corruption>(rng.uniform_int(0, faults::kCorruptionCount - 1)));
      }
      break;
    case FaultKind::duplicate_delivery:
      f.copies = static_cast<std::uint32_t>(rng.uniform_int(1, std::max<std::uint32_t>(1, b.copies_max)));
      break;
    case FaultKind::reordering:
      f.reorder_window = log_uniform_duration(rng, b.reorder_min, b.reorder_max, milliseconds(10));
      break;
    case FaultKind::invalid_output:
      for (const auto mode : {faults::InvalidOutput::refusal, faults::InvalidOutput::garbage}) {
        if (rng.bernoulli(b.mode_share)) f.outputs.push_back(mode);
      }
      if (f.outputs.empty()) f.outputs.push_back(faults::InvalidOutput::garbage);
      break;
    default: break;
  }
}

std::string relative_to(const std::string& file, const std::string& folder) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec).lexically_normal();
  if (ec) return file;
  if (folder.empty()) return absolute.string();
  const fs::path base = fs::absolute(folder, ec).lexically_normal();
  if (ec) return absolute.string();
  const fs::path rel = absolute.lexically_relative(base);
  return rel.empty() ? absolute.string() : rel.string();
}

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace

Candidate generate_candidate(const GenerationBounds& b, const std::vector<FaultKind>& kinds, runtime::Rng& rng,
                             std::uint64_t seed, const reference_system::Policy* policy) {
  FAULTLINE_ASSERT(b.faults_min <= b.faults_max && !b.durations.empty());
  Candidate c;
  c.seed = seed;
  c.drain = b.drain;
  c.duration = pick(rng, b.durations);
  c.rate_per_hour = std::max(1.0, std::round(log_uniform(rng, b.rate_min_per_hour, b.rate_max_per_hour)));

  // The swarm palette: some kinds, and for each some of its targets.
  const std::vector<FaultKind> allowed = kinds.empty() ? all_kinds() : kinds;
  std::vector<FaultKind> palette;
  for (const auto k : allowed) {
    if (rng.bernoulli(b.kind_in_palette)) palette.push_back(k);
  }
  if (palette.empty()) palette.push_back(pick(rng, allowed));
  std::vector<std::vector<std::string>> targets;
  for (const auto k : palette) {
    const auto all = targets_of(k);
    std::vector<std::string> chosen;
    for (const auto& t : all) {
      if (rng.bernoulli(b.target_in_palette)) chosen.push_back(t);
    }
    if (chosen.empty()) chosen.push_back(pick(rng, all));
    targets.push_back(std::move(chosen));
  }

  const auto count = rng.uniform_int(b.faults_min, b.faults_max);
  for (std::uint64_t n = 0; n < count; ++n) {
    const std::size_t which = rng.uniform_int(0, palette.size() - 1);
    FaultSpec f;
    f.stream = static_cast<std::uint32_t>(n);
    f.kind = palette[which];
    f.target = pick(rng, targets[which]);
    const Duration longest = std::min(b.window_max, c.duration);
    f.duration = log_uniform_duration(rng, std::min(b.window_min, longest), longest, seconds(1));
    f.start = seconds(1) * static_cast<std::int64_t>(rng.uniform_int(0, (c.duration - f.duration) / seconds(1)));
    f.probability = rng.bernoulli(b.full_probability_share) ? 1.0 : pick(rng, b.partial_probabilities);
    draw_parameters(b, rng, f, policy);
    c.faults.push_back(std::move(f));
  }
  return c;
}

nlohmann::ordered_json scenario_document(const Candidate& c, const ExploreTarget& target, const std::string& name,
                                         const std::string& description, const std::string& folder) {
  nlohmann::ordered_json doc;
  doc["name"] = name;
  if (!description.empty()) doc["description"] = description;
  doc["seed"] = c.seed;
  doc["duration"] = runtime::format_duration(c.duration);
  doc["drain"] = runtime::format_duration(c.drain);
  if (!target.world_file.empty()) doc["world"] = relative_to(target.world_file, folder);
  doc["workload"] = {{"rate_per_hour", c.rate_per_hour}};
  doc["policy"] = relative_to(target.policy_file, folder);
  auto& list = doc["faults"] = nlohmann::ordered_json::array();
  for (const auto& f : c.faults) {
    // The usual order of a hand-written fault, then its parameters; its
    // stream only where it is not its position (a shrunk schedule).
    nlohmann::ordered_json entry;
    const auto plain = faults::to_json(f);
    for (const char* key : {"kind", "target", "start", "duration", "probability"}) entry[key] = plain.at(key);
    for (const auto& [key, value] : plain.items()) {
      if (!entry.contains(key) && key != "stream") entry[key] = value;
    }
    if (f.stream != list.size()) entry["stream"] = f.stream;
    list.push_back(std::move(entry));
  }
  doc["expect"] = {{"invariants", explored_invariants(target.slo)}, {"slo", {{"enabled", target.slo}}}};
  return doc;
}

std::vector<std::string> explored_invariants(bool slo) {
  std::vector<std::string> out;
  for (const auto& id : invariant_ids()) {
    if (slo || id != "recovery_time") out.push_back(id);
  }
  return out;
}

Scenario to_scenario(const Candidate& c, const ExploreTarget& target, const std::string& name) {
  const nlohmann::json doc = scenario_document(c, target, name, "", "");
  return parse_scenario(doc, name + ".json");
}

std::vector<std::string> broken_properties(const reports::ScenarioResult& r, bool slo) {
  std::vector<std::string> out;
  if (r.verdict != reports::Verdict::kFail) return out;
  for (const auto& inv : r.invariants) {
    if (inv.failed()) out.push_back(inv.id);
  }
  if (slo) {
    for (const auto& s : r.slos) {
      if (!s.passed) out.push_back("slo-" + s.name);
    }
  }
  return out;
}

std::string describe_fault(const FaultSpec& f) {
  std::string kind(faults::to_string(f.kind));
  switch (f.kind) {
    case FaultKind::latency:
      kind += " " + runtime::format_duration(f.delay);
      if (f.delay_jitter > Duration::zero()) kind += "+" + runtime::format_duration(f.delay_jitter);
      break;
    case FaultKind::error: kind += fmt::format(" ({})", resilience::to_string(f.error_class)); break;
    case FaultKind::saturation: kind += fmt::format(" x{:g}", f.multiplier); break;
    case FaultKind::duplicate_delivery: kind += fmt::format(" x{}", f.copies); break;
    case FaultKind::reordering: kind += " " + runtime::format_duration(f.reorder_window); break;
    case FaultKind::corrupted_input: {
      std::string modes;
      for (auto m : f.corruptions) modes += (modes.empty() ? "" : ",") + std::string(faults::to_string(m));
      kind += " (" + modes + ")";
      break;
    }
    case FaultKind::invalid_output: {
      std::string modes;
      for (auto m : f.outputs) modes += (modes.empty() ? "" : ",") + std::string(faults::to_string(m));
      kind += " (" + modes + ")";
      break;
    }
    default: break;
  }
  std::string out = fmt::format("{} on {}, {}-{}", kind, f.target, runtime::format_duration(f.start),
                                runtime::format_duration(f.end()));
  if (f.probability < 1.0) out += fmt::format(", p={:g}", f.probability);
  return out;
}

std::string describe_size(const Candidate& c) {
  Duration windows{};
  for (const auto& f : c.faults) windows += f.duration;
  return fmt::format("{} fault(s) ({} of windows), {:g} invoices/h for {}", c.faults.size(),
                     runtime::format_duration(windows), c.rate_per_hour, runtime::format_duration(c.duration));
}

int ExploreResult::exit_code() const {
  if (internal_errors > 0) return 5;
  if (stopped == "signal") return 4;
  if (failing > 0) return 1;
  if (aborted > 0) return 4;
  return 0;
}

namespace {

// The same scenario up to its seed and name: failures of one cause found
// from different runs shrink to it.
std::string dedup_key(const std::string& property, const Candidate& c) {
  std::string key = fmt::format("{}|{}|{}|{:g}", property, c.duration.count(), c.drain.count(), c.rate_per_hour);
  for (const auto& f : c.faults) {
    auto j = faults::to_json(f);
    j.erase("stream");  // which draws, like the seed
    key += "|" + j.dump();
  }
  return key;
}

// Every fault of `shape` (by kind and target) has its own in `schedule`.
bool contains_shape(const Candidate& schedule, const Candidate& shape) {
  std::vector<bool> used(schedule.faults.size(), false);
  for (const auto& f : shape.faults) {
    bool matched = false;
    for (std::size_t i = 0; i < schedule.faults.size() && !matched; ++i) {
      if (used[i] || schedule.faults[i].kind != f.kind || schedule.faults[i].target != f.target) continue;
      used[i] = true;
      matched = true;
    }
    if (!matched) return false;
  }
  return true;
}

class Explorer {
 public:
  Explorer(const ExploreOptions& o, const ExploreProgressFn& progress, const FoundFn& on_found)
      : o_(o),
        progress_(progress),
        on_found_(on_found),
        streams_(o.seed),
        policy_(reference_system::load_policy(o.target.policy_file)) {
    result_.options = o;
    result_.kinds.resize(faults::kFaultKindCount);
    started_ = std::chrono::steady_clock::now();
    cpu_started_ = cpu_seconds();
    limits_ = o.limits;
    if (!o.runs) limits_.deadline = started_ + o.budget;
  }

  ExploreResult run() {
    std::uint64_t next = 0;
    bool out_of_time = false;
    while (!out_of_time) {
      if (o_.runs && next >= *o_.runs) break;
      if (over()) break;
      std::size_t n = std::max<std::uint32_t>(1, o_.jobs) * kBatchPerJob;
      if (o_.runs) n = std::min<std::uint64_t>(n, *o_.runs - next);
      std::vector<Candidate> batch;
      for (std::size_t i = 0; i < n; ++i) {
        auto rng = streams_.stream("explore/run/" + std::to_string(next + i));
        batch.push_back(generate_candidate(o_.bounds, o_.kinds, rng,
                                           runtime::RandomStreams::derive_seed(o_.seed, next + i), &policy_));
      }
      const auto results = run_all(batch, next, true);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!results[i]) {
          out_of_time = true;  // cut by the budget or a signal: this run and later ones do not count
          break;
        }
        judge(next + i, batch[i], *results[i]);
      }
      next += batch.size();
      report("searching");
    }
    result_.stopped = stop_flagged() ? "signal" : (o_.runs && result_.runs >= *o_.runs) ? "runs" : "budget";
    result_.wall_s = elapsed();
    result_.cpu_s = cpu_seconds() - cpu_started_;
    return std::move(result_);
  }

 private:
  bool stop_flagged() const { return limits_.stop != nullptr && limits_.stop->load(); }
  bool over() const { return stop_flagged() || std::chrono::steady_clock::now() >= limits_.deadline; }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  void report(const std::string& phase) {
    if (!progress_) return;
    progress_(ExploreProgress{result_.runs, result_.failing, result_.found.size(), phase, elapsed()});
  }

  // Runs the candidates on the worker threads; an empty slot for a run the
  // budget or a signal cut short (nothing it found counts).
  std::vector<std::optional<reports::ScenarioResult>> run_all(const std::vector<Candidate>& batch, std::uint64_t first,
                                                              bool search) {
    std::vector<std::optional<reports::ScenarioResult>> out(batch.size());
    for_each_parallel(batch.size(), o_.jobs, [&](std::size_t i) {
      if (over()) return;
      EngineOptions eo;
      eo.step_budget = o_.step_budget;
      eo.limits = limits_;
      eo.replay_prefix = "faultline run";
      if (search) eo.on_run_log = o_.on_run_log;
      reports::ScenarioResult r;
      try {
        r = run_scenario(to_scenario(batch[i], o_.target, fmt::format("explore-{}", first + i)), eo);
      } catch (const std::exception& e) {
        // The policy and world were read before the first run, and every
        // candidate is valid input: anything thrown is a bug.
        r.verdict = reports::Verdict::kError;
        r.verdict_reason = std::string("internal error: ") + e.what();
      }
      if (r.verdict == reports::Verdict::kAborted && over()) return;
      out[i] = std::move(r);
    });
    // Only a prefix counts: the first run cut short ends it.
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!out[i]) {
        for (std::size_t j = i; j < out.size(); ++j) out[j].reset();
        break;
      }
    }
    return out;
  }

  void cover(const Candidate& c, const reports::ScenarioResult& r) {
    std::set<std::size_t> kinds_in_run;
    for (std::size_t i = 0; i < c.faults.size(); ++i) {
      const auto k = static_cast<std::size_t>(c.faults[i].kind);
      auto& kc = result_.kinds[k];
      ++kc.tried;
      ++kc.targets[c.faults[i].target];
      if (i < r.faults.size() && r.faults[i].hit_count > 0) ++kc.touched;
      kinds_in_run.insert(k);
    }
    for (auto k : kinds_in_run) ++result_.kinds[k].runs;
    if (result_.runs == 1 || c.rate_per_hour < result_.rate_min_seen) result_.rate_min_seen = c.rate_per_hour;
    result_.rate_max_seen = std::max(result_.rate_max_seen, c.rate_per_hour);
    ++result_.durations[runtime::format_duration(c.duration)];
  }

  void judge(std::uint64_t index, const Candidate& c, const reports::ScenarioResult& r) {
    ++result_.runs;
    cover(c, r);
    switch (r.verdict) {
      case reports::Verdict::kPass: ++result_.passed; return;
      case reports::Verdict::kInconclusive: ++result_.inconclusive; return;
      case reports::Verdict::kAborted:
        ++result_.aborted;
        if (result_.aborted_runs.size() < kListedMax) result_.aborted_runs.push_back(index);
        return;
      case reports::Verdict::kError:
        ++result_.internal_errors;
        if (result_.internal_error_messages.size() < kListedMax) {
          result_.internal_error_messages.push_back(fmt::format("run {}: {}", index, r.verdict_reason));
        }
        return;
      case reports::Verdict::kFail: break;
    }
    const auto broken = broken_properties(r, o_.target.slo);
    if (broken.empty()) {
      // Only SLOs failed, and SLOs are not judged: the run passed what explore asks.
      ++result_.passed;
      return;
    }
    ++result_.failing;
    const std::string& property = broken.front();
    for (auto& f : result_.found) {
      if (f.property == property && contains_shape(c, f.smallest)) {
        f.probably_same.push_back(index);
        return;
      }
    }
    if (result_.found.size() >= o_.shrunk_max) {
      ++result_.failures_not_shrunk;
      return;
    }
    FoundFailure found;
    found.property = property;
    found.run = index;
    found.original = c;
    found.found_after_s = elapsed();
    report(fmt::format("shrinking {} (run {})", property, index));
    shrink_into(found);
    found.shrunk_after_s = elapsed();
    const auto key = dedup_key(property, found.smallest);
    for (auto& f : result_.found) {
      if (dedup_key(f.property, f.smallest) == key) {
        f.also_found_by.push_back(index);
        return;
      }
    }
    result_.found.push_back(std::move(found));
    if (on_found_) on_found_(result_.found.back());
  }

  void shrink_into(FoundFailure& found) {
    const std::string property = found.property;
    std::string last_message;
    ShrinkOracle oracle = [&](const std::vector<Candidate>& batch) {
      const auto results = run_all(batch, found.run, false);
      std::vector<bool> fails;
      for (const auto& r : results) {
        if (!r) break;
        fails.push_back(false);
        for (const auto& p : broken_properties(*r, o_.target.slo)) fails.back() = fails.back() || p == property;
      }
      result_.shrink_runs += fails.size();
      report(fmt::format("shrinking {} (run {})", property, found.run));
      return fails;
    };
    ShrinkOptions so;
    so.batch = std::max<std::uint32_t>(1, o_.jobs);
    so.runs_max = o_.shrink_runs_max;
    const ShrinkResult s = shrink(found.original, oracle, so);
    found.smallest = s.smallest;
    found.steps = s.steps;
    found.shrink_runs = s.runs;
    found.shrink_complete = s.complete;
    found.message = message_of(found.smallest, property);
  }

  // The property's failure message in the candidate's run (one run more:
  // the shrinker keeps candidates, not results).
  std::string message_of(const Candidate& c, const std::string& property) {
    const auto results = run_all({c}, 0, false);
    if (!results.front()) return "(not re-run: the budget ran out)";
    const auto& r = *results.front();
    for (const auto& inv : r.invariants) {
      if (inv.id == property) return inv.message;
    }
    for (const auto& s : r.slos) {
      if ("slo-" + s.name == property) return s.message;
    }
    return r.verdict_reason;
  }

  const ExploreOptions& o_;
  const ExploreProgressFn& progress_;
  const FoundFn& on_found_;
  runtime::RandomStreams streams_;
  reference_system::Policy policy_;
  runtime::AbortLimits limits_;
  ExploreResult result_;
  std::chrono::steady_clock::time_point started_;
  double cpu_started_ = 0;
};

}  // namespace

ExploreResult explore(const ExploreOptions& options, const ExploreProgressFn& progress, const FoundFn& on_found) {
  // Bad input stops everything before the first run, as `faultline run` does.
  if (options.target.policy_file.empty()) throw runtime::ConfigError("", "$", "no policy file given");
  if (!options.target.world_file.empty()) {
    Scenario probe;
    probe.file = options.target.world_file;
    probe.world_file = options.target.world_file;
    (void)world_for(probe);
  }
  Explorer explorer(options, progress, on_found);
  return explorer.run();
}

}  // namespace faultline::harness
