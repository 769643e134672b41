// report.json writer and reader (json_report.h). The writer uses ordered_json
// so members keep the documented order; the reader goes through JsonView so
// every error names file, path and expectation.
#include "reports/json_report.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "reports/internal/text.h"
#include "reports/shard.h"
#include "runtime/json_config.h"

namespace faultline::reports {

namespace {

using nlohmann::ordered_json;
using runtime::JsonView;

std::string clean(std::string_view s) { return internal::sanitize_utf8(s); }

// A path is bytes. One that is UTF-8 is written as it is; one that is not
// is written readable (invalid bytes replaced) and, exactly, as hex under
// "<key>_hex", which a reader prefers.
void put_path(ordered_json& j, const std::string& key, const std::string& path) {
  j[key] = clean(path);
  if (clean(path) == path) return;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : path) {
    hex += kHex[c >> 4];
    hex += kHex[c & 0xF];
  }
  j[key + "_hex"] = hex;
}

ordered_json real(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}
ordered_json ms(Duration d) { return internal::to_ms(d); }
ordered_json optional_ms(const std::optional<Duration>& d) {
  if (!d) return nullptr;
  return ms(*d);
}

ordered_json latency_json(const LatencySummary& l) {
  ordered_json j;
  j["count"] = l.count;
  j["p50_ms"] = ms(l.p50);
  j["p95_ms"] = ms(l.p95);
  j["p99_ms"] = ms(l.p99);
  j["max_ms"] = ms(l.max);
  j["mean_ms"] = ms(l.mean);
  return j;
}

ordered_json scenario_json(const ScenarioResult& s) {
  ordered_json j;
  j["name"] = clean(s.name);
  j["description"] = clean(s.description);
  j["verdict"] = to_string(s.verdict);
  j["verdict_reason"] = clean(s.verdict_reason);
  j["seed"] = s.seed;
  j["replay_command"] = clean(s.replay_command);
  j["policy_name"] = clean(s.policy_name);
  j["policy_digest"] = clean(s.policy_digest);
  j["scenario_digest"] = clean(s.scenario_digest);
  put_path(j, "scenario_file", s.scenario_file);
  put_path(j, "scenario_path", s.scenario_path);
  put_path(j, "policy_file", s.policy_file);
  put_path(j, "policy_path", s.policy_path);
  j["duration_ms"] = ms(s.duration);

  const auto& o = s.outcomes;
  j["outcomes"] = ordered_json{{"submitted", o.submitted},         {"posted", o.posted},
                               {"posted_degraded", o.posted_degraded}, {"rejected_invalid", o.rejected_invalid},
                               {"dead_lettered", o.dead_lettered}, {"manual_review", o.manual_review},
                               {"refused", o.refused},             {"lost", o.lost},
                               {"in_flight", o.in_flight}};
  j["success_rate"] = real(s.success_rate);
  j["throughput_per_s"] = real(s.throughput_per_s);
  j["latency_end_to_end"] = latency_json(s.end_to_end);

  ordered_json agents = ordered_json::array();
  for (const auto& a : s.agents) {
    ordered_json aj;
    aj["name"] = clean(a.name);
    aj["calls"] = a.calls;
    aj["errors"] = a.errors;
    aj["error_rate"] = real(a.error_rate);
    aj["retries"] = a.retries;
    aj["latency"] = latency_json(a.latency);
    agents.push_back(std::move(aj));
  }
  j["agents"] = std::move(agents);

  j["retries"] = s.retries;
  j["retries_per_minute"] = real(s.retries_per_minute);
  j["dlq_size_final"] = s.dlq_size_final;
  j["dlq_size_max"] = s.dlq_size_max;

  ordered_json breakers = ordered_json::array();
  for (const auto& b : s.breakers) {
    ordered_json transitions = ordered_json::array();
    for (const auto& t : b.transitions) {
      transitions.push_back(ordered_json{{"at_ms", ms(t.at)}, {"from", to_string(t.from)}, {"to", to_string(t.to)}});
    }
    breakers.push_back(ordered_json{{"service", clean(b.service)},
                                    {"transitions", std::move(transitions)},
                                    {"transitions_dropped", b.transitions_dropped}});
  }
  j["breakers"] = std::move(breakers);

  ordered_json buckets = ordered_json::array();
  for (const auto& b : s.series.buckets) {
    ordered_json states = ordered_json::object();
    for (const auto& [service, state] : b.breaker_states) states[clean(service)] = to_string(state);
    buckets.push_back(ordered_json{{"start_ms", ms(b.start)},
                                   {"submitted", b.submitted},
                                   {"completed", b.completed},
                                   {"succeeded", b.succeeded},
                                   {"dlq_size", b.dlq_size},
                                   {"breakers", std::move(states)}});
  }
  j["series"] = ordered_json{{"bucket_width_ms", ms(s.series.bucket_width)},
                             {"buckets", std::move(buckets)},
                             {"buckets_dropped", s.series.buckets_dropped}};

  ordered_json faults = ordered_json::array();
  for (const auto& f : s.faults) {
    faults.push_back(ordered_json{{"kind", clean(f.kind)},
                                  {"target", clean(f.target)},
                                  {"start_ms", ms(f.start)},
                                  {"end_ms", ms(f.end)},
                                  {"hit_count", f.hit_count},
                                  {"time_to_detect_ms", optional_ms(f.time_to_detect)},
                                  {"time_to_recover_ms", optional_ms(f.time_to_recover)}});
  }
  j["faults"] = std::move(faults);

  ordered_json invariants = ordered_json::array();
  for (const auto& inv : s.invariants) {
    ordered_json evidence = ordered_json::array();
    for (const auto& line : inv.evidence) evidence.push_back(clean(line));
    invariants.push_back(ordered_json{{"id", clean(inv.id)},
                                      {"name", clean(inv.name)},
                                      {"passed", inv.passed},
                                      {"skipped", inv.skipped},
                                      {"message", clean(inv.message)},
                                      {"evidence", std::move(evidence)},
                                      {"evidence_dropped", inv.evidence_dropped}});
  }
  j["invariants"] = std::move(invariants);

  ordered_json slos = ordered_json::array();
  for (const auto& slo : s.slos) {
    slos.push_back(ordered_json{{"name", clean(slo.name)},
                                {"comparison", to_string(slo.comparison)},
                                {"threshold", real(slo.threshold)},
                                {"observed", real(slo.observed)},
                                {"unit", clean(slo.unit)},
                                {"passed", slo.passed},
                                {"message", clean(slo.message)}});
  }
  j["slos"] = std::move(slos);

  if (s.baseline) {
    j["baseline"] = ordered_json{{"success_rate", real(s.baseline->success_rate)},
                                 {"p99_ms", ms(s.baseline->p99)},
                                 {"throughput_per_s", real(s.baseline->throughput_per_s)}};
  } else {
    j["baseline"] = nullptr;
  }
  return j;
}

// ---- reading ----

std::uint64_t unsigned_at(const JsonView& v, std::string_view key) {
  const JsonView m = v[key];
  if (!m.raw().is_number_unsigned() && !(m.raw().is_number_integer() && m.raw().get<std::int64_t>() >= 0)) {
    m.fail("a non-negative integer");
  }
  return m.raw().get<std::uint64_t>();
}

double real_at(const JsonView& v, std::string_view key) {
  const JsonView m = v[key];
  if (m.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!m.raw().is_number()) m.fail("a number or null");
  return m.raw().get<double>();
}

Duration ms_value(const JsonView& m) {
  if (!m.raw().is_number()) m.fail("a number of milliseconds");
  const double value = m.raw().get<double>();
  // Durations up to ~100 days keep nanosecond precision in a double.
  if (!std::isfinite(value) || std::fabs(value) > 9.0e12) m.fail("a number of milliseconds within +-9e12");
  return Duration{static_cast<Duration::rep>(std::llround(value * 1e6))};
}
Duration ms_at(const JsonView& v, std::string_view key) { return ms_value(v[key]); }

std::optional<Duration> optional_ms_at(const JsonView& v, std::string_view key) {
  const JsonView m = v[key];
  if (m.is_null()) return std::nullopt;
  return ms_value(m);
}

template <typename T>
T enum_at(const JsonView& v, std::string_view key, std::optional<T> (*parse)(std::string_view), std::string_view expected) {
  const JsonView m = v[key];
  if (!m.raw().is_string()) m.fail(expected);
  const auto parsed = parse(m.raw().get_ref<const std::string&>());
  if (!parsed) m.fail(expected);
  return *parsed;
}

std::vector<JsonView> array_at(const JsonView& v, std::string_view key) {
  const JsonView m = v[key];
  if (!m.is_array()) m.fail("an array");
  return m.elements();
}

LatencySummary latency_from(const JsonView& v) {
  LatencySummary l;
  l.count = unsigned_at(v, "count");
  l.p50 = ms_at(v, "p50_ms");
  l.p95 = ms_at(v, "p95_ms");
  l.p99 = ms_at(v, "p99_ms");
  l.max = ms_at(v, "max_ms");
  l.mean = ms_at(v, "mean_ms");
  return l;
}

// A path written by put_path; "" when absent (reports of schema version 1).
std::string path_at(const JsonView& v, const std::string& key) {
  if (auto hex = v.find(key + "_hex")) {
    const std::string text = hex->as_string();
    if (text.size() % 2 != 0) hex->fail("an even number of hex digits");
    std::string bytes;
    for (std::size_t i = 0; i < text.size(); i += 2) {
      auto digit = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        hex->fail("lower-case hex digits");
      };
      bytes += static_cast<char>(digit(text[i]) * 16 + digit(text[i + 1]));
    }
    return bytes;
  }
  return v.string_or(key, "");
}

constexpr std::string_view kBreakerExpected = R"("closed", "open" or "half_open")";

ScenarioResult scenario_from(const JsonView& v) {
  ScenarioResult s;
  s.name = v.string("name");
  s.description = v.string("description");
  s.verdict = enum_at(v, "verdict", &parse_verdict, R"("pass", "inconclusive", "fail", "aborted" or "error")");
  s.verdict_reason = v.string("verdict_reason");
  s.seed = unsigned_at(v, "seed");
  s.replay_command = v.string("replay_command");
  s.policy_name = v.string("policy_name");
  s.policy_digest = v.string("policy_digest");
  s.scenario_digest = v.string("scenario_digest");
  s.scenario_file = path_at(v, "scenario_file");
  s.scenario_path = path_at(v, "scenario_path");
  s.policy_file = path_at(v, "policy_file");
  s.policy_path = path_at(v, "policy_path");
  s.duration = ms_at(v, "duration_ms");

  const JsonView o = v["outcomes"];
  s.outcomes.submitted = unsigned_at(o, "submitted");
  s.outcomes.posted = unsigned_at(o, "posted");
  s.outcomes.posted_degraded = unsigned_at(o, "posted_degraded");
  s.outcomes.rejected_invalid = unsigned_at(o, "rejected_invalid");
  s.outcomes.dead_lettered = unsigned_at(o, "dead_lettered");
  s.outcomes.manual_review = unsigned_at(o, "manual_review");
  // Absent from reports written before refusals were counted apart.
  s.outcomes.refused = o.find("refused") ? unsigned_at(o, "refused") : 0;
  s.outcomes.lost = unsigned_at(o, "lost");
  s.outcomes.in_flight = unsigned_at(o, "in_flight");
  s.success_rate = real_at(v, "success_rate");
  s.throughput_per_s = real_at(v, "throughput_per_s");
  s.end_to_end = latency_from(v["latency_end_to_end"]);

  for (const auto& a : array_at(v, "agents")) {
    AgentResult agent;
    agent.name = a.string("name");
    agent.calls = unsigned_at(a, "calls");
    agent.errors = unsigned_at(a, "errors");
    agent.error_rate = real_at(a, "error_rate");
    agent.retries = unsigned_at(a, "retries");
    agent.latency = latency_from(a["latency"]);
    s.agents.push_back(std::move(agent));
  }

  s.retries = unsigned_at(v, "retries");
  s.retries_per_minute = real_at(v, "retries_per_minute");
  s.dlq_size_final = unsigned_at(v, "dlq_size_final");
  s.dlq_size_max = unsigned_at(v, "dlq_size_max");

  for (const auto& b : array_at(v, "breakers")) {
    ServiceBreaker breaker;
    breaker.service = b.string("service");
    for (const auto& t : array_at(b, "transitions")) {
      breaker.transitions.push_back(BreakerTransition{ms_at(t, "at_ms"),
                                                      enum_at(t, "from", &parse_breaker_state, kBreakerExpected),
                                                      enum_at(t, "to", &parse_breaker_state, kBreakerExpected)});
    }
    breaker.transitions_dropped = unsigned_at(b, "transitions_dropped");
    s.breakers.push_back(std::move(breaker));
  }

  const JsonView series = v["series"];
  s.series.bucket_width = ms_at(series, "bucket_width_ms");
  for (const auto& b : array_at(series, "buckets")) {
    TimeBucket bucket;
    bucket.start = ms_at(b, "start_ms");
    bucket.submitted = unsigned_at(b, "submitted");
    bucket.completed = unsigned_at(b, "completed");
    bucket.succeeded = unsigned_at(b, "succeeded");
    bucket.dlq_size = unsigned_at(b, "dlq_size");
    const JsonView states = b["breakers"];
    if (!states.is_object()) states.fail("an object of service -> breaker state");
    for (const auto& [service, state] : states.members()) {
      if (!state.raw().is_string()) state.fail(kBreakerExpected);
      const auto parsed = parse_breaker_state(state.as_string());
      if (!parsed) state.fail(kBreakerExpected);
      bucket.breaker_states.emplace(service, *parsed);
    }
    s.series.buckets.push_back(std::move(bucket));
  }
  s.series.buckets_dropped = unsigned_at(series, "buckets_dropped");

  for (const auto& f : array_at(v, "faults")) {
    FaultWindow fault;
    fault.kind = f.string("kind");
    fault.target = f.string("target");
    fault.start = ms_at(f, "start_ms");
    fault.end = ms_at(f, "end_ms");
    fault.hit_count = unsigned_at(f, "hit_count");
    fault.time_to_detect = optional_ms_at(f, "time_to_detect_ms");
    fault.time_to_recover = optional_ms_at(f, "time_to_recover_ms");
    s.faults.push_back(std::move(fault));
  }

  for (const auto& i : array_at(v, "invariants")) {
    InvariantResult inv;
    inv.id = i.string("id");
    inv.name = i.string("name");
    inv.passed = i.boolean("passed");
    inv.skipped = i.boolean_or("skipped", false);  // absent in reports written before it existed
    inv.message = i.string("message");
    for (const auto& line : array_at(i, "evidence")) inv.evidence.push_back(line.as_string());
    inv.evidence_dropped = unsigned_at(i, "evidence_dropped");
    s.invariants.push_back(std::move(inv));
  }

  for (const auto& x : array_at(v, "slos")) {
    SloResult slo;
    slo.name = x.string("name");
    slo.comparison = enum_at(x, "comparison", &parse_comparison, R"("at_most" or "at_least")");
    slo.threshold = real_at(x, "threshold");
    slo.observed = real_at(x, "observed");
    slo.unit = x.string("unit");
    slo.passed = x.boolean("passed");
    slo.message = x.string("message");
    s.slos.push_back(std::move(slo));
  }

  const JsonView baseline = v["baseline"];
  if (!baseline.is_null()) {
    if (!baseline.is_object()) baseline.fail("an object or null");
    s.baseline = Baseline{real_at(baseline, "success_rate"), ms_at(baseline, "p99_ms"),
                          real_at(baseline, "throughput_per_s")};
  }
  return s;
}

}  // namespace

std::string to_report_json(const RunResult& run) {
  ordered_json j;
  j["schema"] = "faultline.report";
  j["schema_version"] = kReportSchemaVersion;
  j["tool_version"] = clean(run.tool_version);
  ordered_json argv = ordered_json::array();
  for (const auto& arg : run.command_line) argv.push_back(clean(arg));
  j["command_line"] = std::move(argv);
  j["started_at"] = clean(run.started_at);
  j["runtime"] = clean(run.runtime);
  if (run.shard) {
    j["shard"] = ordered_json{{"index", run.shard->index},
                              {"count", run.shard->count},
                              {"runs_in_set", run.shard->runs_in_set},
                              {"set_digest", clean(run.shard->set_digest)},
                              {"internal_errors", run.shard->internal_errors}};
  }
  if (run.live) {
    const LiveInfo& l = *run.live;
    j["live"] = ordered_json{{"time_scale", l.time_scale},
                             {"servers_started", l.servers_started},
                             {"hosts", ordered_json{{"harness", clean(l.harness_host)},
                                                    {"workers", clean(l.workers_host)},
                                                    {"redis", clean(l.redis_address)},
                                                    {"postgres", clean(l.postgres_address)}}},
                             {"redis_version", clean(l.redis_version)},
                             {"postgres_version", clean(l.postgres_version)}};
  }
  j["verdict"] = to_string(overall_verdict(run));
  ordered_json scenarios = ordered_json::array();
  for (const auto& s : run.scenarios) scenarios.push_back(scenario_json(s));
  j["scenarios"] = std::move(scenarios);
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

namespace {
RunResult run_from(const nlohmann::json& doc, const std::string& file) {
  const JsonView root(doc, file);
  if (!root.is_object()) root.fail("a faultline report object");
  if (root.string("schema") != "faultline.report") root["schema"].fail(R"("faultline.report")");
  const std::int64_t version = root.integer("schema_version", 1, kReportSchemaVersion);
  (void)version;  // every version up to ours reads the same members so far
  RunResult run;
  run.tool_version = root.string("tool_version");
  for (const auto& arg : array_at(root, "command_line")) run.command_line.push_back(arg.as_string());
  run.started_at = root.string("started_at");
  run.runtime = root.string("runtime");
  if (const auto shard = root.find("shard")) {
    if (!shard->is_object()) shard->fail("an object (the shard this run is)");
    ShardInfo info;
    info.count = static_cast<std::uint32_t>(shard->integer("count", 1, kShardCountMax));
    info.index = static_cast<std::uint32_t>(shard->integer("index", 1, info.count));
    info.runs_in_set = unsigned_at(*shard, "runs_in_set");
    info.set_digest = shard->string("set_digest");
    info.internal_errors = unsigned_at(*shard, "internal_errors");
    run.shard = std::move(info);
  }
  if (const auto live = root.find("live")) {
    if (!live->is_object()) live->fail("an object (how the live run ran)");
    LiveInfo l;
    l.time_scale = real_at(*live, "time_scale");
    l.servers_started = live->boolean("servers_started");
    const JsonView hosts = (*live)["hosts"];
    l.harness_host = hosts.string("harness");
    l.workers_host = hosts.string("workers");
    l.redis_address = hosts.string("redis");
    l.postgres_address = hosts.string("postgres");
    l.redis_version = live->string("redis_version");
    l.postgres_version = live->string("postgres_version");
    run.live = std::move(l);
  }
  for (const auto& s : array_at(root, "scenarios")) run.scenarios.push_back(scenario_from(s));
  return run;
}
}  // namespace

RunResult parse_report_json(std::string_view text, const std::string& file) {
  return run_from(runtime::parse_json_text(text, file), file);
}

RunResult read_report_json(const std::string& file) { return run_from(runtime::load_json_file(file), file); }

}  // namespace faultline::reports
