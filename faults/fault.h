// The fault catalogue: every kind of fault a scenario can schedule, and its
// specification as read from a scenario file. A fault has a kind, a target,
// a window [start, start + duration), a probability that it strikes a call
// (or an invoice, or a message) inside its window, and kind-specific
// parameters. How a kind reaches the system is decided by its family:
//
//   port decorators   latency, hang, error, outage, invalid_output (service
//                     ports), checkpoint_outage (checkpoint store),
//                     duplicate_delivery, reordering, bus_partition (bus)
//   supervisor        crash (stop the agent at start, restart it at the end)
//   bus (by agent)    pause (the agent frozen for the window: what it would
//                     receive and what it sends are held until the end;
//                     faults/pause_faults.h)
//   live harness      crash of a server (redis, postgres), and network (a
//                     role's link to Redis or PostgreSQL through a TCP fault
//                     proxy): live mode only, the simulator refuses them
//                     (harness::check_sim_scenario)
//   workload          saturation (arrival multiplier), corrupted_input
//
//   auto spec = parse_fault(root["faults"].elements()[0]);   // throws ConfigError
//   if (spec.kind == FaultKind::latency) ... spec.delay ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resilience/outcome.h"
#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::faults {

enum class FaultKind : std::uint8_t {
  latency,
  hang,
  error,
  outage,
  crash,
  saturation,
  corrupted_input,
  duplicate_delivery,
  reordering,
  checkpoint_outage,
  bus_partition,
  invalid_output,
  pause,
  network,
};
inline constexpr std::size_t kFaultKindCount = 14;

// What corrupted input looks like (the article's "invalid data").
enum class Corruption : std::uint8_t {
  truncated,        // the document stops half way
  bit_flips,        // a few random bits flipped
  missing_field,    // a required field removed
  wrong_type,       // a number where a string belongs and the reverse
  negative_amount,  // total below zero
  huge_amount,      // total far beyond any budget
  bad_encoding,     // bytes that are not UTF-8
  duplicate_id,     // the id of an invoice already submitted
  markup,           // HTML/script in text fields
  injection,        // SQL and prompt-injection strings in text fields
};
inline constexpr std::size_t kCorruptionCount = 10;

// What an LLM-like engine returns instead of an answer.
enum class InvalidOutput : std::uint8_t { refusal, garbage };

// network: which server a role's link leads to, and what the link does.
enum class NetworkLink : std::uint8_t { redis, postgres };
enum class NetworkMode : std::uint8_t { delay, bandwidth, reset, black_hole };

// The family a target belongs to decides which kinds may aim at it.
// `server`: Redis or PostgreSQL themselves, which only live mode has.
enum class TargetFamily : std::uint8_t { service, model_service, agent, workload, bus, checkpoint_store, server };

struct FaultSpec {
  FaultKind kind = FaultKind::latency;
  std::string target;
  runtime::Duration start{};
  runtime::Duration duration{};
  double probability = 1.0;
  // Which random stream it draws from: its position in the schedule unless
  // the file says ("stream"), so that a shrinker removing other faults
  // leaves the draws of the ones it keeps as they were.
  std::uint32_t stream = 0;
  std::string label;  // "fault/<stream>/<kind>": its event source and random stream

  runtime::Duration delay{};         // latency: added to every call struck
  runtime::Duration delay_jitter{};  // latency: plus uniform [0, jitter)
  // error: the class the callee reports (transient, permanent or rate_limited).
  resilience::ErrorClass error_class = resilience::ErrorClass::transient;
  double multiplier = 1.0;                          // saturation
  std::vector<Corruption> corruptions;              // corrupted_input: modes drawn from
  std::uint32_t copies = 1;                         // duplicate_delivery: extra copies
  runtime::Duration reorder_window{};               // reordering: max hold-back
  std::vector<InvalidOutput> outputs;               // invalid_output: modes drawn from
  NetworkLink link = NetworkLink::redis;            // network: "to"
  NetworkMode network_mode = NetworkMode::delay;    // network: "mode" (delay: `delay` above)
  std::uint64_t bytes_per_second = 0;               // network, bandwidth mode

  runtime::Duration end() const { return start + duration; }
  bool active_at(runtime::Duration since_start) const {
    return since_start >= start && since_start < end();
  }
};

std::string_view to_string(FaultKind kind) noexcept;
std::string_view to_string(Corruption c) noexcept;
std::string_view to_string(InvalidOutput o) noexcept;
std::string_view to_string(TargetFamily f) noexcept;
std::string_view to_string(NetworkLink l) noexcept;
std::string_view to_string(NetworkMode m) noexcept;
std::optional<FaultKind> fault_kind_from(std::string_view name) noexcept;
std::optional<Corruption> corruption_from(std::string_view name) noexcept;

// The targets a scenario may name, with their family.
struct Target {
  std::string_view name;
  TargetFamily family;
};
// The simulator's targets (what explore draws from).
const std::vector<Target>& known_targets();
// Targets only live mode has: the servers (redis, postgres) a crash may kill.
const std::vector<Target>& live_only_targets();
bool live_only_target(std::string_view name) noexcept;
// Kinds only live mode plays (network): the simulator refuses them and
// explore never draws them.
bool live_only_kind(FaultKind kind) noexcept;
// The family of a known or live-only target.
std::optional<TargetFamily> target_family(std::string_view name) noexcept;
// Whether `kind` can aim at a target of `family`.
bool kind_accepts(FaultKind kind, TargetFamily family) noexcept;

// Reads one entry of a scenario's "faults" array; `index` names its stream.
// Unknown kinds, targets, keys, bad durations and out-of-range numbers throw
// runtime::ConfigError naming the file and JSON path.
[[nodiscard]] FaultSpec parse_fault(const runtime::JsonView& node, std::size_t index);

// The same fault written back as JSON (for reports and replays).
nlohmann::json to_json(const FaultSpec& spec);

}  // namespace faultline::faults
