#include "harness/probe.h"

#include <algorithm>
#include <array>

namespace faultline::harness {

namespace {

std::optional<resilience::ErrorClass> failure_class(const resilience::Failure* f) {
  if (f == nullptr) return std::nullopt;
  return f->error_class;
}

template <class T>
const resilience::Failure* failure_of(const resilience::Outcome<T>& r) {
  return r ? nullptr : &r.failure();
}

constexpr std::array<std::string_view, 5> kSteps = {"ocr", "validation", "matching", "accounting", "archive"};

}  // namespace

std::uint32_t step_code(std::string_view step) {
  for (std::size_t i = 0; i < kSteps.size(); ++i) {
    if (step == kSteps[i] || (step.size() > kSteps[i].size() && step.substr(0, kSteps[i].size()) == kSteps[i] &&
                              (step[kSteps[i].size()] == '_' || step[kSteps[i].size()] == ':'))) {
      return static_cast<std::uint32_t>(i + 1);
    }
  }
  return 0;
}

std::uint64_t invoice_of_workflow(std::string_view workflow_id) {
  std::uint64_t id = 0;
  for (char c : workflow_id) {
    if (c >= '0' && c <= '9') id = id * 10 + static_cast<std::uint64_t>(c - '0');
    else id = 0;
  }
  return id;
}

CallTracker::Guard::Guard(CallTracker& t, std::uint32_t source, std::uint64_t subject, rs::ServiceOp op)
    : t_(&t), id_(t.next_id_++), source_(source), subject_(subject), began_(t.rt_->now()) {
  t_->open_.push_back(Open{id_, source_, subject_, began_});
  t_->rt_->log().record(source_, subject_, harness_events::CallBegin{id_, op});
}

void CallTracker::Guard::finish(const resilience::Failure* failure) {
  done_ = true;
  const auto elapsed = t_->rt_->now() - began_;
  t_->rt_->log().record(source_, subject_, harness_events::CallEnd{id_, elapsed, failure_class(failure)});
  auto& open = t_->open_;
  open.erase(std::remove_if(open.begin(), open.end(), [&](const Open& o) { return o.id == id_; }), open.end());
}

CallTracker::Guard::~Guard() {
  if (done_) return;
  // The frame went unanswered: the caller's timeout (or a crash) abandoned it.
  const auto elapsed = t_->rt_->now() - began_;
  t_->rt_->log().record(source_, subject_, harness_events::CallAbandoned{id_, elapsed});
  auto& open = t_->open_;
  open.erase(std::remove_if(open.begin(), open.end(), [&](const Open& o) { return o.id == id_; }), open.end());
}

void CallTracker::close_open_calls() {
  for (const auto& o : open_) {
    rt_->log().record(o.source, o.subject, harness_events::CallUnfinished{o.id, rt_->now() - o.began});
  }
}

ProbeOcrEngine::ProbeOcrEngine(CallTracker& t, std::string_view name, std::shared_ptr<rs::OcrEngine> inner)
    : t_(&t), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<std::string>> ProbeOcrEngine::recognize(rs::OcrRequest request) {
  CallTracker::Guard guard(*t_, source_, request.invoice_id, rs::ServiceOp::recognize);
  auto r = co_await inner_->recognize(request);
  guard.finish(failure_of(r));
  co_return r;
}

ProbePoDatabase::ProbePoDatabase(CallTracker& t, std::string_view name, std::shared_ptr<rs::PoDatabase> inner)
    : t_(&t), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<std::optional<rs::PurchaseOrder>>> ProbePoDatabase::lookup(std::uint64_t invoice_id,
                                                                                std::string reference) {
  CallTracker::Guard guard(*t_, source_, invoice_id, rs::ServiceOp::po_lookup);
  auto r = co_await inner_->lookup(invoice_id, std::move(reference));
  guard.finish(failure_of(r));
  co_return r;
}

rs::Task<rs::Outcome<std::vector<std::uint64_t>>> ProbePoDatabase::candidates(std::uint64_t invoice_id,
                                                                              std::string vendor,
                                                                              std::int64_t amount_cents) {
  CallTracker::Guard guard(*t_, source_, invoice_id, rs::ServiceOp::po_candidates);
  auto r = co_await inner_->candidates(invoice_id, std::move(vendor), amount_cents);
  guard.finish(failure_of(r));
  co_return r;
}

ProbeBudgetService::ProbeBudgetService(CallTracker& t, std::string_view name, std::shared_ptr<rs::BudgetService> inner)
    : t_(&t), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<>> ProbeBudgetService::reserve(std::uint64_t invoice_id, std::int64_t amount_cents) {
  CallTracker::Guard guard(*t_, source_, invoice_id, rs::ServiceOp::budget_reserve);
  auto r = co_await inner_->reserve(invoice_id, amount_cents);
  guard.finish(failure_of(r));
  co_return r;
}

rs::Task<rs::Outcome<>> ProbeBudgetService::release(std::uint64_t invoice_id) {
  CallTracker::Guard guard(*t_, source_, invoice_id, rs::ServiceOp::budget_release);
  auto r = co_await inner_->release(invoice_id);
  guard.finish(failure_of(r));
  co_return r;
}

ProbeLedger::ProbeLedger(CallTracker& t, std::string_view name, std::shared_ptr<rs::Ledger> inner)
    : t_(&t), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<rs::LedgerReceipt>> ProbeLedger::post(rs::LedgerPost entry) {
  CallTracker::Guard guard(*t_, source_, entry.invoice_id, rs::ServiceOp::ledger_post);
  const auto invoice = entry.invoice_id;
  const auto amount = entry.amount_cents;
  const auto po = entry.po_number;
  auto r = co_await inner_->post(std::move(entry));
  guard.finish(failure_of(r));
  if (r) {
    t_->rt().log().record(source_, invoice, harness_events::LedgerPostSeen{amount, po, r.value().duplicate});
  }
  co_return r;
}

rs::Task<rs::Outcome<>> ProbeLedger::reverse(std::uint64_t invoice_id) {
  CallTracker::Guard guard(*t_, source_, invoice_id, rs::ServiceOp::ledger_reverse);
  auto r = co_await inner_->reverse(invoice_id);
  guard.finish(failure_of(r));
  co_return r;
}

ProbeNotifier::ProbeNotifier(CallTracker& t, std::string_view name, std::shared_ptr<rs::Notifier> inner)
    : t_(&t), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<>> ProbeNotifier::notify(rs::Notice notice) {
  CallTracker::Guard guard(*t_, source_, notice.invoice_id, rs::ServiceOp::notify);
  auto r = co_await inner_->notify(std::move(notice));
  guard.finish(failure_of(r));
  co_return r;
}

ProbeCheckpointStore::ProbeCheckpointStore(CallTracker& t, std::string_view name,
                                           std::shared_ptr<resilience::CheckpointStore> inner)
    : rt_(&t.rt()), source_(t.rt().log().intern(name)), inner_(std::move(inner)) {}

rs::Task<rs::Outcome<std::uint64_t>> ProbeCheckpointStore::save(std::string workflow_id,
                                                                std::uint64_t expected_version, std::string step,
                                                                std::string state) {
  const auto invoice = invoice_of_workflow(workflow_id);
  // Only the workflow's own checkpoints ("wf/<id>") mark a step complete;
  // an agent's progress records (a saga's "saga/<id>") do not.
  const auto code = workflow_id.rfind("wf/", 0) == 0 ? step_code(step) : 0;
  auto r = co_await inner_->save(std::move(workflow_id), expected_version, std::move(step), std::move(state));
  if (r) rt_->log().record(source_, invoice, harness_events::CheckpointWrite{r.value(), code});
  co_return r;
}

rs::Task<rs::Outcome<std::optional<resilience::Checkpoint>>> ProbeCheckpointStore::load(std::string workflow_id) {
  co_return co_await inner_->load(std::move(workflow_id));
}

rs::Task<rs::Outcome<>> ProbeCheckpointStore::remove(std::string workflow_id, std::uint64_t expected_version) {
  co_return co_await inner_->remove(std::move(workflow_id), expected_version);
}

rs::Task<rs::Outcome<std::vector<resilience::Checkpoint>>> ProbeCheckpointStore::list(std::string prefix,
                                                                                      std::size_t limit) {
  co_return co_await inner_->list(std::move(prefix), limit);
}

}  // namespace faultline::harness
