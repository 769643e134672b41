// `faultline simulate`: runs the reference invoice system in simulation for a
// given load, policy, world model and seed, and prints what happened to the
// invoices (outcome counts, latency, per-agent and per-service figures). A
// thin wrapper over world::run_simulation; no faults are injected
// beyond what the world model describes.
//
//   faultline simulate --invoices 10000 --seed 42
//       --policy scenarios/policies/recommended.json --model scenarios/models/case_study.json
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/command.h"
#include "harness/private_store.h"
#include "world/simulation.h"
#include "world/world_model.h"

namespace {

using namespace faultline;
using reference_system::InvoiceOutcome;

struct SimulateOptions {
  std::optional<std::string> invoices;
  std::optional<std::string> hours;
  std::optional<std::string> rate;
  std::optional<std::string> seed_text;
  std::string policy = "scenarios/policies/recommended.json";
  std::string model;
  std::uint64_t seed = 1;
  std::string store;
  std::string store_path;  // empty: a private temporary file when the store is SQLite
  bool archive_stage = false;
};

double ms(runtime::Duration d) { return runtime::to_millis(d); }

// Largest accepted values: a simulated year, and ten million invoices per
// hour, far beyond any figure the reference system is calibrated for.
constexpr double kHoursMax = 24.0 * 366;
constexpr double kRateMax = 1e7;
constexpr std::uint64_t kInvoicesMax = 100'000'000;

int run_simulate(SimulateOptions o) {
  world::SimulationConfig config;
  config.hours = 1.0;
  config.rate_per_hour = 10'000.0;
  if (o.invoices) {
    const auto n = cli::parse_u64(*o.invoices);
    if (!n || *n == 0 || *n > kInvoicesMax) {
      return cli::refuse("simulate", "--invoices", "an integer from 1 to 100000000", *o.invoices);
    }
    config.invoices = *n;
  }
  if (o.hours) {
    const auto h = cli::parse_finite(*o.hours);
    if (!h || *h <= 0 || *h > kHoursMax) return cli::refuse("simulate", "--hours", "a number above 0, at most 8784", *o.hours);
    config.hours = *h;
  }
  if (o.rate) {
    const auto r = cli::parse_finite(*o.rate);
    if (!r || *r <= 0 || *r > kRateMax) {
      return cli::refuse("simulate", "--rate", "invoices per hour above 0, at most 10000000", *o.rate);
    }
    config.rate_per_hour = *r;
  }
  if (o.seed_text) {
    const auto seed = cli::parse_u64(*o.seed_text);
    if (!seed) return cli::refuse("simulate", "--seed", "an integer from 0 to 18446744073709551615", *o.seed_text);
    o.seed = *seed;
  }
  config.seed = o.seed;
  if (o.policy.empty()) return cli::refuse("simulate", "--policy", "a policy file", o.policy);
  if (!o.store_path.empty()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path path(o.store_path);
    const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (fs::is_directory(path, ec)) return cli::refuse("simulate", "--store-path", "a file, not a folder", o.store_path);
    if (!fs::is_directory(parent, ec)) {
      return cli::refuse("simulate", "--store-path", "a file in an existing folder", o.store_path);
    }
    if (!std::ofstream(path, std::ios::app)) {
      return cli::refuse("simulate", "--store-path", "a file faultline can write", o.store_path);
    }
  }
  config.policy = reference_system::load_policy(o.policy);
  config.world = o.model.empty() ? world::default_world_model()
                                 : world::load_world_model(o.model);
  config.archive_stage = o.archive_stage;
  if (o.store == "none") config.policy.checkpoints = reference_system::CheckpointStoreKind::none;
  if (o.store == "memory") config.policy.checkpoints = reference_system::CheckpointStoreKind::memory;
  if (o.store == "sqlite") config.policy.checkpoints = reference_system::CheckpointStoreKind::sqlite;
  // A simulation starts from an empty store: unless a file is named, SQLite
  // checkpoints go to a private file removed afterwards, never to the
  // policy's production path, where an earlier run's checkpoints would be
  // resumed as if they were this run's.
  std::optional<harness::PrivateCheckpointFile> private_store;
  if (!o.store_path.empty()) {
    config.policy.checkpoint_path = o.store_path;
  } else {
    private_store.emplace(config.policy);
    config.system.checkpoint_file_private = true;
  }

  const auto wall_start = std::chrono::steady_clock::now();
  const auto r = world::run_simulation(config);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  fmt::print("policy {} | world {} | seed {} | {} invoices over {:.2f} simulated hours ({:.3f} s wall)\n",
             config.policy.name, config.world.name, o.seed, r.submitted, runtime::to_seconds(r.simulated) / 3600.0,
             wall_s);
  fmt::print("outcomes:\n");
  for (std::size_t i = 0; i < reference_system::kOutcomeCount; ++i) {
    const auto outcome = static_cast<InvoiceOutcome>(i);
    fmt::print("  {:<17} {:>9}  {:6.2f}%\n", to_string(outcome), r.outcome(outcome), 100.0 * r.share(outcome));
  }
  fmt::print("  {:<17} {:>9}  {:6.2f}%\n", "success", r.metrics.succeeded(), 100.0 * r.success_rate());
  if (r.metrics.refused() != 0) fmt::print("  {:<17} {:>9}\n", "refused", r.metrics.refused());
  if (r.unfinished != 0) fmt::print("  {:<17} {:>9}\n", "UNFINISHED", r.unfinished);
  const auto& e2e = r.metrics.end_to_end;
  fmt::print("end-to-end latency: mean {:.0f} ms, p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms\n", ms(e2e.mean()),
             ms(e2e.percentile(0.5)), ms(e2e.percentile(0.99)), ms(e2e.max()));
  fmt::print("ledger: {} entries ({} live), {:.2f} posted; dead-letter queue {}, manual review {}\n",
             r.ledger_entries, r.ledger_live_entries, static_cast<double>(r.ledger_total_cents) / 100.0,
             r.metrics.dead_letter_size, r.metrics.manual_review_size);
  fmt::print("agents:     {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}\n", "attempts", "retries", "failures",
             "degraded", "expired", "p99 ms", "max queue");
  for (std::size_t i = 0; i < reference_system::kAgentCount; ++i) {
    const auto& a = r.metrics.agents[i];
    if (a.step_attempts == 0) continue;
    fmt::print("  {:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10.0f} {:>10}\n",
               to_string(static_cast<reference_system::AgentId>(i)), a.step_attempts, a.step_retries,
               a.step_failures, a.degraded, a.expired, ms(a.latency.percentile(0.99)), a.queue_depth_max);
  }
  fmt::print("services:       {:>9} {:>9} {:>9} {:>10} {:>8}\n", "attempts", "retries", "errors", "p99 ms",
             "opened");
  for (std::size_t i = 0; i < reference_system::kServiceCount; ++i) {
    const auto& s = r.metrics.services[i];
    if (s.attempts == 0) continue;
    fmt::print("  {:<14} {:>9} {:>9} {:>9} {:>10.0f} {:>8}\n",
               to_string(static_cast<reference_system::ServiceId>(i)), s.attempts, s.retries, s.errors,
               ms(s.latency.percentile(0.99)), s.breaker_opened);
  }
  fmt::print("event log digest {:016x}, ledger digest {:016x}\n", r.log_digest, r.ledger_digest);
  return r.unfinished == 0 && r.metrics.terminal() + r.metrics.refused() == r.submitted ? cli::kPass
                                                                                         : cli::kFailed;
}

cli::Command simulate{"simulate", [](CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  auto* sub = app.add_subcommand("simulate", "Run the reference invoice system in simulation and print outcome counts");
  auto* invoices = sub->add_option("--invoices", o->invoices, "Exactly this many invoices");
  auto* hours = sub->add_option("--hours", o->hours, "Simulated hours of arrivals, above 0 (default 1)");
  invoices->excludes(hours);
  sub->add_option("--rate", o->rate, "Invoices per hour, Poisson arrivals, above 0 (default 10000)");
  sub->add_option("--policy", o->policy, "Policy file");
  sub->add_option("--model", o->model, "World model file (default: fault-free built-in)");
  sub->add_option("--seed", o->seed_text, "Root seed, 0 to 2^64-1 (default 1)");
  sub->add_option("--store", o->store, "Checkpoint store, overriding the policy")
      ->check(CLI::IsMember({"none", "memory", "sqlite"}));
  sub->add_option("--store-path", o->store_path,
                  "SQLite checkpoint file (default: a private temporary file, removed afterwards)");
  sub->add_flag("--archive-stage", o->archive_stage, "Add the archive agent as a fifth stage");
  return [o] { return run_simulate(*o); };
}};

}  // namespace
