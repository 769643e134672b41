// The embedded SQLite checkpoint store: the default store, a single file on
// disk that survives a process restart (open the same path again and every
// checkpoint is there). It keeps the CheckpointStore contract of
// resilience/checkpoint.h: each save is one compare-and-set statement
// (UPDATE ... WHERE version = expected, or INSERT when expected is 0), so a
// stale writer in another process sharing the file is refused as well.
//
//   auto opened = SqliteCheckpointStore::open("/var/lib/faultline/checkpoints.db");
//   if (!opened) return opened.failure();     // the path and SQLite's message
//   std::unique_ptr<SqliteCheckpointStore> store = std::move(opened).value();
//   auto v = co_await store->save("inv-42", 0, "ocr", "{}");
//
// The file runs in WAL mode with synchronous=NORMAL: a save that returned is
// in the write-ahead log, so a process crash (even SIGKILL) right after it
// loses nothing; only a power cut may lose the last saves. (FULL would sync
// the disk on every save, making every save wait for the disk.)
// A file private to one process for its whole life (a simulated run's own
// file, removed afterwards) can be opened with SqliteOptions::private_file:
// the process then takes SQLite's lock once instead of at every statement,
// and saves do not wait for the disk (synchronous=OFF): a process crash
// still loses nothing, a power cut may lose the file, which nobody reads
// after the run anyway.
// Calls run synchronously inside the coroutine (SQLite has no async API);
// they finish without suspending. A store object belongs to one thread;
// several processes (or several objects) may share one file.
#pragma once

#include <memory>
#include <string>

#include "resilience/checkpoint.h"

struct sqlite3;
struct sqlite3_stmt;

namespace faultline::resilience {

struct SqliteOptions {
  // How long a busy file (another process writing) is waited on.
  int busy_timeout_ms = 5000;
  // Only this process uses the file, as long as it runs (see above).
  bool private_file = false;
};

class SqliteCheckpointStore final : public CheckpointStore {
 public:
  // Opens (creating if needed) the database file and its table.
  static Outcome<std::unique_ptr<SqliteCheckpointStore>> open(std::string path,
                                                              Observer observer = {},
                                                              SqliteOptions options = {});
  ~SqliteCheckpointStore() override;
  SqliteCheckpointStore(const SqliteCheckpointStore&) = delete;
  SqliteCheckpointStore& operator=(const SqliteCheckpointStore&) = delete;

  std::string_view kind() const noexcept override { return "sqlite"; }
  runtime::Task<Outcome<std::uint64_t>> save(std::string workflow_id,
                                             std::uint64_t expected_version, std::string step,
                                             std::string state) override;
  runtime::Task<Outcome<std::optional<Checkpoint>>> load(std::string workflow_id) override;
  runtime::Task<Outcome<>> remove(std::string workflow_id,
                                  std::uint64_t expected_version) override;
  runtime::Task<Outcome<std::vector<Checkpoint>>> list(std::string prefix,
                                                       std::size_t limit) override;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t conflicts() const noexcept { return conflicts_; }

 private:
  struct Statements;
  SqliteCheckpointStore(std::string path, sqlite3* db, Observer observer);
  Outcome<std::uint64_t> save_now(const std::string& id, std::uint64_t expected,
                                  const std::string& step, const std::string& state);
  Outcome<std::optional<Checkpoint>> load_now(const std::string& id);
  Outcome<> remove_now(const std::string& id, std::uint64_t expected);
  Outcome<std::vector<Checkpoint>> list_now(const std::string& prefix, std::size_t limit);
  Failure error(const char* what) const;

  std::string path_;
  sqlite3* db_;
  std::unique_ptr<Statements> statements_;
  Observer observer_;
  std::uint64_t conflicts_ = 0;
};

}  // namespace faultline::resilience
