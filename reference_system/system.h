// Composition: the one place the reference system is assembled from its
// ports. The builder is given the external services (the simulated world's,
// world/sim_world.h, or live clients) and creates the in-process bus and the
// checkpoint store the policy asks for unless it is given those too; before
// build(), the harness may replace any port with its own (a fault injector
// wrapping the default) and wrap any agent. The system never learns what it
// was given.
//
//   SimRuntime rt(seed);
//   world::SimWorld sim = world::make_sim_world(rt, load_world_model("scenarios/models/baseline.json"));
//   SystemBuilder builder(rt, load_policy("scenarios/policies/recommended.json"), sim.ports());
//   builder.ports().ledger = std::make_shared<FaultyLedger>(rt, builder.ports().ledger, faults);
//   std::unique_ptr<System> system = builder.build();
//   system->start();
//   if (system->submit(generator.next().invoice) != SubmitResult::accepted) ...;  // refused: counted by the caller
//   rt.run();
//   system->supervisor().stop("ocr");   // a crash; start("ocr") restarts it
//
// The checkers read the stores through System (checkpoint_store(),
// orchestrator().dead_letters(), manual_review(), the bus, and rt.log())
// and the simulated services through the world that made them.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "reference_system/agents.h"
#include "reference_system/bus.h"
#include "reference_system/metrics.h"
#include "reference_system/orchestrator.h"
#include "reference_system/policy.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"
#include "runtime/runtime.h"

namespace faultline::reference_system {

struct SystemPorts {
  std::shared_ptr<OcrEngine> ocr_engine;
  std::shared_ptr<OcrEngine> backup_ocr;
  std::shared_ptr<PoDatabase> po_database;
  std::shared_ptr<BudgetService> budget_service;
  std::shared_ptr<Ledger> ledger;
  std::shared_ptr<Notifier> notifier;
  std::shared_ptr<MessageBus> bus;
  // Null when the policy keeps no checkpoints (the dead-letter queue then
  // keeps its entries in memory of its own).
  std::shared_ptr<resilience::CheckpointStore> checkpoints;
};

using AgentWrapper = std::function<std::shared_ptr<Agent>(std::shared_ptr<Agent>)>;

class System;

// Stops and starts agents as a process supervisor would. Names: "ocr",
// "validation", "matching", "accounting", "archive", "orchestrator".
class Supervisor {
 public:
  explicit Supervisor(System& system) : system_(&system) {}
  // False for an unknown name or an agent already in that state.
  bool stop(std::string_view agent);
  bool start(std::string_view agent);
  bool running(std::string_view agent) const;
  std::vector<std::string_view> names() const;

 private:
  System* system_;
};

class System {
 public:
  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  void start();
  void stop();
  // A refusal is the invoice's outcome (orchestrator.h): the caller must keep it.
  [[nodiscard]] SubmitResult submit(Invoice invoice) { return orchestrator_->submit(std::move(invoice)); }

  Supervisor& supervisor() noexcept { return supervisor_; }
  Orchestrator& orchestrator() noexcept { return *orchestrator_; }
  const Orchestrator& orchestrator() const noexcept { return *orchestrator_; }
  const SystemMetrics& metrics() const noexcept { return metrics_; }
  const Policy& policy() const noexcept { return policy_; }
  const SystemPorts& ports() const noexcept { return ports_; }
  // The bus the builder made; null when it was given one.
  const InProcessBus* in_process_bus() const noexcept { return in_process_bus_.get(); }
  resilience::CheckpointStore* checkpoint_store() const noexcept { return ports_.checkpoints.get(); }
  AgentHost* host(AgentId agent) noexcept { return hosts_[static_cast<std::size_t>(agent)].get(); }
  runtime::Runtime& runtime() noexcept { return *rt_; }
  // Current queue depth per agent topic, into the metrics.
  void sample_queue_depths();

 private:
  friend class SystemBuilder;
  friend class Supervisor;
  System(runtime::Runtime& rt, Policy policy, SystemPorts ports, std::shared_ptr<InProcessBus> in_process_bus);

  runtime::Runtime* rt_;
  Policy policy_;
  SystemPorts ports_;
  std::shared_ptr<InProcessBus> in_process_bus_;
  SystemMetrics metrics_;
  ServiceClients clients_;
  std::array<std::unique_ptr<AgentHost>, kAgentCount> hosts_;
  std::unique_ptr<Orchestrator> orchestrator_;
  Supervisor supervisor_;
};

// How the harness or a benchmark runs the system: never part of the policy
// a team writes.
struct SystemOptions {
  // The policy's checkpoint_path is a file of this run's own (the harness's
  // private store), so SQLite may lock it once and skip waiting for the disk
  // (resilience::SqliteOptions::private_file).
  bool checkpoint_file_private = false;
  // Whether the resilience patterns record their events (the benchmark
  // measures both).
  bool observe_patterns = true;
};

class SystemBuilder {
 public:
  // `services`: the six external services, none null. Its bus and
  // checkpoint store, when null, are made here: an InProcessBus bounded by
  // the policy, and the store the policy names.
  SystemBuilder(runtime::Runtime& rt, Policy policy, SystemPorts services, SystemOptions options = {});

  // The ports build() will use; replace or wrap any of them.
  SystemPorts& ports() noexcept { return ports_; }
  Policy& policy() noexcept { return policy_; }
  runtime::Runtime& runtime() noexcept { return *rt_; }

  // Wraps every agent (called once per agent at build()).
  SystemBuilder& wrap_agents(AgentWrapper wrapper);
  // Adds the archive agent as a fifth, critical stage.
  SystemBuilder& with_archive_stage(bool on = true);

  std::unique_ptr<System> build();

 private:
  runtime::Runtime* rt_;
  Policy policy_;
  SystemPorts ports_;
  std::shared_ptr<InProcessBus> in_process_bus_;
  AgentWrapper wrapper_;
  bool archive_stage_ = false;
  SystemOptions options_;
};

}  // namespace faultline::reference_system
