// The stores and services a live deployment keeps in PostgreSQL besides the
// ledger and budget (pg_ledger.h), so that every terminal outcome can be
// read back by any process (`faultline live status`, the tests):
//   PgNotifier        accounts payable's notifier: one row per delivered
//                     notice, its idempotency key UNIQUE, so "notified
//                     exactly once" is a count of rows; a repeated key is
//                     the conflict the in-memory notifier gives.
//   PgOutcomeRecords  manual review and rejection records (one row per
//                     invoice in each table), written by the orchestrator.
//   PgPurchaseOrders  the purchase orders the submitter generated with its
//                     invoices; the world's LivePoDatabase serves them to
//                     matching (world/live/live_po_database.h).
//   PooledCheckpointStore / PooledLedger
//                     one store per connection, taken in turn: a
//                     PgConnection runs one statement at a time, and the
//                     compare-and-set is the database's, so spreading calls
//                     over connections changes nothing but throughput.
// read_status() counts each terminal store of a deployment.
//
//   auto notifier = (co_await PgNotifier::open(pg, "faultline")).value();
//   auto status = co_await read_status(pg, "faultline", "invoices");
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reference_system/live/pg_connection.h"
#include "reference_system/live/pg_ledger.h"
#include "reference_system/orchestrator.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"

namespace faultline::reference_system::live {

class PgNotifier final : public Notifier {
 public:
  static Task<Outcome<std::unique_ptr<PgNotifier>>> open(PgConnection& pg, std::string schema);
  Task<Outcome<>> notify(Notice notice) override;

 private:
  PgNotifier(PgConnection& pg, std::string schema) : pg_(&pg), schema_(std::move(schema)) {}
  PgConnection* pg_;
  std::string schema_;
};

class PgOutcomeRecords {
 public:
  static Task<Outcome<std::unique_ptr<PgOutcomeRecords>>> open(PgConnection& pg, std::string schema);
  // Idempotent: a second record of the same invoice keeps the first.
  Task<Outcome<>> manual_review(std::uint64_t invoice_id, ReviewReason reason);
  Task<Outcome<>> rejected(std::uint64_t invoice_id);
  // A submission refused at the door (the intake entry `entry_id`, its
  // invoice, why: "refused_overloaded" or "refused_duplicate"); one row per
  // entry, so a second record of the same entry keeps the first.
  Task<Outcome<>> refused(const std::string& entry_id, std::uint64_t invoice_id, std::string_view reason);

 private:
  PgOutcomeRecords(PgConnection& pg, std::string schema) : pg_(&pg), schema_(std::move(schema)) {}
  PgConnection* pg_;
  std::string schema_;
};

class PgPurchaseOrders {
 public:
  static Task<Outcome<std::unique_ptr<PgPurchaseOrders>>> open(PgConnection& pg, std::string schema);
  // Inserts (or keeps) every order of `orders`, in one statement.
  Task<Outcome<>> add(std::vector<PurchaseOrder> orders);
  // The orders numbered above `after`, lowest first, at most `limit`.
  Task<Outcome<std::vector<PurchaseOrder>>> load_after(std::uint64_t after, std::size_t limit);

 private:
  PgPurchaseOrders(PgConnection& pg, std::string schema) : pg_(&pg), schema_(std::move(schema)) {}
  PgConnection* pg_;
  std::string schema_;
};

class PooledCheckpointStore final : public resilience::CheckpointStore {
 public:
  explicit PooledCheckpointStore(std::vector<std::unique_ptr<resilience::CheckpointStore>> stores);
  std::string_view kind() const noexcept override { return stores_.front()->kind(); }
  Task<Outcome<std::uint64_t>> save(std::string workflow_id, std::uint64_t expected_version, std::string step,
                                    std::string state) override;
  Task<Outcome<std::optional<resilience::Checkpoint>>> load(std::string workflow_id) override;
  Task<Outcome<>> remove(std::string workflow_id, std::uint64_t expected_version) override;
  Task<Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix, std::size_t limit) override;

 private:
  resilience::CheckpointStore& next() { return *stores_[turn_++ % stores_.size()]; }
  std::vector<std::unique_ptr<resilience::CheckpointStore>> stores_;
  std::size_t turn_ = 0;
};

class PooledLedger final : public Ledger {
 public:
  explicit PooledLedger(std::vector<std::unique_ptr<PgLedger>> ledgers);
  Task<Outcome<LedgerReceipt>> post(LedgerPost entry) override;
  Task<Outcome<>> reverse(std::uint64_t invoice_id) override;

 private:
  std::vector<std::unique_ptr<PgLedger>> ledgers_;
  std::size_t turn_ = 0;
};

// What the terminal stores of a deployment hold, by invoice.
struct DeploymentStatus {
  std::vector<std::uint64_t> posted;          // a live (not reversed) ledger entry
  std::vector<std::uint64_t> dead_lettered;   // in the dead-letter queue
  std::vector<std::uint64_t> manual_review;
  std::vector<std::uint64_t> rejected;
  std::uint64_t ledger_rows = 0;              // live entries (more than posted.size() if an invoice has two)
  std::uint64_t notifications = 0;            // delivered notices
  std::uint64_t notified_invoices = 0;        // distinct invoices notified
  std::uint64_t reversed_rows = 0;
  std::uint64_t purchase_orders = 0;
};

// Reads every terminal store under `schema`; `dead_letter_name` is the
// policy's dead_letter.name (its entries are dlq/<name>/... checkpoints).
Task<Outcome<DeploymentStatus>> read_status(PgConnection& pg, std::string schema, std::string dead_letter_name);

}  // namespace faultline::reference_system::live
