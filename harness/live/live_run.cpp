// The live mode of `faultline run` (live_run.h).
#include "harness/live/live_run.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "harness/engine.h"
#include "harness/live/agent_contract.h"
#include "harness/live/live_faults.h"
#include "harness/live/live_judge.h"
#include "harness/live/live_pause.h"
#include "harness/live/live_proxies.h"
#include "harness/live/server_faults.h"
#include "harness/live/wire_audit.h"
#include "harness/live_servers.h"
#include "reference_system/live/live_services.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/redis_connection.h"
#include "reference_system/policy.h"
#include "reference_system/wire.h"
#include "reports/escape.h"
#include "runtime/random.h"
#include "runtime/json_config.h"
#include "runtime/live_runtime.h"
#include "world/live/live_role.h"
#include "harness/workload_driver.h"
#include "world/workload.h"

namespace faultline::harness {

namespace fs = std::filesystem;
namespace rs = reference_system;
namespace live = reference_system::live;
namespace wl = world::live;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

namespace {

constexpr std::array<std::string_view, 6> kRoles = {"ocr",        "validation", "matching",
                                                     "accounting", "archive",    "orchestrator"};
constexpr auto kPoll = std::chrono::milliseconds(50);  // real time between polls
constexpr std::size_t kEvidenceMax = 12;

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// host:port of a redis:// or postgresql:// URL (what follows '@', up to '/').
std::string address_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const auto at = url.find('@', start);
  const auto slash = url.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) start = at + 1;
  return url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
}

std::string safe_name(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out.empty() ? "scenario" : out.substr(0, 64);
}

std::string read_from(const fs::path& file, std::uintmax_t offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::uintmax_t size_of(const fs::path& file) {
  std::error_code ec;
  const auto n = fs::file_size(file, ec);
  return ec ? 0 : n;
}

std::string tail(const fs::path& file, std::size_t lines_max = 8) {
  std::istringstream in(read_from(file, 0));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > lines_max ? lines.size() - lines_max : 0; i < lines.size(); ++i) {
    out += "\n  | " + lines[i];
  }
  return out;
}

// ": " and the log's last lines, or where the (empty) log is: a worker
// that died or hung before saying anything still says where to look.
std::string log_tail_or_where(const fs::path& file) {
  const std::string lines = tail(file);
  if (lines.empty()) return fmt::format(" (it wrote nothing to {})", file.string());
  return ":" + lines;
}

// Why an invariant is not judged live.
std::string skipped_reason(const std::string& id) {
  if (id == "visibility") return "not judged live: the workers' metrics endpoints are not scraped yet";
  if (id == "saturation") return "not judged live: the orchestrator's inbox is not sampled in live mode yet";
  if (id == "recovery_time") return "not judged live: live mode runs no fault-free baseline to recover to";
  return "not judged live: it needs the harness's per-call probes around the services, which run inside the "
         "workers in live mode";
}

// What Redis said about one stream and one of its groups.
struct StreamSnapshot {
  long long added = 0;    // entries ever added (XINFO STREAM entries-added)
  long long pending = 0;  // delivered to the group, not acked
  long long lag = 0;      // not yet delivered to the group
  long long length = 0;
};

const live::RedisReply* field(const live::RedisReply& flat, std::string_view key) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].text == key) return &flat.elements[i + 1];
  }
  return nullptr;
}

long long integer_field(const live::RedisReply& flat, std::string_view key) {
  const auto* v = field(flat, key);
  return v != nullptr && v->type == live::RedisReply::Type::integer ? v->integer : 0;
}

Task<StreamSnapshot> snapshot(live::RedisConnection& redis, std::string stream, std::string group) {
  StreamSnapshot s;
  auto info = co_await redis.command("XINFO", "STREAM", stream);
  if (!info || info->type != live::RedisReply::Type::array) co_return s;  // no stream yet
  s.added = integer_field(info.value(), "entries-added");
  s.length = integer_field(info.value(), "length");
  auto groups = co_await redis.command("XINFO", "GROUPS", stream);
  if (groups && groups->type == live::RedisReply::Type::array) {
    for (const auto& g : groups->elements) {
      const auto* name = field(g, "name");
      if (name == nullptr || name->text != group) continue;
      s.pending = integer_field(g, "pending");
      s.lag = integer_field(g, "lag");
    }
  }
  co_return s;
}

// The streams a role reads, with the group it reads them in.
std::vector<std::pair<std::string, std::string>> streams_of(std::string_view role, const std::string& prefix) {
  if (role == "orchestrator") {
    return {{wl::intake_stream(prefix), "orchestrator"}, {prefix + "replies", "orchestrator"}};
  }
  return {{prefix + std::string(role), std::string(role)}};
}

// One worker process: faultline-agent, or a command of the user's own
// playing a role (`agents`, --agent: README, "Test your own agent").
struct Worker {
  std::string role;
  std::string consumer;
  std::vector<std::string> args;
  fs::path cwd;          // the run directory; a command of the user's: where faultline runs
  bool foreign = false;  // not faultline-agent
  fs::path log;
  pid_t pid = -1;
  std::uintmax_t log_offset = 0;  // where this start's output begins
};

// A command as a shell would take it back.
std::string quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + reports::shell_quote(w);
  return out;
}

// The role whose worker calls a service (and injects its faults), if any.
std::string_view caller_of(std::string_view service) {
  if (service == "ocr_engine" || service == "backup_ocr") return "ocr";
  if (service == "po_database") return "matching";
  if (service == "budget_service" || service == "ledger" || service == "notifier") return "accounting";
  return {};
}

// A scenario's agents with the command line's over them (a command given
// there replaces the scenario's; the replicas stay).
std::map<std::string, AgentSpec> merged_agents(const Scenario& s, const std::map<std::string, AgentSpec>& overrides) {
  auto agents = s.agents;
  for (const auto& [role, spec] : overrides) agents[role].command = spec.command;
  return agents;
}

struct CrashRecord {
  std::size_t fault = 0;
  bool killed = false;  // this crash stopped the role (not down already, its draw struck)
  std::vector<StreamSnapshot> at_kill;
  long long touched = 0;
};

// Everything one scenario's run found.
struct Findings {
  bool aborted = false;
  std::string error;  // the run could not go on (a worker that would not start, a server)
  std::vector<LiveSubmission> submitted;
  // Workload faults (saturation, corrupted_input): per fault index, the
  // submissions the harness's driver added or damaged for it.
  std::map<std::size_t, long long> workload_touches;
  LiveStores stores;  // the final reading
  std::vector<CrashRecord> crashes;
  // Service faults: touches per fault index, as the workers added them up in
  // `<prefix>fault_touches`.
  std::map<std::size_t, long long> service_touches;
  // checkpoint_outage, bus_partition: touches per fault index, from the
  // proxies' counts (live_proxies.h), and the proxies' totals.
  std::map<std::size_t, std::uint64_t> proxy_touches;
  std::vector<std::string> proxy_lines;
  std::vector<std::string> pause_lines;  // live_pause.h: what was stopped, and seen stopped
  live::DeploymentStatus status;
  bool drained = false;
  double waited_s = 0;  // scenario seconds from the start to the final reading
  std::vector<std::pair<std::uint64_t, long long>> double_posts;
  std::vector<std::pair<std::uint64_t, long long>> double_notices;
  std::vector<std::uint64_t> reserved_not_posted;
  std::vector<std::uint64_t> posted_not_reserved;
  long long workflow_checkpoints = 0;
  std::vector<std::string> redis_lines;  // per stream: pending, lag, dead entries
  std::vector<std::string> played_by;    // roles not played by one faultline-agent
  bool redis_idle = true;
  // The wire audit (wire_audit.h): what Redis itself saw of acks and replies.
  std::optional<WireAuditResult> wire;
  std::vector<MonitorCommand> wire_commands;  // for the run's wire-audit.log
  std::string wire_error;  // why it did not run
};

}  // namespace

bool live_workload_fault(const faults::FaultSpec& spec) noexcept {
  return spec.target == "workload" &&
         (spec.kind == faults::FaultKind::saturation || spec.kind == faults::FaultKind::corrupted_input);
}

void check_live_scenario(const Scenario& s, const std::map<std::string, AgentSpec>& overrides) {
  const auto agents = merged_agents(s, overrides);
  for (const auto& [role, spec] : s.agents) {
    if (spec.command.empty() || overrides.count(role) > 0) continue;
    if (!find_program(spec.command.front())) {
      throw runtime::ConfigError(s.file, fmt::format("$.agents.{}.command[0]", role),
                                 fmt::format("a program that exists (a path, or a name in PATH); \"{}\" is neither",
                                             spec.command.front()));
    }
  }
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const auto kind = s.faults[i].kind;
    if (live_service_fault(s.faults[i])) {
      const auto role = std::string(caller_of(s.faults[i].target));
      const auto it = agents.find(role);
      if (it != agents.end() && !it->second.command.empty()) {
        throw runtime::ConfigError(
            s.file, fmt::format("$.faults[{}].target", i),
            fmt::format("a '{}' fault on {} is injected inside the reference {} worker that calls it, and {} is "
                        "played by a command of your own here (\"{}\"): faultline cannot reach into it; aim the "
                        "fault at another service, or use the crash fault on the role",
                        faults::to_string(kind), s.faults[i].target, role, role, it->second.command.front()));
      }
    }
    if (live_proxy_fault(s.faults[i]) && s.faults[i].probability < 1.0) {
      throw runtime::ConfigError(
          s.file, fmt::format("$.faults[{}].probability", i),
          fmt::format("expected 1 (the default): live mode plays a '{}' fault on whole connections through a TCP fault proxy, "
                      "so it cannot strike a share of the messages or calls in its window; got {} (run it with "
                      "--mode sim, or drop the probability)",
                      faults::to_string(kind), s.faults[i].probability));
    }
    if (kind == faults::FaultKind::crash || kind == faults::FaultKind::pause || live_service_fault(s.faults[i]) ||
        live_bus_fault(s.faults[i]) || live_workload_fault(s.faults[i]) || live_proxy_fault(s.faults[i])) {
      continue;
    }
    throw runtime::ConfigError(
        s.file, fmt::format("$.faults[{}].kind", i),
        fmt::format("a '{}' fault has no live form yet (target '{}'): live mode plays 'crash' faults (SIGKILL of the "
                    "role's worker at the start, restart at the end), 'pause' faults (SIGSTOP and SIGCONT), "
                    "latency, hang, error, outage and invalid_output on a service (injected in the worker that "
                    "calls it), duplicate_delivery and reordering on the bus (in every worker's bus), saturation and "
                    "corrupted_input on the workload (the harness's driver), and checkpoint_outage, bus_partition "
                    "and network (through a TCP fault proxy); run this scenario with --mode sim",
                    faults::to_string(kind), s.faults[i].target));
  }
}

namespace {

// The verdict of one live run, from the stores and the harness's own
// records (what it submitted, what each crash found in Redis).
void judge(const Scenario& s, const Findings& f, reports::ScenarioResult& r) {
  r.duration = s.duration + runtime::from_seconds(std::max(0.0, f.waited_s - runtime::to_seconds(s.duration)));
  auto& o = r.outcomes;
  const LiveAccount account = account_submissions(f.submitted, f.stores);
  o = account.counts;
  const auto& nowhere = account.unaccounted;
  const auto& twice = account.excess;
  const auto& foreign = account.foreign;
  const bool system_idle = f.redis_idle && f.workflow_checkpoints == 0;
  (system_idle ? o.lost : o.in_flight) = nowhere.size();
  r.success_rate = reports::success_rate(o);
  r.dlq_size_final = f.status.dead_lettered.size();
  r.dlq_size_max = r.dlq_size_final;
  if (f.waited_s > 0) r.throughput_per_s = static_cast<double>(o.terminal()) / f.waited_s;

  const std::vector<std::string> wanted_ids = s.expect.invariants.empty() ? invariant_ids() : s.expect.invariants;
  for (const auto& id : wanted_ids) {
    reports::InvariantResult inv;
    inv.id = id;
    if (id == "conservation") {
      inv.name = "every submitted invoice is in exactly one terminal store or refused";
      inv.passed = nowhere.empty() && twice.empty() && foreign.empty();
      if (inv.passed) {
        inv.message = fmt::format("{} submissions, each found in exactly one place (PostgreSQL): {} in the ledger, "
                                  "{} in the dead-letter queue, {} in manual review, {} rejected, {} refused at the "
                                  "door (the refusals table, by intake entry); none lost",
                                  o.submitted, o.posted, o.dead_lettered, o.manual_review, o.rejected_invalid,
                                  o.refused);
      } else if (!twice.empty()) {
        inv.message = twice.front();
      } else if (!nowhere.empty()) {
        inv.message = fmt::format("{} submission(s) in no terminal store and not refused ({}), first: invoice {}{}",
                                  nowhere.size(),
                                  system_idle ? "lost: nothing left pending" : "still in flight",
                                  nowhere.front(), f.drained ? "" : "; the drain's bound was reached");
      } else {
        inv.message = fmt::format("invoice {} is in a terminal store but was never submitted", foreign.front());
      }
      for (const auto& t : twice) {
        if (inv.evidence.size() < kEvidenceMax) inv.evidence.push_back(t); else ++inv.evidence_dropped;
      }
      for (const auto n : nowhere) {
        if (inv.evidence.size() < kEvidenceMax) {
          inv.evidence.push_back(fmt::format("invoice {}: in no terminal store", n));
        }
        else ++inv.evidence_dropped;
      }
      inv.evidence.push_back(fmt::format("postgres: {} workflow checkpoints left", f.workflow_checkpoints));
      for (const auto& line : f.redis_lines) inv.evidence.push_back(line);
      for (const auto& line : f.played_by) inv.evidence.push_back("played by " + line);
      for (const auto& line : f.proxy_lines) inv.evidence.push_back(line);
      for (const auto& line : f.pause_lines) inv.evidence.push_back(line);
      if (f.wire) {
        const auto& early = f.wire->early_acks;
        if (!early.empty()) {
          if (inv.passed) {
            inv.message = fmt::format("{} of {} acks came before any reply to their request ({}); first: {}",
                                      early.size(), f.wire->acks,
                                      f.wire->lost == 0 ? "each was answered after its ack: none lost this time"
                                                        : fmt::format("{} never answered: lost", f.wire->lost),
                                      early.front());
          }
          inv.passed = false;
        }
        inv.evidence.push_back(f.wire->summary());
        for (const auto& line : early) {
          if (inv.evidence.size() < kEvidenceMax) inv.evidence.push_back(line); else ++inv.evidence_dropped;
        }
      } else if (!f.wire_error.empty()) {
        inv.evidence.push_back("wire audit: not run: " + f.wire_error);
      }
    } else if (id == "exactly_once") {
      inv.name = "no invoice posted or notified twice; budget held by posted invoices only";
      std::vector<std::string> bad;
      for (const auto& [inv_id, n] : f.double_posts) bad.push_back(fmt::format("invoice {}: {} live ledger entries", inv_id, n));
      for (const auto& [inv_id, n] : f.double_notices) bad.push_back(fmt::format("invoice {}: notified {} times", inv_id, n));
      for (auto inv_id : f.reserved_not_posted) {
        bad.push_back(fmt::format("invoice {}: budget reserved but not posted (saga not compensated)", inv_id));
      }
      for (auto inv_id : f.posted_not_reserved) bad.push_back(fmt::format("invoice {}: posted without a budget reservation", inv_id));
      inv.passed = bad.empty();
      inv.message = inv.passed ? fmt::format("{} ledger rows for {} posted invoices, {} notifications for {} invoices",
                                             f.status.ledger_rows, f.status.posted.size(), f.status.notifications,
                                             f.status.notified_invoices)
                               : bad.front();
      for (const auto& b : bad) {
        if (inv.evidence.size() < kEvidenceMax) inv.evidence.push_back(b); else ++inv.evidence_dropped;
      }
      if (f.wire) {
        const auto& twice_answered = f.wire->conflicts;
        if (!twice_answered.empty()) {
          if (inv.passed) {
            inv.message = fmt::format("{} request(s) answered with two different results; first: {}",
                                      twice_answered.size(), twice_answered.front());
          }
          inv.passed = false;
        }
        inv.evidence.push_back(f.wire->summary());
        for (const auto& line : twice_answered) {
          if (inv.evidence.size() < kEvidenceMax) inv.evidence.push_back(line); else ++inv.evidence_dropped;
        }
      } else if (!f.wire_error.empty()) {
        inv.evidence.push_back("wire audit: not run: " + f.wire_error);
      }
    } else if (id == "validation") {
      inv = judge_validation(f.submitted, f.stores, account, system_idle);
    } else {
      inv.name = id;
      inv.skipped = true;
      inv.message = skipped_reason(id);
    }
    r.invariants.push_back(std::move(inv));
  }
  if (s.expect.success_rate_min > 0 && o.submitted > 0) {  // over no invoice it measures nothing
    reports::SloResult slo;
    slo.name = "success_rate";
    slo.comparison = reports::Comparison::kAtLeast;
    slo.threshold = s.expect.success_rate_min;
    slo.observed = r.success_rate;
    slo.unit = "ratio";
    slo.passed = r.success_rate >= s.expect.success_rate_min;
    slo.message = fmt::format("{} of {} submitted invoices posted", o.processed(), o.submitted);
    r.slos.push_back(std::move(slo));
  }
  // The dead-letter queue's bound, from its rows in PostgreSQL: nothing
  // leaves the queue during a run, so its final size is its peak. The
  // other SLOs need the simulator's probes or a fault-free baseline.
  if (s.expect.slo.enabled) {
    reports::SloResult slo;
    slo.name = "dlq_size";
    slo.comparison = reports::Comparison::kAtMost;
    slo.threshold = static_cast<double>(s.expect.slo.dlq_max);
    slo.observed = static_cast<double>(f.status.dead_lettered.size());
    slo.unit = "count";
    slo.passed = slo.observed <= slo.threshold;
    slo.message = fmt::format("dead-letter queue: {} entries (PostgreSQL), {} at most {}", f.status.dead_lettered.size(),
                              slo.passed ? "within" : "breaks", s.expect.slo.dlq_max);
    r.slos.push_back(std::move(slo));
  }

  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    reports::FaultWindow w;
    w.kind = std::string(faults::to_string(s.faults[i].kind));
    w.target = s.faults[i].target;
    w.start = s.faults[i].start;
    w.end = s.faults[i].end();
    long long touched = 0;
    if (s.faults[i].kind == faults::FaultKind::crash || s.faults[i].kind == faults::FaultKind::pause) {
      touched = i < f.crashes.size() ? f.crashes[i].touched : 0;
    } else if (live_workload_fault(s.faults[i])) {
      if (const auto it = f.workload_touches.find(i); it != f.workload_touches.end()) touched = it->second;
    } else if (live_proxy_fault(s.faults[i])) {
      const auto it = f.proxy_touches.find(i);
      touched = it == f.proxy_touches.end() ? 0 : static_cast<long long>(it->second);
    } else if (const auto it = f.service_touches.find(i); it != f.service_touches.end()) {
      touched = it->second;
    }
    w.hit_count = static_cast<std::uint64_t>(std::max(0LL, touched));
    r.faults.push_back(std::move(w));
  }

  if (f.aborted) {
    r.verdict = reports::Verdict::kAborted;
    r.verdict_reason = "stopped by a signal; every worker was killed";
  } else if (!f.error.empty()) {
    r.verdict = reports::Verdict::kError;
    r.verdict_reason = f.error;
  } else {
    decide_verdict(r, "live: ", "not judged live");
  }
}

}  // namespace

struct LiveHarness::Impl {
  LiveRunOptions options;
  LiveServers servers;
  std::string redis_url;
  std::string postgres_url;
  reports::LiveInfo info;
  bool versions_read = false;
  std::string namespace_token;  // keeps schemas apart on servers shared with others
  bool closed = false;
  fs::path launch_dir;  // where faultline runs: a command of the user's runs there
  LiveProxies* proxies = nullptr;  // the running scenario's, if it has proxied faults

  fs::path logs_dir() const { return options.run_dir / "logs"; }

  // Real time, as a duration on a runtime of this time scale.
  runtime::Duration scaled(std::chrono::milliseconds real) const {
    return std::chrono::duration_cast<runtime::Duration>(real * options.time_scale);
  }

  bool stop_requested() const { return options.stop != nullptr && options.stop->load(); }

  // Sleeps until `deadline` (scenario time) in polls; false if a stop was requested.
  Task<bool> sleep_until(runtime::LiveRuntime& rt, runtime::Instant deadline) {
    while (rt.now() < deadline) {
      if (stop_requested()) co_return false;
      co_await rt.sleep(std::min(scaled(kPoll), deadline - rt.now()));
    }
    co_return !stop_requested();
  }

  // Intake entry ids: the wall clock's milliseconds, a sequence number
  // within one, always increasing (the harness is the stream's one writer,
  // and IntakeSubmitter appends in order). An id of the harness's own makes
  // a retried append idempotent and names the entry a refusal is kept under.
  std::int64_t intake_ms = 0;
  std::int64_t intake_seq = 0;
  std::string next_intake_id() {
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    if (now_ms > intake_ms) {
      intake_ms = now_ms;
      intake_seq = 0;
    } else {
      ++intake_seq;
    }
    return fmt::format("{}-{}", intake_ms, intake_seq);
  }

  Outcome<> start_worker(Worker& w) {
    w.log_offset = size_of(w.log);
    auto pid = spawn_supervised(w.args, w.cwd, w.log);
    if (!pid) return std::move(pid).failure();
    w.pid = pid.value();
    return resilience::ok();
  }

  // Waits until every worker has said ready since its last start.
  Task<Outcome<>> wait_ready(runtime::LiveRuntime& rt, std::vector<Worker>& workers) {
    const auto deadline = std::chrono::steady_clock::now() + options.ready_within;
    for (auto& w : workers) {
      ReadyLine said;
      while (!(said = parse_ready(read_from(w.log, w.log_offset), w.consumer)).ready) {
        int status = 0;
        if (::waitpid(w.pid, &status, WNOHANG) == w.pid) {
          w.pid = -1;
          co_return Failure{ErrorClass::permanent,
                            fmt::format("worker {} {} before it was ready{}", w.consumer, describe_status(status),
                                        log_tail_or_where(w.log))};
        }
        if (std::chrono::steady_clock::now() > deadline) {
          co_return Failure{ErrorClass::timeout, fmt::format("worker {} was not ready within {} ms{}", w.consumer,
                                                             options.ready_within.count(), log_tail_or_where(w.log))};
        }
        if (stop_requested()) co_return Failure{ErrorClass::permanent, "stopped"};
        co_await rt.sleep(scaled(kPoll));
      }
      if (said.protocol && *said.protocol != rs::kWireVersion) {
        co_return Failure{ErrorClass::permanent,
                          fmt::format("worker {} speaks protocol version {}; this harness speaks version {}",
                                      w.consumer, *said.protocol, rs::kWireVersion)};
      }
      if (!said.protocol && w.foreign) {
        co_return Failure{ErrorClass::permanent,
                          fmt::format("worker {} said ready without its protocol version: its ready line must end "
                                      "\"{} ready protocol {}\" (README, \"Test your own agent\")",
                                      w.consumer, w.consumer, rs::kWireVersion)};
      }
    }
    co_return resilience::ok();
  }

  Task<void> read_versions(live::RedisConnection& redis, live::PgConnection& pg) {
    auto r = co_await redis.command("INFO", "server");
    if (r && r->type == live::RedisReply::Type::string) {
      const auto at = r->text.find("redis_version:");
      if (at != std::string::npos) {
        const auto from = at + 14;
        info.redis_version = r->text.substr(from, r->text.find_first_of("\r\n", from) - from);
      }
    }
    auto v = co_await pg.query("SHOW server_version");
    if (v && v->rows() == 1) info.postgres_version = std::string(v->bytes(0, 0));
    versions_read = true;
  }

  // Every store a submission can end in, read at once.
  Task<Outcome<LiveStores>> read_stores(live::PgConnection& pg, const std::string& schema) {
    auto st = co_await live::read_status(pg, schema, dead_letter_name);
    if (!st) co_return std::move(st).failure();
    LiveStores out;
    out.posted = std::move(st->posted);
    out.dead_lettered = std::move(st->dead_lettered);
    out.manual_review = std::move(st->manual_review);
    out.rejected = std::move(st->rejected);
    const std::string q = "\"" + schema + "\"";
    auto refused = co_await pg.query("SELECT entry_id, reason FROM " + q + ".refusals");
    if (!refused) co_return std::move(refused).failure();
    for (std::size_t i = 0; i < refused->rows(); ++i) {
      out.refused.emplace(std::string(refused->bytes(i, 0)), std::string(refused->bytes(i, 1)));
    }
    auto amounts = co_await pg.query("SELECT invoice_id, sum(amount_cents)::bigint FROM " + q +
                                     ".ledger_entries WHERE NOT reversed GROUP BY invoice_id");
    if (!amounts) co_return std::move(amounts).failure();
    for (std::size_t i = 0; i < amounts->rows(); ++i) {
      out.ledger_cents[static_cast<std::uint64_t>(amounts->integer(i, 0))] = amounts->integer(i, 1);
    }
    co_return out;
  }

  Task<void> drive(runtime::LiveRuntime& rt, live::RedisConnection& redis, live::PgConnection& pg, const Scenario& s,
                   const world::WorldModel& world, std::string schema, std::vector<Worker>& workers, Findings& f) {
    const std::string prefix = schema + ":";
    if (!f.error.empty()) co_return;  // the proxies did not start
    if (!versions_read) co_await read_versions(redis, pg);

    // The workload: what the simulator's workload driver submits with this
    // seed (workload_driver.h), its base ids reserved in the deployment's
    // counter (a fresh prefix: 1, 2, ..., the simulator's own ids).
    const std::uint64_t seed = options.seed.value_or(s.seed);
    std::size_t count = 0;
    for (const auto& a : workload_schedule(s, world, seed, WorkloadIds{})) {
      if (!a.submission.extra && a.submission.invoice.id < kExtraIdBase) {
        count = std::max<std::size_t>(count, a.submission.invoice.id);
      }
    }
    std::uint64_t first_id = 1;
    if (count > 0) {
      auto ids = co_await redis.command("INCRBY", prefix + "invoice_ids", static_cast<long long>(count));
      if (!ids || ids->type != live::RedisReply::Type::integer) {
        f.error = "redis " + redis_url + ": INCRBY: " + (ids ? ids->text : ids.failure().message);
        co_return;
      }
      first_id = static_cast<std::uint64_t>(ids->integer) - count + 1;
    }
    std::vector<rs::PurchaseOrder> orders;
    auto arrivals =
        workload_schedule(s, world, seed, WorkloadIds{first_id, first_id, kExtraIdBase + first_id - 1}, &orders);
    auto table = co_await live::PgPurchaseOrders::open(pg, schema);
    if (!table) {
      f.error = "postgres " + postgres_url + ": " + table.failure().message;
      co_return;
    }
    auto added = co_await table.value()->add(std::move(orders));
    if (!added) {
      f.error = "postgres " + postgres_url + ": purchase orders: " + added.failure().message;
      co_return;
    }

    // The wire audit watches Redis from before the first worker starts.
    std::unique_ptr<WireAudit> audit;
    try {
      audit = WireAudit::start(redis_url, prefix);
    } catch (const std::exception& e) {
      f.wire_error = e.what();
    }
    for (auto& w : workers) {
      auto started = start_worker(w);
      if (!started) {
        f.error = "starting " + w.consumer + ": " + started.failure().message;
        co_return;
      }
    }
    auto ready = co_await wait_ready(rt, workers);
    if (!ready) {
      if (stop_requested()) f.aborted = true;
      else f.error = ready.failure().message;
      co_return;
    }

    // The timeline: submissions and fault edges, in time order (a fault's
    // edge before a submission at the same instant).
    struct Action {
      runtime::Duration at;
      int kind;  // 0 fault start, 1 fault end, 2 submission
      std::size_t index;
    };
    std::vector<Action> timeline;
    for (std::size_t i = 0; i < s.faults.size(); ++i) {
      f.crashes.push_back(CrashRecord{i, false, {}, 0});
      // A service fault: the workers inject it. A proxied one: its proxy's mode at the edges.
      if (s.faults[i].kind != faults::FaultKind::crash && s.faults[i].kind != faults::FaultKind::pause &&
          !live_proxy_fault(s.faults[i])) {
        continue;
      }
      timeline.push_back({s.faults[i].start, 0, i});
      timeline.push_back({s.faults[i].end(), 1, i});
    }
    for (std::size_t i = 0; i < arrivals.size(); ++i) timeline.push_back({arrivals[i].at, 2, i});
    std::stable_sort(timeline.begin(), timeline.end(), [](const Action& a, const Action& b) {
      return a.at != b.at ? a.at < b.at : a.kind < b.kind;
    });
    // A role's workers (its replicas); every crash target has at least one.
    auto workers_of = [&](const std::string& role) {
      std::vector<Worker*> out;
      for (auto& w : workers) {
        if (w.role == role) out.push_back(&w);
      }
      return out;
    };

    // The scenario starts now: the workers' service faults count their
    // windows from this instant (Redis's clock, shared by every process).
    auto now = co_await redis.command("TIME");
    if (!now || now->type != live::RedisReply::Type::array || now->elements.size() != 2) {
      f.error = "redis " + redis_url + ": TIME: " + (now ? now->text : now.failure().message);
      co_return;
    }
    const std::string start_us = now->elements[0].text + fmt::format("{:06}", std::stoll(now->elements[1].text));
    auto set = co_await redis.command("SET", scenario_start_key(prefix), start_us);
    if (!set || set->is_error()) {
      f.error = "redis " + redis_url + ": SET scenario start: " + (set ? set->text : set.failure().message);
      co_return;
    }
    const runtime::Instant start = rt.now();
    IntakeSubmitter submitter(rt, redis, prefix, options.time_scale);
    ServerCrashes server_crashes(servers, redis, pg, prefix, schema, submitter);
    LivePauses pauses(f.pause_lines);  // continues what is still stopped when the run ends
    for (const Action& a : timeline) {
      if (!co_await sleep_until(rt, start + a.at)) {
        f.aborted = true;
        co_return;
      }
      if (a.kind == 2) {
        auto& arrival = arrivals[a.index];
        LiveSubmission record{arrival.submission.invoice.id, next_intake_id(), arrival.submission.true_total_cents,
                              arrival.submission.corruption, arrival.submission.extra};
        auto appended = co_await submitter.submit(arrival.submission.invoice, record.entry_id);
        if (!appended) {
          f.error = "redis " + redis_url + ": submitting invoice " + std::to_string(record.id) + ": " +
                    appended.failure().message;
          co_return;
        }
        f.submitted.push_back(std::move(record));
        for (const std::size_t i : arrival.touched_by) ++f.workload_touches[i];
        continue;
      }
      const auto& spec = s.faults[a.index];
      if (live_proxy_fault(spec)) {
        if (a.kind == 0) proxies->begin(a.index);
        else proxies->end(a.index);
        continue;
      }
      if (server_crash(spec)) {  // harness/live/server_faults.h
        auto done = co_await server_crashes.edge(spec, a.index, a.kind == 0, seed);
        if (!done) {
          f.error = done.failure().message;
          co_return;
        }
        f.crashes[a.index].touched = server_crashes.touched(a.index);
        continue;
      }
      const auto role_workers = workers_of(spec.target);
      CrashRecord& record = f.crashes[a.index];
      // As the simulator plays a crash or a pause (faults/supervisor_faults.cpp,
      // pause_faults.cpp): one whose draw misses, or that finds the role down
      // already (an overlapping crash), does nothing and touches nothing;
      // only the crash that stopped the role starts it again, at its own end.
      // A pause (live_pause.h) is read like a crash, SIGSTOP and SIGCONT for
      // SIGKILL and restart.
      const bool pause = spec.kind == faults::FaultKind::pause;
      if (a.kind == 0) {
        if (!crash_strikes(spec, seed) ||
            std::none_of(role_workers.begin(), role_workers.end(), [](const Worker* w) { return w->pid > 0; })) {
          continue;
        }
        record.killed = true;
        for (const auto& [stream, group] : streams_of(spec.target, prefix)) {
          record.at_kill.push_back(co_await snapshot(redis, stream, group));
        }
        if (pause) {
          std::vector<pid_t> pids;
          for (const Worker* w : role_workers) pids.push_back(w->pid);
          pauses.stop(a.index, spec.target, pids);
          continue;
        }
        for (Worker* w : role_workers) {
          if (w->pid > 0) stop_supervised(w->pid, SIGKILL, std::chrono::milliseconds(0));
          w->pid = -1;
        }
      } else {
        if (!record.killed) continue;
        const auto streams = streams_of(spec.target, prefix);
        for (std::size_t k = 0; k < streams.size() && k < record.at_kill.size(); ++k) {
          const StreamSnapshot now = co_await snapshot(redis, streams[k].first, streams[k].second);
          const StreamSnapshot& then = record.at_kill[k];
          record.touched += then.pending + then.lag + std::max(0LL, now.added - then.added);
        }
        if (pause) {
          pauses.resume(a.index);
          continue;
        }
        for (Worker* w : role_workers) {
          if (w->pid > 0) continue;  // up again already
          auto restarted = start_worker(*w);
          if (!restarted) {
            f.error = "restarting " + w->consumer + ": " + restarted.failure().message;
            co_return;
          }
        }
      }
    }
    if (!co_await sleep_until(rt, start + s.duration)) {
      f.aborted = true;
      co_return;
    }
    if (auto flushed = co_await submitter.flush(options.ready_within); !flushed) {
      f.error = "redis " + redis_url + ": " + flushed.failure().message;
      co_return;
    }

    // The drain: until every submitted invoice is in a terminal store, or
    // the drain's bound (real time) has passed.
    const auto drain_real = std::min(
        options.drain_limit,
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double, std::milli>(runtime::to_seconds(s.drain) * 1000.0 / options.time_scale)));
    const auto drain_end = std::chrono::steady_clock::now() + drain_real;
    for (;;) {
      auto st = co_await read_stores(pg, schema);
      if (st && account_submissions(f.submitted, st.value()).unaccounted.empty()) {
        f.drained = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= drain_end) break;
      if (stop_requested()) {
        f.aborted = true;
        co_return;
      }
      co_await rt.sleep(scaled(std::chrono::milliseconds(200)));
    }
    // A late duplicate (a redelivery, a claimed message) would show now.
    co_await rt.sleep(scaled(std::chrono::milliseconds(500)));
    f.waited_s = runtime::to_seconds(rt.now() - start);
    // A worker that ended on its own (not killed by a fault) is a finding.
    for (auto& w : workers) {
      int status = 0;
      if (w.pid > 0 && ::waitpid(w.pid, &status, WNOHANG) == w.pid) {
        w.pid = -1;
        f.error = fmt::format("worker {} ended on its own ({}):{}", w.consumer,
                              WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                  : "exit " + std::to_string(WEXITSTATUS(status)),
                              tail(w.log));
      }
    }
    if (audit) {
      WireEvidence evidence = audit->stop(options.time_scale);
      // Reordering holds replies back inside the workers' bus: its span
      // (plus its longest hold and 2 s of slack) on Redis's clock.
      const std::int64_t start_at_us = std::stoll(start_us);
      for (const auto& spec : s.faults) {
        if (spec.kind != faults::FaultKind::reordering) continue;
        const double from_s = runtime::to_seconds(spec.start) / options.time_scale;
        const double to_s =
            (runtime::to_seconds(spec.end()) + runtime::to_seconds(spec.reorder_window)) / options.time_scale + 2.0;
        evidence.injected_holds_us.emplace_back(start_at_us + static_cast<std::int64_t>(from_s * 1e6),
                                                start_at_us + static_cast<std::int64_t>(to_s * 1e6));
      }
      f.wire = audit_wire(evidence);
      f.wire_commands = std::move(evidence.commands);
    }
    audit.reset();
    co_await gather(redis, pg, schema, prefix, f);
  }

  Task<void> gather(live::RedisConnection& redis, live::PgConnection& pg, const std::string& schema,
                    const std::string& prefix, Findings& f) {
    auto st = co_await live::read_status(pg, schema, dead_letter_name);
    auto stores = co_await read_stores(pg, schema);
    if (!st || !stores) {
      f.error = "postgres " + postgres_url + ": reading the stores: " +
                (st ? stores.failure().message : st.failure().message);
      co_return;
    }
    f.status = std::move(st).value();
    f.stores = std::move(stores).value();
    const std::string q = "\"" + schema + "\"";
    auto pairs = [&](const std::string& sql,
                     std::vector<std::pair<std::uint64_t, long long>>& out) -> Task<Outcome<>> {
      auto r = co_await pg.query(sql);
      if (!r) co_return std::move(r).failure();
      for (std::size_t i = 0; i < r->rows(); ++i) {
        out.emplace_back(static_cast<std::uint64_t>(r->integer(i, 0)), r->integer(i, 1));
      }
      co_return resilience::ok();
    };
    std::vector<std::pair<std::uint64_t, long long>> unused;
    std::vector<Outcome<>> reads;
    reads.push_back(co_await pairs("SELECT invoice_id, count(*) FROM " + q +
                                       ".ledger_entries WHERE NOT reversed GROUP BY invoice_id HAVING count(*) > 1 "
                                       "ORDER BY 1 LIMIT 100",
                                   f.double_posts));
    reads.push_back(co_await pairs("SELECT invoice_id, count(*) FROM " + q +
                                       ".notifications GROUP BY invoice_id HAVING count(*) > 1 ORDER BY 1 LIMIT 100",
                                   f.double_notices));
    std::vector<std::pair<std::uint64_t, long long>> reserved;
    reads.push_back(co_await pairs("SELECT r.invoice_id, r.amount_cents FROM " + q + ".budget_reservations r WHERE "
                                       "NOT EXISTS (SELECT 1 FROM " + q + ".ledger_entries l WHERE l.invoice_id = "
                                       "r.invoice_id AND NOT l.reversed) ORDER BY 1 LIMIT 100",
                                   reserved));
    std::vector<std::pair<std::uint64_t, long long>> unreserved;
    reads.push_back(co_await pairs("SELECT DISTINCT l.invoice_id, 0::bigint FROM " + q + ".ledger_entries l WHERE NOT "
                                       "l.reversed AND NOT EXISTS (SELECT 1 FROM " + q + ".budget_reservations r "
                                       "WHERE r.invoice_id = l.invoice_id) ORDER BY 1 LIMIT 100",
                                   unreserved));
    reads.push_back(co_await pairs("SELECT count(*), 0::bigint FROM " + q +
                                       ".checkpoints WHERE substring(workflow_id from 1 for 4) <> 'dlq/'::bytea",
                                   unused));
    for (auto& r : reads) {
      if (!r) {
        f.error = "postgres " + postgres_url + ": reading the stores: " + r.failure().message;
        co_return;
      }
    }
    auto touches = co_await redis.command("HGETALL", fault_touches_key(prefix));
    if (!touches || touches->type != live::RedisReply::Type::array) {
      f.error = "redis " + redis_url + ": HGETALL fault touches: " + (touches ? touches->text : touches.failure().message);
      co_return;
    }
    for (std::size_t i = 0; i + 1 < touches->elements.size(); i += 2) {
      f.service_touches[std::stoul(touches->elements[i].text)] += std::stoll(touches->elements[i + 1].text);
    }
    for (const auto& [id, amount] : reserved) f.reserved_not_posted.push_back(id);
    for (const auto& [id, zero] : unreserved) f.posted_not_reserved.push_back(id);
    if (!unused.empty()) f.workflow_checkpoints = static_cast<long long>(unused.front().first);

    for (const auto& [stream, group] : deployment_streams(prefix)) {
      const StreamSnapshot snap = co_await snapshot(redis, stream, group);
      const StreamSnapshot dead = co_await snapshot(redis, stream + ":dead", "");
      if (snap.pending + snap.lag > 0) f.redis_idle = false;
      f.redis_lines.push_back(fmt::format("redis {}: group {} pending {}, not delivered {}; {}:dead holds {}", stream,
                                          group, snap.pending, snap.lag, stream, dead.length));
    }
  }

  std::string dead_letter_name = "invoices";

  void copy_server_logs() {
    std::error_code ec;
    fs::create_directories(logs_dir(), ec);
    for (const auto* server : {servers.redis.get(), servers.postgres.get()}) {
      if (server == nullptr) continue;
      fs::copy_file(server->log_file(), logs_dir() / server->log_file().filename(),
                    fs::copy_options::overwrite_existing, ec);
    }
  }
};

LiveHarness::LiveHarness(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveHarness::~LiveHarness() { close(); }

const reports::LiveInfo& LiveHarness::info() const noexcept { return impl_->info; }

Outcome<std::unique_ptr<LiveHarness>> LiveHarness::open(LiveRunOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  // The workers run in the run directory: every path they get is absolute.
  impl->options.run_dir = fs::absolute(impl->options.run_dir);
  impl->options.agent_binary = fs::absolute(impl->options.agent_binary);
  std::error_code cwd_error;
  impl->launch_dir = fs::current_path(cwd_error);
  impl->info.time_scale = impl->options.time_scale;
  impl->info.servers_started = impl->options.start_servers;
  impl->info.harness_host = host_name();
  impl->info.workers_host = impl->info.harness_host;
  if (impl->options.start_servers) {
    auto servers = start_live_servers();
    if (!servers) return std::move(servers).failure();
    impl->servers = std::move(servers).value();
    impl->redis_url = impl->servers.redis->url();
    impl->postgres_url = impl->servers.postgres->url();
    impl->namespace_token = "run";
  } else {
    impl->redis_url = impl->options.redis_url;
    impl->postgres_url = impl->options.postgres_url;
    // Servers others use too: a schema and prefix no other run has.
    impl->namespace_token = fmt::format("{}_{}", ::getpid(), std::chrono::duration_cast<std::chrono::seconds>(
                                                                 std::chrono::system_clock::now().time_since_epoch())
                                                                 .count());
  }
  impl->info.redis_address = address_of(impl->redis_url);
  impl->info.postgres_address = address_of(impl->postgres_url);
  return std::unique_ptr<LiveHarness>(new LiveHarness(std::move(impl)));
}

void LiveHarness::close() {
  if (impl_ == nullptr || impl_->closed) return;
  impl_->closed = true;
  impl_->copy_server_logs();
  if (impl_->servers.postgres) (void)impl_->servers.postgres->stop();
  if (impl_->servers.redis) (void)impl_->servers.redis->stop();
}

reports::ScenarioResult LiveHarness::run(const Scenario& s, std::size_t index) {
  Impl& h = *impl_;
  const std::uint64_t seed = h.options.seed.value_or(s.seed);
  const std::string policy_file = h.options.policy_file.value_or(s.policy_file);
  const auto policy = rs::load_policy(policy_file);
  const auto world = world_for(s);

  reports::ScenarioResult r;
  r.name = s.name;
  r.description = s.description;
  r.seed = seed;
  r.replay_command = fmt::format("{} {} --mode live --time-scale {} --seed {}", h.options.replay_prefix,
                                 reports::shell_quote(s.file), h.options.time_scale, seed);
  if (h.options.policy_file) r.replay_command += " --policy " + reports::shell_quote(*h.options.policy_file);
  for (const auto& [role, spec] : h.options.agents) {
    r.replay_command += " --agent " + reports::shell_quote(role + "=" + quoted(spec.command));
  }
  r.scenario_digest = s.digest;
  r.scenario_file = s.file;
  r.scenario_path = s.absolute_file;
  r.policy_file = policy_file;
  r.policy_path = fs::absolute(policy_file).string();
  r.policy_name = policy.name;
  {
    std::ifstream in(policy_file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    r.policy_digest = fmt::format("{:016x}", runtime::fnv1a64(bytes.str()));
  }
  h.dead_letter_name = policy.dead_letter.name;

  // The scenario's logs and the world its workers read.
  const fs::path dir = h.logs_dir() / fmt::format("{}-{}", index, safe_name(s.name));
  fs::create_directories(dir);
  const fs::path world_file = dir / "world.json";
  {
    std::ofstream out(world_file, std::ios::binary | std::ios::trunc);
    out << world_document(s).dump(2) << "\n";
    if (!out) throw runtime::ConfigError(world_file.string(), "$", "cannot write the world model for the workers");
  }
  const std::string schema = fmt::format("fl_{}_{}", h.namespace_token, index);
  // The service and bus faults, for the workers.
  std::optional<fs::path> faults_file;
  if (std::any_of(s.faults.begin(), s.faults.end(),
                  [](const auto& f) { return live_service_fault(f) || live_bus_fault(f); })) {
    faults_file = dir / "faults.json";
    nlohmann::json doc;
    auto& entries = doc["faults"] = nlohmann::json::array();
    for (const auto& spec : s.faults) entries.push_back(faults::to_json(spec));
    std::ofstream out(*faults_file, std::ios::binary | std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out) throw runtime::ConfigError(faults_file->string(), "$", "cannot write the faults for the workers");
  }
  // checkpoint_outage, bus_partition, network: the workers reach those servers through proxies.
  std::unique_ptr<LiveProxies> proxies;
  std::string proxy_error;
  if (std::any_of(s.faults.begin(), s.faults.end(), [](const auto& f) { return live_proxy_fault(f); })) {
    auto opened = LiveProxies::open(s.faults, h.redis_url, h.postgres_url, h.options.time_scale);
    if (opened) proxies = std::move(opened).value();
    else proxy_error = opened.failure().message;
  }
  h.proxies = proxies.get();
  std::vector<Worker> workers;
  const auto agents = merged_agents(s, h.options.agents);
  std::vector<std::string> played_by;  // for the report: who played which role
  for (std::string_view role : kRoles) {
    const auto spec = agents.find(std::string(role));
    const std::uint32_t replicas = spec == agents.end() ? 1 : spec->second.replicas;
    const bool foreign = spec != agents.end() && !spec->second.command.empty();
    if (foreign || replicas > 1) {
      played_by.push_back(fmt::format("{}: {} process(es) of {}", role, replicas,
                                      foreign ? quoted(spec->second.command) : "faultline-agent"));
    }
    // A role's URLs: through its own proxies (network) or the shared ones, else direct.
    const std::string worker_redis = proxies ? proxies->redis_url_for(role) : h.redis_url;
    const std::string worker_postgres = proxies ? proxies->postgres_url_for(role) : h.postgres_url;
    const std::string checkpoint_postgres = proxies ? proxies->checkpoint_postgres_url_for(role) : h.postgres_url;
    for (std::uint32_t i = 0; i < replicas; ++i) {
      Worker w;
      w.role = std::string(role);
      w.consumer = consumer_name(role, i);
      w.log = dir / (w.consumer + ".log");
      w.cwd = h.options.run_dir;
      if (foreign) {
        // The contract (agent_contract.h): everything in FAULTLINE_*, run
        // from where faultline runs so relative paths work as typed.
        AgentSettings settings;
        settings.role = w.role;
        settings.consumer = w.consumer;
        settings.prefix = schema + ":";
        settings.redis_url = worker_redis;
        settings.postgres_url = worker_postgres;
        settings.time_scale = h.options.time_scale;
        settings.claim_idle = std::max(std::chrono::milliseconds(1),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           policy.bus.claim_idle / h.options.time_scale));
        settings.delivery_limit = policy.bus.delivery_limit;
        w.args = with_environment(agent_environment(settings), spec->second.command);
        w.cwd = h.launch_dir;
        w.foreign = true;
        workers.push_back(std::move(w));
        continue;
      }
      w.args = {h.options.agent_binary.string(), "--role", w.role, "--redis", worker_redis, "--postgres",
                worker_postgres, "--policy", fs::absolute(policy_file).string(), "--world", world_file.string(),
                "--time-scale", fmt::format("{}", h.options.time_scale), "--consumer", w.consumer, "--schema", schema,
                "--prefix", schema + ":", "--seed", std::to_string(seed)};
      // The orchestrator refuses at the door past its bound, as in sim.
      if (role == "orchestrator") w.args.push_back("--refuse-when-full");
      if (checkpoint_postgres != worker_postgres) {
        w.args.push_back("--checkpoint-postgres");
        w.args.push_back(checkpoint_postgres);
      }
      if (faults_file) {
        w.args.push_back("--faults");
        w.args.push_back(faults_file->string());
      }
      workers.push_back(std::move(w));
    }
  }

  Findings f;
  f.played_by = std::move(played_by);
  if (!proxy_error.empty()) f.error = proxy_error;
  {
    runtime::LiveRuntime rt(seed, h.options.time_scale);
    live::RedisConnection redis(rt, h.redis_url);
    live::PgConnection pg(rt, h.postgres_url);
    rt.spawn([](Impl& h, runtime::LiveRuntime& rt, live::RedisConnection& redis, live::PgConnection& pg,
                const Scenario& s, const world::WorldModel& world, std::string schema, std::vector<Worker>& workers,
                Findings& f) -> Task<void> {
      co_await h.drive(rt, redis, pg, s, world, std::move(schema), workers, f);
      rt.stop();
    }(h, rt, redis, pg, s, world, schema, workers, f));
    rt.run();
  }
  // Every worker stops: asked (SIGTERM) after a normal end, killed otherwise.
  const bool graceful = !f.aborted && f.error.empty();
  for (auto& w : workers) {
    if (w.pid > 0) stop_supervised(w.pid, graceful ? SIGTERM : SIGKILL,
                                   graceful ? std::chrono::milliseconds(10'000) : std::chrono::milliseconds(0));
    w.pid = -1;
  }
  if (proxies) {
    for (std::size_t i = 0; i < s.faults.size(); ++i) {
      if (live_proxy_fault(s.faults[i])) f.proxy_touches[i] = proxies->touched(i);
    }
    f.proxy_lines = proxies->evidence();
    proxies->stop();
    h.proxies = nullptr;
  }

  if (f.wire) {
    std::ofstream log(dir / "wire-audit.log", std::ios::trunc);
    for (const auto& c : f.wire_commands) log << to_line(c) << '\n';
  }
  judge(s, f, r);
  return r;
}

}  // namespace faultline::harness
