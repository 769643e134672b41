// The simulated services (fault models in service_models.h).
#include "world/service_models.h"

#include <cmath>

#include "reference_system/events.h"

namespace faultline::world {

namespace se = reference_system::system_events;
using reference_system::parse_po_number;

namespace {
std::string stream_name(std::string_view service) { return "service/" + std::string(service); }
}  // namespace

runtime::Duration draw_latency(runtime::Rng& rng, const LatencyModel& model, double slowdown_factor) {
  const double median_ns = static_cast<double>(model.median.count()) * slowdown_factor;
  const double ns = rng.lognormal(std::log(median_ns), model.sigma);
  return runtime::Duration(static_cast<runtime::Duration::rep>(std::min(ns, 3.6e15)));
}

// ---------------------------------------------------------------------------

SimOcrEngine::SimOcrEngine(runtime::Runtime& rt, std::string name, OcrEngineModel model)
    : rt_(&rt), name_(std::move(name)), model_(model), rng_(rt.stream(stream_name(name_))) {}

runtime::Duration SimOcrEngine::median_latency(double quality) const {
  const double factor = std::exp(model_.quality_slowdown * (1.0 - quality));
  return runtime::Duration(static_cast<runtime::Duration::rep>(static_cast<double>(model_.latency.median.count()) * factor));
}

Task<Outcome<std::string>> SimOcrEngine::recognize(OcrRequest request) {
  if (model_.concurrency_max != 0 && in_service_ >= model_.concurrency_max) {
    ++refused_;
    return Task<Outcome<std::string>>::ready(Failure{ErrorClass::rate_limited, name_ + ": too many requests"});
  }
  return serve(request, Place(in_service_));
}

Task<Outcome<std::string>> SimOcrEngine::serve(OcrRequest request, Place) {
  const double q = request.scan_quality;
  const runtime::Duration latency = draw_latency(rng_, model_.latency, std::exp(model_.quality_slowdown * (1.0 - q)));
  const double threshold = model_.no_answer_below_quality;
  if (q < threshold && rng_.bernoulli(model_.no_answer_probability_at_zero * (threshold - q) / threshold)) {
    co_await rt_->sleep(model_.hang_duration);
    co_return Failure{ErrorClass::timeout, name_ + ": no answer"};
  }
  if (rng_.bernoulli(model_.error_probability)) {
    co_await rt_->sleep(latency / 4);
    co_return Failure{ErrorClass::transient, name_ + ": engine error"};
  }
  co_await rt_->sleep(latency);
  if (q < model_.unreadable_below_quality) co_return std::string("[unreadable scan: no text recognised]");
  if (rng_.bernoulli(model_.invalid_output_probability)) {
    co_return std::string("I'm sorry, I can't help with transcribing this document.");
  }
  co_return std::string(request.document);
}

// ---------------------------------------------------------------------------

SimPoDatabase::SimPoDatabase(runtime::Runtime& rt, PoDatabaseModel model, const PoCatalogue& catalogue)
    : rt_(&rt), model_(model), catalogue_(&catalogue), rng_(rt.stream(stream_name("po_database"))) {}

Task<Outcome<std::optional<PurchaseOrder>>> SimPoDatabase::lookup(std::uint64_t, std::string reference) {
  const runtime::Duration latency = draw_latency(rng_, model_.service.latency);
  const bool error = rng_.bernoulli(model_.service.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "po_database: unavailable"};
  std::uint64_t number = 0;
  if (!parse_po_number(reference, number)) {
    if (rng_.bernoulli(model_.malformed_reference_error_probability)) {
      co_return Failure{ErrorClass::permanent, "po_database: malformed order key"};
    }
    co_return std::optional<PurchaseOrder>{};
  }
  const PurchaseOrder* order = catalogue_->find(number);
  if (order == nullptr) co_return std::optional<PurchaseOrder>{};
  co_return std::optional<PurchaseOrder>{*order};
}

Task<Outcome<std::vector<std::uint64_t>>> SimPoDatabase::candidates(std::uint64_t, std::string vendor,
                                                                    std::int64_t amount_cents) {
  const runtime::Duration latency = draw_latency(rng_, model_.service.latency, 2.0);
  const bool error = rng_.bernoulli(model_.service.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "po_database: unavailable"};
  co_return catalogue_->candidates(vendor, amount_cents, 0.05, model_.max_candidates);
}

// ---------------------------------------------------------------------------

SimBudgetService::SimBudgetService(runtime::Runtime& rt, ServiceModel model)
    : rt_(&rt), model_(model), rng_(rt.stream(stream_name("budget_service"))),
      source_(rt.log().intern("budget_service")) {}

Task<Outcome<>> SimBudgetService::reserve(std::uint64_t invoice_id, std::int64_t amount_cents) {
  const runtime::Duration latency = draw_latency(rng_, model_.latency);
  const bool error = rng_.bernoulli(model_.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "budget_service: unavailable"};
  if (auto [held, inserted] = reservations_.try_emplace(invoice_id); inserted) {
    *held = amount_cents;
    reserved_cents_ += amount_cents;
    rt_->log().record(source_, invoice_id, se::BudgetReserved{amount_cents});
  }
  co_return resilience::ok();
}

Task<Outcome<>> SimBudgetService::release(std::uint64_t invoice_id) {
  const runtime::Duration latency = draw_latency(rng_, model_.latency);
  const bool error = rng_.bernoulli(model_.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "budget_service: unavailable"};
  if (const std::int64_t* held = reservations_.find(invoice_id)) {
    const std::int64_t amount = *held;
    reserved_cents_ -= amount;
    rt_->log().record(source_, invoice_id, se::BudgetReleased{-amount});
    reservations_.erase(invoice_id);
  }
  co_return resilience::ok();
}

// ---------------------------------------------------------------------------

SimLedger::SimLedger(runtime::Runtime& rt, ServiceModel model)
    : rt_(&rt), model_(model), rng_(rt.stream(stream_name("ledger"))), source_(rt.log().intern("ledger")) {}

Task<Outcome<LedgerReceipt>> SimLedger::post(LedgerPost entry) {
  const runtime::Duration latency = draw_latency(rng_, model_.latency);
  const bool error = rng_.bernoulli(model_.error_probability);
  co_await rt_->sleep(latency / 2);
  if (error) co_return Failure{ErrorClass::transient, "ledger: unavailable"};
  LedgerReceipt receipt;
  // One probe of the key index: it finds the key's entry or makes its place.
  std::uint64_t* key_entry = nullptr;
  if (!entry.idempotency_key.empty()) {
    const auto [seq, inserted] = by_key_.try_emplace(entry.idempotency_key);
    // A key whose entry was reversed (compensated) may post again: the key
    // guards against a second live effect, not against a retried saga.
    if (!inserted && !entries_[*seq - 1].reversed) {
      receipt = LedgerReceipt{*seq, true};
      ++duplicates_refused_;
      rt_->log().record(source_, entry.invoice_id, se::LedgerDuplicate{*seq});
    } else {
      key_entry = seq;
    }
  }
  if (!receipt.duplicate) {
    const std::uint64_t sequence = entries_.size() + 1;
    const bool keyed = key_entry != nullptr;
    if (keyed) *key_entry = sequence;
    std::uint64_t& last = *last_of_invoice_.try_emplace(entry.invoice_id).first;
    previous_of_.push_back(last);
    last = sequence;
    live_total_cents_ += entry.amount_cents;
    rt_->log().record(source_, entry.invoice_id, se::LedgerPosted{entry.amount_cents, sequence, keyed});
    entries_.push_back(LedgerEntry{sequence, entry.invoice_id, std::move(entry.idempotency_key), entry.po_number,
                                   entry.amount_cents, false, rt_->now()});
    receipt = LedgerReceipt{sequence, false};
  }
  co_await rt_->sleep(latency - latency / 2);
  co_return receipt;
}

Task<Outcome<>> SimLedger::reverse(std::uint64_t invoice_id) {
  const runtime::Duration latency = draw_latency(rng_, model_.latency);
  const bool error = rng_.bernoulli(model_.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "ledger: unavailable"};
  // In posting order: the chain runs newest first.
  std::vector<std::uint64_t> sequences;
  if (const std::uint64_t* last = last_of_invoice_.find(invoice_id)) {
    for (std::uint64_t s = *last; s != 0; s = previous_of_[s - 1]) sequences.push_back(s);
  }
  for (auto it = sequences.rbegin(); it != sequences.rend(); ++it) {
    const std::uint64_t sequence = *it;
    LedgerEntry& e = entries_[sequence - 1];
    if (e.reversed) continue;
    e.reversed = true;
    live_total_cents_ -= e.amount_cents;
    rt_->log().record(source_, invoice_id, se::LedgerReversed{e.amount_cents, sequence});
  }
  co_return resilience::ok();
}

std::size_t SimLedger::live_entries(std::uint64_t invoice_id) const {
  const std::uint64_t* last = last_of_invoice_.find(invoice_id);
  if (last == nullptr) return 0;
  std::size_t n = 0;
  for (std::uint64_t s = *last; s != 0; s = previous_of_[s - 1]) n += entries_[s - 1].reversed ? 0 : 1;
  return n;
}

std::uint64_t SimLedger::digest() const {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& e : entries_) {
    const std::int64_t fields[] = {static_cast<std::int64_t>(e.sequence), static_cast<std::int64_t>(e.invoice_id),
                                   static_cast<std::int64_t>(e.po_number), e.amount_cents, e.reversed ? 1 : 0,
                                   e.posted_at.time_since_epoch().count()};
    h = runtime::fnv1a64(std::string_view(reinterpret_cast<const char*>(fields), sizeof fields), h);
    h = runtime::fnv1a64(e.idempotency_key, h);
  }
  return h;
}

// ---------------------------------------------------------------------------

SimNotifier::SimNotifier(runtime::Runtime& rt, ServiceModel model)
    : rt_(&rt), model_(model), rng_(rt.stream(stream_name("notifier"))), source_(rt.log().intern("notifier")) {}

Task<Outcome<>> SimNotifier::notify(Notice notice) {
  const runtime::Duration latency = draw_latency(rng_, model_.latency);
  const bool error = rng_.bernoulli(model_.error_probability);
  co_await rt_->sleep(latency);
  if (error) co_return Failure{ErrorClass::transient, "notifier: unavailable"};
  // The key is checked and taken at the moment of sending, in one step.
  if (!notice.idempotency_key.empty()) {
    const runtime::Instant now = rt_->now();
    while (!key_expiry_.empty() && key_expiry_.front().first <= now) {
      delivered_keys_.erase(key_expiry_.front().second);
      key_expiry_.pop_front();
    }
    const auto [seen, inserted] = delivered_keys_.try_emplace(notice.idempotency_key);
    (void)seen;
    if (inserted) key_expiry_.emplace_back(now + kKeyRetention, notice.idempotency_key);
    if (!inserted) {
      ++duplicates_refused_;
      rt_->log().record(source_, notice.invoice_id, se::NotifyDuplicate{});
      co_return Failure{ErrorClass::conflict, "notifier: already notified under " + notice.idempotency_key};
    }
  }
  ++delivered_;
  rt_->log().record(source_, notice.invoice_id, se::Notified{});
  co_return resilience::ok();
}

}  // namespace faultline::world
