#include "faults/fault.h"

#include <array>

namespace faultline::faults {

namespace {

constexpr std::array<std::string_view, kFaultKindCount> kKindNames = {
    "latency",     "hang",          "error",           "outage",     "crash",
    "saturation",  "corrupted_input", "duplicate_delivery", "reordering", "checkpoint_outage",
    "bus_partition", "invalid_output", "pause", "network"};

constexpr std::array<std::string_view, kCorruptionCount> kCorruptionNames = {
    "truncated",  "bit_flips",    "missing_field", "wrong_type", "negative_amount",
    "huge_amount", "bad_encoding", "duplicate_id",  "markup",     "injection"};

std::string joined(const auto& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

std::string_view to_string(FaultKind kind) noexcept { return kKindNames[static_cast<std::size_t>(kind)]; }

std::string_view to_string(Corruption c) noexcept { return kCorruptionNames[static_cast<std::size_t>(c)]; }

std::string_view to_string(InvalidOutput o) noexcept {
  return o == InvalidOutput::refusal ? "refusal" : "garbage";
}

std::string_view to_string(TargetFamily f) noexcept {
  switch (f) {
    case TargetFamily::service: return "service";
    case TargetFamily::model_service: return "model service";
    case TargetFamily::agent: return "agent";
    case TargetFamily::workload: return "workload";
    case TargetFamily::bus: return "bus";
    case TargetFamily::checkpoint_store: return "checkpoint store";
    case TargetFamily::server: return "server";
  }
  return "?";
}

std::string_view to_string(NetworkLink l) noexcept { return l == NetworkLink::redis ? "redis" : "postgres"; }

std::string_view to_string(NetworkMode m) noexcept {
  switch (m) {
    case NetworkMode::delay: return "delay";
    case NetworkMode::bandwidth: return "bandwidth";
    case NetworkMode::reset: return "reset";
    case NetworkMode::black_hole: return "black_hole";
  }
  return "?";
}

bool live_only_kind(FaultKind kind) noexcept { return kind == FaultKind::network; }

std::optional<FaultKind> fault_kind_from(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<FaultKind>(i);
  }
  return std::nullopt;
}

std::optional<Corruption> corruption_from(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kCorruptionNames.size(); ++i) {
    if (kCorruptionNames[i] == name) return static_cast<Corruption>(i);
  }
  return std::nullopt;
}

const std::vector<Target>& known_targets() {
  static const std::vector<Target> targets = {
      {"ocr_engine", TargetFamily::model_service},   {"backup_ocr", TargetFamily::model_service},
      {"po_database", TargetFamily::service},        {"budget_service", TargetFamily::service},
      {"ledger", TargetFamily::service},             {"notifier", TargetFamily::service},
      {"ocr", TargetFamily::agent},                  {"validation", TargetFamily::agent},
      {"matching", TargetFamily::agent},             {"accounting", TargetFamily::agent},
      {"orchestrator", TargetFamily::agent},
      {"workload", TargetFamily::workload},          {"bus", TargetFamily::bus},
      {"checkpoint_store", TargetFamily::checkpoint_store},
  };
  return targets;
}

const std::vector<Target>& live_only_targets() {
  static const std::vector<Target> targets = {{"redis", TargetFamily::server}, {"postgres", TargetFamily::server}};
  return targets;
}

bool live_only_target(std::string_view name) noexcept {
  for (const auto& t : live_only_targets()) {
    if (t.name == name) return true;
  }
  return false;
}

std::optional<TargetFamily> target_family(std::string_view name) noexcept {
  for (const auto& t : known_targets()) {
    if (t.name == name) return t.family;
  }
  for (const auto& t : live_only_targets()) {
    if (t.name == name) return t.family;
  }
  return std::nullopt;
}

bool kind_accepts(FaultKind kind, TargetFamily family) noexcept {
  switch (kind) {
    case FaultKind::latency:
    case FaultKind::hang:
    case FaultKind::error:
    case FaultKind::outage:
      return family == TargetFamily::service || family == TargetFamily::model_service;
    case FaultKind::invalid_output: return family == TargetFamily::model_service;
    case FaultKind::crash: return family == TargetFamily::agent || family == TargetFamily::server;
    case FaultKind::pause: return family == TargetFamily::agent;
    case FaultKind::saturation:
    case FaultKind::corrupted_input: return family == TargetFamily::workload;
    case FaultKind::duplicate_delivery:
    case FaultKind::reordering:
    case FaultKind::bus_partition: return family == TargetFamily::bus;
    case FaultKind::checkpoint_outage: return family == TargetFamily::checkpoint_store;
    case FaultKind::network: return family == TargetFamily::agent;
  }
  return false;
}

namespace {

// A network fault: a role's link to a server, through a TCP fault proxy of
// its own, in live mode only (harness/live/live_proxies.h).
void parse_network(const runtime::JsonView& node, FaultSpec& spec) {
  spec.link = node.choice("to", {"redis", "postgres"}) == "redis" ? NetworkLink::redis : NetworkLink::postgres;
  const auto mode = node.choice("mode", {"delay", "bandwidth", "reset", "black_hole"});
  spec.network_mode = mode == "delay"       ? NetworkMode::delay
                      : mode == "bandwidth" ? NetworkMode::bandwidth
                      : mode == "reset"     ? NetworkMode::reset
                                            : NetworkMode::black_hole;
  // The proxy acts on every connection of the role's link, not on a share.
  if (spec.probability != 1.0) {
    node["probability"].fail("1 (or no probability): a network fault acts on every connection of the role's link");
  }
  if (spec.network_mode == NetworkMode::delay) {
    spec.delay = node.duration("delay");
    if (spec.delay <= runtime::Duration::zero()) node["delay"].fail("a positive duration such as \"200ms\"");
  } else if (node.has("delay")) {
    node["delay"].fail("no \"delay\" (it is for mode \"delay\" only)");
  }
  if (spec.network_mode == NetworkMode::bandwidth) {
    spec.bytes_per_second = static_cast<std::uint64_t>(node.integer("bytes_per_second", 1, 1'000'000'000'000));
  } else if (node.has("bytes_per_second")) {
    node["bytes_per_second"].fail("no \"bytes_per_second\" (it is for mode \"bandwidth\" only)");
  }
}

}  // namespace

FaultSpec parse_fault(const runtime::JsonView& node, std::size_t index) {
  if (!node.is_object()) node.fail("an object describing one fault");
  FaultSpec spec;
  const auto kind_node = node["kind"];
  const auto kind_name = kind_node.as_string();
  const auto kind = fault_kind_from(kind_name);
  if (!kind) kind_node.fail("a fault kind (one of " + joined(kKindNames) + ")");
  spec.kind = *kind;

  std::vector<std::string> keys = {"kind", "target", "start", "duration", "probability", "stream", "note"};
  switch (spec.kind) {
    case FaultKind::latency: keys.insert(keys.end(), {"delay", "jitter"}); break;
    case FaultKind::error: keys.push_back("class"); break;
    case FaultKind::saturation: keys.push_back("multiplier"); break;
    case FaultKind::corrupted_input: keys.push_back("modes"); break;
    case FaultKind::duplicate_delivery: keys.push_back("copies"); break;
    case FaultKind::reordering: keys.push_back("window"); break;
    case FaultKind::invalid_output: keys.push_back("modes"); break;
    case FaultKind::network: keys.insert(keys.end(), {"to", "mode", "delay", "bytes_per_second"}); break;
    default: break;
  }
  node.expect_keys(keys);

  const auto target_node = node["target"];
  spec.target = target_node.as_string();
  const auto family = target_family(spec.target);
  std::string accepted;
  for (const auto& t : known_targets()) {
    if (!kind_accepts(spec.kind, t.family)) continue;
    if (!accepted.empty()) accepted += ", ";
    accepted += t.name;
  }
  std::string live_only;
  for (const auto& t : live_only_targets()) {
    if (!kind_accepts(spec.kind, t.family)) continue;
    live_only += (live_only.empty() ? "" : " or ") + std::string(t.name);
  }
  if (!family || !kind_accepts(spec.kind, *family)) {
    target_node.fail("a target for a " + std::string(kind_name) + " fault (one of " + accepted + ")" +
                     (live_only.empty() ? "" : ", or in live mode only " + live_only));
  }

  spec.start = node.duration("start");
  spec.duration = node.duration("duration");
  if (spec.duration <= runtime::Duration::zero()) node["duration"].fail("a positive duration such as \"30s\"");
  spec.probability = node.number_or("probability", 1.0, 0.0, 1.0);
  spec.stream = static_cast<std::uint32_t>(node.integer_or("stream", static_cast<std::int64_t>(index), 0, 1'000'000));
  spec.label = "fault/" + std::to_string(spec.stream) + "/" + std::string(kind_name);

  switch (spec.kind) {
    case FaultKind::latency:
      spec.delay = node.duration("delay");
      if (spec.delay <= runtime::Duration::zero()) node["delay"].fail("a positive duration such as \"30s\"");
      spec.delay_jitter = node.duration_or("jitter", runtime::Duration::zero());
      break;
    case FaultKind::error: {
      const auto c = node.choice_or("class", "transient", {"transient", "permanent", "rate_limited"});
      // Only the classes a callee itself reports; the rest (timeout,
      // circuit_open, ...) are decided on the caller's side.
      if (!resilience::parse_error_class(c, spec.error_class)) node["class"].fail("transient, permanent or rate_limited");
      break;
    }
    case FaultKind::saturation:
      spec.multiplier = node.number("multiplier", 1.0, 1000.0);
      break;
    case FaultKind::corrupted_input:
      if (auto modes = node.find("modes")) {
        for (const auto& m : modes->elements()) {
          const auto name = m.as_string();
          const auto c = corruption_from(name);
          if (!c) m.fail("a corruption mode (one of " + joined(kCorruptionNames) + ")");
          spec.corruptions.push_back(*c);
        }
        if (spec.corruptions.empty()) modes->fail("a non-empty array of corruption modes");
      } else {
        for (std::size_t i = 0; i < kCorruptionCount; ++i) spec.corruptions.push_back(static_cast<Corruption>(i));
      }
      break;
    case FaultKind::duplicate_delivery:
      spec.copies = static_cast<std::uint32_t>(node.integer_or("copies", 1, 1, 10));
      break;
    case FaultKind::reordering:
      spec.reorder_window = node.duration("window");
      if (spec.reorder_window <= runtime::Duration::zero()) node["window"].fail("a positive duration such as \"2s\"");
      break;
    case FaultKind::invalid_output:
      if (auto modes = node.find("modes")) {
        for (const auto& m : modes->elements()) {
          const auto name = m.as_string();
          if (name == "refusal") spec.outputs.push_back(InvalidOutput::refusal);
          else if (name == "garbage") spec.outputs.push_back(InvalidOutput::garbage);
          else m.fail("an invalid-output mode (\"refusal\" or \"garbage\")");
        }
        if (spec.outputs.empty()) modes->fail("a non-empty array of invalid-output modes");
      } else {
        spec.outputs = {InvalidOutput::refusal, InvalidOutput::garbage};
      }
      break;
    case FaultKind::network: parse_network(node, spec); break;
    default: break;
  }
  return spec;
}

nlohmann::json to_json(const FaultSpec& spec) {
  nlohmann::json j;
  j["kind"] = std::string(to_string(spec.kind));
  j["target"] = spec.target;
  j["start"] = runtime::format_duration(spec.start);
  j["duration"] = runtime::format_duration(spec.duration);
  j["probability"] = spec.probability;
  j["stream"] = spec.stream;
  switch (spec.kind) {
    case FaultKind::latency:
      j["delay"] = runtime::format_duration(spec.delay);
      if (spec.delay_jitter > runtime::Duration::zero()) j["jitter"] = runtime::format_duration(spec.delay_jitter);
      break;
    case FaultKind::error: j["class"] = std::string(resilience::to_string(spec.error_class)); break;
    case FaultKind::saturation: j["multiplier"] = spec.multiplier; break;
    case FaultKind::corrupted_input: {
      auto& modes = j["modes"] = nlohmann::json::array();
      for (auto c : spec.corruptions) modes.push_back(std::string(to_string(c)));
      break;
    }
    case FaultKind::duplicate_delivery: j["copies"] = spec.copies; break;
    case FaultKind::reordering: j["window"] = runtime::format_duration(spec.reorder_window); break;
    case FaultKind::invalid_output: {
      auto& modes = j["modes"] = nlohmann::json::array();
      for (auto o : spec.outputs) modes.push_back(std::string(to_string(o)));
      break;
    }
    case FaultKind::network:
      j["to"] = std::string(to_string(spec.link));
      j["mode"] = std::string(to_string(spec.network_mode));
      if (spec.network_mode == NetworkMode::delay) j["delay"] = runtime::format_duration(spec.delay);
      if (spec.network_mode == NetworkMode::bandwidth) j["bytes_per_second"] = spec.bytes_per_second;
      break;
    default: break;
  }
  return j;
}

}  // namespace faultline::faults
