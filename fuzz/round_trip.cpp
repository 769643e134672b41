// Serialisers for round_trip.h, one per file format; each writes the members
// its parser reads, under the names and in the units the parser expects.
#include "fuzz/round_trip.h"

#include "faults/fault.h"
#include "reference_system/invoice.h"

namespace faultline::fuzz {

namespace {

using nlohmann::json;
using runtime::format_duration;

json error_classes(resilience::ErrorClassSet set) {
  json out = json::array();
  for (unsigned c = 0; c <= static_cast<unsigned>(resilience::ErrorClass::capacity_exceeded); ++c) {
    const auto error_class = static_cast<resilience::ErrorClass>(c);
    if (set.contains(error_class)) out.push_back(std::string(resilience::to_string(error_class)));
  }
  return out;
}

json retry_json(const resilience::RetryPolicy& p, const std::optional<resilience::RetryBudgetConfig>& budget) {
  json j;
  j["max_attempts"] = p.max_attempts;
  j["base_delay"] = format_duration(p.base_delay);
  j["multiplier"] = p.multiplier;
  j["max_delay"] = format_duration(p.max_delay);
  j["jitter"] = std::string(resilience::to_string(p.jitter));
  j["jitter_applied"] = std::string(resilience::to_string(p.jitter_order));
  j["retry_on"] = error_classes(p.retry_on);
  j["deadline"] = format_duration(p.deadline);
  if (budget) {
    j["budget"] = {{"ratio", budget->retry_ratio},
                   {"min_retries", budget->min_retries_per_window},
                   {"window", format_duration(budget->window)}};
  }
  return j;
}

json breaker_json(const resilience::CircuitBreakerConfig& c) {
  json j;
  j["mode"] = c.trip == resilience::TripMode::failure_rate ? "rate" : "consecutive";
  j["failure_threshold"] = c.failure_threshold;
  j["failure_rate"] = c.failure_rate_threshold;
  j["window"] = c.window == resilience::WindowKind::time_based ? "time" : "count";
  j["window_calls"] = c.window_calls;
  j["window_duration"] = format_duration(c.window_duration);
  j["minimum_calls"] = c.minimum_calls;
  j["slow_call_threshold"] = format_duration(c.slow_call_threshold);
  j["open_duration"] = format_duration(c.open_duration);
  j["half_open_probes"] = c.half_open_probes;
  j["probe_timeout"] = format_duration(c.probe_timeout);
  j["failure_classes"] = error_classes(c.failure_classes);
  return j;
}

json latency_json(const world::LatencyModel& m) {
  return {{"median", format_duration(m.median)}, {"sigma", m.sigma}};
}

json ocr_json(const world::OcrEngineModel& m) {
  json j;
  j["latency"] = latency_json(m.latency);
  j["quality_slowdown"] = m.quality_slowdown;
  j["no_answer"] = {{"below_quality", m.no_answer_below_quality},
                    {"probability_at_zero", m.no_answer_probability_at_zero},
                    {"hang", format_duration(m.hang_duration)}};
  j["unreadable_below_quality"] = m.unreadable_below_quality;
  j["invalid_output_probability"] = m.invalid_output_probability;
  j["error_probability"] = m.error_probability;
  return j;
}

json service_json(const world::ServiceModel& m) {
  return {{"latency", latency_json(m.latency)}, {"error_probability", m.error_probability}};
}

}  // namespace

json to_file_json(const harness::Scenario& s) {
  json j;
  j["name"] = s.name;
  j["description"] = s.description;
  j["seed"] = s.seed;
  j["duration"] = format_duration(s.duration);
  j["drain"] = format_duration(s.drain);
  json w;
  w["rate_per_hour"] = s.workload.rate_per_hour;
  if (s.workload.quality_given) {
    w["scan_quality"] = {
        {"good", s.workload.quality_good}, {"fair", s.workload.quality_fair}, {"poor", s.workload.quality_poor}};
  }
  w["corrupted_share"] = s.workload.corrupted_share;
  if (s.workload.unmatched_po_share) w["unmatched_po_share"] = *s.workload.unmatched_po_share;
  w["max_invoices"] = s.workload.max_invoices;
  j["workload"] = std::move(w);
  j["policy"] = s.policy_file;
  if (!s.world_file.empty()) j["world"] = s.world_file;
  if (!s.model_overrides.empty()) j["models"] = s.model_overrides;
  json faults = json::array();
  for (const auto& f : s.faults) faults.push_back(faults::to_json(f));
  j["faults"] = std::move(faults);
  json e;
  e["invariants"] = s.expect.invariants;
  e["slo"] = {{"enabled", s.expect.slo.enabled},
              {"agent_error_rate_max", s.expect.slo.agent_error_rate_max},
              {"p99_ratio_max", s.expect.slo.p99_ratio_max},
              {"open_circuits_max", s.expect.slo.open_circuits_max},
              {"dlq_max", s.expect.slo.dlq_max},
              {"retries_per_minute_max", s.expect.slo.retries_per_minute_max}};
  e["success_rate_min"] = s.expect.success_rate_min;
  e["recovery_time_max"] = format_duration(s.expect.recovery_time_max);
  e["recovered_throughput_share"] = s.expect.recovered_throughput_share;
  j["expect"] = std::move(e);
  return j;
}

json to_file_json(const reference_system::Policy& p) {
  using reference_system::AgentId;
  using reference_system::ServiceId;
  json j;
  j["name"] = p.name;
  j["description"] = p.description;
  const char* store = p.checkpoints == reference_system::CheckpointStoreKind::none     ? "none"
                      : p.checkpoints == reference_system::CheckpointStoreKind::memory ? "memory"
                                                                                      : "sqlite";
  j["checkpoints"] = {{"store", store}, {"path", p.checkpoint_path}};
  j["dead_letter"] = {{"name", p.dead_letter.name},
                      {"capacity", p.dead_letter.capacity},
                      {"alert_threshold", p.dead_letter.alert_threshold}};
  j["manual_review"] = {{"capacity", p.manual_review_capacity}};
  json workflow = {{"max_in_flight", p.max_in_flight}};
  if (p.workflow_deadline > runtime::Duration::zero()) workflow["deadline"] = format_duration(p.workflow_deadline);
  j["workflow"] = std::move(workflow);
  json agents = json::object();
  for (std::size_t i = 0; i < reference_system::kAgentCount; ++i) {
    const auto id = static_cast<AgentId>(i);
    const auto& a = p.agent(id);
    json aj;
    aj["criticality"] = std::string(resilience::to_string(a.criticality));
    aj["timeout"] = format_duration(a.timeout);
    aj["retry"] = retry_json(a.retry, std::nullopt);
    aj["workers"] = a.workers;
    aj["queue_bound"] = a.queue_bound;
    if (id == AgentId::ocr) aj["fallback"] = a.fallback;
    if (id == AgentId::matching) {
      aj["default"] = "no_match";
      aj["degrade"] = a.degrade;
      aj["manual_review_above"] = reference_system::format_amount(a.manual_review_above_cents);
    }
    if (id == AgentId::accounting) {
      aj["compensation"] = a.compensation;
      aj["idempotency_key"] = a.idempotency_key;
    }
    agents[std::string(reference_system::to_string(id))] = std::move(aj);
  }
  j["agents"] = std::move(agents);
  json services = json::object();
  for (std::size_t i = 0; i < reference_system::kServiceCount; ++i) {
    const auto id = static_cast<ServiceId>(i);
    const auto& s = p.service(id);
    json sj;
    sj["timeout"] = format_duration(s.timeout);
    sj["retry"] = retry_json(s.retry, s.retry_budget);
    if (s.breaker) sj["circuit_breaker"] = breaker_json(*s.breaker);
    services[std::string(reference_system::to_string(id))] = std::move(sj);
  }
  j["services"] = std::move(services);
  return j;
}

json to_file_json(const world::WorldModel& w) {
  json j;
  j["name"] = w.name;
  j["description"] = w.description;
  json wl;
  json bands = json::array();
  for (const auto& b : w.workload.quality_bands) {
    bands.push_back(
        {{"name", b.name}, {"share", b.share}, {"min_quality", b.min_quality}, {"max_quality", b.max_quality}});
  }
  wl["quality_bands"] = std::move(bands);
  wl["inexact_po_share"] = w.workload.inexact_po_share;
  wl["missing_po_share"] = w.workload.missing_po_share;
  wl["invalid_share"] = w.workload.invalid_share;
  wl["vendors"] = w.workload.vendors;
  wl["max_lines"] = w.workload.max_lines;
  wl["max_quantity"] = w.workload.max_quantity;
  wl["unit_price"] = {{"median", w.workload.unit_price_median}, {"sigma", w.workload.unit_price_sigma}};
  wl["currencies"] = w.workload.currencies;
  j["workload"] = std::move(wl);
  json po = service_json(w.po_database.service);
  po["malformed_reference_error_probability"] = w.po_database.malformed_reference_error_probability;
  po["max_candidates"] = w.po_database.max_candidates;
  j["services"] = {{"ocr_engine", ocr_json(w.ocr_engine)},         {"backup_ocr", ocr_json(w.backup_ocr)},
                   {"po_database", std::move(po)},                  {"budget_service", service_json(w.budget_service)},
                   {"ledger", service_json(w.ledger)},              {"notifier", service_json(w.notifier)}};
  return j;
}

std::string canonical(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace faultline::fuzz
