// Parsing world-model files (see world_model.h for the behaviour models).
#include "world/world_model.h"

#include <cmath>
#include <string>
#include <vector>

#include "reference_system/ids.h"

namespace faultline::world {

using runtime::JsonView;
using namespace std::chrono_literals;

WorldModel default_world_model() {
  WorldModel w;
  w.name = "default";
  w.description = "fault-free world: no service errors, no hangs, no unreadable scans";
  w.workload.quality_bands = {{"good", 0.80, 0.70, 1.00}, {"fair", 0.15, 0.40, 0.70}, {"poor", 0.05, 0.15, 0.40}};
  w.workload.inexact_po_share = 0.05;
  w.workload.missing_po_share = 0.03;
  w.workload.invalid_share = 0.01;
  w.ocr_engine.latency = {1500ms, 0.35};
  w.ocr_engine.quality_slowdown = 1.0;
  w.backup_ocr.latency = {6s, 0.30};
  w.backup_ocr.quality_slowdown = 0.5;
  w.po_database.service.latency = {80ms, 0.3};
  w.budget_service.latency = {50ms, 0.3};
  w.ledger.latency = {120ms, 0.3};
  w.notifier.latency = {40ms, 0.3};
  return w;
}

namespace {

double probability(const JsonView& v, std::string_view key, double fallback) {
  return v.number_or(key, fallback, 0.0, 1.0);
}

LatencyModel parse_latency(const JsonView& v, LatencyModel fallback) {
  v.expect_keys({"median", "sigma"});
  LatencyModel m = fallback;
  m.median = v.duration_or("median", fallback.median);
  if (m.median <= runtime::Duration::zero()) v["median"].fail("a positive duration");
  m.sigma = v.number_or("sigma", fallback.sigma, 0.0, 5.0);
  return m;
}

ServiceModel parse_service(const JsonView& v, ServiceModel m) {
  if (auto lat = v.find("latency")) m.latency = parse_latency(*lat, m.latency);
  m.error_probability = probability(v, "error_probability", m.error_probability);
  return m;
}

OcrEngineModel parse_ocr(const JsonView& v, OcrEngineModel m) {
  v.expect_keys({"description", "latency", "quality_slowdown", "no_answer", "unreadable_below_quality",
                 "invalid_output_probability", "error_probability", "concurrency_max"});
  if (auto lat = v.find("latency")) m.latency = parse_latency(*lat, m.latency);
  m.quality_slowdown = v.number_or("quality_slowdown", m.quality_slowdown, 0.0, 10.0);
  if (auto na = v.find("no_answer")) {
    na->expect_keys({"below_quality", "probability_at_zero", "hang"});
    m.no_answer_below_quality = probability(*na, "below_quality", m.no_answer_below_quality);
    m.no_answer_probability_at_zero = probability(*na, "probability_at_zero", m.no_answer_probability_at_zero);
    m.hang_duration = na->duration_or("hang", m.hang_duration);
  }
  m.unreadable_below_quality = probability(v, "unreadable_below_quality", m.unreadable_below_quality);
  m.invalid_output_probability = probability(v, "invalid_output_probability", m.invalid_output_probability);
  m.error_probability = probability(v, "error_probability", m.error_probability);
  m.concurrency_max = static_cast<std::uint32_t>(v.integer_or("concurrency_max", m.concurrency_max, 0, 1'000'000));
  return m;
}

WorkloadModel parse_workload(const JsonView& v, WorkloadModel m) {
  v.expect_keys({"description", "quality_bands", "inexact_po_share", "missing_po_share", "invalid_share", "vendors",
                 "max_lines", "max_quantity", "unit_price", "currencies"});
  if (auto bands = v.find("quality_bands")) {
    if (!bands->is_array() || bands->elements().empty()) bands->fail("a non-empty array of quality bands");
    m.quality_bands.clear();
    double total = 0.0;
    for (const auto& b : bands->elements()) {
      b.expect_keys({"name", "share", "min_quality", "max_quality"});
      QualityBand band;
      band.name = b.string("name");
      band.share = b.number("share", 0.0, 1.0);
      band.min_quality = b.number("min_quality", 0.0, 1.0);
      band.max_quality = b.number("max_quality", 0.0, 1.0);
      if (band.max_quality < band.min_quality) b["max_quality"].fail("a quality at least min_quality");
      total += band.share;
      m.quality_bands.push_back(std::move(band));
    }
    if (std::abs(total - 1.0) > 1e-6) bands->fail_with("band shares must sum to 1, they sum to " + std::to_string(total));
  }
  m.inexact_po_share = probability(v, "inexact_po_share", m.inexact_po_share);
  m.missing_po_share = probability(v, "missing_po_share", m.missing_po_share);
  m.invalid_share = probability(v, "invalid_share", m.invalid_share);
  if (m.inexact_po_share + m.missing_po_share > 1.0) {
    v["missing_po_share"].fail("a share that, with inexact_po_share, is at most 1");
  }
  m.vendors = static_cast<std::uint32_t>(v.integer_or("vendors", m.vendors, 1, 1'000'000));
  m.max_lines = static_cast<std::uint32_t>(v.integer_or("max_lines", m.max_lines, 1, 32));
  m.max_quantity = static_cast<std::uint32_t>(v.integer_or("max_quantity", m.max_quantity, 1, 1000));
  if (auto price = v.find("unit_price")) {
    price->expect_keys({"median", "sigma"});
    m.unit_price_median = price->number_or("median", m.unit_price_median, 0.01, 1e7);
    m.unit_price_sigma = price->number_or("sigma", m.unit_price_sigma, 0.0, 5.0);
  }
  if (auto cur = v.find("currencies")) {
    if (!cur->is_array() || cur->elements().empty()) cur->fail("a non-empty array of currency codes");
    m.currencies.clear();
    for (const auto& c : cur->elements()) {
      auto code = c.as_string();
      if (code.size() != 3) c.fail("a three-letter currency code");
      m.currencies.push_back(std::move(code));
    }
  }
  return m;
}

}  // namespace

WorldModel parse_world_model(const JsonView& root) {
  root.expect_keys({"name", "description", "derivation", "workload", "services"});
  WorldModel w = default_world_model();
  w.name = root.string_or("name", "unnamed");
  w.description = root.string("description");
  if (auto wl = root.find("workload")) w.workload = parse_workload(*wl, w.workload);
  if (auto services = root.find("services")) {
    std::vector<std::string> service_names;
    for (const reference_system::ServiceId id : reference_system::kServices) {
      service_names.emplace_back(reference_system::to_string(id));
    }
    services->expect_keys(service_names);
    if (auto s = services->find("ocr_engine")) w.ocr_engine = parse_ocr(*s, w.ocr_engine);
    if (auto s = services->find("backup_ocr")) w.backup_ocr = parse_ocr(*s, w.backup_ocr);
    if (auto s = services->find("po_database")) {
      s->expect_keys({"description", "latency", "error_probability", "malformed_reference_error_probability",
                      "max_candidates"});
      w.po_database.service = parse_service(*s, w.po_database.service);
      w.po_database.malformed_reference_error_probability =
          probability(*s, "malformed_reference_error_probability", w.po_database.malformed_reference_error_probability);
      w.po_database.max_candidates =
          static_cast<std::uint32_t>(s->integer_or("max_candidates", w.po_database.max_candidates, 0, 16));
    }
    auto simple = [&](std::string_view key, ServiceModel& m) {
      if (auto s = services->find(key)) {
        s->expect_keys({"description", "latency", "error_probability"});
        m = parse_service(*s, m);
      }
    };
    simple("budget_service", w.budget_service);
    simple("ledger", w.ledger);
    simple("notifier", w.notifier);
  }
  return w;
}

WorldModel load_world_model(const std::string& file) {
  const auto doc = runtime::load_json_file(file);
  return parse_world_model(JsonView(doc, file));
}

}  // namespace faultline::world
