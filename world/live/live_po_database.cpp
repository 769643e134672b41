// The world's PO database over PostgreSQL's purchase orders (live_po_database.h).
#include "world/live/live_po_database.h"

#include <algorithm>
#include <utility>

namespace faultline::world::live {

LivePoDatabase::LivePoDatabase(runtime::Runtime& rt, PoDatabaseModel model,
                               reference_system::live::PgPurchaseOrders& orders)
    : orders_(&orders), sim_(rt, std::move(model), catalogue_) {}

Task<Outcome<>> LivePoDatabase::refresh() {
  constexpr std::size_t kBatch = 10'000;
  for (;;) {
    // Calls refresh concurrently; orders at or below what an earlier call
    // loaded are not added twice (answers on one connection come in order).
    const std::uint64_t after = loaded_up_to_;
    auto loaded = co_await orders_->load_after(after, kBatch);
    if (!loaded) co_return std::move(loaded).failure();
    std::uint64_t highest = after;
    for (auto& order : loaded.value()) {
      highest = std::max(highest, order.number);
      catalogue_.add(std::move(order));
    }
    loaded_up_to_ = std::max(loaded_up_to_, highest);
    if (highest == after || highest - after < kBatch) co_return resilience::ok();
  }
}

Task<Outcome<std::optional<PurchaseOrder>>> LivePoDatabase::lookup(std::uint64_t invoice_id, std::string reference) {
  auto refreshed = co_await refresh();
  if (!refreshed) co_return std::move(refreshed).failure();
  co_return co_await sim_.lookup(invoice_id, std::move(reference));
}

Task<Outcome<std::vector<std::uint64_t>>> LivePoDatabase::candidates(std::uint64_t invoice_id, std::string vendor,
                                                                     std::int64_t amount_cents) {
  auto refreshed = co_await refresh();
  if (!refreshed) co_return std::move(refreshed).failure();
  co_return co_await sim_.candidates(invoice_id, std::move(vendor), amount_cents);
}

}  // namespace faultline::world::live
