// The Ledger and BudgetService ports (reference_system/ports.h) on
// PostgreSQL, with the in-memory models' semantics (world/service_models.h):
//   ledger  an entry per post; a post whose idempotency key has a live (not
//           reversed) entry adds nothing and gives back that entry's
//           sequence with duplicate = true; a reversed entry's key may post
//           again; reverse() marks every live entry of the invoice reversed.
//           "At most one live entry per key" is a partial UNIQUE index of
//           the database (ON (idempotency_key) WHERE NOT reversed), so
//           exactly-once is checked against the rows themselves, whatever
//           number of workers post at once.
//   budget  one reservation per invoice (a second reserve keeps the first);
//           release() removes it, and releasing nothing succeeds.
// Tables: <schema>.ledger_entries and <schema>.budget_reservations.
// Sequences come from an identity column: increasing in posting order, not
// dense (PostgreSQL spends a value on a post that turned out a duplicate).
//
//   PgConnection pg(rt, url);
//   auto ledger = (co_await PgLedger::open(pg, "faultline")).value();
//   auto receipt = co_await ledger->post({id, "inv-42", vendor, po, cents});
//
// Fault model: the connection's (pg_connection.h). A post whose reply was
// lost (ErrorClass::timeout) may have committed; posting it again with its
// key is the remedy, and gives back the first entry as a duplicate, or
// reversing the invoice (the saga's compensation) is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reference_system/live/pg_connection.h"
#include "reference_system/ports.h"

namespace faultline::reference_system::live {

// A row of the ledger, as the invariant checkers read it.
struct LedgerRow {
  std::uint64_t sequence = 0;
  std::uint64_t invoice_id = 0;
  std::string idempotency_key;  // empty: none
  std::string vendor;
  std::uint64_t po_number = 0;
  std::int64_t amount_cents = 0;
  bool reversed = false;
};

class PgLedger final : public Ledger {
 public:
  // Creates the schema and tables when missing.
  static Task<Outcome<std::unique_ptr<PgLedger>>> open(PgConnection& pg, std::string schema);

  Task<Outcome<LedgerReceipt>> post(LedgerPost entry) override;
  Task<Outcome<>> reverse(std::uint64_t invoice_id) override;

  // The rows, in posting order (at most `limit`).
  Task<Outcome<std::vector<LedgerRow>>> entries(std::size_t limit = 1'000'000);
  std::uint64_t duplicates_refused() const noexcept { return duplicates_refused_; }
  // Posts whose statement saw the key's entry committed by another worker
  // after it started, and ran again (bounded by kPostAttempts).
  std::uint64_t posts_rerun() const noexcept { return posts_rerun_; }

  static constexpr int kPostAttempts = 3;

 private:
  PgLedger(PgConnection& pg, std::string schema) : pg_(&pg), schema_(std::move(schema)) {}
  PgConnection* pg_;
  std::string schema_;
  std::uint64_t duplicates_refused_ = 0;
  std::uint64_t posts_rerun_ = 0;
};

class PgBudgetService final : public BudgetService {
 public:
  static Task<Outcome<std::unique_ptr<PgBudgetService>>> open(PgConnection& pg, std::string schema);

  Task<Outcome<>> reserve(std::uint64_t invoice_id, std::int64_t amount_cents) override;
  Task<Outcome<>> release(std::uint64_t invoice_id) override;

  Task<Outcome<std::int64_t>> reserved_cents();
  Task<Outcome<bool>> has_reservation(std::uint64_t invoice_id);

 private:
  PgBudgetService(PgConnection& pg, std::string schema) : pg_(&pg), schema_(std::move(schema)) {}
  PgConnection* pg_;
  std::string schema_;
};

}  // namespace faultline::reference_system::live
