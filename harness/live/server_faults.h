// Crashes of the servers themselves in a live run, and the harness's own
// submissions riding through them. A `crash` fault whose target is `redis`
// or `postgres` (a live-only target: the simulator refuses it) kills the
// server the harness started (SIGKILL to its process group) at the window's
// start and starts it again on the same directory and port at its end.
// Redis runs with an append-only file fsynced on every write and PostgreSQL
// with fsync on (harness/live_servers.h), so nothing a server acknowledged
// is lost; what was in flight on a connection is, and the workers' and the
// harness's connections reconnect. A server the harness did not start
// (--redis/--postgres URLs) is never crashed: such a fault is refused
// before anything starts (exit 2, naming `$.faults[i].target`).
//
// Touches, from the harness's view: the work in flight when the server was
// killed, which needs both servers to move on (stream entries pending or
// not yet delivered to their group, over the intake, replies and role
// streams, read from Redis; workflows with a checkpoint row, read from
// PostgreSQL), plus the invoices the harness submitted while it was down.
// A restart while no work flowed touches nothing, and the scenario is
// INCONCLUSIVE.
//
// The restart blocks the harness's event loop until the server answers (a
// Redis in tens of milliseconds, a PostgreSQL after its crash recovery in
// about a second): the server's parent-death signal ties it to the thread
// that started it, so it cannot be started from another thread.
//
//   check_server_faults(s, options.start_servers);       // ConfigError for URLs
//   IntakeSubmitter submitter(rt, redis, prefix, time_scale);
//   co_await submitter.submit(invoice, "1764466800000-0"); // queued while Redis is down
//   ServerCrashes crashes(servers, redis, pg, prefix, schema, submitter);
//   auto done = co_await crashes.edge(spec, index, /*start=*/true);
//   auto flushed = co_await submitter.flush(limit);        // every queued invoice in Redis
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "faults/fault.h"
#include "harness/scenario.h"
#include "reference_system/invoice.h"
#include "resilience/outcome.h"
#include "runtime/live_runtime.h"
#include "runtime/task.h"

namespace faultline::reference_system::live {
class RedisConnection;
class PgConnection;
}  // namespace faultline::reference_system::live

namespace faultline::harness {

struct LiveServers;

// Every stream a deployment's processes read, with the group they read it
// in: the intake and the replies (orchestrator), each agent role's requests.
std::vector<std::pair<std::string, std::string>> deployment_streams(const std::string& prefix);

// Whether `spec` is a crash of a server (redis, postgres).
bool server_crash(const faults::FaultSpec& spec) noexcept;

// Whether a crash with this spec happens at its window's start in a run of
// `seed`: the simulator's own draw (faults/supervisor_faults.cpp, the
// fault's random stream "fault/<stream>/<kind>"), so that a crash of
// probability below 1 strikes in a live run exactly when it strikes in the
// simulator. Always true at probability 1.
bool crash_strikes(const faults::FaultSpec& spec, std::uint64_t seed) noexcept;

// Refuses a server crash unless the harness starts the servers itself
// (ConfigError naming `$.faults[i].target`), and a worker's crash or pause
// window that overlaps a server's (naming `$.faults[i]`).
void check_server_faults(const Scenario& s, bool servers_started);

// The harness's submissions to the intake stream, in order: an invoice
// that cannot be appended (Redis down, a connection lost) waits in a
// bounded backlog, retried every 20 ms of real time, and every later one
// queues behind it. Each invoice goes in under the entry id its caller
// gives (increasing), the same on every try, so an append whose reply was
// lost is not made twice: Redis refuses the retry as "equal or smaller
// than the target stream top item", which says it landed.
class IntakeSubmitter {
 public:
  IntakeSubmitter(runtime::LiveRuntime& rt, reference_system::live::RedisConnection& redis, std::string prefix,
                  double time_scale);
  IntakeSubmitter(const IntakeSubmitter&) = delete;
  IntakeSubmitter& operator=(const IntakeSubmitter&) = delete;

  // Appends `invoice`, or queues it; fails only when the backlog is full.
  runtime::Task<resilience::Outcome<>> submit(reference_system::Invoice invoice, std::string entry_id);
  // Waits (real time, bounded) until the backlog is empty.
  runtime::Task<resilience::Outcome<>> flush(std::chrono::milliseconds limit);

  std::uint64_t submitted() const noexcept { return submitted_; }  // given to submit()
  std::uint64_t queued() const noexcept { return queued_; }        // that waited in the backlog
  std::uint64_t retries() const noexcept { return retries_; }
  std::uint64_t found_after_loss() const noexcept { return found_after_loss_; }  // appended though the reply was lost

 private:
  runtime::Task<void> drain_backlog();
  runtime::Duration real(std::chrono::milliseconds ms) const;

  runtime::LiveRuntime& rt_;
  reference_system::live::RedisConnection& redis_;
  std::string prefix_;
  double time_scale_;
  struct Waiting {
    reference_system::Invoice invoice;
    std::string entry_id;
    bool tried = false;  // an append was sent: it may have landed
  };
  std::deque<Waiting> backlog_;
  bool draining_ = false;
  std::string last_error_;
  std::uint64_t submitted_ = 0;
  std::uint64_t queued_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t found_after_loss_ = 0;
};

// The server crashes of one scenario's run.
class ServerCrashes {
 public:
  ServerCrashes(LiveServers& servers, reference_system::live::RedisConnection& redis,
                reference_system::live::PgConnection& pg, std::string prefix, std::string schema,
                const IntakeSubmitter& submitter);

  // The window's start (kill) or end (restart) of fault `index`, as the
  // simulator plays a crash (faults/supervisor_faults.cpp): a start whose
  // probability draw misses (crash_strikes), or that finds the server down
  // already, does nothing and touches nothing; only the crash that killed
  // the server starts it again, at its own end. Fails if the server does
  // not come back.
  runtime::Task<resilience::Outcome<>> edge(const faults::FaultSpec& spec, std::size_t index, bool start,
                                            std::uint64_t seed);
  // What fault `index` touched (after its end).
  long long touched(std::size_t index) const;

 private:
  runtime::Task<long long> held_by_redis();
  runtime::Task<long long> held_by_postgres();

  LiveServers& servers_;
  reference_system::live::RedisConnection& redis_;
  reference_system::live::PgConnection& pg_;
  std::string prefix_;
  std::string schema_;
  const IntakeSubmitter& submitter_;
  struct Window {
    bool killed = false;  // this crash stopped the server (else it did nothing)
    long long held = 0;
    std::uint64_t submitted_at_start = 0;
    long long touched = 0;
  };
  std::map<std::size_t, Window> windows_;
};

}  // namespace faultline::harness
