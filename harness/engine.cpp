#include "harness/engine.h"

#include <algorithm>
#include <charconv>
#include <coroutine>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/core.h>

#include "faults/injector.h"
#include "faults/pause_faults.h"
#include "faults/port_faults.h"
#include "faults/supervisor_faults.h"
#include "harness/checks/slo.h"
#include "harness/invariants.h"
#include "harness/private_store.h"
#include "harness/probe.h"
#include "harness/workload_driver.h"
#include "reference_system/events.h"
#include "reference_system/system.h"
#include "reports/escape.h"
#include "resilience/events.h"
#include "runtime/json_config.h"
#include "runtime/sim_runtime.h"
#include "world/sim_world.h"
#include "world/workload.h"

namespace faultline::harness {

namespace rs = reference_system;
using runtime::Duration;
using runtime::Instant;

namespace {

constexpr Duration kSampleEvery = std::chrono::seconds(15);
constexpr std::size_t kMaxBuckets = 240;

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

std::string file_digest(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return hex64(runtime::fnv1a64(bytes.str()));
}

}  // namespace

nlohmann::json world_document(const Scenario& s) {
  nlohmann::json doc;
  if (!s.world_file.empty()) {
    doc = runtime::load_json_file(s.world_file);
  } else {
    doc = {{"name", "default"}, {"description", "the built-in fault-free world"}};
  }
  if (!s.model_overrides.empty()) {
    nlohmann::json patch = {{"services", s.model_overrides}};
    doc.merge_patch(patch);
  }
  return doc;
}

world::WorldModel world_for(const Scenario& s) {
  const nlohmann::json doc = world_document(s);
  world::WorldModel world;
  try {
    world = world::parse_world_model(runtime::JsonView(doc, s.world_file.empty() ? s.file : s.world_file));
  } catch (const runtime::ConfigError& e) {
    // An override's error belongs to the scenario file, under "models".
    std::string path = e.path();
    if (path.rfind("$.services", 0) == 0 && !s.model_overrides.empty()) {
      throw runtime::ConfigError(s.file, "$.models" + path.substr(10), e.message());
    }
    throw;
  }
  auto& w = world.workload;
  if (s.workload.quality_given) {
    w.quality_bands = {{"good", s.workload.quality_good, 0.7, 1.0},
                       {"fair", s.workload.quality_fair, 0.4, 0.7},
                       {"poor", s.workload.quality_poor, 0.15, 0.4}};
    w.quality_bands.erase(std::remove_if(w.quality_bands.begin(), w.quality_bands.end(),
                                         [](const world::QualityBand& b) { return b.share <= 0; }),
                          w.quality_bands.end());
  }
  if (s.workload.unmatched_po_share) w.missing_po_share = *s.workload.unmatched_po_share;
  return world;
}

namespace {

// One simulated run of a scenario: the runtime, the system with its wrapped
// ports, the faults and the workload. Members are declared so that the
// system (and with it every agent frame holding a probe) goes before the
// probes' tracker, and the runtime goes last.
class ScenarioRun {
 public:
  ScenarioRun(const Scenario& s, const rs::Policy& policy, const world::WorldModel& world, std::uint64_t seed,
              bool with_faults, std::uint64_t step_budget,
              const std::function<void(rs::SystemPorts&)>& wrap_ports = {})
      : scenario_(s), rt_(seed), tracker_(rt_) {
    rt_.set_step_budget(step_budget);
    start_ = rt_.now();
    if (with_faults) {
      for (std::size_t i = 0; i < s.faults.size(); ++i) {
        faults_.push_back(std::make_unique<faults::ActiveFault>(rt_, s.faults[i], i, start_));
      }
    }
    // Every run's policy names the file of a PrivateCheckpointFile (run_scenario).
    rs::SystemOptions options;
    options.checkpoint_file_private = true;
    sim_world_ = world::make_sim_world(rt_, world);
    rs::SystemBuilder builder(rt_, policy, sim_world_.ports(), options);
    auto& ports = builder.ports();
    // system -> probe -> fault injector -> simulated service
    wire<ProbeOcrEngine, faults::FaultyOcrEngine>(ports.ocr_engine, "ocr_engine");
    wire<ProbeOcrEngine, faults::FaultyOcrEngine>(ports.backup_ocr, "backup_ocr");
    wire<ProbePoDatabase, faults::FaultyPoDatabase>(ports.po_database, "po_database");
    wire<ProbeBudgetService, faults::FaultyBudgetService>(ports.budget_service, "budget_service");
    wire<ProbeLedger, faults::FaultyLedger>(ports.ledger, "ledger");
    wire<ProbeNotifier, faults::FaultyNotifier>(ports.notifier, "notifier");
    bus_ = std::make_shared<faults::FaultyMessageBus>(rt_, std::move(ports.bus), aimed_at("bus"));
    // A pause acts on its agent's traffic, so the bus holds it (pause_faults.h).
    std::vector<const faults::AgentPause*> pauses;
    for (const auto& f : faults_) {
      if (f->spec().kind != faults::FaultKind::pause) continue;
      pauses_.push_back(std::make_unique<faults::AgentPause>(*f));
      pauses.push_back(pauses_.back().get());
    }
    if (!pauses.empty()) bus_->hold_for(std::move(pauses));
    ports.bus = bus_;
    bare_store_ = ports.checkpoints;
    wire<ProbeCheckpointStore, faults::FaultyCheckpointStore>(ports.checkpoints, "checkpoint_store");

    if (wrap_ports) wrap_ports(ports);
    system_ = builder.build();
    workload_ = std::make_unique<WorkloadDriver>(rt_, s, world, *sim_world_.catalogue, aimed_at("workload"),
                                                 WorkloadIds{}, [this](Submission sub) { submit(std::move(sub)); });
  }

  ~ScenarioRun() {
    // The system's frames (agents, workflows, calls in flight) go while the
    // probes they hold are still alive.
    system_.reset();
  }

  // Runs duration + drain; false if a safety limit stopped it.
  bool run() {
    system_->start();
    workload_end_ = start_ + scenario_.duration;
    end_ = workload_end_ + scenario_.drain;
    rt_.spawn(workload_->drive(workload_end_));
    for (auto& f : faults_) {
      rt_.spawn(window(*f));
      if (f->spec().kind == faults::FaultKind::crash) {
        rt_.spawn(faults::crash_and_restart(*f, system_->supervisor(),
                                            [this](std::string_view agent) { return work_held(agent); }));
      }
    }
    for (auto& p : pauses_) rt_.spawn(p->run([this](std::string_view agent) { return work_held(agent); }));
    for (auto* f : workload_->saturation()) rt_.spawn(workload_->saturate(*f, workload_end_));
    rt_.spawn(sample());
    rt_.run_until(workload_end_);
    if (rt_.step_budget_exhausted()) return false;
    rt_.log().record(0, 0, harness_events::WorkloadStopped{});
    rt_.run_until(end_);
    if (rt_.step_budget_exhausted()) return false;
    rt_.log().record(0, 0, harness_events::DrainEnded{});
    tracker_.close_open_calls();
    return true;
  }

  runtime::SimRuntime& rt() { return rt_; }
  rs::System& system() { return *system_; }
  const world::SimWorld& sim_world() const { return sim_world_; }
  const faults::FaultyMessageBus& bus() const { return *bus_; }
  Instant start() const { return start_; }
  Instant workload_end() const { return workload_end_; }
  Instant end() const { return end_; }
  std::uint64_t submitted() const { return workload_->submitted(); }
  const std::vector<std::unique_ptr<faults::ActiveFault>>& faults() const { return faults_; }
  // The checkpoint store itself, under the probe, the fault injector and any
  // test wrapper (null when the policy keeps none).
  resilience::CheckpointStore* bare_store() const { return bare_store_.get(); }

 private:
  std::vector<faults::ActiveFault*> aimed_at(std::string_view target) const {
    std::vector<faults::ActiveFault*> out;
    for (const auto& f : faults_) {
      if (f->spec().target == target) out.push_back(f.get());
    }
    return out;
  }
  // Wraps `port` (when the system has one) in a fault injector for the faults
  // aimed at `name`, and that in a probe; each link owns the next, so the
  // system's ports keep the whole chain alive.
  template <class Probe, class Fault, class Port>
  void wire(std::shared_ptr<Port>& port, std::string_view name) {
    if (!port) return;
    port = std::make_shared<Probe>(tracker_, name, std::make_shared<Fault>(rt_, std::move(port), aimed_at(name)));
  }

  // A submission the workload driver lets through, at its arrival time.
  void submit(Submission sub) {
    rs::Invoice invoice = std::move(sub.invoice);
    const std::uint64_t id = invoice.id;
    rt_.log().record(0, id, harness_events::Submitted{sub.true_total_cents, sub.corruption, sub.extra});
    // A refusal the system returns is the invoice's outcome: the harness
    // records it as it receives it (conservation counts it; a silent drop is loss).
    const rs::SubmitResult result = system_->submit(std::move(invoice));
    if (result != rs::SubmitResult::accepted) {
      rt_.log().record(0, id, harness_events::Refused{result});
    }
  }

  // What a crash would find: the agent's topic, queued and delivered but
  // unacknowledged, as the harness's bus wrapper sees it; for the
  // orchestrator its replies and the workflows it holds.
  std::uint64_t work_held(std::string_view agent) const {
    if (agent == "orchestrator") {
      return system_->orchestrator().in_flight() + bus_->depth(rs::Topic::replies) + bus_->pending(rs::Topic::replies);
    }
    const auto id = rs::agent_from(agent);
    if (!id) return 0;
    const auto topic = static_cast<rs::Topic>(static_cast<std::size_t>(*id));
    return bus_->depth(topic) + bus_->pending(topic);
  }

  runtime::Task<void> window(faults::ActiveFault& f) {
    co_await rt_.sleep_until(f.window_start());
    rt_.log().record(f.source(), 0, faults::fault_events::WindowOpened{f.index(), f.spec().kind});
    co_await rt_.sleep_until(f.window_end());
    rt_.log().record(f.source(), 0, faults::fault_events::WindowClosed{f.index(), f.spec().kind});
  }

  runtime::Task<void> sample() {
    std::array<std::uint32_t, rs::kAgentCount> topics{};
    for (std::size_t i = 0; i < rs::kAgentCount; ++i) {
      topics[i] = rt_.log().intern(rs::to_string(static_cast<rs::AgentId>(i)));
    }
    while (rt_.now() < end_) {
      co_await rt_.sleep(kSampleEvery);
      system_->sample_queue_depths();
      rt_.log().record(0, 0, harness_events::Sample{system_->orchestrator().in_flight(), rt_.live_tasks()});
      for (std::size_t i = 0; i < rs::kAgentCount; ++i) {
        const auto topic = static_cast<rs::Topic>(i);
        rt_.log().record(topics[i], 0, harness_events::QueueSample{bus_->depth(topic), bus_->pending(topic)});
      }
    }
  }

  const Scenario& scenario_;
  runtime::SimRuntime rt_;
  CallTracker tracker_;
  std::vector<std::unique_ptr<faults::ActiveFault>> faults_;
  std::vector<std::unique_ptr<faults::AgentPause>> pauses_;  // held by bus_: declared before it
  std::shared_ptr<faults::FaultyMessageBus> bus_;
  std::unique_ptr<WorkloadDriver> workload_;
  world::SimWorld sim_world_;  // the simulated services behind the probes and faults
  std::unique_ptr<rs::System> system_;
  Instant start_{};
  Instant workload_end_{};
  Instant end_{};
  std::shared_ptr<resilience::CheckpointStore> bare_store_;  // null when the policy keeps none
};

Duration bucket_width_for(const Scenario& s) {
  const Duration total = s.duration + s.drain;
  Duration width = std::chrono::minutes(1);
  while (total / width > static_cast<std::int64_t>(kMaxBuckets)) width *= 2;
  return width;
}

reports::BreakerState breaker_state(resilience::BreakerState s) {
  switch (s) {
    case resilience::BreakerState::open: return reports::BreakerState::kOpen;
    case resilience::BreakerState::half_open: return reports::BreakerState::kHalfOpen;
    default: return reports::BreakerState::kClosed;
  }
}

// Outcome counts, series, breakers and DLQ history from the event log.
void fill_from_log(reports::ScenarioResult& r, const runtime::EventLog& log, Instant start, Instant end,
                   Duration width) {
  auto& series = r.series;
  series.bucket_width = width;
  const auto buckets = static_cast<std::size_t>((end - start + width - Duration(1)) / width);
  series.buckets.resize(std::min(buckets, kMaxBuckets));
  series.buckets_dropped = buckets > kMaxBuckets ? buckets - kMaxBuckets : 0;
  for (std::size_t b = 0; b < series.buckets.size(); ++b) series.buckets[b].start = width * static_cast<std::int64_t>(b);
  std::map<std::uint32_t, std::size_t> breaker_index;
  for (const auto service : rs::kServices) {
    if (auto id = log.find(rs::to_string(service))) breaker_index[id] = SIZE_MAX;
  }
  std::map<std::string, reports::BreakerState> states;
  std::uint64_t dlq = 0;
  std::size_t filled = 0;
  auto bucket_of = [&](Instant t) {
    return std::min(series.buckets.size() - 1, static_cast<std::size_t>(std::max(Duration::zero(), t - start) / width));
  };
  auto carry_until = [&](std::size_t b) {
    for (; filled < b && filled < series.buckets.size(); ++filled) {
      series.buckets[filled].dlq_size = dlq;
      series.buckets[filled].breaker_states = states;
    }
  };
  for (const auto& e : log.events()) {
    if (series.buckets.empty()) break;
    const std::size_t b = bucket_of(e.at);
    carry_until(b);
    auto& bucket = series.buckets[b];
    if (e.kind == static_cast<std::uint16_t>(HarnessEvent::submitted)) {
      ++bucket.submitted;
      ++r.outcomes.submitted;
    } else if (is<rs::system_events::TerminalOutcome>(e)) {
      ++bucket.completed;
      switch (read<rs::system_events::TerminalOutcome>(e).outcome) {
        case rs::InvoiceOutcome::posted: ++r.outcomes.posted, ++bucket.succeeded; break;
        case rs::InvoiceOutcome::posted_degraded: ++r.outcomes.posted_degraded, ++bucket.succeeded; break;
        case rs::InvoiceOutcome::rejected_invalid: ++r.outcomes.rejected_invalid; break;
        case rs::InvoiceOutcome::dead_lettered: ++r.outcomes.dead_lettered; break;
        case rs::InvoiceOutcome::manual_review: ++r.outcomes.manual_review; break;
      }
    } else if (is<rs::system_events::DeadLettered>(e)) {
      dlq = read<rs::system_events::DeadLettered>(e).queue_size;
      r.dlq_size_max = std::max(r.dlq_size_max, dlq);
    } else if (is<resilience::pattern_events::BreakerTransition>(e) && breaker_index.contains(e.source)) {
      const auto transition = read<resilience::pattern_events::BreakerTransition>(e);
      auto& slot = breaker_index[e.source];
      const std::string name(log.name(e.source));
      if (slot == SIZE_MAX) {
        slot = r.breakers.size();
        r.breakers.push_back(reports::ServiceBreaker{name, {}, 0});
      }
      auto& sb = r.breakers[slot];
      constexpr std::size_t kMaxTransitions = 200;
      if (sb.transitions.size() < kMaxTransitions) {
        sb.transitions.push_back(
            reports::BreakerTransition{e.at - start, breaker_state(transition.from), breaker_state(transition.to)});
      } else {
        ++sb.transitions_dropped;
      }
      states[name] = breaker_state(transition.to);
    }
  }
  carry_until(series.buckets.size());
  const auto terminal = r.outcomes.terminal();
  r.outcomes.in_flight = r.outcomes.submitted > terminal ? r.outcomes.submitted - terminal : 0;
}

// The invoice ids the dead-letter queue's entries hold, listed from the
// store they live in (not from the queue's own memory): a queue that said it
// stored an entry and did not is caught. Nullopt with the reason when the
// store cannot be read.
std::optional<std::string> read_dead_letter_ids(resilience::CheckpointStore& store,
                                                const resilience::DeadLetterConfig& config,
                                                std::vector<std::uint64_t>& ids) {
  // The stores the harness runs on answer without suspending (checkpoint.h).
  auto listing = store.list("dlq/" + config.name + "/", config.capacity + 1);
  if (!listing.done()) listing.start(std::noop_coroutine()).resume();
  if (!listing.done()) return "the dead-letter queue's store did not answer at once";
  auto listed = listing.result();
  if (!listed.ok()) return "listing the dead-letter queue's store failed: " + listed.failure().message;
  for (const auto& cp : listed.value()) {
    const auto entry = resilience::DeadLetterQueue::decode(cp.state);
    std::uint64_t id = 0;
    if (!entry) return "dead-letter entry " + cp.workflow_id + " cannot be decoded";
    const auto [end, ec] = std::from_chars(entry->key.data(), entry->key.data() + entry->key.size(), id);
    if (ec != std::errc{} || end != entry->key.data() + entry->key.size()) {
      return "dead-letter entry " + cp.workflow_id + " names no invoice id: '" + entry->key + "'";
    }
    ids.push_back(id);
  }
  return std::nullopt;
}

struct Baseline {
  reports::Baseline summary;
  std::vector<OutcomePoint> outcomes;
};

std::string replay_command(const Scenario& s, const EngineOptions& o, std::uint64_t seed) {
  std::string cmd = fmt::format("{} {} --seed {}", o.replay_prefix, reports::shell_quote(s.file), seed);
  if (o.policy_file) cmd += " --policy " + reports::shell_quote(*o.policy_file);
  return cmd;
}

}  // namespace

RunDigest simulate_only(const Scenario& scenario, const EngineOptions& options) {
  auto policy = rs::load_policy(options.policy_file.value_or(scenario.policy_file));
  PrivateCheckpointFile store(policy);
  const auto world = world_for(scenario);
  ScenarioRun run(scenario, policy, world, options.seed.value_or(scenario.seed), true, options.step_budget);
  run.rt().set_abort_limits(options.limits);
  RunDigest d;
  d.budget_exhausted = !run.run();
  d.log_digest = run.rt().log().digest();
  d.events = run.rt().log().appended();
  d.submitted = run.submitted();
  return d;
}

void decide_verdict(reports::ScenarioResult& r, std::string_view pass_prefix, std::string_view skipped_label) {
  std::vector<std::string> broken;
  for (const auto& inv : r.invariants) {
    if (inv.failed()) broken.push_back(inv.id);
  }
  for (const auto& s : r.slos) {
    if (!s.passed) broken.push_back("slo:" + s.name);
  }
  std::vector<std::string> untouched;
  for (std::size_t i = 0; i < r.faults.size(); ++i) {
    const auto& w = r.faults[i];
    if (w.hit_count == 0) untouched.push_back(fmt::format("fault {} ({} on {})", i, w.kind, w.target));
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  if (!broken.empty()) {
    r.verdict = reports::Verdict::kFail;
    r.verdict_reason = "broken: " + join(broken);
  } else if (r.outcomes.submitted == 0) {
    // Nothing was asked of the system, so nothing it did can vouch for it.
    r.verdict = reports::Verdict::kInconclusive;
    r.verdict_reason = "the workload submitted no invoice: nothing was tested";
  } else if (!untouched.empty()) {
    r.verdict = reports::Verdict::kInconclusive;
    r.verdict_reason = "touched nothing: " + join(untouched);
  } else {
    std::size_t held = 0;
    std::vector<std::string> skipped;
    for (const auto& inv : r.invariants) {
      if (inv.skipped) skipped.push_back(inv.id);
      else ++held;
    }
    r.verdict = reports::Verdict::kPass;
    r.verdict_reason = fmt::format("{}{} invariants and {} SLOs held", pass_prefix, held, r.slos.size());
    if (!skipped.empty()) {
      r.verdict_reason += fmt::format(" ({} {}: {})", skipped.size(), skipped_label, join(skipped));
    }
    r.verdict_reason += r.faults.empty() ? std::string("; no faults scheduled")
                                         : fmt::format("; {} fault(s) each touched the system", r.faults.size());
  }
}

reports::ScenarioResult run_scenario(const Scenario& scenario, const EngineOptions& options) {
  check_sim_scenario(scenario);  // a live-only fault is an input error, not a run
  reports::ScenarioResult r;
  r.name = scenario.name;
  r.description = scenario.description;
  const std::uint64_t seed = options.seed.value_or(scenario.seed);
  r.seed = seed;
  r.replay_command = replay_command(scenario, options, seed);
  r.scenario_digest = scenario.digest;
  r.duration = scenario.duration + scenario.drain;
  const std::string policy_file = options.policy_file.value_or(scenario.policy_file);
  const auto policy = rs::load_policy(policy_file);
  r.policy_name = policy.name;
  r.policy_digest = file_digest(policy_file);
  const auto world = world_for(scenario);
  const Duration width = bucket_width_for(scenario);

  // The fault-free baseline: same scenario, seed and policy, no faults.
  Baseline baseline;
  {
    rs::Policy base_policy = policy;
    PrivateCheckpointFile base_store(base_policy);
    ScenarioRun base(scenario, base_policy, world, seed, false, options.step_budget);
    base.rt().set_abort_limits(options.limits);
    if (!base.run()) {
      r.verdict = reports::Verdict::kAborted;
      r.verdict_reason = fmt::format("the fault-free baseline was stopped by {} at t={:.0f}s", base.rt().abort_reason(),
                                     runtime::to_seconds(base.rt().now() - base.start()));
      return r;
    }
    const auto& m = base.system().metrics();
    baseline.summary.success_rate =
        m.submitted == 0 ? 0.0 : static_cast<double>(m.succeeded()) / static_cast<double>(m.submitted);
    baseline.summary.p99 = m.end_to_end.percentile(0.99);
    baseline.summary.throughput_per_s =
        static_cast<double>(m.terminal()) / runtime::to_seconds(scenario.duration + scenario.drain);
    baseline.outcomes = outcome_points(base.rt().log(), base.start());
  }
  r.baseline = baseline.summary;

  rs::Policy run_policy = policy;
  PrivateCheckpointFile run_store(run_policy);
  ScenarioRun run(scenario, run_policy, world, seed, true, options.step_budget, options.wrap_ports);
  run.rt().set_abort_limits(options.limits);
  const bool completed = run.run();
  auto& sys = run.system();
  const auto& log = run.rt().log();
  const auto& m = sys.metrics();

  fill_from_log(r, log, run.start(), run.end(), width);
  r.success_rate = reports::success_rate(r.outcomes);
  r.throughput_per_s = static_cast<double>(r.outcomes.terminal()) / runtime::to_seconds(r.duration);
  add_metrics(r, m);
  r.retries_per_minute = static_cast<double>(peak_retries_per_minute(log, run.start()));
  r.dlq_size_final = sys.orchestrator().dead_letters().size();
  r.dlq_size_max = std::max(r.dlq_size_max, r.dlq_size_final);

  // Evidence for the checkers: the log and the stores.
  Evidence ev;
  ev.log = &log;
  ev.start = run.start();
  ev.workload_end = run.workload_end();
  ev.end = run.end();
  ev.policy = &sys.policy();
  ev.faults = scenario.faults;
  for (const auto& f : run.faults()) ev.fault_touches.push_back(f->touched());
  ev.injected_refusals = run.bus().own_publishes_refused();
  for (const auto& e : run.sim_world().ledger->entries()) {
    ev.ledger.push_back(LedgerRecord{e.invoice_id, e.amount_cents, e.po_number, e.reversed});
  }
  std::set<std::uint64_t> ids;
  for (const auto& e : log.events()) {
    if (e.kind == static_cast<std::uint16_t>(HarnessEvent::submitted)) ids.insert(e.subject);
  }
  for (auto id : ids) {
    if (run.sim_world().budget_service->has_reservation(id)) ev.budget_held.push_back(id);
  }
  {
    const auto& orch = sys.orchestrator();
    resilience::CheckpointStore* dlq_store = run.bare_store();
    if (dlq_store == nullptr) dlq_store = &orch.dead_letters().store();  // the queue's own, in memory
    ev.stores_unreadable = read_dead_letter_ids(*dlq_store, orch.dead_letters().config(), ev.dead_letter_ids);
    for (const auto& item : orch.manual_review()) ev.manual_review_ids.push_back(item.invoice_id);
    for (const auto& rej : orch.rejections()) ev.rejected_ids.push_back(rej.invoice_id);
    ev.in_flight_ids = orch.in_flight_ids();
  }
  ev.metrics = &m;
  ev.baseline_outcomes = std::move(baseline.outcomes);
  ev.recovered_share = scenario.expect.recovered_throughput_share;
  ev.recovery_time_max = scenario.expect.recovery_time_max;
  if (!completed) ev.harness_failure = "the run hit its safety limit";

  auto checked = check_invariants(ev, scenario.expect.invariants);
  r.invariants = std::move(checked.results);
  // Outcome counts as the harness found them in the stores, not as the
  // system's outcome events tell them (those stay in the time series).
  r.outcomes = checked.outcomes;
  r.success_rate = reports::success_rate(r.outcomes);

  SloInputs in;
  in.metrics = &m;
  in.log = &log;
  in.start = run.start();
  in.end = run.end();
  in.success_rate = r.success_rate;
  in.submitted = r.outcomes.submitted;
  in.baseline = baseline.summary;
  r.slos = check_slos(scenario.expect, in);

  for (std::size_t i = 0; i < run.faults().size(); ++i) {
    const auto& f = *run.faults()[i];
    reports::FaultWindow w;
    w.kind = std::string(faults::to_string(f.spec().kind));
    w.target = f.spec().target;
    w.start = f.spec().start;
    w.end = f.spec().end();
    w.hit_count = f.touched();
    if (i < checked.faults.size()) {
      w.time_to_detect = checked.faults[i].time_to_detect;
      w.time_to_recover = checked.faults[i].time_to_recover;
    }
    r.faults.push_back(std::move(w));
  }

  if (!completed) {
    r.verdict = reports::Verdict::kAborted;
    r.verdict_reason = fmt::format("stopped by {} at t={:.0f}s", run.rt().abort_reason(),
                                   runtime::to_seconds(run.rt().now() - run.start()));
  } else {
    decide_verdict(r, "", "not applicable");
  }
  if (options.on_run_log) options.on_run_log(log, r);
  return r;
}

reports::LatencySummary summarize(const reference_system::LatencyHistogram& h) {
  reports::LatencySummary s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.p50 = h.percentile(0.50);
  s.p95 = h.percentile(0.95);
  s.p99 = h.percentile(0.99);
  s.max = h.max();
  s.mean = h.mean();
  return s;
}

void add_metrics(reports::ScenarioResult& r, const reference_system::SystemMetrics& m) {
  namespace rs = reference_system;
  r.end_to_end = summarize(m.end_to_end);
  for (std::size_t a = 0; a < rs::kAgentCount; ++a) {
    const auto& am = m.agents[a];
    if (am.step_attempts == 0 && a == static_cast<std::size_t>(rs::AgentId::archive)) continue;
    reports::AgentResult ar;
    ar.name = std::string(rs::to_string(static_cast<rs::AgentId>(a)));
    ar.latency = summarize(am.latency);
    ar.calls = am.step_attempts;
    ar.errors = am.step_failures;
    ar.error_rate = am.step_attempts == 0 ? 0.0 : static_cast<double>(am.step_failures) / am.step_attempts;
    ar.retries = am.step_retries;
    r.retries += am.step_retries;
    r.agents.push_back(std::move(ar));
  }
  for (const auto& sm : m.services) r.retries += sm.retries;
}

}  // namespace faultline::harness
