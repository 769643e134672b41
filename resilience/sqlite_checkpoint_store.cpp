// The SQLite checkpoint store. One table, one row per workflow, ids stored as
// blobs so that ordering and prefixes are by byte; every write
// is a single statement whose WHERE clause is the compare-and-set, so it is
// atomic without an explicit transaction, also across processes sharing the
// file.
#include "resilience/sqlite_checkpoint_store.h"

#include <sqlite3.h>

#include <iterator>
#include <vector>

namespace faultline::resilience {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS faultline_checkpoints ("
    " workflow_id BLOB PRIMARY KEY NOT NULL,"
    " version INTEGER NOT NULL,"
    " step BLOB NOT NULL,"
    " state BLOB NOT NULL) WITHOUT ROWID";

// A prepared statement, reset and unbound after each use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  int prepare(sqlite3* db, const char* sql) { return sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  sqlite3_stmt* get() const noexcept { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

struct Use {
  explicit Use(const Stmt& s) : s(s.get()) {}
  ~Use() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  void blob(int i, const std::string& v) {
    // A zero-length blob must still bind as a blob, not NULL.
    sqlite3_bind_blob(s, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, std::uint64_t v) { sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(v)); }
  std::string column(int i) {
    const void* p = sqlite3_column_blob(s, i);
    const int n = sqlite3_column_bytes(s, i);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
  }
  sqlite3_stmt* s;
};

}  // namespace

struct SqliteCheckpointStore::Statements {
  Stmt insert;
  Stmt update;
  Stmt select;
  Stmt version;
  Stmt erase;
  Stmt list;
};

Outcome<std::unique_ptr<SqliteCheckpointStore>> SqliteCheckpointStore::open(std::string path,
                                                                            Observer observer,
                                                                            SqliteOptions options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Failure{ErrorClass::permanent, std::move(message)};
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::unique_ptr<SqliteCheckpointStore> store(
      new SqliteCheckpointStore(std::move(path), db, observer));
  // Exclusive locking must come before WAL mode, which then keeps its index
  // in the process's memory instead of a shared-memory file.
  const char* shared_setup[] = {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema};
  const char* private_setup[] = {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL",
                                 "PRAGMA synchronous=OFF", kSchema};
  std::vector<const char*> setup(std::begin(shared_setup), std::end(shared_setup));
  if (options.private_file) setup.assign(std::begin(private_setup), std::end(private_setup));
  for (const char* sql : setup) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return store->error("set up the database");
    }
  }
  auto& st = *store->statements_;
  const bool prepared =
      st.insert.prepare(db,
                        "INSERT INTO faultline_checkpoints(workflow_id, version, step, state)"
                        " VALUES(?1, 1, ?2, ?3) ON CONFLICT(workflow_id) DO NOTHING") == SQLITE_OK &&
      st.update.prepare(db,
                        "UPDATE faultline_checkpoints SET version = version + 1, step = ?2,"
                        " state = ?3 WHERE workflow_id = ?1 AND version = ?4") == SQLITE_OK &&
      st.select.prepare(db,
                        "SELECT version, step, state FROM faultline_checkpoints"
                        " WHERE workflow_id = ?1") == SQLITE_OK &&
      st.version.prepare(db,
                         "SELECT version FROM faultline_checkpoints WHERE workflow_id = ?1") ==
          SQLITE_OK &&
      st.erase.prepare(db,
                       "DELETE FROM faultline_checkpoints WHERE workflow_id = ?1 AND version = ?2") ==
          SQLITE_OK &&
      st.list.prepare(db,
                      "SELECT workflow_id, version, step, state FROM faultline_checkpoints"
                      " WHERE workflow_id >= ?1 AND substr(workflow_id, 1, length(?1)) = ?1"
                      " ORDER BY workflow_id LIMIT ?2") == SQLITE_OK;
  if (!prepared) return store->error("prepare statements");
  return Outcome<std::unique_ptr<SqliteCheckpointStore>>(std::move(store));
}

SqliteCheckpointStore::SqliteCheckpointStore(std::string path, sqlite3* db, Observer observer)
    : path_(std::move(path)), db_(db), statements_(std::make_unique<Statements>()),
      observer_(observer) {}

SqliteCheckpointStore::~SqliteCheckpointStore() {
  statements_.reset();  // finalize before closing
  sqlite3_close(db_);
}

Failure SqliteCheckpointStore::error(const char* what) const {
  // Busy or locked files and I/O errors may pass; anything else will not.
  const int code = sqlite3_errcode(db_) & 0xff;
  const bool passing = code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
                       code == SQLITE_FULL || code == SQLITE_CANTOPEN;
  return Failure{passing ? ErrorClass::transient : ErrorClass::permanent,
                 path_ + ": " + what + ": " + sqlite3_errmsg(db_)};
}

Outcome<std::uint64_t> SqliteCheckpointStore::save_now(const std::string& id,
                                                       std::uint64_t expected,
                                                       const std::string& step,
                                                       const std::string& state) {
  int rc = SQLITE_OK;
  if (expected == 0) {
    Use use(statements_->insert);
    use.blob(1, id);
    use.blob(2, step);
    use.blob(3, state);
    rc = sqlite3_step(use.s);
  } else {
    Use use(statements_->update);
    use.blob(1, id);
    use.blob(2, step);
    use.blob(3, state);
    use.integer(4, expected);
    rc = sqlite3_step(use.s);
  }
  if (rc != SQLITE_DONE) return error("save");
  if (sqlite3_changes(db_) == 1) {
    observer_.record(0, pattern_events::CheckpointSaved{expected + 1});
    return expected + 1;
  }
  // Lost the compare-and-set: say what the version is now.
  std::uint64_t current = 0;
  {
    Use use(statements_->version);
    use.blob(1, id);
    rc = sqlite3_step(use.s);
    if (rc == SQLITE_ROW) {
      current = static_cast<std::uint64_t>(sqlite3_column_int64(use.s, 0));
    } else if (rc != SQLITE_DONE) {
      return error("read version");
    }
  }
  ++conflicts_;
  observer_.record(0, pattern_events::CheckpointConflict{expected, current});
  return Failure{ErrorClass::conflict, "checkpoint " + id + " is at version " +
                                           std::to_string(current) + ", not " +
                                           std::to_string(expected)};
}

Outcome<std::optional<Checkpoint>> SqliteCheckpointStore::load_now(const std::string& id) {
  Use use(statements_->select);
  use.blob(1, id);
  const int rc = sqlite3_step(use.s);
  if (rc == SQLITE_DONE) return std::optional<Checkpoint>{};
  if (rc != SQLITE_ROW) return error("load");
  return std::optional<Checkpoint>{Checkpoint{
      id, static_cast<std::uint64_t>(sqlite3_column_int64(use.s, 0)), use.column(1), use.column(2)}};
}

Outcome<> SqliteCheckpointStore::remove_now(const std::string& id, std::uint64_t expected) {
  {
    Use use(statements_->erase);
    use.blob(1, id);
    use.integer(2, expected);
    if (sqlite3_step(use.s) != SQLITE_DONE) return error("remove");
  }
  if (sqlite3_changes(db_) == 1) return ok();
  auto current = load_now(id);
  if (!current) return std::move(current).failure();
  if (!current.value()) return ok();  // nothing to remove
  ++conflicts_;
  const std::uint64_t version = current.value()->version;
  observer_.record(0, pattern_events::CheckpointConflict{expected, version});
  return Failure{ErrorClass::conflict, "checkpoint " + id + " is at version " +
                                           std::to_string(version) + ", not " +
                                           std::to_string(expected)};
}

Outcome<std::vector<Checkpoint>> SqliteCheckpointStore::list_now(const std::string& prefix,
                                                                 std::size_t limit) {
  std::vector<Checkpoint> out;
  Use use(statements_->list);
  use.blob(1, prefix);
  use.integer(2, limit > static_cast<std::size_t>(INT64_MAX) ? INT64_MAX : limit);
  for (;;) {
    const int rc = sqlite3_step(use.s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error("list");
    out.push_back(Checkpoint{use.column(0),
                             static_cast<std::uint64_t>(sqlite3_column_int64(use.s, 1)),
                             use.column(2), use.column(3)});
  }
  return out;
}

runtime::Task<Outcome<std::uint64_t>> SqliteCheckpointStore::save(std::string workflow_id,
                                                                  std::uint64_t expected_version,
                                                                  std::string step,
                                                                  std::string state) {
  co_return save_now(workflow_id, expected_version, step, state);
}

runtime::Task<Outcome<std::optional<Checkpoint>>> SqliteCheckpointStore::load(
    std::string workflow_id) {
  co_return load_now(workflow_id);
}

runtime::Task<Outcome<>> SqliteCheckpointStore::remove(std::string workflow_id,
                                                       std::uint64_t expected_version) {
  co_return remove_now(workflow_id, expected_version);
}

runtime::Task<Outcome<std::vector<Checkpoint>>> SqliteCheckpointStore::list(std::string prefix,
                                                                            std::size_t limit) {
  co_return list_now(prefix, limit);
}

}  // namespace faultline::resilience
