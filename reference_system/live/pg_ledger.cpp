#include "reference_system/live/pg_ledger.h"

#include "reference_system/live/pg_checkpoint_store.h"  // is_plain_identifier

namespace faultline::reference_system::live {

namespace {

Task<Outcome<>> create_tables(PgConnection& pg, const std::string& schema) {
  if (!is_plain_identifier(schema)) {
    co_return Failure{ErrorClass::permanent, "postgres: '" + schema + "' is not a plain schema name"};
  }
  const std::string s = "\"" + schema + "\"";
  // One implicit transaction, serialised by an advisory lock against other
  // processes creating the same tables.
  co_return co_await pg.execute(
      "SELECT pg_advisory_xact_lock(7245002);"
      "CREATE SCHEMA IF NOT EXISTS " + s + ";"
      "CREATE TABLE IF NOT EXISTS " + s + ".ledger_entries ("
      " sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      " invoice_id bigint NOT NULL,"
      " idempotency_key bytea,"
      " vendor bytea NOT NULL,"
      " po_number bigint NOT NULL,"
      " amount_cents bigint NOT NULL,"
      " reversed boolean NOT NULL DEFAULT false,"
      " posted_at timestamptz NOT NULL DEFAULT clock_timestamp());"
      "CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_live_entry_per_key ON " + s +
      ".ledger_entries (idempotency_key) WHERE NOT reversed;"
      "CREATE INDEX IF NOT EXISTS ledger_by_invoice ON " + s + ".ledger_entries (invoice_id);"
      "CREATE TABLE IF NOT EXISTS " + s + ".budget_reservations ("
      " invoice_id bigint PRIMARY KEY,"
      " amount_cents bigint NOT NULL,"
      " reserved_at timestamptz NOT NULL DEFAULT clock_timestamp())");
}

}  // namespace

Task<Outcome<std::unique_ptr<PgLedger>>> PgLedger::open(PgConnection& pg, std::string schema) {
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgLedger>(new PgLedger(pg, std::move(schema)));
}

Task<Outcome<LedgerReceipt>> PgLedger::post(LedgerPost entry) {
  const std::string table = "\"" + schema_ + "\".ledger_entries";
  const PgParam key = entry.idempotency_key.empty() ? PgParam::null() : PgParam(entry.idempotency_key);
  for (int attempt = 1; attempt <= kPostAttempts; ++attempt) {
    // The insert, or (its key having a live entry) that entry. The second
    // half reads the statement's snapshot: an entry another worker committed
    // after it began is not there, and the statement runs again.
    auto r = co_await pg_->query(
        "WITH posted AS (INSERT INTO " + table +
            " (invoice_id, idempotency_key, vendor, po_number, amount_cents) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (idempotency_key) WHERE NOT reversed DO NOTHING RETURNING sequence)"
            " SELECT sequence, false FROM posted"
            " UNION ALL SELECT sequence, true FROM " + table +
            " WHERE $2::bytea IS NOT NULL AND idempotency_key = $2 AND NOT reversed"
            " AND NOT EXISTS (SELECT 1 FROM posted)",
        static_cast<std::int64_t>(entry.invoice_id), key, entry.vendor, static_cast<std::int64_t>(entry.po_number),
        entry.amount_cents);
    if (!r) co_return std::move(r).failure();
    if (r->rows() == 1) {
      const LedgerReceipt receipt{static_cast<std::uint64_t>(r->integer(0, 0)), r->integer(0, 1) != 0};
      if (receipt.duplicate) ++duplicates_refused_;
      co_return receipt;
    }
    ++posts_rerun_;
  }
  co_return Failure{ErrorClass::transient, "ledger: the key's entry kept changing under " +
                                               std::to_string(kPostAttempts) + " posts"};
}

Task<Outcome<>> PgLedger::reverse(std::uint64_t invoice_id) {
  auto r = co_await pg_->query("UPDATE \"" + schema_ + "\".ledger_entries SET reversed = true"
                               " WHERE invoice_id = $1 AND NOT reversed",
                               static_cast<std::int64_t>(invoice_id));
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<std::vector<LedgerRow>>> PgLedger::entries(std::size_t limit) {
  auto r = co_await pg_->query("SELECT sequence, invoice_id, coalesce(idempotency_key, ''::bytea), vendor,"
                               " po_number, amount_cents, reversed FROM \"" + schema_ +
                                   "\".ledger_entries ORDER BY sequence LIMIT $1",
                               static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  if (!r) co_return std::move(r).failure();
  std::vector<LedgerRow> rows;
  rows.reserve(r->rows());
  for (std::size_t i = 0; i < r->rows(); ++i) {
    rows.push_back(LedgerRow{static_cast<std::uint64_t>(r->integer(i, 0)), static_cast<std::uint64_t>(r->integer(i, 1)),
                             std::string(r->bytes(i, 2)), std::string(r->bytes(i, 3)),
                             static_cast<std::uint64_t>(r->integer(i, 4)), r->integer(i, 5), r->integer(i, 6) != 0});
  }
  co_return rows;
}

Task<Outcome<std::unique_ptr<PgBudgetService>>> PgBudgetService::open(PgConnection& pg, std::string schema) {
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgBudgetService>(new PgBudgetService(pg, std::move(schema)));
}

Task<Outcome<>> PgBudgetService::reserve(std::uint64_t invoice_id, std::int64_t amount_cents) {
  auto r = co_await pg_->query("INSERT INTO \"" + schema_ + "\".budget_reservations (invoice_id, amount_cents)"
                               " VALUES ($1, $2) ON CONFLICT (invoice_id) DO NOTHING",
                               static_cast<std::int64_t>(invoice_id), amount_cents);
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<>> PgBudgetService::release(std::uint64_t invoice_id) {
  auto r = co_await pg_->query("DELETE FROM \"" + schema_ + "\".budget_reservations WHERE invoice_id = $1",
                               static_cast<std::int64_t>(invoice_id));
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<std::int64_t>> PgBudgetService::reserved_cents() {
  auto r = co_await pg_->query("SELECT coalesce(sum(amount_cents), 0)::bigint FROM \"" + schema_ +
                               "\".budget_reservations");
  if (!r) co_return std::move(r).failure();
  co_return r->integer(0, 0);
}

Task<Outcome<bool>> PgBudgetService::has_reservation(std::uint64_t invoice_id) {
  auto r = co_await pg_->query("SELECT count(*) FROM \"" + schema_ + "\".budget_reservations WHERE invoice_id = $1",
                               static_cast<std::int64_t>(invoice_id));
  if (!r) co_return std::move(r).failure();
  co_return r->integer(0, 0) > 0;
}

}  // namespace faultline::reference_system::live
