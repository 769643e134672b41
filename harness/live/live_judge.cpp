// Judging a live run's submissions (live_judge.h).
#include "harness/live/live_judge.h"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/core.h>

namespace faultline::harness {

namespace {

constexpr std::size_t kEvidenceMax = 12;

enum Store : std::size_t { kLedger, kReview, kDeadLetter, kRejected, kStores };
constexpr std::array<const char*, kStores> kStoreNames = {"the ledger", "manual review", "the dead-letter queue",
                                                          "rejections"};

struct PerInvoice {
  std::vector<const LiveSubmission*> submissions;
  std::uint32_t refused = 0;
  std::array<bool, kStores> in{};
};

std::map<std::uint64_t, PerInvoice> by_invoice(const std::vector<LiveSubmission>& submissions,
                                               const LiveStores& stores) {
  std::map<std::uint64_t, PerInvoice> out;
  for (const auto& s : submissions) {
    auto& p = out[s.id];
    p.submissions.push_back(&s);
    if (stores.refused.contains(s.entry_id)) ++p.refused;
  }
  auto mark = [&](const std::vector<std::uint64_t>& ids, Store where) {
    for (auto id : ids) out[id].in[where] = true;
  };
  mark(stores.posted, kLedger);
  mark(stores.manual_review, kReview);
  mark(stores.dead_lettered, kDeadLetter);
  mark(stores.rejected, kRejected);
  return out;
}

}  // namespace

LiveAccount account_submissions(const std::vector<LiveSubmission>& submissions, const LiveStores& stores) {
  LiveAccount a;
  auto& c = a.counts;
  for (const auto& [id, p] : by_invoice(submissions, stores)) {
    std::vector<std::string> where;
    for (std::size_t q = 0; q < kStores; ++q) {
      if (p.in[q]) where.emplace_back(kStoreNames[q]);
    }
    if (p.submissions.empty()) {
      a.foreign.push_back(id);
      continue;
    }
    c.submitted += p.submissions.size();
    c.refused += p.refused;
    std::uint32_t left = static_cast<std::uint32_t>(p.submissions.size()) - p.refused;
    if (left > 0 && !where.empty()) {
      --left;
      if (p.in[kLedger]) ++c.posted;
      else if (p.in[kReview]) ++c.manual_review;
      else if (p.in[kDeadLetter]) ++c.dead_lettered;
      else ++c.rejected_invalid;
    }
    for (std::uint32_t i = 0; i < left; ++i) a.unaccounted.push_back(id);
    const std::size_t found = p.refused + where.size();
    if (where.size() > 1 || (!where.empty() && found > p.submissions.size())) {
      std::string line = fmt::format("invoice {}: submitted {} time(s), {} refused at the door, yet in ", id,
                                     p.submissions.size(), p.refused);
      for (std::size_t i = 0; i < where.size(); ++i) line += (i == 0 ? "" : ", ") + where[i];
      a.excess.push_back(std::move(line));
    }
  }
  return a;
}

reports::InvariantResult judge_validation(const std::vector<LiveSubmission>& submissions, const LiveStores& stores,
                                          const LiveAccount& account, bool idle) {
  reports::InvariantResult r;
  r.id = "validation";
  r.name = "corrupted input is rejected without crashing anything";
  std::vector<std::string> bad;
  const std::set<std::uint64_t> unaccounted(account.unaccounted.begin(), account.unaccounted.end());
  std::uint64_t corrupted = 0;
  std::uint64_t posted_true = 0;
  std::uint64_t rejected = 0;
  std::uint64_t elsewhere = 0;
  std::uint64_t refused_only = 0;
  for (const auto& [id, p] : by_invoice(submissions, stores)) {
    std::optional<faults::Corruption> mode;
    for (const auto* s : p.submissions) mode = std::max(mode, s->corruption);  // none sorts first
    if (!mode) continue;
    ++corrupted;
    // The truth: the first submission not refused at the door (a refused
    // one left the id free), else the last one.
    const LiveSubmission* truth = p.submissions.back();
    for (const auto* s : p.submissions) {
      if (!stores.refused.contains(s->entry_id)) {
        truth = s;
        break;
      }
    }
    if (idle && unaccounted.contains(id)) {
      bad.push_back(fmt::format("invoice {}: {} input found in no store and not refused: lost", id,
                                faults::to_string(*mode)));
    }
    if (!p.in[kLedger]) {
      if (p.in[kRejected]) ++rejected;
      else if (p.in[kReview] || p.in[kDeadLetter]) ++elsewhere;
      else if (p.refused > 0) ++refused_only;
      continue;
    }
    const bool may_post = *mode == faults::Corruption::bit_flips || *mode == faults::Corruption::injection ||
                          *mode == faults::Corruption::duplicate_id;
    const auto it = stores.ledger_cents.find(id);
    const std::int64_t posted = it == stores.ledger_cents.end() ? 0 : it->second;
    if (!may_post) {
      bad.push_back(fmt::format("invoice {}: {} input was posted ({} cents) instead of rejected", id,
                                faults::to_string(*mode), posted));
    } else if (posted != truth->true_total_cents) {
      bad.push_back(fmt::format("invoice {}: {} input posted {} cents, its true total is {}", id,
                                faults::to_string(*mode), posted, truth->true_total_cents));
    } else {
      ++posted_true;
    }
  }
  r.passed = bad.empty();
  if (r.passed) {
    r.message = fmt::format("{} corrupted invoices: {} rejected, {} in manual review or the dead-letter queue, {} "
                            "refused at the door, {} posted at their true amount (ledger, PostgreSQL); none posted "
                            "wrongly, none lost; no worker ended on its own",
                            corrupted, rejected, elsewhere, refused_only, posted_true);
  } else {
    r.message = bad.front();
    if (bad.size() > 1) r.message += fmt::format(" ({} violations in all)", bad.size());
  }
  for (const auto& b : bad) {
    if (r.evidence.size() < kEvidenceMax) r.evidence.push_back(b);
    else ++r.evidence_dropped;
  }
  return r;
}

}  // namespace faultline::harness
