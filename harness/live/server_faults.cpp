// Server crashes in a live run, and submissions that ride through them (server_faults.h).
#include "harness/live/server_faults.h"

#include <fmt/core.h>

#include <array>
#include <utility>

#include "harness/live_servers.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/redis_connection.h"
#include "runtime/json_config.h"
#include "runtime/random.h"
#include "world/live/live_role.h"

namespace faultline::harness {

namespace live = reference_system::live;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

namespace {

// Invoices waiting for Redis, at most: a 10-minute outage at 10 invoices a
// second of real time fits.
constexpr std::size_t kBacklogMax = 100'000;
// How often a waiting submission is tried again (real time).
constexpr auto kRetryEvery = std::chrono::milliseconds(20);

long long integer_field(const live::RedisReply& flat, std::string_view key) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].text == key && flat.elements[i + 1].type == live::RedisReply::Type::integer) {
      return flat.elements[i + 1].integer;
    }
  }
  return 0;
}


}  // namespace

bool server_crash(const faults::FaultSpec& spec) noexcept {
  return spec.kind == faults::FaultKind::crash &&
         faults::target_family(spec.target) == faults::TargetFamily::server;
}

bool crash_strikes(const faults::FaultSpec& spec, std::uint64_t seed) noexcept {
  if (spec.probability >= 1.0) return true;
  return runtime::RandomStreams(seed).stream(spec.label).bernoulli(spec.probability);
}

void check_server_faults(const Scenario& s, bool servers_started) {
  // A worker cannot be killed and read about, or start, while a server is
  // down: its crash window may not overlap a server's.
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const auto& agent = s.faults[i];
    const bool worker_fault = agent.kind == faults::FaultKind::crash || agent.kind == faults::FaultKind::pause;
    if (!worker_fault || server_crash(agent)) continue;
    for (std::size_t j = 0; j < s.faults.size(); ++j) {
      const auto& server = s.faults[j];
      if (!server_crash(server) || agent.end() < server.start || server.end() < agent.start) continue;
      throw runtime::ConfigError(
          s.file, fmt::format("$.faults[{}]", i),
          fmt::format("the {} of '{}' overlaps the crash of '{}' ($.faults[{}]): live mode cannot read what a "
                      "worker holds, or start it again, while a server is down; move one of the windows",
                      faults::to_string(agent.kind), agent.target, server.target, j));
    }
  }
  if (servers_started) return;
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    if (!server_crash(s.faults[i])) continue;
    throw runtime::ConfigError(
        s.file, fmt::format("$.faults[{}].target", i),
        fmt::format("a crash of '{}' kills and restarts the server the harness started; with --redis/--postgres "
                    "URLs it starts none and will not kill a server it does not own: run without the URLs "
                    "(--start-servers)",
                    s.faults[i].target));
  }
}

std::vector<std::pair<std::string, std::string>> deployment_streams(const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out = {{world::live::intake_stream(prefix), "orchestrator"},
                                                          {prefix + "replies", "orchestrator"}};
  for (const char* role : {"ocr", "validation", "matching", "accounting", "archive"}) {
    out.emplace_back(prefix + role, role);
  }
  return out;
}

IntakeSubmitter::IntakeSubmitter(runtime::LiveRuntime& rt, live::RedisConnection& redis, std::string prefix,
                                 double time_scale)
    : rt_(rt), redis_(redis), prefix_(std::move(prefix)), time_scale_(time_scale) {}

runtime::Duration IntakeSubmitter::real(std::chrono::milliseconds ms) const {
  return std::chrono::duration_cast<runtime::Duration>(ms * time_scale_);
}

Task<Outcome<>> IntakeSubmitter::submit(reference_system::Invoice invoice, std::string entry_id) {
  ++submitted_;
  if (backlog_.empty()) {
    auto appended = co_await world::live::append_to_intake(redis_, prefix_, invoice, entry_id);
    if (appended) co_return resilience::ok();
    last_error_ = appended.failure().message;
    backlog_.push_back(Waiting{std::move(invoice), std::move(entry_id), true});
  } else {
    if (backlog_.size() >= kBacklogMax) {
      co_return Failure{ErrorClass::capacity_exceeded,
                        fmt::format("{} invoices wait for Redis already (last error: {})", backlog_.size(), last_error_)};
    }
    backlog_.push_back(Waiting{std::move(invoice), std::move(entry_id), false});
  }
  ++queued_;
  if (!draining_) {
    draining_ = true;
    rt_.spawn(drain_backlog());
  }
  co_return resilience::ok();
}

Task<void> IntakeSubmitter::drain_backlog() {
  while (!backlog_.empty()) {
    Waiting& front = backlog_.front();
    const bool tried = std::exchange(front.tried, true);
    auto appended = co_await world::live::append_to_intake(redis_, prefix_, front.invoice, front.entry_id);
    if (appended) {
      backlog_.pop_front();
      continue;
    }
    // An earlier try landed though its reply was lost.
    if (tried && appended.failure().message.find("equal or smaller") != std::string::npos) {
      ++found_after_loss_;
      backlog_.pop_front();
      continue;
    }
    last_error_ = appended.failure().message;
    ++retries_;
    co_await rt_.sleep(real(kRetryEvery));
  }
  draining_ = false;
}

Task<Outcome<>> IntakeSubmitter::flush(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!backlog_.empty()) {
    if (std::chrono::steady_clock::now() >= end) {
      co_return Failure{ErrorClass::timeout, fmt::format("{} invoices still wait for Redis after {} ms: {}",
                                                         backlog_.size(), limit.count(), last_error_)};
    }
    co_await rt_.sleep(real(kRetryEvery));
  }
  co_return resilience::ok();
}

ServerCrashes::ServerCrashes(LiveServers& servers, live::RedisConnection& redis, live::PgConnection& pg,
                             std::string prefix, std::string schema, const IntakeSubmitter& submitter)
    : servers_(servers),
      redis_(redis),
      pg_(pg),
      prefix_(std::move(prefix)),
      schema_(std::move(schema)),
      submitter_(submitter) {}

Task<long long> ServerCrashes::held_by_redis() {
  long long held = 0;
  for (const auto& [stream, group] : deployment_streams(prefix_)) {
    auto groups = co_await redis_.command("XINFO", "GROUPS", stream);
    if (!groups || groups->type != live::RedisReply::Type::array) continue;  // no stream yet
    for (const auto& g : groups->elements) {
      bool ours = false;
      for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
        if (g.elements[i].text == "name" && g.elements[i + 1].text == group) ours = true;
      }
      if (ours) held += integer_field(g, "pending") + integer_field(g, "lag");
    }
  }
  co_return held;
}

Task<long long> ServerCrashes::held_by_postgres() {
  auto r = co_await pg_.query("SELECT count(*) FROM \"" + schema_ +
                              "\".checkpoints WHERE substring(workflow_id from 1 for 4) <> 'dlq/'::bytea");
  co_return r && r->rows() == 1 ? r->integer(0, 0) : 0;
}

Task<Outcome<>> ServerCrashes::edge(const faults::FaultSpec& spec, std::size_t index, bool start,
                                    std::uint64_t seed) {
  PrivateServer* server = spec.target == "redis" ? servers_.redis.get() : servers_.postgres.get();
  if (server == nullptr) {
    co_return Failure{ErrorClass::permanent, "no " + spec.target + " server of the harness's own to crash"};
  }
  if (start) {
    Window w;
    w.submitted_at_start = submitter_.submitted();
    // Down already (an overlapping window) or a missed draw: nothing.
    if (server->running() && crash_strikes(spec, seed)) {
      // Work in flight needs both servers to move on: count what either holds.
      w.held = co_await held_by_redis() + co_await held_by_postgres();
      server->kill();
      w.killed = true;
    }
    windows_[index] = w;
    co_return resilience::ok();
  }
  const auto it = windows_.find(index);
  if (it == windows_.end() || !it->second.killed) co_return resilience::ok();  // another crash's to restart
  it->second.touched = it->second.held + static_cast<long long>(submitter_.submitted() - it->second.submitted_at_start);
  if (server->running()) co_return resilience::ok();
  auto restarted = server->restart();
  if (!restarted) co_return Failure{ErrorClass::permanent, "restarting " + spec.target + ": " + restarted.failure().message};
  co_return resilience::ok();
}

long long ServerCrashes::touched(std::size_t index) const {
  const auto it = windows_.find(index);
  return it == windows_.end() ? 0 : it->second.touched;
}

}  // namespace faultline::harness
