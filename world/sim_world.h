// The simulated world of one in-process run, made from a world model: the
// purchase-order catalogue (filled by the workload generator, served by the
// PO database) and the simulated services. The composition one layer above
// the reference system hands them to it as ports and keeps the concrete
// services for what only they can tell (the ledger's entries, the budget's
// reservations, the notices delivered).
//
//   SimWorld sim = make_sim_world(rt, load_world_model("scenarios/models/baseline.json"));
//   reference_system::SystemBuilder builder(rt, policy, sim.ports());
//   WorkloadGenerator generator(rt, model.workload, *sim.catalogue);
//   ...
//   sim.ledger->live_entries(id);
#pragma once

#include <memory>

#include "reference_system/system.h"
#include "runtime/runtime.h"
#include "world/service_models.h"
#include "world/workload.h"
#include "world/world_model.h"

namespace faultline::world {

struct SimWorld {
  std::shared_ptr<PoCatalogue> catalogue;
  std::shared_ptr<SimOcrEngine> ocr_engine;
  std::shared_ptr<SimOcrEngine> backup_ocr;
  std::shared_ptr<SimPoDatabase> po_database;
  std::shared_ptr<SimBudgetService> budget_service;
  std::shared_ptr<SimLedger> ledger;
  std::shared_ptr<SimNotifier> notifier;

  // The services as the system's ports; the bus and the checkpoint store
  // are left to the builder.
  reference_system::SystemPorts ports() const;
};

SimWorld make_sim_world(runtime::Runtime& rt, const WorldModel& world);

}  // namespace faultline::world
