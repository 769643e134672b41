// The invoice workload: Poisson arrivals at a rate per hour, a scan-quality
// mix, the share of invoices whose PO reference is written inexactly or names
// no order, the share whose totals do not add up, and vendor and amount
// distributions, all drawn from named runtime random streams
// ("workload/arrivals", "workload/quality", ...), so the same seed gives the
// same invoices whatever else the run does. The generator also fills the
// purchase-order catalogue the PO database serves: an order exists before
// the invoice that references it arrives.
//
//   PoCatalogue catalogue;
//   WorkloadGenerator gen(rt, world.workload, catalogue);
//   Invoice inv = gen.next();                           // ids 1, 2, 3, ...
//   Duration gap = gen.next_interarrival(10'000.0);     // per hour
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reference_system/invoice.h"
#include "runtime/flat_hash_map.h"
#include "runtime/random.h"
#include "runtime/runtime.h"
#include "world/world_model.h"

namespace faultline::world {

using reference_system::Invoice;
using reference_system::LineItem;
using reference_system::PurchaseOrder;

// Orders by number, and the most recent orders of each vendor for candidate
// searches (at most kRecentPerVendor each; older ones are no longer offered
// as candidates, counted in `evicted_from_index`).
class PoCatalogue {
 public:
  static constexpr std::size_t kRecentPerVendor = 64;

  void add(PurchaseOrder order);
  const PurchaseOrder* find(std::uint64_t number) const;
  // Orders of `vendor` whose amount is within `tolerance` (relative) of
  // `amount_cents`, closest first, at most `max`.
  std::vector<std::uint64_t> candidates(const std::string& vendor, std::int64_t amount_cents, double tolerance,
                                        std::size_t max) const;
  std::size_t size() const noexcept { return orders_.size(); }
  std::uint64_t evicted_from_index() const noexcept { return evicted_; }

 private:
  runtime::FlatHashMap<std::uint64_t, PurchaseOrder> orders_;
  struct Recent {
    std::vector<std::uint64_t> ring;
    // Each ring entry's amount as added, so a candidate search reads no
    // order from the (large) table of all orders.
    std::vector<std::int64_t> amounts;
    std::size_t next = 0;  // the oldest, once the ring is full
  };
  runtime::FlatHashMap<std::string, Recent, runtime::StringHash> recent_;  // per vendor
  // An order number added twice replaces the first order; from then on
  // candidate searches read the current orders instead of `amounts`.
  bool replaced_ = false;
  std::uint64_t evicted_ = 0;
};

// How the generator wrote an invoice's PO reference (ground truth, for tests
// and reports; the system never sees it).
enum class PoKind : std::uint8_t { exact, inexact, missing };

struct GeneratedInvoice {
  Invoice invoice;
  PoKind po_kind = PoKind::exact;
  bool valid = true;  // totals add up
};

class WorkloadGenerator {
 public:
  // `first_po`: the number of the first purchase order it adds (a live
  // deployment gives each submission its own range of ids and orders).
  WorkloadGenerator(const runtime::Runtime& rt, WorkloadModel model, PoCatalogue& catalogue,
                    std::uint64_t first_id = 1, std::uint64_t first_po = 1);

  GeneratedInvoice next();
  // Time to the next arrival of a Poisson process with `per_hour` arrivals per hour.
  runtime::Duration next_interarrival(double per_hour);

  const WorkloadModel& model() const noexcept { return model_; }

 private:
  WorkloadModel model_;
  PoCatalogue* catalogue_;
  std::uint64_t next_id_;
  std::uint64_t next_po_ = 1;
  runtime::Rng arrivals_;
  runtime::Rng quality_;
  runtime::Rng po_;
  runtime::Rng vendor_;
  runtime::Rng amount_;
  runtime::Rng validity_;
};

std::string vendor_name(std::uint32_t index);

}  // namespace faultline::world
