#include "reference_system/live/pg_checkpoint_store.h"

#include <algorithm>
#include <cstdint>

namespace faultline::reference_system::live {

using resilience::Checkpoint;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

bool is_plain_identifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

Failure version_conflict(std::uint64_t expected_version) {
  return Failure{ErrorClass::conflict, "checkpoint: the stored version is not " + std::to_string(expected_version)};
}

Task<Outcome<std::unique_ptr<PgCheckpointStore>>> PgCheckpointStore::open(PgConnection& pg, std::string schema) {
  if (!is_plain_identifier(schema)) {
    co_return Failure{ErrorClass::permanent, "postgres: '" + schema + "' is not a plain schema name"};
  }
  const std::string table = "\"" + schema + "\".checkpoints";
  // One implicit transaction; the advisory lock keeps two processes opening
  // the same schema at once from racing in CREATE ... IF NOT EXISTS.
  auto made = co_await pg.execute("SELECT pg_advisory_xact_lock(7245001);"
                                  "CREATE SCHEMA IF NOT EXISTS \"" + schema + "\";"
                                  "CREATE TABLE IF NOT EXISTS " + table + " ("
                                  " workflow_id bytea PRIMARY KEY,"
                                  " version bigint NOT NULL CHECK (version > 0),"
                                  " step bytea NOT NULL,"
                                  " state bytea NOT NULL)");
  if (!made) co_return std::move(made).failure();
  co_return std::unique_ptr<PgCheckpointStore>(new PgCheckpointStore(pg, table));
}

Task<Outcome<std::uint64_t>> PgCheckpointStore::save(std::string workflow_id, std::uint64_t expected_version,
                                                     std::string step, std::string state) {
  // One statement each: the compare-and-set happens in the database.
  Outcome<PgResult> r = Failure{};
  if (expected_version == 0) {
    r = co_await pg_->query("INSERT INTO " + table_ + " (workflow_id, version, step, state)"
                            " VALUES ($1, 1, $2, $3) ON CONFLICT (workflow_id) DO NOTHING RETURNING version",
                            std::move(workflow_id), std::move(step), std::move(state));
  } else {
    r = co_await pg_->query("UPDATE " + table_ + " SET version = version + 1, step = $3, state = $4"
                            " WHERE workflow_id = $1 AND version = $2 RETURNING version",
                            std::move(workflow_id), expected_version, std::move(step), std::move(state));
  }
  if (!r) co_return std::move(r).failure();
  if (r->rows() == 0) {
    ++conflicts_;
    co_return version_conflict(expected_version);
  }
  ++saves_;
  co_return static_cast<std::uint64_t>(r->integer(0, 0));
}

Task<Outcome<std::optional<Checkpoint>>> PgCheckpointStore::load(std::string workflow_id) {
  auto r = co_await pg_->query("SELECT version, step, state FROM " + table_ + " WHERE workflow_id = $1", workflow_id);
  if (!r) co_return std::move(r).failure();
  if (r->rows() == 0) co_return std::optional<Checkpoint>{};
  co_return std::optional<Checkpoint>{Checkpoint{std::move(workflow_id), static_cast<std::uint64_t>(r->integer(0, 0)),
                                                 std::string(r->bytes(0, 1)), std::string(r->bytes(0, 2))}};
}

Task<Outcome<>> PgCheckpointStore::remove(std::string workflow_id, std::uint64_t expected_version) {
  // The delete at the expected version, and what was there before it (the
  // rest of the statement sees the snapshot the delete started from).
  auto r = co_await pg_->query("WITH gone AS (DELETE FROM " + table_ +
                                   " WHERE workflow_id = $1 AND version = $2 RETURNING 1)"
                                   " SELECT (SELECT count(*) FROM gone),"
                                   " (SELECT count(*) FROM " + table_ + " WHERE workflow_id = $1)",
                               std::move(workflow_id), expected_version);
  if (!r) co_return std::move(r).failure();
  if (r->integer(0, 0) == 0 && r->integer(0, 1) != 0) {
    ++conflicts_;
    co_return version_conflict(expected_version);
  }
  co_return resilience::ok();
}

Task<Outcome<std::vector<Checkpoint>>> PgCheckpointStore::list(std::string prefix, std::size_t limit) {
  std::vector<Checkpoint> out;
  if (limit == 0) co_return out;
  const std::string end = prefix_successor(prefix);
  const auto bounded = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
  Outcome<PgResult> r = Failure{};
  if (end.empty()) {
    r = co_await pg_->query("SELECT workflow_id, version, step, state FROM " + table_ +
                                " WHERE workflow_id >= $1 ORDER BY workflow_id LIMIT $2",
                            std::move(prefix), bounded);
  } else {
    r = co_await pg_->query("SELECT workflow_id, version, step, state FROM " + table_ +
                                " WHERE workflow_id >= $1 AND workflow_id < $2 ORDER BY workflow_id LIMIT $3",
                            std::move(prefix), end, bounded);
  }
  if (!r) co_return std::move(r).failure();
  out.reserve(r->rows());
  for (std::size_t i = 0; i < r->rows(); ++i) {
    out.push_back(Checkpoint{std::string(r->bytes(i, 0)), static_cast<std::uint64_t>(r->integer(i, 1)),
                             std::string(r->bytes(i, 2)), std::string(r->bytes(i, 3))});
  }
  co_return out;
}

}  // namespace faultline::reference_system::live
