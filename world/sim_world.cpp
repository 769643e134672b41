// The simulated world of an in-process run (sim_world.h).
#include "world/sim_world.h"

namespace faultline::world {

SimWorld make_sim_world(runtime::Runtime& rt, const WorldModel& world) {
  SimWorld w;
  w.catalogue = std::make_shared<PoCatalogue>();
  w.ocr_engine = std::make_shared<SimOcrEngine>(rt, "ocr_engine", world.ocr_engine);
  w.backup_ocr = std::make_shared<SimOcrEngine>(rt, "backup_ocr", world.backup_ocr);
  w.po_database = std::make_shared<SimPoDatabase>(rt, world.po_database, *w.catalogue);
  w.budget_service = std::make_shared<SimBudgetService>(rt, world.budget_service);
  w.ledger = std::make_shared<SimLedger>(rt, world.ledger);
  w.notifier = std::make_shared<SimNotifier>(rt, world.notifier);
  return w;
}

reference_system::SystemPorts SimWorld::ports() const {
  reference_system::SystemPorts p;
  p.ocr_engine = ocr_engine;
  p.backup_ocr = backup_ocr;
  p.po_database = po_database;
  p.budget_service = budget_service;
  p.ledger = ledger;
  p.notifier = notifier;
  return p;
}

}  // namespace faultline::world
