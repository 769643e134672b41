// The world the reference system lives in, as data: the workload (arrival
// mix, scan quality, PO references, vendors, amounts) and the behaviour of
// every external service. A world model is a JSON file under
// scenarios/models/ whose "description" states the behaviour model in
// words; the numbers below are all that the simulated services and the
// workload generator know. Nothing here is a fault: faults are added by the
// harness around the ports.
//
//   const WorldModel world = load_world_model("scenarios/models/baseline.json");
//   SimOcrEngine ocr(rt, "ocr_engine", world.ocr_engine);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/json_config.h"
#include "runtime/time.h"

namespace faultline::world {

// Lognormal latency given by its median and the sigma of its logarithm.
struct LatencyModel {
  runtime::Duration median = std::chrono::milliseconds(100);
  double sigma = 0.3;
};

// An OCR engine (primary or backup). Latency median grows as scan quality q
// falls: median * exp(quality_slowdown * (1 - q)). Below
// no_answer_below_quality a call goes unanswered with probability
// no_answer_probability_at_zero * (threshold - q) / threshold (it answers
// with a timeout after hang_duration, long after any sane caller gave up).
// Below unreadable_below_quality the engine always returns text that is not
// a document. Any call returns garbage with invalid_output_probability and
// fails outright with error_probability.
//
// Capacity: with concurrency_max > 0 the engine serves at most that many
// calls at once; a call over it is answered at once with rate_limited
// ("429 too many requests"), as hosted OCR and LLM APIs answer, and takes
// no capacity. A call holds its place until it answers or its caller
// abandons it (a timeout). 0: no limit.
struct OcrEngineModel {
  LatencyModel latency{std::chrono::milliseconds(1500), 0.35};
  double quality_slowdown = 1.0;
  double no_answer_below_quality = 0.0;
  double no_answer_probability_at_zero = 0.0;
  runtime::Duration hang_duration = std::chrono::minutes(10);
  double unreadable_below_quality = 0.0;
  double invalid_output_probability = 0.0;
  double error_probability = 0.0;
  std::uint32_t concurrency_max = 0;
};

// A request/response service: lognormal latency, transient errors.
struct ServiceModel {
  LatencyModel latency{std::chrono::milliseconds(50), 0.3};
  double error_probability = 0.0;
};

// The PO database answers exact lookups by canonical reference ("PO-000123").
// A reference that is not canonical fails with a permanent error
// (malformed key) with malformed_reference_error_probability, otherwise it
// is simply not found. Candidate searches (by vendor and amount) return at
// most max_candidates orders.
struct PoDatabaseModel {
  ServiceModel service;
  double malformed_reference_error_probability = 0.0;
  std::uint32_t max_candidates = 3;
};

struct QualityBand {
  std::string name;
  double share = 1.0;  // of all invoices; the bands' shares sum to 1
  double min_quality = 0.8;
  double max_quality = 1.0;
};

struct WorkloadModel {
  std::vector<QualityBand> quality_bands;
  double inexact_po_share = 0.0;   // PO exists but the reference is not written canonically
  double missing_po_share = 0.0;   // the reference names no order at all
  double invalid_share = 0.0;      // total does not add up: validation must reject
  std::uint32_t vendors = 200;
  std::uint32_t max_lines = 4;
  std::uint32_t max_quantity = 5;
  double unit_price_median = 400.0;  // currency units, lognormal
  double unit_price_sigma = 1.0;
  std::vector<std::string> currencies{"EUR"};
};

struct WorldModel {
  std::string name;
  std::string description;
  WorkloadModel workload;
  OcrEngineModel ocr_engine;
  OcrEngineModel backup_ocr;
  PoDatabaseModel po_database;
  ServiceModel budget_service;
  ServiceModel ledger;
  ServiceModel notifier;
};

// A world with no errors at all: what the fault-free tests and benchmark use.
WorldModel default_world_model();
// Throws runtime::ConfigError naming file, JSON path and expectation.
WorldModel parse_world_model(const runtime::JsonView& root);
WorldModel load_world_model(const std::string& file);

}  // namespace faultline::world
