#include "harness/scenario.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "reference_system/ids.h"
#include "runtime/json_config.h"
#include "runtime/random.h"

namespace faultline::harness {

namespace fs = std::filesystem;

const std::vector<std::string>& invariant_ids() {
  static const std::vector<std::string> ids = {
      "conservation", "exactly_once", "bounded_retries", "timeouts",   "circuit_breaker", "resumption",
      "degradation",  "validation",   "visibility",      "saturation", "recovery_time"};
  return ids;
}

namespace {

WorkloadSpec parse_workload(const runtime::JsonView& w) {
  w.expect_keys({"rate_per_hour", "scan_quality", "corrupted_share", "unmatched_po_share", "max_invoices"});
  WorkloadSpec spec;
  spec.rate_per_hour = w.number("rate_per_hour", 0.001, 1e7);
  if (auto q = w.find("scan_quality")) {
    q->expect_keys({"good", "fair", "poor"});
    spec.quality_given = true;
    spec.quality_good = q->number_or("good", 0.0, 0.0, 1.0);
    spec.quality_fair = q->number_or("fair", 0.0, 0.0, 1.0);
    spec.quality_poor = q->number_or("poor", 0.0, 0.0, 1.0);
    const double sum = spec.quality_good + spec.quality_fair + spec.quality_poor;
    if (std::abs(sum - 1.0) > 1e-6) q->fail_with(fmt::format("expected shares that sum to 1, got {:.4g}", sum));
  }
  spec.corrupted_share = w.number_or("corrupted_share", 0.0, 0.0, 1.0);
  if (w.has("unmatched_po_share")) spec.unmatched_po_share = w.number("unmatched_po_share", 0.0, 1.0);
  spec.max_invoices = static_cast<std::uint64_t>(w.integer_or("max_invoices", 200'000, 1, 10'000'000));
  return spec;
}

Expectations parse_expect(const runtime::JsonView& e) {
  e.expect_keys({"invariants", "slo", "success_rate_min", "recovery_time_max", "recovered_throughput_share"});
  Expectations x;
  if (auto inv = e.find("invariants")) {
    for (const auto& item : inv->elements()) {
      const auto id = item.as_string();
      if (id == "all") {
        x.invariants = invariant_ids();
        continue;
      }
      if (std::find(invariant_ids().begin(), invariant_ids().end(), id) == invariant_ids().end()) {
        std::string list;
        for (const auto& known : invariant_ids()) list += (list.empty() ? "" : ", ") + known;
        item.fail("an invariant id (\"all\" or one of " + list + ")");
      }
      if (std::find(x.invariants.begin(), x.invariants.end(), id) == x.invariants.end()) x.invariants.push_back(id);
    }
  } else {
    x.invariants = invariant_ids();
  }
  if (auto slo = e.find("slo")) {
    slo->expect_keys({"enabled", "agent_error_rate_max", "p99_ratio_max", "open_circuits_max", "dlq_max",
                      "retries_per_minute_max"});
    x.slo.enabled = slo->boolean_or("enabled", true);
    x.slo.agent_error_rate_max = slo->number_or("agent_error_rate_max", x.slo.agent_error_rate_max, 0.0, 1.0);
    x.slo.p99_ratio_max = slo->number_or("p99_ratio_max", x.slo.p99_ratio_max, 1.0, 1e6);
    x.slo.open_circuits_max =
        static_cast<std::uint32_t>(slo->integer_or("open_circuits_max", x.slo.open_circuits_max, 0, 100));
    x.slo.dlq_max = static_cast<std::uint64_t>(slo->integer_or("dlq_max", 100, 0, 100'000'000));
    x.slo.retries_per_minute_max =
        slo->number_or("retries_per_minute_max", x.slo.retries_per_minute_max, 0.0, 1e9);
  }
  x.success_rate_min = e.number_or("success_rate_min", 0.0, 0.0, 1.0);
  x.recovery_time_max = e.duration_or("recovery_time_max", x.recovery_time_max);
  x.recovered_throughput_share = e.number_or("recovered_throughput_share", 0.8, 0.0, 1.0);
  return x;
}

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace

Scenario parse_scenario(const nlohmann::json& doc, const std::string& file) {
  runtime::JsonView root(doc, file);
  if (!root.is_object()) root.fail("a scenario object");
  root.expect_keys({"$schema", "name", "description", "seed", "duration", "drain", "workload", "policy", "world", "models",
                    "faults", "expect", "agents"});
  Scenario s;
  s.file = file;
  s.name = root.string("name");
  if (s.name.empty()) root["name"].fail("a non-empty name");
  s.description = root.string_or("description", "");
  s.seed = root.unsigned_integer_or("seed", 1);
  s.duration = root.duration("duration");
  if (s.duration <= Duration::zero()) root["duration"].fail("a positive duration such as \"30m\"");
  s.drain = root.duration_or("drain", s.drain);
  s.workload = parse_workload(root["workload"]);

  const auto policy = root["policy"];
  const auto policy_text = policy.as_string();
  if (policy_text.empty()) policy.fail("a policy file path");
  const fs::path base = fs::path(file).parent_path();
  s.policy_file = fs::path(policy_text).is_absolute() ? policy_text : (base / policy_text).lexically_normal().string();

  if (auto world = root.find("world")) {
    const auto text = world->as_string();
    if (text.empty()) world->fail("a world model file path");
    s.world_file = fs::path(text).is_absolute() ? text : (base / text).lexically_normal().string();
  }

  if (auto models = root.find("models")) {
    for (const auto& [service, params] : models->members()) {
      if (!reference_system::service_from(service)) {
        std::string list;
        for (const auto known : reference_system::kServices) {
          list += (list.empty() ? "" : ", ") + std::string(reference_system::to_string(known));
        }
        params.fail_with("unknown service \"" + service + "\" (expected one of: " + list + ")");
      }
      if (!params.is_object()) params.fail("an object of model parameters");
    }
    s.model_overrides = models->raw();
  }

  if (auto agents = root.find("agents")) {
    if (!agents->is_object()) agents->fail("an object of role -> {\"command\": [...], \"replicas\": N}");
    for (const auto& [role, spec] : agents->members()) {
      static constexpr std::string_view kAgentRoles[] = {"ocr", "validation", "matching", "accounting", "archive"};
      if (std::find(std::begin(kAgentRoles), std::end(kAgentRoles), role) == std::end(kAgentRoles)) {
        spec.fail_with("unknown agent role \"" + role +
                       "\" (expected one of: ocr, validation, matching, accounting, archive; the orchestrator is the "
                       "system under test's own and cannot be replaced)");
      }
      if (!spec.is_object()) spec.fail("an object {\"command\": [\"program\", \"arg\", ...], \"replicas\": N}");
      spec.expect_keys({"command", "replicas"});
      AgentSpec a;
      if (auto command = spec.find("command")) {
        if (!command->is_array() || command->elements().empty()) {
          command->fail("a non-empty array of strings: the program and its arguments");
        }
        for (const auto& word : command->elements()) {
          a.command.push_back(word.as_string());
          if (a.command.back().empty()) word.fail("a non-empty string");
        }
      }
      a.replicas = static_cast<std::uint32_t>(spec.integer_or("replicas", 1, 1, 16));
      s.agents[role] = std::move(a);
    }
  }

  if (auto faults = root.find("faults")) {
    std::size_t index = 0;
    for (const auto& f : faults->elements()) {
      auto spec = faults::parse_fault(f, index++);
      if (spec.start >= s.duration) {
        f["start"].fail("a start inside the scenario's duration (" + runtime::format_duration(s.duration) + ")");
      }
      // A window cut short by the scenario's end would be judged (recovery,
      // breaker closing) on a fault that never ended: an input error.
      if (spec.end() > s.duration) {
        f.fail_with("the fault's window ends at " + runtime::format_duration(spec.end()) +
                    ", after the scenario's duration (" + runtime::format_duration(s.duration) +
                    "): expected start + duration within it");
      }
      // A pause freezes a process the crash may have killed, or another
      // pause may be about to wake: what either would mean is not a fault
      // anyone schedules on purpose, so a pause overlaps neither on its role.
      for (std::size_t j = 0; j < s.faults.size(); ++j) {
        const auto& other = s.faults[j];
        const bool pause_involved = spec.kind == faults::FaultKind::pause || other.kind == faults::FaultKind::pause;
        const bool agent_faults = (spec.kind == faults::FaultKind::pause || spec.kind == faults::FaultKind::crash) &&
                                  (other.kind == faults::FaultKind::pause || other.kind == faults::FaultKind::crash);
        if (!pause_involved || !agent_faults || other.target != spec.target) continue;
        if (spec.start < other.end() && other.start < spec.end()) {
          f.fail_with(fmt::format("the {} of '{}' overlaps the {} of '{}' ($.faults[{}]): expected a pause whose "
                                  "window shares no time with another pause or a crash of the same role",
                                  faults::to_string(spec.kind), spec.target, faults::to_string(other.kind),
                                  other.target, j));
        }
      }
      for (const auto& other : s.faults) {
        // The label names the fault's random stream and event source.
        if (other.label == spec.label) {
          f.fail_with("two faults of one kind draw from one random stream (" + spec.label +
                      "): expected a \"stream\" no other fault of its kind uses");
        }
      }
      s.faults.push_back(std::move(spec));
    }
  }
  if (auto expect = root.find("expect")) s.expect = parse_expect(*expect);
  else s.expect.invariants = invariant_ids();
  return s;
}

Scenario load_scenario(const std::string& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw runtime::ConfigError(file, "$", "is a folder, not a scenario file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw runtime::ConfigError(file, "$", "cannot open the scenario file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string text = bytes.str();
  auto s = parse_scenario(runtime::parse_json_text(text, file), file);
  s.digest = hex64(runtime::fnv1a64(text));
  s.absolute_file = fs::absolute(file, ec).lexically_normal().string();
  return s;
}

std::vector<std::string> expand_scenario_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  auto unreadable = [](const fs::path& p, const std::error_code& ec) {
    return runtime::ConfigError(p.string(), "$", "cannot read: " + ec.message());
  };
  for (const auto& p : paths) {
    std::error_code ec;
    const auto status = fs::status(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) throw unreadable(p, ec);
    if (fs::is_directory(status)) {
      std::vector<std::string> found;
      fs::directory_iterator it(p, ec);
      if (ec) throw unreadable(p, ec);
      for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) throw unreadable(p, ec);
        const auto& entry = *it;
        if (entry.path().extension() != ".json") continue;
        if (entry.path().filename().string().find(".schema.") != std::string::npos) continue;
        const bool regular = entry.is_regular_file(ec);
        // A link that loops or points nowhere is named, not skipped: the
        // suite would otherwise pass without a scenario someone meant to run.
        if (ec) throw unreadable(entry.path(), ec);
        if (!regular) continue;
        found.push_back(entry.path().string());
      }
      if (ec) throw unreadable(p, ec);
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(status)) {
      out.push_back(p);
    } else {
      throw runtime::ConfigError(p, "$", "no such scenario file or folder");
    }
  }
  return out;
}

void check_sim_scenario(const Scenario& s) {
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const auto& target = s.faults[i].target;
    if (faults::live_only_kind(s.faults[i].kind)) {
      throw runtime::ConfigError(
          s.file, fmt::format("$.faults[{}].kind", i),
          fmt::format("a live-only fault kind: a '{}' fault acts on a role's TCP connections to Redis or PostgreSQL, "
                      "which the simulator does not have; run this scenario with --mode live",
                      faults::to_string(s.faults[i].kind)));
    }
    if (!faults::live_only_target(target)) continue;
    throw runtime::ConfigError(
        s.file, fmt::format("$.faults[{}].target", i),
        fmt::format("a live-only target: the simulator has no '{}' server to crash; run this scenario with "
                    "--mode live (with the servers the harness starts)",
                    target));
  }
}

Scenario without_faults(const Scenario& s) {
  Scenario copy = s;
  copy.faults.clear();
  return copy;
}

}  // namespace faultline::harness
