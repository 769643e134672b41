// The world model's PO database in a live deployment: the simulated
// database (SimPoDatabase, its latency and errors from the world model) over
// a catalogue filled from PostgreSQL's purchase-order table
// (reference_system/live/live_services.h, PgPurchaseOrders). Every call
// first loads the orders added since the last one: an order is stored
// before its invoice is submitted, so it is there when matching asks.
//
//   auto po = std::make_shared<LivePoDatabase>(rt, world.po_database, *purchase_orders);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reference_system/live/live_services.h"
#include "reference_system/ports.h"
#include "runtime/runtime.h"
#include "world/service_models.h"
#include "world/workload.h"
#include "world/world_model.h"

namespace faultline::world::live {

class LivePoDatabase final : public PoDatabase {
 public:
  LivePoDatabase(runtime::Runtime& rt, PoDatabaseModel model, reference_system::live::PgPurchaseOrders& orders);
  Task<Outcome<std::optional<PurchaseOrder>>> lookup(std::uint64_t invoice_id, std::string reference) override;
  Task<Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t invoice_id, std::string vendor,
                                                       std::int64_t amount_cents) override;

 private:
  Task<Outcome<>> refresh();
  reference_system::live::PgPurchaseOrders* orders_;
  PoCatalogue catalogue_;
  SimPoDatabase sim_;
  std::uint64_t loaded_up_to_ = 0;
};

}  // namespace faultline::world::live
