// Per-role composition for a live deployment: what one `faultline-agent`
// process runs. A process is one role (an agent's workers, or the
// orchestrator) on the live runtime, joined to the others only through
// Redis (the bus, RedisStreamBus) and PostgreSQL (checkpoints with the
// dead-letter queue, the ledger, the budget, the notifier, the manual review
// and rejection records, the purchase orders). The simulated external
// services a role calls (OCR engines, the PO database's latency) run in the
// process from the JSON world model, their latencies on the runtime's
// scaled clock. Agent and pattern code is the simulator's, unchanged.
//
//   runtime::LiveRuntime rt(seed, time_scale);
//   RoleProcess process(rt, options);              // options.role = Role::accounting ...
//   rt.spawn(process.start());                     // opens the stores, starts the workers
//   rt.run();                                      // until stop() and rt.stop()
//
// Submissions reach the orchestrator through the intake stream
// (`<prefix>intake`, protocol/README.md): submit_invoices() writes generated
// invoices there (their purchase orders first, into PostgreSQL). The
// orchestrator reads it in its consumer group as room allows
// (max_in_flight) and acks an entry once the invoice's outcome is in its
// terminal store, so the intake stream is the durable inbox: a restarted
// orchestrator re-reads what it had not finished, and a running one re-reads
// its own pending entries every `claim_idle`, taking up those Redis
// delivered in a read whose reply never came back (a partition). An entry it
// refuses (a second entry under an invoice id it holds or finished; with
// refuse_when_full, a new entry while it is full) is recorded in the
// PostgreSQL table `refusals` under the entry's id, then acked.
//
// One orchestrator per deployment: replies come back on one stream read by
// the group "orchestrator", and a workflow waits in the process that sent
// its request. Request ids are unique across its restarts (the run number
// from INCR `<prefix>orchestrator_runs`, in the high bits). Agent roles run
// any number of processes each, under distinct consumer names.
//
// The checkpoint store (and the dead-letter queue kept in it) may have
// connections of its own (RoleOptions::checkpoint_postgres_url). A store
// that cannot be reached at start (a process restarted during its outage)
// is tried again with backoff for up to `store_wait`; PostgreSQL itself
// must answer at once, else start() fails naming it.
//
// RoleOptions::wrap_ports, when set, gets the services the role calls
// before its agent does, and may wrap them (faultline-agent wraps them with
// a scenario's service faults: harness/live/live_faults.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "reference_system/invoice.h"
#include "reference_system/metrics.h"
#include "reference_system/policy.h"
#include "reference_system/ports.h"
#include "resilience/outcome.h"
#include "runtime/live_runtime.h"
#include "runtime/task.h"
#include "world/world_model.h"

namespace faultline::reference_system::live {
class RedisConnection;
}  // namespace faultline::reference_system::live

namespace faultline::world::live {

using reference_system::Policy;
using reference_system::SystemMetrics;

enum class Role : std::uint8_t { ocr = 0, validation, matching, accounting, archive, orchestrator };
std::optional<Role> role_from(std::string_view name) noexcept;
std::string_view to_string(Role role) noexcept;

// The services a role calls, as its agent will get them; null for those it
// does not call (OCR engines: ocr; PO database: matching; budget, ledger,
// notifier: accounting).
struct RolePorts {
  std::shared_ptr<reference_system::OcrEngine> ocr_engine;
  std::shared_ptr<reference_system::OcrEngine> backup_ocr;
  std::shared_ptr<reference_system::PoDatabase> po_database;
  std::shared_ptr<reference_system::BudgetService> budget_service;
  std::shared_ptr<reference_system::Ledger> ledger;
  std::shared_ptr<reference_system::Notifier> notifier;
};

struct RoleOptions {
  Role role = Role::ocr;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string postgres_url = "postgresql://127.0.0.1:5432/faultline";
  // The checkpoint store's own connections (checkpoints and the dead-letter
  // queue); empty: postgres_url. The harness points it at a fault proxy.
  std::string checkpoint_postgres_url;
  // How long (real time) start() keeps trying a checkpoint store it cannot
  // reach (an outage the process was restarted into) before it fails.
  std::chrono::milliseconds store_wait{60'000};
  Policy policy;
  WorldModel world;
  // This process's consumer name in its groups ("<role>-0" when empty):
  // the same across restarts of one worker, distinct between workers.
  std::string consumer;
  // Where the deployment's tables live, and its Redis keys' prefix.
  std::string schema = "faultline";
  std::string prefix = "faultline:";
  // PostgreSQL connections the process spreads its statements over.
  std::size_t connections = 4;
  // Sees (and may replace) the services the role calls; see RolePorts.
  std::function<void(RolePorts&)> wrap_ports;
  // Sees (and may replace) the process's bus, before anything uses it
  // (faultline-agent wraps it with a scenario's bus faults).
  std::function<void(std::shared_ptr<reference_system::MessageBus>&)> wrap_bus;
  // The orchestrator refuses new intake entries while it holds
  // max_in_flight invoices, as the simulated one refuses submissions past
  // its bound (faultline run's live mode), instead of leaving them in the
  // stream until there is room (the default: a bulk load waits its turn).
  bool refuse_when_full = false;
};

struct RoleCounters {
  std::uint64_t intake_read = 0;       // intake entries read (orchestrator)
  std::uint64_t intake_undecodable = 0;
  std::uint64_t intake_acked = 0;
  std::uint64_t intake_trimmed = 0;    // acked entries trimmed from the intake stream
  std::uint64_t record_retries = 0;    // outcome records (and refusals) tried again after a failure
};

class RoleProcess {
 public:
  RoleProcess(runtime::LiveRuntime& rt, RoleOptions options);
  ~RoleProcess();
  RoleProcess(const RoleProcess&) = delete;
  RoleProcess& operator=(const RoleProcess&) = delete;

  // Connects, creates missing tables and starts the role's workers; a
  // failure names the server that could not be used.
  runtime::Task<resilience::Outcome<>> start();
  // Stops taking work. Messages received and not finished stay pending in
  // Redis under this consumer: a worker restarted under the same name takes
  // them back at once, another one claims them after the policy's
  // claim_idle. Then closes the bus.
  void stop();
  bool running() const noexcept;

  const SystemMetrics& metrics() const noexcept;
  const RoleCounters& counters() const noexcept;
  const RoleOptions& options() const noexcept;
  // Invoices the orchestrator holds now (0 for an agent role).
  std::size_t in_flight() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The intake stream's name: `<prefix>intake`.
std::string intake_stream(std::string_view prefix);

struct SubmitOptions {
  std::string redis_url;
  std::string postgres_url;
  std::string schema = "faultline";
  std::string prefix = "faultline:";
  WorldModel world;
  std::uint64_t invoices = 0;
  std::uint64_t seed = 1;
};

struct Submitted {
  std::uint64_t first_id = 0;  // ids first_id .. first_id + count - 1
  std::uint64_t count = 0;
  std::uint64_t purchase_orders = 0;
};

// Generates `invoices` invoices from the world's workload (ids from INCRBY
// `<prefix>invoice_ids`, so submissions never reuse an id), stores their
// purchase orders, then appends each invoice to the intake stream.
runtime::Task<resilience::Outcome<Submitted>> submit_invoices(runtime::LiveRuntime& rt, SubmitOptions options);

// Appends one invoice to the intake stream (an XADD): what submit_invoices
// does for each, for a caller that paces its submissions itself (the live
// mode of `faultline run`). Its purchase order must be stored first. Gives
// the entry's id (a refusal names it: PgOutcomeRecords::refused).
// `entry_id` "*" lets Redis choose it; an explicit, increasing id makes a
// retried append idempotent: Redis refuses the second with "equal or
// smaller than the target stream top item" when the first landed.
runtime::Task<resilience::Outcome<std::string>> append_to_intake(reference_system::live::RedisConnection& redis,
                                                                 std::string prefix, reference_system::Invoice invoice,
                                                                 std::string entry_id = "*");

}  // namespace faultline::world::live
