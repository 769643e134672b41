// The live mode of `faultline run` (issue 18, first part): a scenario file
// played against real processes. The harness starts private Redis and
// PostgreSQL servers (harness/live_servers.h) or uses servers given by URL,
// starts one faultline-agent process per role under a schema and key prefix
// of the scenario's own, submits the scenario's workload (the simulator's
// generator, same seed) at its arrival times in real time divided by the
// time scale (a submission Redis cannot take, restarted or out of reach,
// waits in the harness and is retried under the same entry id:
// server_faults.h IntakeSubmitter), plays the faults, waits (bounded) for
// the pipeline to drain, judges the run from the stores, and stops every
// process it started.
//
//   check_live_scenario(s);                      // throws ConfigError for what live mode refuses
//   auto harness = LiveHarness::open(options);   // Outcome: the servers, if it starts them
//   reports::ScenarioResult r = (*harness)->run(s, 0);
//   (*harness)->info();                          // time scale, hosts, server versions
//
// Faults. `crash` of a role: the role's worker process gets SIGKILL at the
// window's start and is started again, under the same consumer name, at its
// end (it then takes back its pending entries from Redis). `pause` of a
// role: SIGSTOP to each of its workers' process groups at the start, SIGCONT
// at the end (live_pause.h), touches read as a crash's. `latency`,
// `hang`, `error`, `outage` and `invalid_output` on a service: the harness
// writes the scenario's faults to `faults.json` beside the world and every
// worker injects those aimed at its role's services with the simulator's
// decorators (harness/live/live_faults.h), windows counted from the scenario's
// start the harness writes to Redis; the touches are the workers' sums in
// `<prefix>fault_touches` (the one thing a worker reports of itself: what
// the injector in it did, never the system's outcome). `duplicate_delivery`
// and `reordering` on the bus: the same way, the simulator's
// FaultyMessageBus around every worker's bus. `saturation` and
// `corrupted_input` on the workload, and the workload's `corrupted_share`:
// the harness submits what the simulator's workload driver submits for the
// seed (harness/workload_driver.h: the surge's extra invoices, the damaged
// documents, which reach the OCR agent through the intake stream as they
// are), touches from its own record. The orchestrator runs with
// --refuse-when-full: past max_in_flight it refuses at the door, as in sim,
// and records each refusal (and each duplicate id) in PostgreSQL
// (`refusals`, by the intake entry id the harness gave it). `checkpoint_outage`
// and `bus_partition` go through TCP fault proxies the harness runs in its
// own process (live_proxies.h, tcp_fault_proxy.h): the workers'
// checkpoint-store connections to PostgreSQL (--checkpoint-postgres), or
// all their Redis connections, pass through a proxy that refuses (resets
// open connections, closes new ones) or black-holes (holds the bytes, then
// delivers them in order) for the window; the harness's own connections
// stay direct. Their touches are the proxy's counts in the window:
// connection attempts refused (plus connections reset with a request
// unanswered), or chunks held. A `network` fault puts a proxy of one role's
// own between its workers and Redis or PostgreSQL, in the fault's mode for
// the window (delay, bandwidth, reset, black_hole); the other roles' links
// stay as they were (live_proxies.h says how it composes and counts).
// A `crash` of `redis` or `postgres` (harness/live/server_faults.h) kills
// the server the harness started and restarts it at the window's end; the
// harness's submissions wait for Redis and go in after.
// A crash touched the system if its role held work when killed (entries of
// its streams pending or not yet delivered to its group) or was sent work
// while down (entries added to its streams in the window), read from Redis;
// one that touched nothing makes the scenario INCONCLUSIVE.
//
// Evidence. Never the workers' word: the ledger, notifications, budget,
// dead-letter queue (checkpoint rows), manual-review, rejection, refusal and
// checkpoint tables in PostgreSQL, the streams' pending lists, lags and dead
// streams in Redis, and the harness's own records: what it submitted and
// the fault proxies' counts.
// The wire audit (harness/live/wire_audit.h): from before the workers start
// until the drain is over, the harness keeps a MONITOR connection on its own
// Redis URL and tails the role request streams with XREAD, so it sees every
// XADD and XACK in the server's order and maps each request entry to its
// request_id. An ack of a request before any reply to it was added (unless
// the entry went to its dead stream first, was past its deadline, or a
// reordering fault held the reply back in the worker's bus) fails
// conservation, a SIGKILL between the two loses the request; one request
// answered with two statuses fails exactly_once. It judges every agent,
// reference or a team's own command, from Redis, not from the agent; the
// commands it kept go to the scenario's `wire-audit.log`.
// Judged (harness/live/live_judge.h): conservation (each submission refused
// or in one terminal store), exactly_once, validation (a damaged invoice
// rejected, or posted only at the true total of the harness's record, as
// the simulator's checker decides), and the success-rate target. The other
// invariants need the simulator's per-call probes and are reported skipped,
// each with its reason.
//
// Processes. Every worker runs in a process group of its own with SIGKILL
// as its parent-death signal, so a faultline that dies (even by SIGKILL)
// leaves no worker and no server behind; a stop request (the flag SIGINT
// sets) ends the scenario at the next poll (within about 50 ms), kills the
// workers and reports the scenario aborted. Each process's output is kept
// in `<run dir>/logs/`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "harness/scenario.h"
#include "reports/result.h"
#include "resilience/outcome.h"

namespace faultline::harness {

struct LiveRunOptions {
  double time_scale = 60.0;  // scenario seconds per real second
  bool start_servers = true;
  std::string redis_url;     // when !start_servers
  std::string postgres_url;  // when !start_servers
  std::filesystem::path agent_binary;  // faultline-agent
  std::filesystem::path run_dir;       // process logs go to run_dir/logs/
  std::optional<std::string> policy_file;  // instead of each scenario's
  std::optional<std::uint64_t> seed;       // instead of each scenario's
  // Real-time bounds: the drain never waits longer than this (nor than the
  // scenario's drain divided by the time scale); a worker must say ready
  // within `ready_within`.
  std::chrono::milliseconds drain_limit{300'000};
  std::chrono::milliseconds ready_within{60'000};
  const std::atomic<bool>* stop = nullptr;  // set: abort the scenario, tear down
  std::string replay_prefix = "faultline run";
  // --agent ROLE=COMMAND: the role played by COMMAND, over each scenario's
  // `agents` (the replicas stay the scenario's).
  std::map<std::string, AgentSpec> agents;
};

// Throws runtime::ConfigError (file, JSON path, what live mode can do) for
// anything in the scenario live mode cannot play honestly.
// `agents`: the command line's, over the scenario's. A service fault aimed
// at a service only a command of the user's calls is refused (it is
// injected inside the reference worker), as is a command whose program
// does not exist.
void check_live_scenario(const Scenario& scenario, const std::map<std::string, AgentSpec>& agents = {});
// Whether the harness's workload driver plays this fault (saturation and
// corrupted_input on the workload).
bool live_workload_fault(const faults::FaultSpec& spec) noexcept;

class LiveHarness {
 public:
  // Starts the private servers when asked; a failure says which server.
  static resilience::Outcome<std::unique_ptr<LiveHarness>> open(LiveRunOptions options);
  ~LiveHarness();
  LiveHarness(const LiveHarness&) = delete;
  LiveHarness& operator=(const LiveHarness&) = delete;

  // Runs one scenario (its `index` in the run names its schema and logs).
  // Throws runtime::ConfigError for an unreadable policy or world.
  reports::ScenarioResult run(const Scenario& scenario, std::size_t index);
  const reports::LiveInfo& info() const noexcept;
  // Copies the servers' logs into the run directory, stops the servers and
  // removes their directories. Also done by the destructor.
  void close();

  struct Impl;

 private:
  explicit LiveHarness(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::harness
