// PostgreSQL-backed notifier, outcome records and purchase orders, and the
// pooled stores (live_services.h).
#include "reference_system/live/live_services.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "reference_system/live/pg_checkpoint_store.h"
#include "runtime/assert.h"
#include "resilience/dead_letter.h"

namespace faultline::reference_system::live {

namespace {

std::string tables_ddl(const std::string& s) {
  return
      "CREATE TABLE IF NOT EXISTS " + s + ".notifications ("
      " sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      " idempotency_key bytea UNIQUE,"
      " invoice_id bigint NOT NULL,"
      " amount_cents bigint NOT NULL,"
      " notified_at timestamptz NOT NULL DEFAULT clock_timestamp());"
      "CREATE TABLE IF NOT EXISTS " + s + ".manual_review ("
      " invoice_id bigint PRIMARY KEY,"
      " reason smallint NOT NULL,"
      " at timestamptz NOT NULL DEFAULT clock_timestamp());"
      "CREATE TABLE IF NOT EXISTS " + s + ".rejections ("
      " invoice_id bigint PRIMARY KEY,"
      " at timestamptz NOT NULL DEFAULT clock_timestamp());"
      "CREATE TABLE IF NOT EXISTS " + s + ".refusals ("
      " entry_id text PRIMARY KEY,"
      " invoice_id bigint NOT NULL,"
      " reason text NOT NULL,"
      " at timestamptz NOT NULL DEFAULT clock_timestamp());"
      "CREATE TABLE IF NOT EXISTS " + s + ".purchase_orders ("
      " number bigint PRIMARY KEY,"
      " vendor bytea NOT NULL,"
      " amount_cents bigint NOT NULL)";
}

Task<Outcome<>> create_tables(PgConnection& pg, const std::string& schema) {
  return create_in_schema(pg, schema, 7245003, tables_ddl);
}

}  // namespace

Task<Outcome<std::unique_ptr<PgNotifier>>> PgNotifier::open(PgConnection& pg, std::string schema) {
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgNotifier>(new PgNotifier(pg, std::move(schema)));
}

Task<Outcome<>> PgNotifier::notify(Notice notice) {
  const PgParam key = notice.idempotency_key.empty() ? PgParam::null() : PgParam(notice.idempotency_key);
  auto r = co_await pg_->query("INSERT INTO \"" + schema_ + "\".notifications (idempotency_key, invoice_id, amount_cents)"
                               " VALUES ($1, $2, $3) ON CONFLICT (idempotency_key) DO NOTHING",
                               key, static_cast<std::int64_t>(notice.invoice_id), notice.amount_cents);
  if (!r) co_return std::move(r).failure();
  if (r->affected() == 0) {
    co_return Failure{ErrorClass::conflict, "notifier: already notified under " + notice.idempotency_key};
  }
  co_return resilience::ok();
}

Task<Outcome<std::unique_ptr<PgOutcomeRecords>>> PgOutcomeRecords::open(PgConnection& pg, std::string schema) {
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgOutcomeRecords>(new PgOutcomeRecords(pg, std::move(schema)));
}

Task<Outcome<>> PgOutcomeRecords::manual_review(std::uint64_t invoice_id, ReviewReason reason) {
  auto r = co_await pg_->query("INSERT INTO \"" + schema_ + "\".manual_review (invoice_id, reason) VALUES ($1, $2)"
                               " ON CONFLICT (invoice_id) DO NOTHING",
                               static_cast<std::int64_t>(invoice_id), static_cast<std::int64_t>(reason));
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<>> PgOutcomeRecords::rejected(std::uint64_t invoice_id) {
  auto r = co_await pg_->query("INSERT INTO \"" + schema_ + "\".rejections (invoice_id) VALUES ($1)"
                               " ON CONFLICT (invoice_id) DO NOTHING",
                               static_cast<std::int64_t>(invoice_id));
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<>> PgOutcomeRecords::refused(const std::string& entry_id, std::uint64_t invoice_id,
                                          std::string_view reason) {
  auto r = co_await pg_->query("INSERT INTO \"" + schema_ + "\".refusals (entry_id, invoice_id, reason)"
                               " VALUES ($1, $2, $3) ON CONFLICT (entry_id) DO NOTHING",
                               entry_id, static_cast<std::int64_t>(invoice_id), std::string(reason));
  if (!r) co_return std::move(r).failure();
  co_return resilience::ok();
}

Task<Outcome<std::unique_ptr<PgPurchaseOrders>>> PgPurchaseOrders::open(PgConnection& pg, std::string schema) {
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgPurchaseOrders>(new PgPurchaseOrders(pg, std::move(schema)));
}

Task<Outcome<>> PgPurchaseOrders::add(std::vector<PurchaseOrder> orders) {
  // Several rows per statement, as arrays unnested server-side would need
  // typed array parameters: a VALUES list with numbered parameters instead.
  constexpr std::size_t kRowsPerStatement = 500;
  for (std::size_t first = 0; first < orders.size(); first += kRowsPerStatement) {
    const std::size_t end = std::min(orders.size(), first + kRowsPerStatement);
    std::string sql = "INSERT INTO \"" + schema_ + "\".purchase_orders (number, vendor, amount_cents) VALUES ";
    std::vector<PgParam> params;
    params.reserve(3 * (end - first));
    for (std::size_t i = first; i < end; ++i) {
      const std::size_t n = params.size();
      if (i != first) sql += ",";
      sql += "($" + std::to_string(n + 1) + ", $" + std::to_string(n + 2) + ", $" + std::to_string(n + 3) + ")";
      params.emplace_back(static_cast<std::int64_t>(orders[i].number));
      params.emplace_back(orders[i].vendor);
      params.emplace_back(orders[i].amount_cents);
    }
    sql += " ON CONFLICT (number) DO NOTHING";
    auto r = co_await pg_->query(std::move(sql), std::move(params));
    if (!r) co_return std::move(r).failure();
  }
  co_return resilience::ok();
}

Task<Outcome<std::vector<PurchaseOrder>>> PgPurchaseOrders::load_after(std::uint64_t after, std::size_t limit) {
  auto r = co_await pg_->query("SELECT number, vendor, amount_cents FROM \"" + schema_ +
                                   "\".purchase_orders WHERE number > $1 ORDER BY number LIMIT $2",
                               static_cast<std::int64_t>(after), static_cast<std::int64_t>(limit));
  if (!r) co_return std::move(r).failure();
  std::vector<PurchaseOrder> orders;
  orders.reserve(r->rows());
  for (std::size_t i = 0; i < r->rows(); ++i) {
    orders.push_back(PurchaseOrder{static_cast<std::uint64_t>(r->integer(i, 0)), std::string(r->bytes(i, 1)),
                                   r->integer(i, 2)});
  }
  co_return orders;
}

PooledCheckpointStore::PooledCheckpointStore(std::vector<std::unique_ptr<resilience::CheckpointStore>> stores)
    : stores_(std::move(stores)) {
  FAULTLINE_ASSERT(!stores_.empty());
}

Task<Outcome<std::uint64_t>> PooledCheckpointStore::save(std::string workflow_id, std::uint64_t expected_version,
                                                         std::string step, std::string state) {
  return next().save(std::move(workflow_id), expected_version, std::move(step), std::move(state));
}

Task<Outcome<std::optional<resilience::Checkpoint>>> PooledCheckpointStore::load(std::string workflow_id) {
  return next().load(std::move(workflow_id));
}

Task<Outcome<>> PooledCheckpointStore::remove(std::string workflow_id, std::uint64_t expected_version) {
  return next().remove(std::move(workflow_id), expected_version);
}

Task<Outcome<std::vector<resilience::Checkpoint>>> PooledCheckpointStore::list(std::string prefix, std::size_t limit) {
  return next().list(std::move(prefix), limit);
}

PooledLedger::PooledLedger(std::vector<std::unique_ptr<PgLedger>> ledgers) : ledgers_(std::move(ledgers)) {
  FAULTLINE_ASSERT(!ledgers_.empty());
}

Task<Outcome<LedgerReceipt>> PooledLedger::post(LedgerPost entry) {
  return ledgers_[turn_++ % ledgers_.size()]->post(std::move(entry));
}

Task<Outcome<>> PooledLedger::reverse(std::uint64_t invoice_id) {
  return ledgers_[turn_++ % ledgers_.size()]->reverse(invoice_id);
}

namespace {
Task<Outcome<std::vector<std::uint64_t>>> ids_of(PgConnection& pg, std::string sql) {
  auto r = co_await pg.query(std::move(sql));
  if (!r) co_return std::move(r).failure();
  std::vector<std::uint64_t> ids;
  ids.reserve(r->rows());
  for (std::size_t i = 0; i < r->rows(); ++i) ids.push_back(static_cast<std::uint64_t>(r->integer(i, 0)));
  co_return ids;
}
}  // namespace

Task<Outcome<DeploymentStatus>> read_status(PgConnection& pg, std::string schema, std::string dead_letter_name) {
  // Creating what is missing makes a status of a fresh deployment all zeros
  // rather than an error.
  auto ledger = co_await PgLedger::open(pg, schema);
  if (!ledger) co_return std::move(ledger).failure();
  auto made = co_await create_tables(pg, schema);
  if (!made) co_return std::move(made).failure();
  auto store = co_await PgCheckpointStore::open(pg, schema);
  if (!store) co_return std::move(store).failure();
  const std::string s = "\"" + schema + "\"";
  DeploymentStatus status;
  auto posted = co_await ids_of(pg, "SELECT DISTINCT invoice_id FROM " + s + ".ledger_entries WHERE NOT reversed ORDER BY 1");
  if (!posted) co_return std::move(posted).failure();
  status.posted = std::move(posted).value();
  auto review = co_await ids_of(pg, "SELECT invoice_id FROM " + s + ".manual_review ORDER BY 1");
  if (!review) co_return std::move(review).failure();
  status.manual_review = std::move(review).value();
  auto rejected = co_await ids_of(pg, "SELECT invoice_id FROM " + s + ".rejections ORDER BY 1");
  if (!rejected) co_return std::move(rejected).failure();
  status.rejected = std::move(rejected).value();
  auto counts = co_await pg.query(
      "SELECT (SELECT count(*) FROM " + s + ".ledger_entries WHERE NOT reversed),"
      " (SELECT count(*) FROM " + s + ".ledger_entries WHERE reversed),"
      " (SELECT count(*) FROM " + s + ".notifications),"
      " (SELECT count(DISTINCT invoice_id) FROM " + s + ".notifications),"
      " (SELECT count(*) FROM " + s + ".purchase_orders)");
  if (!counts) co_return std::move(counts).failure();
  status.ledger_rows = static_cast<std::uint64_t>(counts->integer(0, 0));
  status.reversed_rows = static_cast<std::uint64_t>(counts->integer(0, 1));
  status.notifications = static_cast<std::uint64_t>(counts->integer(0, 2));
  status.notified_invoices = static_cast<std::uint64_t>(counts->integer(0, 3));
  status.purchase_orders = static_cast<std::uint64_t>(counts->integer(0, 4));
  auto letters = co_await store.value()->list("dlq/" + dead_letter_name + "/", 100'000'000);
  if (!letters) co_return std::move(letters).failure();
  std::set<std::uint64_t> dead;
  for (const auto& cp : letters.value()) {
    const auto letter = resilience::DeadLetterQueue::decode(cp.state);
    if (!letter) continue;
    std::uint64_t id = 0;
    const auto& key = letter->key;
    if (std::from_chars(key.data(), key.data() + key.size(), id).ec == std::errc{}) dead.insert(id);
  }
  status.dead_lettered.assign(dead.begin(), dead.end());
  co_return status;
}

}  // namespace faultline::reference_system::live
