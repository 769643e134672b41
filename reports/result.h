// The result model: what one faultline run found, as plain data.
//
// The harness fills a RunResult in and hands it to the writers in reports/
// (report.json, junit.xml, summary.md, report.html, metrics.prom); compare and
// replay read it back from report.json. The model knows nothing about the
// harness, the faults or the reference system: it holds names, numbers and
// messages, so the arrow runs harness -> reports only.
//
//   reports::RunResult run;
//   run.tool_version = "0.1.0";
//   run.command_line = {"faultline", "run", "scenarios/"};
//   run.started_at = "2026-11-27T21:00:00Z";   // from the caller: no clocks here
//   auto& s = run.scenarios.emplace_back();
//   s.name = "ocr-outage-5m";
//   s.verdict = reports::Verdict::kPass;
//   s.seed = 42;
//   s.outcomes.submitted = 1000; s.outcomes.posted = 960; ...
//   s.success_rate = reports::success_rate(s.outcomes);
//
// Conventions, so that every writer renders the same thing:
// - Times inside a scenario (breaker transitions, buckets, fault windows) are
//   Durations since the scenario started, in scenario time (virtual under
//   the sim runtime).
// - Rates are fractions in [0, 1] (0.96, not 96). A rate that has no
//   denominator (nothing submitted, no calls) is 0 with its count at 0.
// - Vectors keep the order the harness gives them; writers never reorder, so
//   identical input gives byte-identical output. Maps are keyed by strings.
// - Every list the harness may grow without limit has a `*_dropped` counter
//   beside it: the harness bounds the list and counts what it left out.
//
// This header is a contract shared with the harness: changes are additive.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/time.h"

namespace faultline::reports {

using runtime::Duration;

// The version of report.json's schema (reports/report.schema.json). Bumped on
// any change a reader of an older version would misread.
inline constexpr int kReportSchemaVersion = 2;

// How a scenario ended. The order is the order of severity used to combine
// scenario verdicts into the run's verdict (see overall_verdict).
enum class Verdict {
  kPass,          // every invariant and SLO held, and every fault touched something
  kInconclusive,  // nothing failed, but the run cannot vouch (a fault touched no call)
  kFail,          // an invariant or an SLO failed
  kAborted,       // stopped by a safety limit (time, memory, queue bound)
  kError,         // the scenario could not run (bad input, harness error)
};
std::string_view to_string(Verdict v);  // "pass", "inconclusive", "fail", "aborted", "error"
[[nodiscard]] std::optional<Verdict> parse_verdict(std::string_view text);
// The verdict as a terminal line shows it: "PASS", "INCONCLUSIVE", "FAIL",
// "ABORTED", "ERROR".
std::string_view label(Verdict v);

// Where the harness found each submitted invoice at the end (the stores, and
// the refusals the system returned to it): every submission is counted once,
// so submitted == terminal() + refused + lost + in_flight. `refused`: submit()
// said no and the harness was told (a legitimate outcome); `lost`: found in no
// store and never refused; `in_flight`: still in the system's inbox after the
// drain (unfinished, or parked waiting for room in a full store).
struct OutcomeCounts {
  std::uint64_t submitted = 0;
  std::uint64_t posted = 0;
  std::uint64_t posted_degraded = 0;
  std::uint64_t rejected_invalid = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t manual_review = 0;
  std::uint64_t lost = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t refused = 0;  // last: positional initialisers written before it keep their meaning

  std::uint64_t terminal() const {
    return posted + posted_degraded + rejected_invalid + dead_lettered + manual_review;
  }
  // Invoices that made it into the ledger: "invoices processed".
  std::uint64_t processed() const { return posted + posted_degraded; }

  bool operator==(const OutcomeCounts&) const = default;
};

// (posted + posted_degraded) / submitted, 0 when nothing was submitted.
double success_rate(const OutcomeCounts& outcomes);

struct LatencySummary {
  std::uint64_t count = 0;  // samples the percentiles were taken over
  Duration p50{};
  Duration p95{};
  Duration p99{};
  Duration max{};
  Duration mean{};

  bool operator==(const LatencySummary&) const = default;
};

struct AgentResult {
  std::string name;  // "ocr", "validation", "matching", "accounting"
  LatencySummary latency;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  double error_rate = 0;  // errors / calls
  std::uint64_t retries = 0;

  bool operator==(const AgentResult&) const = default;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view to_string(BreakerState s);  // "closed", "open", "half_open"
[[nodiscard]] std::optional<BreakerState> parse_breaker_state(std::string_view text);

struct BreakerTransition {
  Duration at{};  // since scenario start
  BreakerState from = BreakerState::kClosed;
  BreakerState to = BreakerState::kClosed;

  bool operator==(const BreakerTransition&) const = default;
};

struct ServiceBreaker {
  std::string service;  // "ocr_engine", "po_database", "ledger", ...
  std::vector<BreakerTransition> transitions;  // in time order
  std::uint64_t transitions_dropped = 0;

  bool operator==(const ServiceBreaker&) const = default;
};

// One time bucket, for charts. Counts are of events inside the bucket; the
// DLQ size and breaker states are as they were at the bucket's end.
struct TimeBucket {
  Duration start{};  // since scenario start
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;  // reached a terminal outcome in this bucket
  std::uint64_t succeeded = 0;  // of those, posted or posted_degraded
  std::uint64_t dlq_size = 0;
  std::map<std::string, BreakerState> breaker_states;  // service -> state

  bool operator==(const TimeBucket&) const = default;
};

struct TimeSeries {
  Duration bucket_width{};
  std::vector<TimeBucket> buckets;  // consecutive, in time order
  std::uint64_t buckets_dropped = 0;

  bool operator==(const TimeSeries&) const = default;
};

// A scheduled fault as it played out.
struct FaultWindow {
  std::string kind;    // "latency", "hang", "error", "outage", "crash", "saturation", ...
  std::string target;  // service or agent name
  Duration start{};    // since scenario start
  Duration end{};
  std::uint64_t hit_count = 0;  // calls the fault touched; 0 makes a scenario inconclusive
  // From `start` until the system's first reaction attributable to the
  // fault (its target's breaker opening, a retry, timeout or fallback on
  // the target, the orchestrator retrying a crashed agent's step); empty if
  // it never reacted. A failure the fault caused is not a reaction.
  std::optional<Duration> time_to_detect;
  // From `end` until throughput and success rate over the following minute
  // were back within tolerance of the fault-free baseline's over the same
  // minute (5 s steps, whatever the run's length); empty if they were not
  // back before the run ended.
  std::optional<Duration> time_to_recover;

  bool operator==(const FaultWindow&) const = default;
};

struct InvariantResult {
  std::string id;    // stable, for JUnit and comparisons: "conservation", "exactly_once", ...
  std::string name;  // for people: "every invoice reaches exactly one outcome"
  bool passed = false;
  std::string message;                // why it failed, what was checked, or why it was skipped
  std::vector<std::string> evidence;  // event-log lines that show it
  std::uint64_t evidence_dropped = 0;
  // Nothing in the run could have made it fail (no faults to recover from,
  // no policy to hold calls to, a breaker nothing exercised): neither passed
  // nor failed, and `message` says why. `passed` is then false. (Last, so
  // positional initializers written before it still compile.)
  bool skipped = false;

  bool failed() const { return !passed && !skipped; }
  bool operator==(const InvariantResult&) const = default;
};

enum class Comparison {
  kAtMost,   // passes when observed <= threshold (error rate, p99, DLQ size)
  kAtLeast,  // passes when observed >= threshold (success rate)
};
std::string_view to_string(Comparison c);  // "at_most", "at_least"
[[nodiscard]] std::optional<Comparison> parse_comparison(std::string_view text);

struct SloResult {
  std::string name;  // "error_rate.ocr", "p99_vs_baseline", "open_circuits", ...
  Comparison comparison = Comparison::kAtMost;
  double threshold = 0;
  double observed = 0;
  std::string unit;  // "ratio", "ms", "count", "per_minute"
  bool passed = false;
  std::string message;

  bool operator==(const SloResult&) const = default;
};

// The fault-free run (same seed, faults removed) that the SLOs compared
// against.
struct Baseline {
  double success_rate = 0;
  Duration p99{};
  double throughput_per_s = 0;  // completed invoices per second of scenario time

  bool operator==(const Baseline&) const = default;
};

struct ScenarioResult {
  std::string name;
  std::string description;
  Verdict verdict = Verdict::kError;
  std::string verdict_reason;  // one line: what decided the verdict
  std::uint64_t seed = 0;
  std::string replay_command;  // the exact command that reproduces this scenario
  std::string policy_name;
  std::string policy_digest;    // hex digest of the policy file as read
  std::string scenario_digest;  // hex digest of the scenario file as read
  // Where the inputs were read, so that `faultline replay` reruns them from
  // any folder: as given (relative to the folder the run started in) and
  // absolute. Paths are bytes: report.json keeps one that is not UTF-8
  // exactly, hex-encoded beside its readable form (schema version 2).
  std::string scenario_file;
  std::string scenario_path;
  std::string policy_file;
  std::string policy_path;
  Duration duration{};          // scenario time the run covered

  OutcomeCounts outcomes;
  double success_rate = 0;
  double throughput_per_s = 0;  // completed invoices per second of scenario time
  LatencySummary end_to_end;    // submit -> terminal outcome
  std::vector<AgentResult> agents;

  std::uint64_t retries = 0;  // all agents
  double retries_per_minute = 0;
  std::uint64_t dlq_size_final = 0;
  std::uint64_t dlq_size_max = 0;

  std::vector<ServiceBreaker> breakers;
  TimeSeries series;
  std::vector<FaultWindow> faults;
  std::vector<InvariantResult> invariants;
  std::vector<SloResult> slos;
  std::optional<Baseline> baseline;

  bool operator==(const ScenarioResult&) const = default;
};

// Which slice of a sharded run this run is (`faultline run --shard K/N`,
// reports/shard.h), and the whole set it was cut from, so that a merge can
// tell that shards belong together, are all there and do not overlap.
struct ShardInfo {
  std::uint32_t index = 1;  // K, from 1
  std::uint32_t count = 1;  // N
  std::uint64_t runs_in_set = 0;  // runs of the unsharded run
  std::string set_digest;         // reports::RunSetDigest of those runs, in run order
  std::uint64_t internal_errors = 0;  // runs of this shard that ended in a bug of faultline

  bool operator==(const ShardInfo&) const = default;
};

// How a live run (`faultline run --mode live`) ran: the time scale, where
// the servers and the workers were, and the servers' versions as they
// reported them. Absent from a simulated run's result.
struct LiveInfo {
  double time_scale = 1;           // scenario seconds per real second
  bool servers_started = false;    // private servers this run started (else given by URL)
  std::string harness_host;        // the machine faultline ran on (its host name)
  std::string workers_host;        // where the faultline-agent processes ran
  std::string redis_address;       // host:port
  std::string postgres_address;    // host:port
  std::string redis_version;       // INFO server's redis_version
  std::string postgres_version;    // SHOW server_version

  bool operator==(const LiveInfo&) const = default;
};

struct RunResult {
  std::string tool_version;               // "0.1.0"
  // The command that reproduces the results (harness::canonical_command):
  // what decides them, not --out, --jobs or --shard, so every shard of a
  // run records the unsharded run's command.
  std::vector<std::string> command_line;
  std::string started_at;                 // ISO 8601 UTC, given by the caller
  std::string runtime;                    // "sim" or "live"
  std::vector<ScenarioResult> scenarios;
  // Set in a shard's result only; a merged run has none, as the unsharded
  // run has none. (Last, so positional initialisers keep their meaning.)
  std::optional<ShardInfo> shard;
  // Set by a live run only (last, so positional initialisers keep their meaning).
  std::optional<LiveInfo> live;

  bool operator==(const RunResult&) const = default;
};

// The most severe scenario verdict; kPass for a run without scenarios.
Verdict overall_verdict(const RunResult& run);

// How many scenarios of a run ended with each verdict.
struct VerdictCounts {
  std::uint64_t passed = 0;
  std::uint64_t inconclusive = 0;
  std::uint64_t failed = 0;
  std::uint64_t aborted = 0;
  std::uint64_t errors = 0;

  std::uint64_t total() const { return passed + inconclusive + failed + aborted + errors; }
  bool operator==(const VerdictCounts&) const = default;
};
[[nodiscard]] VerdictCounts count_verdicts(const RunResult& run);

}  // namespace faultline::reports
