// Simulated external services: port implementations whose behaviour comes
// from a world model (world_model.h), drawing from their own random stream
// "service/<name>". Their fault models, in short:
//   OCR engine    lognormal latency growing as scan quality falls; poor scans
//                 may go unanswered (the call hangs for hang_duration, then
//                 reports a timeout); scans below the unreadable threshold
//                 come back as text that is not a document; a small share of
//                 answers is garbage; transient errors at a rate.
//                 With a concurrency limit, a call beyond it is refused at
//                 once with rate_limited (its capacity model, world_model.h).
//   backup OCR    the same model with its own (slower, sturdier) numbers.
//   PO database   exact lookups by canonical reference; a non-canonical
//                 reference may raise a permanent "malformed key" error;
//                 candidate search by vendor and amount; transient errors.
//   budget        reservations per invoice (idempotent), transient errors.
//   ledger        entries with an optional idempotency key: a key whose entry
//                 is live gives back that entry and adds nothing (a reversed
//                 one may be posted again). The entry is
//                 applied half way through the latency, so a caller that
//                 times out may leave an applied entry behind, as a real
//                 ledger would. The ledger's entries are what the
//                 exactly-once invariant reads.
//   notifier      notice to accounts payable, transient errors. A notice
//                 carrying an idempotency key already delivered is not
//                 delivered again: the notifier checks its record of keys
//                 before sending and answers a repeat with a conflict
//                 ("already notified"); it keeps a key for key_retention
//                 (24 h, as payment APIs keep theirs). The notice goes out at the end of
//                 the latency: a call abandoned before then sends nothing.
// None of these know about faults: injectors wrap them (faults/).
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <string>
#include <vector>

#include "reference_system/ports.h"
#include "runtime/flat_hash_map.h"
#include "runtime/runtime.h"
#include "world/workload.h"
#include "world/world_model.h"

namespace faultline::world {

using reference_system::BudgetService;
using reference_system::Ledger;
using reference_system::LedgerPost;
using reference_system::LedgerReceipt;
using reference_system::Notice;
using reference_system::Notifier;
using reference_system::OcrEngine;
using reference_system::OcrRequest;
using reference_system::PoDatabase;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

class SimOcrEngine final : public OcrEngine {
 public:
  SimOcrEngine(runtime::Runtime& rt, std::string name, OcrEngineModel model);
  Task<Outcome<std::string>> recognize(OcrRequest request) override;
  // The median latency the model gives a scan of quality q.
  runtime::Duration median_latency(double quality) const;
  const OcrEngineModel& model() const noexcept { return model_; }
  // Calls being served now, and calls refused for want of capacity.
  std::uint32_t in_service() const noexcept { return in_service_; }
  std::uint64_t refused() const noexcept { return refused_; }

 private:
  // A call's place in the engine's capacity, given back when the serving
  // frame ends: an answer, or a caller that abandoned the call (its timeout
  // destroys the frame), or a task never awaited.
  class Place {
   public:
    explicit Place(std::uint32_t& in_service) noexcept : in_service_(&in_service) { ++in_service; }
    Place(Place&& other) noexcept : in_service_(std::exchange(other.in_service_, nullptr)) {}
    Place(const Place&) = delete;
    Place& operator=(const Place&) = delete;
    Place& operator=(Place&&) = delete;
    ~Place() {
      if (in_service_ != nullptr) --*in_service_;
    }

   private:
    std::uint32_t* in_service_;
  };
  Task<Outcome<std::string>> serve(OcrRequest request, Place place);
  runtime::Runtime* rt_;
  std::string name_;
  OcrEngineModel model_;
  runtime::Rng rng_;
  std::uint32_t in_service_ = 0;
  std::uint64_t refused_ = 0;
};

class SimPoDatabase final : public PoDatabase {
 public:
  SimPoDatabase(runtime::Runtime& rt, PoDatabaseModel model, const PoCatalogue& catalogue);
  Task<Outcome<std::optional<PurchaseOrder>>> lookup(std::uint64_t invoice_id, std::string reference) override;
  Task<Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t invoice_id, std::string vendor,
                                                       std::int64_t amount_cents) override;

 private:
  runtime::Runtime* rt_;
  PoDatabaseModel model_;
  const PoCatalogue* catalogue_;
  runtime::Rng rng_;
};

class SimBudgetService final : public BudgetService {
 public:
  SimBudgetService(runtime::Runtime& rt, ServiceModel model);
  Task<Outcome<>> reserve(std::uint64_t invoice_id, std::int64_t amount_cents) override;
  Task<Outcome<>> release(std::uint64_t invoice_id) override;

  std::int64_t reserved_cents() const noexcept { return reserved_cents_; }
  std::size_t reservations() const noexcept { return reservations_.size(); }
  bool has_reservation(std::uint64_t invoice_id) const { return reservations_.contains(invoice_id); }

 private:
  runtime::Runtime* rt_;
  ServiceModel model_;
  runtime::Rng rng_;
  std::uint32_t source_;
  runtime::FlatHashMap<std::uint64_t, std::int64_t> reservations_;
  std::int64_t reserved_cents_ = 0;
};

struct LedgerEntry {
  std::uint64_t sequence = 0;  // 1-based, in posting order
  std::uint64_t invoice_id = 0;
  std::string idempotency_key;
  std::uint64_t po_number = 0;
  std::int64_t amount_cents = 0;
  bool reversed = false;
  runtime::Instant posted_at{};
};

class SimLedger final : public Ledger {
 public:
  SimLedger(runtime::Runtime& rt, ServiceModel model);
  Task<Outcome<LedgerReceipt>> post(LedgerPost entry) override;
  Task<Outcome<>> reverse(std::uint64_t invoice_id) override;

  // The store itself, for the invariant checkers.
  const std::vector<LedgerEntry>& entries() const noexcept { return entries_; }
  // Live (not reversed) entries of an invoice.
  std::size_t live_entries(std::uint64_t invoice_id) const;
  std::int64_t live_total_cents() const noexcept { return live_total_cents_; }
  std::uint64_t duplicates_refused() const noexcept { return duplicates_refused_; }
  // FNV-1a over the entries (for same-seed comparisons).
  std::uint64_t digest() const;

 private:
  runtime::Runtime* rt_;
  ServiceModel model_;
  runtime::Rng rng_;
  std::uint32_t source_;
  std::vector<LedgerEntry> entries_;
  runtime::FlatHashMap<std::string, std::uint64_t, runtime::StringHash> by_key_;
  // An invoice's entries as a chain: its latest sequence here, and for each
  // sequence the one posted before it for the same invoice (0: none), so a
  // post allocates no list of its own.
  runtime::FlatHashMap<std::uint64_t, std::uint64_t> last_of_invoice_;
  std::vector<std::uint64_t> previous_of_;  // indexed by sequence - 1
  std::int64_t live_total_cents_ = 0;
  std::uint64_t duplicates_refused_ = 0;
};

class SimNotifier final : public Notifier {
 public:
  static constexpr runtime::Duration kKeyRetention = std::chrono::hours(24);
  SimNotifier(runtime::Runtime& rt, ServiceModel model);
  Task<Outcome<>> notify(Notice notice) override;
  std::uint64_t delivered() const noexcept { return delivered_; }
  // Notices refused because their key had been delivered.
  std::uint64_t duplicates_refused() const noexcept { return duplicates_refused_; }

 private:
  runtime::Runtime* rt_;
  ServiceModel model_;
  runtime::Rng rng_;
  std::uint32_t source_;
  std::uint64_t delivered_ = 0;
  std::uint64_t duplicates_refused_ = 0;
  // Delivered keys, and the same keys oldest first to forget them by.
  runtime::FlatHashMap<std::string, bool, runtime::StringHash> delivered_keys_;
  std::deque<std::pair<runtime::Instant, std::string>> key_expiry_;
};

// One draw of a lognormal latency model.
runtime::Duration draw_latency(runtime::Rng& rng, const LatencyModel& model, double slowdown_factor = 1.0);

}  // namespace faultline::world
