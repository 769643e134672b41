// The CheckpointStore port (resilience/checkpoint.h) on PostgreSQL: one row
// per workflow in <schema>.checkpoints (id, version, step, state, all bytes:
// bytea), so any worker on any host resumes what another saved. The
// stale-writer refusal is the database's: a save is one statement whose
// WHERE (an UPDATE at the expected version) or ON CONFLICT (the first
// insert) does the compare-and-set, never a read followed by a write; two
// writers that read the same version race inside PostgreSQL, which lets one
// through and gives the other no row, a conflict. list() is an index range
// scan in byte order (bytea compares as bytes).
//
//   PgConnection pg(rt, url);
//   auto opened = co_await PgCheckpointStore::open(pg, "faultline");  // creates schema and table if missing
//   CheckpointStore& store = *opened.value();
//
// Fault model: what the connection gives (pg_connection.h): transient when
// the server is unreachable or the connection drops before a statement went
// out, timeout when it stalls or drops after: a save that failed with
// timeout may have committed, which the next save's compare-and-set reveals
// as a conflict, never as a silent overwrite.
// Durability is the server's: a save is acknowledged after its commit
// (fsync on, synchronous_commit on in harness/live_servers).
#pragma once

#include <memory>
#include <string>

#include "reference_system/live/pg_connection.h"
#include "resilience/checkpoint.h"

namespace faultline::reference_system::live {

class PgCheckpointStore final : public resilience::CheckpointStore {
 public:
  // `schema`: lower-case letters, digits and '_', starting with a letter or '_'.
  static runtime::Task<resilience::Outcome<std::unique_ptr<PgCheckpointStore>>> open(PgConnection& pg,
                                                                                      std::string schema);

  std::string_view kind() const noexcept override { return "postgres"; }
  runtime::Task<resilience::Outcome<std::uint64_t>> save(std::string workflow_id, std::uint64_t expected_version,
                                                         std::string step, std::string state) override;
  runtime::Task<resilience::Outcome<std::optional<resilience::Checkpoint>>> load(std::string workflow_id) override;
  runtime::Task<resilience::Outcome<>> remove(std::string workflow_id, std::uint64_t expected_version) override;
  runtime::Task<resilience::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix,
                                                                               std::size_t limit) override;

  const std::string& table() const noexcept { return table_; }
  std::uint64_t saves() const noexcept { return saves_; }
  std::uint64_t conflicts() const noexcept { return conflicts_; }

 private:
  PgCheckpointStore(PgConnection& pg, std::string table) : pg_(&pg), table_(std::move(table)) {}

  PgConnection* pg_;
  std::string table_;  // "schema".checkpoints
  std::uint64_t saves_ = 0;
  std::uint64_t conflicts_ = 0;
};

// Whether `name` can be a schema (or key prefix) as given: [a-z_][a-z0-9_]{0,62}.
bool is_plain_identifier(std::string_view name) noexcept;

// Creates `schema` if it is missing and then what `ddl` declares in it
// (`ddl` is given the schema's quoted name), in one implicit transaction
// under the advisory lock `lock_key`, which keeps processes creating the
// same objects at once from racing in CREATE ... IF NOT EXISTS. A schema
// that is not a plain identifier is a permanent failure.
runtime::Task<resilience::Outcome<>> create_in_schema(PgConnection& pg, std::string schema, std::int64_t lock_key,
                                                      std::string (*ddl)(const std::string& quoted_schema));

// The smallest byte string greater than every string starting with
// `prefix` (the prefix with its last non-0xff byte incremented and what
// follows dropped); empty when there is none (the prefix is empty or all
// 0xff): the exclusive upper end of a prefix range.
std::string prefix_successor(std::string_view prefix);

// The conflict both networked stores give a compare-and-set that lost.
resilience::Failure version_conflict(std::uint64_t expected_version);

}  // namespace faultline::reference_system::live
