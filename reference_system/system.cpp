// Composition of the reference system (system.h).
#include "reference_system/system.h"

#include <stdexcept>

#include "resilience/sqlite_checkpoint_store.h"
#include "runtime/assert.h"

namespace faultline::reference_system {

namespace {
constexpr std::string_view kOrchestrator = "orchestrator";
}  // namespace

SystemBuilder::SystemBuilder(runtime::Runtime& rt, Policy policy, SystemPorts services, SystemOptions options)
    : rt_(&rt), policy_(std::move(policy)), ports_(std::move(services)), options_(options) {
  FAULTLINE_ASSERT(ports_.ocr_engine && ports_.backup_ocr && ports_.po_database && ports_.budget_service &&
                   ports_.ledger && ports_.notifier);
  if (!ports_.bus) {
    std::array<std::size_t, kTopicCount> capacity{};
    for (std::size_t i = 0; i < kAgentCount; ++i) capacity[i] = policy_.agents[i].queue_bound;
    // Replies are bounded by the requests that can be outstanding.
    capacity[static_cast<std::size_t>(Topic::replies)] = policy_.max_in_flight + 1024;
    in_process_bus_ = std::make_shared<InProcessBus>(rt, capacity);
    ports_.bus = in_process_bus_;
  }
  if (ports_.checkpoints) return;
  // The store records nothing itself: the system logs every save, load and
  // failure with the invoice it concerns (checkpoint_saved/_loaded/_failed).
  const resilience::Observer store_observer{};
  switch (policy_.checkpoints) {
    case CheckpointStoreKind::none: break;
    case CheckpointStoreKind::memory:
      ports_.checkpoints = std::make_shared<resilience::InMemoryCheckpointStore>(store_observer);
      break;
    case CheckpointStoreKind::sqlite: {
      resilience::SqliteOptions options;
      options.private_file = options_.checkpoint_file_private;
      auto opened = resilience::SqliteCheckpointStore::open(policy_.checkpoint_path, {}, options);
      if (!opened) {
        throw std::runtime_error("checkpoint store " + policy_.checkpoint_path + ": " + opened.failure().message);
      }
      ports_.checkpoints = std::shared_ptr<resilience::CheckpointStore>(std::move(opened).value());
      break;
    }
  }
}

SystemBuilder& SystemBuilder::wrap_agents(AgentWrapper wrapper) {
  wrapper_ = std::move(wrapper);
  return *this;
}

SystemBuilder& SystemBuilder::with_archive_stage(bool on) {
  archive_stage_ = on;
  return *this;
}

std::unique_ptr<System> SystemBuilder::build() {
  std::unique_ptr<System> system(new System(*rt_, policy_, ports_, in_process_bus_));
  AgentContext ctx{rt_, &system->policy_, &system->metrics_, system->ports_.checkpoints.get(),
                   options_.observe_patterns};
  system->clients_ = make_service_clients(ctx);
  auto& clients = system->clients_;
  const SystemPorts& p = system->ports_;
  std::array<std::shared_ptr<Agent>, kAgentCount> agents;
  agents[0] = std::make_shared<OcrAgent>(ctx, *clients.ocr_engine, *clients.backup_ocr, p.ocr_engine, p.backup_ocr);
  agents[1] = std::make_shared<ValidationAgent>(ctx);
  agents[2] = std::make_shared<MatchingAgent>(ctx, *clients.po_database, p.po_database);
  agents[3] = std::make_shared<AccountingAgent>(ctx, clients, p.budget_service, p.ledger, p.notifier);
  agents[4] = std::make_shared<ArchiveAgent>(ctx);
  std::vector<AgentId> steps = {AgentId::ocr, AgentId::validation, AgentId::matching, AgentId::accounting};
  if (archive_stage_) steps.push_back(AgentId::archive);
  for (std::size_t i = 0; i < kAgentCount; ++i) {
    if (wrapper_) agents[i] = wrapper_(agents[i]);
    system->hosts_[i] = std::make_unique<AgentHost>(*rt_, *p.bus, static_cast<Topic>(i), agents[i],
                                                    system->policy_.agents[i].workers, system->metrics_.agents[i]);
  }
  system->orchestrator_ = std::make_unique<Orchestrator>(ctx, *p.bus, std::move(steps), p.checkpoints.get());
  return system;
}

System::System(runtime::Runtime& rt, Policy policy, SystemPorts ports, std::shared_ptr<InProcessBus> in_process_bus)
    : rt_(&rt), policy_(std::move(policy)), ports_(std::move(ports)), in_process_bus_(std::move(in_process_bus)),
      supervisor_(*this) {}

System::~System() {
  // Destroy every coroutine that points into this system while it still exists.
  stop();
}

void System::start() {
  for (auto& host : hosts_) host->start();
  orchestrator_->start();
}

void System::stop() {
  if (orchestrator_) orchestrator_->stop();
  for (auto& host : hosts_) {
    if (host) host->stop();
  }
}

void System::sample_queue_depths() {
  for (std::size_t i = 0; i < kAgentCount; ++i) {
    const auto depth = ports_.bus->depth(static_cast<Topic>(i));
    auto& m = metrics_.agents[i];
    if (depth > m.queue_depth_max) m.queue_depth_max = depth;
  }
}

bool Supervisor::stop(std::string_view agent) {
  auto& log = system_->rt_->log();
  if (agent == kOrchestrator) {
    if (!system_->orchestrator_->running()) return false;
    system_->orchestrator_->stop();
    log.record(log.intern(kOrchestrator), 0, system_events::AgentStopped{system_->orchestrator_->in_flight()});
    return true;
  }
  const auto id = agent_from(agent);
  if (!id) return false;
  AgentHost& host = *system_->hosts_[static_cast<std::size_t>(*id)];
  if (!host.running()) return false;
  const std::size_t lost = host.stop();
  log.record(log.intern(agent), 0, system_events::AgentStopped{lost});
  return true;
}

bool Supervisor::start(std::string_view agent) {
  auto& log = system_->rt_->log();
  if (agent == kOrchestrator) {
    if (system_->orchestrator_->running()) return false;
    system_->orchestrator_->start();
    log.record(log.intern(kOrchestrator), 0, system_events::AgentStarted{system_->orchestrator_->in_flight()});
    return true;
  }
  const auto id = agent_from(agent);
  if (!id) return false;
  AgentHost& host = *system_->hosts_[static_cast<std::size_t>(*id)];
  if (host.running()) return false;
  const std::size_t reclaimed = host.start();
  ++system_->metrics_.agents[static_cast<std::size_t>(*id)].restarts;
  log.record(log.intern(agent), 0, system_events::AgentStarted{reclaimed});
  return true;
}

bool Supervisor::running(std::string_view agent) const {
  if (agent == kOrchestrator) return system_->orchestrator_->running();
  const auto id = agent_from(agent);
  return id && system_->hosts_[static_cast<std::size_t>(*id)]->running();
}

std::vector<std::string_view> Supervisor::names() const {
  return {"ocr", "validation", "matching", "accounting", "archive", kOrchestrator};
}

}  // namespace faultline::reference_system
