// Service faults in a live worker (live_faults.h).
#include "harness/live/live_faults.h"

#include <charconv>
#include <chrono>
#include <optional>

#include "faults/port_faults.h"
#include "reference_system/live/redis_connection.h"

namespace faultline::harness {

namespace {

using reference_system::live::RedisReply;

// A fault's window before the process has read the scenario's start.
constexpr runtime::Duration kNotYet = std::chrono::hours(24 * 365 * 100);

std::optional<long long> parse_ll(std::string_view text) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

bool live_service_fault(const faults::FaultSpec& spec) noexcept {
  using faults::FaultKind;
  const auto family = faults::target_family(spec.target);
  const bool service = family == faults::TargetFamily::service || family == faults::TargetFamily::model_service;
  switch (spec.kind) {
    case FaultKind::latency:
    case FaultKind::hang:
    case FaultKind::error:
    case FaultKind::outage:
    case FaultKind::invalid_output: return service;
    default: return false;
  }
}

bool live_bus_fault(const faults::FaultSpec& spec) noexcept {
  using faults::FaultKind;
  return spec.target == "bus" &&
         (spec.kind == FaultKind::duplicate_delivery || spec.kind == FaultKind::reordering);
}

std::string scenario_start_key(std::string_view prefix) { return std::string(prefix) + "scenario_start_us"; }
std::string fault_touches_key(std::string_view prefix) { return std::string(prefix) + "fault_touches"; }

LiveServiceFaults::LiveServiceFaults(runtime::LiveRuntime& rt, const std::vector<faults::FaultSpec>& specs) : rt_(&rt) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!live_service_fault(specs[i]) && !live_bus_fault(specs[i])) continue;
    faults_.push_back(std::make_unique<faults::ActiveFault>(rt, specs[i], i, rt.now() + kNotYet));
  }
  flushed_.assign(faults_.size(), 0);
}

template <class Faulty, class Port>
void LiveServiceFaults::wrap_one(std::shared_ptr<Port>& port, std::string_view target) {
  if (port == nullptr) return;
  std::vector<faults::ActiveFault*> mine;
  for (auto& f : faults_) {
    if (f->spec().target == target) mine.push_back(f.get());
  }
  if (mine.empty()) return;
  wired_ = true;
  port = std::make_shared<Faulty>(*rt_, std::move(port), std::move(mine));
}

void LiveServiceFaults::wrap(world::live::RolePorts& ports) {
  wrap_one<faults::FaultyOcrEngine>(ports.ocr_engine, "ocr_engine");
  wrap_one<faults::FaultyOcrEngine>(ports.backup_ocr, "backup_ocr");
  wrap_one<faults::FaultyPoDatabase>(ports.po_database, "po_database");
  wrap_one<faults::FaultyBudgetService>(ports.budget_service, "budget_service");
  wrap_one<faults::FaultyLedger>(ports.ledger, "ledger");
  wrap_one<faults::FaultyNotifier>(ports.notifier, "notifier");
}

void LiveServiceFaults::wrap_bus(std::shared_ptr<reference_system::MessageBus>& bus) {
  if (bus == nullptr) return;
  std::vector<faults::ActiveFault*> mine;
  for (auto& f : faults_) {
    if (live_bus_fault(f->spec())) mine.push_back(f.get());
  }
  if (mine.empty()) return;
  wired_ = true;
  bus = std::make_shared<faults::FaultyMessageBus>(*rt_, std::move(bus), std::move(mine));
}

runtime::Task<void> LiveServiceFaults::watch(reference_system::live::RedisConnection& redis, std::string prefix) {
  const auto poll = std::chrono::duration_cast<runtime::Duration>(std::chrono::milliseconds(20) * rt_->time_scale());
  bool started = false;
  for (;;) {
    if (!started) started = co_await read_start(redis, prefix);
    if (started) co_await flush(redis, prefix);
    co_await rt_->sleep(poll);
  }
}

runtime::Task<bool> LiveServiceFaults::read_start(reference_system::live::RedisConnection& redis,
                                                  const std::string& prefix) {
  auto start = co_await redis.command("GET", scenario_start_key(prefix));
  if (!start || start->type != RedisReply::Type::string) co_return false;
  auto now = co_await redis.command("TIME");
  if (!now || now->type != RedisReply::Type::array || now->elements.size() != 2) co_return false;
  const runtime::Instant local = rt_->now();
  const auto start_us = parse_ll(start->text);
  const auto now_s = parse_ll(now->elements[0].text);
  const auto now_frac = parse_ll(now->elements[1].text);
  if (!start_us || !now_s || !now_frac) co_return false;
  // Scenario time since the start, on this runtime's scaled clock.
  const double since_ns = static_cast<double>(*now_s * 1'000'000 + *now_frac - *start_us) * 1000.0 * rt_->time_scale();
  const runtime::Instant scenario_start = local - runtime::Duration(static_cast<runtime::Duration::rep>(since_ns));
  for (auto& f : faults_) f->set_scenario_start(scenario_start);
  co_return true;
}

runtime::Task<void> LiveServiceFaults::flush(reference_system::live::RedisConnection& redis, const std::string& prefix) {
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const std::uint64_t touched = faults_[i]->touched();
    if (touched == flushed_[i]) continue;
    auto r = co_await redis.command("HINCRBY", fault_touches_key(prefix), std::to_string(faults_[i]->index()),
                                    std::to_string(touched - flushed_[i]));
    if (r && !r->is_error()) flushed_[i] = touched;
  }
}

}  // namespace faultline::harness
