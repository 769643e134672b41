// Scenario files: what a chaos experiment runs. A scenario names a workload,
// a policy, service-model overrides, a schedule of faults over time, and
// what it expects (which invariants to check, SLO thresholds, the success
// rate and the recovery time). scenarios/README.md documents the format and
// scenarios/scenario.schema.json lets editors check it.
//
//   Scenario s = load_scenario("scenarios/ocr-delay-30s.json");  // throws runtime::ConfigError
//   s.faults[0].kind == faults::FaultKind::latency;
//
// Every rejection names the file and the JSON path and says what was
// expected, so `faultline run` can exit 2 with a message a person can act on.
#pragma once

#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faults/fault.h"
#include "runtime/time.h"

namespace faultline::harness {

using runtime::Duration;

struct WorkloadSpec {
  double rate_per_hour = 600;
  // Scan-quality mix: shares of good (0.7-1), fair (0.4-0.7) and poor
  // (0.15-0.4) scans, summing to 1; when absent, the world model's bands.
  bool quality_given = false;
  double quality_good = 0.8;
  double quality_fair = 0.15;
  double quality_poor = 0.05;
  // Invoices whose document is corrupted from the start (on top of any
  // corrupted_input fault).
  double corrupted_share = 0.0;
  // Invoices whose purchase-order reference matches no order; when absent,
  // the world model's share.
  std::optional<double> unmatched_po_share;
  // A safety bound on arrivals (saturation included).
  std::uint64_t max_invoices = 200'000;
};

// The article's alert table, with the scenario's own thresholds.
struct SloSpec {
  double agent_error_rate_max = 0.05;
  double p99_ratio_max = 2.0;  // against the fault-free baseline
  std::uint32_t open_circuits_max = 1;
  std::uint64_t dlq_max = 100;
  double retries_per_minute_max = 50;
  bool enabled = true;
};

struct Expectations {
  std::vector<std::string> invariants;  // ids from harness/invariants.h; all when the file says nothing
  SloSpec slo;
  double success_rate_min = 0.0;
  Duration recovery_time_max = std::chrono::minutes(10);
  // Throughput counts as recovered at this share of the baseline's.
  double recovered_throughput_share = 0.8;
};

// A role of the live deployment played by a process other than the
// reference agent (`agents` in a scenario, `--agent` on the command line):
// the command (empty: faultline-agent, the reference agent) and how many
// processes run it. The simulator always runs the reference agents.
struct AgentSpec {
  std::vector<std::string> command;
  std::uint32_t replicas = 1;
};

struct Scenario {
  std::string file;           // as given
  std::string absolute_file;  // the same file from the root, for replay from another folder
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  Duration duration = std::chrono::minutes(30);
  Duration drain = std::chrono::minutes(10);
  WorkloadSpec workload;
  std::string policy_file;  // resolved against the scenario file's folder
  std::string world_file;   // a world model (scenarios/models/); empty: the built-in fault-free world
  nlohmann::json model_overrides = nlohmann::json::object();  // service -> parameters
  std::vector<faults::FaultSpec> faults;
  Expectations expect;
  std::map<std::string, AgentSpec> agents;  // role -> its processes (live mode)
  std::string digest;  // FNV-1a of the file's bytes, hex
};

// The invariant ids a scenario may list under expect.invariants.
const std::vector<std::string>& invariant_ids();

[[nodiscard]] Scenario load_scenario(const std::string& file);
[[nodiscard]] Scenario parse_scenario(const nlohmann::json& doc, const std::string& file);

// Every *.json directly in `dir` (sorted), or `path` itself when it is a file.
// Throws ConfigError when a path does not exist or a folder or one of its
// entries cannot be read (a symlink loop, no permission).
[[nodiscard]] std::vector<std::string> expand_scenario_paths(const std::vector<std::string>& paths);

// Refuses, for the simulator, what only live mode plays: a fault aimed at a
// live-only target (a crash of redis or postgres). Throws ConfigError
// naming `$.faults[i].target`.
void check_sim_scenario(const Scenario& s);

// The same scenario without its faults: the fault-free baseline.
[[nodiscard]] Scenario without_faults(const Scenario& s);

}  // namespace faultline::harness
