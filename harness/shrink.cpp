// The shrinker (see shrink.h): rounds of ddmin over the fault schedule, then
// each fault made smaller, then the workload, each step keeping the first
// candidate (in a fixed order, smallest first) the oracle says still fails.
#include "harness/shrink.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/core.h>

#include "runtime/assert.h"
#include "runtime/time.h"

namespace faultline::harness {

using runtime::Duration;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::vector<Duration>& window_ladder() {
  static const std::vector<Duration> ladder = {seconds(1), seconds(5), seconds(10), seconds(30), minutes(1),
                                               minutes(2), minutes(5), minutes(10), minutes(15)};
  return ladder;
}

const std::vector<Duration>& duration_ladder() {
  static const std::vector<Duration> ladder = {minutes(1),  minutes(2),  minutes(5), minutes(10),
                                               minutes(15), minutes(20), minutes(30)};
  return ladder;
}

const std::vector<double>& probability_ladder() {
  static const std::vector<double> ladder = {0.01, 0.05, 0.1, 0.25, 0.5, 0.75};
  return ladder;
}

const std::vector<double>& rate_ladder() {
  static const std::vector<double> ladder = {30, 60, 120, 300, 600, 1200};
  return ladder;
}

namespace {

const std::vector<Duration>& delay_ladder() {
  static const std::vector<Duration> ladder = {milliseconds(100), milliseconds(250), milliseconds(500),
                                               seconds(1),        seconds(2),        seconds(5),
                                               seconds(10),       seconds(30),       minutes(1)};
  return ladder;
}

const std::vector<double>& multiplier_ladder() {
  static const std::vector<double> ladder = {1.5, 2, 3, 5};
  return ladder;
}

std::string fmt_d(Duration d) { return runtime::format_duration(d); }

// One way to make the candidate smaller, and what to call the step.
struct Option {
  Candidate candidate;
  std::string step;
};

class Search {
 public:
  Search(const ShrinkOracle& oracle, const ShrinkOptions& options, ShrinkResult& result)
      : oracle_(oracle), options_(options), result_(result) {}

  bool stopped() const { return stopped_; }

  // Tries the options in order (in batches) and takes the first that still
  // fails into `current`, with its step; its index, or nullopt if none did.
  std::optional<std::size_t> take_first(Candidate& current, std::vector<Option> options) {
    const std::size_t batch = std::max<std::uint32_t>(1, options_.batch);
    for (std::size_t i = 0; i < options.size() && !stopped_; i += batch) {
      if (result_.runs >= options_.runs_max) {
        stop();
        break;
      }
      const std::size_t n =
          std::min({batch, options.size() - i, static_cast<std::size_t>(options_.runs_max - result_.runs)});
      std::vector<Candidate> chunk;
      chunk.reserve(n);
      for (std::size_t j = 0; j < n; ++j) chunk.push_back(options[i + j].candidate);
      const std::vector<bool> fails = oracle_(chunk);
      FAULTLINE_ASSERT(fails.size() <= n);
      // Counted as one at a time would have tried them: up to the first
      // that still fails, so the count does not depend on the batch size.
      result_.runs += static_cast<std::uint32_t>(fails.size());
      for (std::size_t j = 0; j < fails.size(); ++j) {
        if (!fails[j]) continue;
        result_.runs -= static_cast<std::uint32_t>(fails.size() - j - 1);
        current = std::move(options[i + j].candidate);
        result_.steps.push_back(std::move(options[i + j].step));
        return i + j;
      }
      if (fails.size() < n) stop();
    }
    return std::nullopt;
  }

 private:
  void stop() {
    stopped_ = true;
    result_.complete = false;
  }

  const ShrinkOracle& oracle_;
  const ShrinkOptions& options_;
  ShrinkResult& result_;
  bool stopped_ = false;
};

Candidate with_faults(const Candidate& c, const std::vector<std::size_t>& keep) {
  Candidate out = c;
  out.faults.clear();
  for (auto i : keep) out.faults.push_back(c.faults[i]);
  return out;
}

std::string listed(const Candidate& c, const std::vector<std::size_t>& which) {
  std::string out;
  for (auto i : which) out += (out.empty() ? "" : "; ") + describe_fault(c.faults[i]);
  return out;
}

std::vector<std::size_t> all_but(std::size_t size, const std::vector<std::size_t>& chunk) {
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < size; ++i) {
    if (std::find(chunk.begin(), chunk.end(), i) == chunk.end()) rest.push_back(i);
  }
  return rest;
}

// Delta debugging over the schedule (Zeller's ddmin): each of n chunks
// alone, then (n > 2) each complement; n doubles when neither fails, until
// single faults have been tried.
bool fewer_faults(Search& search, Candidate& current) {
  if (current.faults.empty()) return false;
  // The plain workload first: a policy may fail without any fault.
  if (search.take_first(current, {Option{with_faults(current, {}),
                                         fmt::format("removed all {} fault(s): the failure needs none",
                                                     current.faults.size())}})) {
    return true;
  }
  bool changed = false;
  std::size_t n = 2;
  while (current.faults.size() >= 2 && !search.stopped()) {
    const std::size_t size = current.faults.size();
    n = std::min(n, size);
    std::vector<std::vector<std::size_t>> chunks(n);
    for (std::size_t i = 0; i < size; ++i) chunks[i * n / size].push_back(i);
    std::vector<Option> options;
    for (const auto& chunk : chunks) {
      const auto dropped = all_but(size, chunk);
      options.push_back(Option{with_faults(current, chunk),
                               fmt::format("removed {} of {} faults ({})", dropped.size(), size,
                                           listed(current, dropped))});
    }
    if (n > 2) {
      for (const auto& chunk : chunks) {
        options.push_back(Option{with_faults(current, all_but(size, chunk)),
                                 fmt::format("removed {} of {} faults ({})", chunk.size(), size,
                                             listed(current, chunk))});
      }
    }
    const auto won = search.take_first(current, std::move(options));
    if (!won) {
      if (n >= size) break;
      n = std::min(n * 2, size);
      continue;
    }
    changed = true;
    n = *won < n ? 2 : std::max<std::size_t>(n - 1, 2);
  }
  return changed;
}

std::string fault_name(std::size_t i, const faults::FaultSpec& f) {
  return fmt::format("fault {} ({} on {})", i, faults::to_string(f.kind), f.target);
}

// A shorter window for fault i: each ladder length below its own, starting
// later (same end) and then ending sooner (same start).
std::vector<Option> shorter_windows(const Candidate& c, std::size_t i) {
  std::vector<Option> out;
  const auto& f = c.faults[i];
  for (const Duration d : window_ladder()) {
    if (d >= f.duration) break;
    Candidate later = c;
    later.faults[i].start = f.end() - d;
    later.faults[i].duration = d;
    out.push_back(Option{std::move(later), fmt::format("{}: window {} -> {}, starting later ({} -> {})",
                                                       fault_name(i, f), fmt_d(f.duration), fmt_d(d), fmt_d(f.start),
                                                       fmt_d(f.end() - d))});
    Candidate sooner = c;
    sooner.faults[i].duration = d;
    out.push_back(Option{std::move(sooner), fmt::format("{}: window {} -> {}, ending sooner", fault_name(i, f),
                                                        fmt_d(f.duration), fmt_d(d))});
  }
  return out;
}

std::vector<Option> lower_probability(const Candidate& c, std::size_t i) {
  std::vector<Option> out;
  const auto& f = c.faults[i];
  for (const double p : probability_ladder()) {
    if (p >= f.probability) break;
    Candidate lower = c;
    lower.faults[i].probability = p;
    out.push_back(Option{std::move(lower), fmt::format("{}: probability {:g} -> {:g}", fault_name(i, f), f.probability, p)});
  }
  return out;
}

// The fault's own parameters, each made smaller; one list per parameter.
std::vector<std::vector<Option>> smaller_parameters(const Candidate& c, std::size_t i) {
  std::vector<std::vector<Option>> out;
  const auto& f = c.faults[i];
  const std::string name = fault_name(i, f);
  auto durations = [&](Duration current, const std::vector<Duration>& ladder, const char* what, auto set) {
    std::vector<Option> options;
    for (const Duration d : ladder) {
      if (d >= current) break;
      Candidate smaller = c;
      set(smaller.faults[i], d);
      options.push_back(Option{std::move(smaller), fmt::format("{}: {} {} -> {}", name, what, fmt_d(current), fmt_d(d))});
    }
    return options;
  };
  switch (f.kind) {
    case faults::FaultKind::latency: {
      if (f.delay_jitter > Duration::zero()) {
        Candidate none = c;
        none.faults[i].delay_jitter = Duration::zero();
        std::vector<Option> jitter{Option{std::move(none), fmt::format("{}: jitter {} -> 0", name, fmt_d(f.delay_jitter))}};
        auto rest = durations(f.delay_jitter, delay_ladder(), "jitter",
                              [](faults::FaultSpec& s, Duration d) { s.delay_jitter = d; });
        jitter.insert(jitter.end(), rest.begin(), rest.end());
        out.push_back(std::move(jitter));
      }
      out.push_back(durations(f.delay, delay_ladder(), "delay", [](faults::FaultSpec& s, Duration d) { s.delay = d; }));
      break;
    }
    case faults::FaultKind::reordering:
      out.push_back(durations(f.reorder_window, delay_ladder(), "reordering window",
                              [](faults::FaultSpec& s, Duration d) { s.reorder_window = d; }));
      break;
    case faults::FaultKind::saturation: {
      std::vector<Option> options;
      for (const double m : multiplier_ladder()) {
        if (m >= f.multiplier) break;
        Candidate smaller = c;
        smaller.faults[i].multiplier = m;
        options.push_back(Option{std::move(smaller), fmt::format("{}: multiplier {:g} -> {:g}", name, f.multiplier, m)});
      }
      out.push_back(std::move(options));
      break;
    }
    case faults::FaultKind::duplicate_delivery: {
      std::vector<Option> options;
      for (std::uint32_t n = 1; n < f.copies; ++n) {
        Candidate smaller = c;
        smaller.faults[i].copies = n;
        options.push_back(Option{std::move(smaller), fmt::format("{}: copies {} -> {}", name, f.copies, n)});
      }
      out.push_back(std::move(options));
      break;
    }
    case faults::FaultKind::corrupted_input: {
      std::vector<Option> options;
      if (f.corruptions.size() > 1) {
        for (const auto mode : f.corruptions) {
          Candidate one = c;
          one.faults[i].corruptions = {mode};
          options.push_back(Option{std::move(one), fmt::format("{}: {} corruption modes -> {}", name,
                                                               f.corruptions.size(), faults::to_string(mode))});
        }
      }
      out.push_back(std::move(options));
      break;
    }
    case faults::FaultKind::invalid_output: {
      std::vector<Option> options;
      if (f.outputs.size() > 1) {
        for (const auto mode : f.outputs) {
          Candidate one = c;
          one.faults[i].outputs = {mode};
          options.push_back(
              Option{std::move(one), fmt::format("{}: invalid-output modes -> {}", name, faults::to_string(mode))});
        }
      }
      out.push_back(std::move(options));
      break;
    }
    default: break;
  }
  return out;
}

bool smaller_faults(Search& search, Candidate& current) {
  bool changed = false;
  for (std::size_t i = 0; i < current.faults.size() && !search.stopped(); ++i) {
    changed |= search.take_first(current, shorter_windows(current, i)).has_value();
    changed |= search.take_first(current, lower_probability(current, i)).has_value();
    // Each parameter's options are built from the candidate as it is by then.
    const std::size_t parameters = smaller_parameters(current, i).size();
    for (std::size_t p = 0; p < parameters && !search.stopped(); ++p) {
      auto lists = smaller_parameters(current, i);
      if (p < lists.size()) changed |= search.take_first(current, std::move(lists[p])).has_value();
    }
  }
  return changed;
}

bool smaller_workload(Search& search, Candidate& current) {
  bool changed = false;
  std::vector<Option> rates;
  for (const double r : rate_ladder()) {
    if (r >= current.rate_per_hour) break;
    Candidate lower = current;
    lower.rate_per_hour = r;
    rates.push_back(Option{std::move(lower), fmt::format("rate {:g}/h -> {:g}/h", current.rate_per_hour, r)});
  }
  changed |= search.take_first(current, std::move(rates)).has_value();

  std::vector<Option> durations;
  Duration last_end = Duration::zero();
  Duration first_start = current.duration;
  for (const auto& f : current.faults) {
    last_end = std::max(last_end, f.end());
    first_start = std::min(first_start, f.start);
  }
  for (const Duration d : duration_ladder()) {
    if (d >= current.duration) break;
    // Faults past the new end move earlier together, where they can.
    const Duration shift = last_end > d ? last_end - d : Duration::zero();
    if (shift > first_start) continue;
    Candidate shorter = current;
    shorter.duration = d;
    for (auto& f : shorter.faults) f.start -= shift;
    durations.push_back(Option{std::move(shorter),
                               shift > Duration::zero()
                                   ? fmt::format("duration {} -> {}, every fault {} earlier", fmt_d(current.duration),
                                                 fmt_d(d), fmt_d(shift))
                                   : fmt::format("duration {} -> {}", fmt_d(current.duration), fmt_d(d))});
  }
  changed |= search.take_first(current, std::move(durations)).has_value();
  return changed;
}

}  // namespace

ShrinkResult shrink(const Candidate& failing, const ShrinkOracle& oracle, const ShrinkOptions& options) {
  ShrinkResult result;
  result.smallest = failing;
  Search search(oracle, options, result);
  for (std::uint32_t round = 0; round < options.rounds_max && !search.stopped(); ++round) {
    bool changed = fewer_faults(search, result.smallest);
    changed |= smaller_faults(search, result.smallest);
    changed |= smaller_workload(search, result.smallest);
    if (!changed) break;
  }
  return result;
}

}  // namespace faultline::harness
