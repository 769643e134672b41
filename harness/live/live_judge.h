// Judging a live run's submissions against the stores (harness/live/live_run.h):
// where each submission the harness made went, and the validation invariant.
// Pure functions of the harness's own record and what the stores hold, so
// a test can hand them crafted evidence.
//
//   LiveStores stores = ...;                          // read from PostgreSQL
//   LiveAccount a = account_submissions(submissions, stores);
//   a.unaccounted.empty();                            // every submission found
//   reports::InvariantResult v = judge_validation(submissions, stores, a, idle);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault.h"
#include "reports/result.h"

namespace faultline::harness {

// One submission the harness made: the intake entry XADD gave it and the
// harness's record of the invoice's truth (workload_driver.h).
struct LiveSubmission {
  std::uint64_t id = 0;
  std::string entry_id;
  std::int64_t true_total_cents = 0;
  std::optional<faults::Corruption> corruption;
  bool extra = false;
};

// What the stores hold at one reading.
struct LiveStores {
  std::vector<std::uint64_t> posted;  // a live (not reversed) ledger entry
  std::vector<std::uint64_t> dead_lettered;
  std::vector<std::uint64_t> manual_review;
  std::vector<std::uint64_t> rejected;
  std::map<std::string, std::string> refused;         // intake entry id -> reason (the refusals table)
  std::map<std::uint64_t, std::int64_t> ledger_cents;  // live entries' amounts summed per invoice
};

// Where the submissions were found, as the simulator's conservation places
// them: per invoice id, the submissions refused at the door (by entry id)
// first, then one more in one store (ledger, manual review, dead-letter
// queue, rejections, in that precedence); any other submission is
// unaccounted for.
struct LiveAccount {
  reports::OutcomeCounts counts;                // submitted, refused and one store each; lost/in_flight: 0
  std::vector<std::uint64_t> unaccounted;       // one id per submission found nowhere
  std::vector<std::string> excess;              // "invoice 7 is in the ledger, rejections" ...
  std::vector<std::uint64_t> foreign;           // in a store, never submitted
};
LiveAccount account_submissions(const std::vector<LiveSubmission>& submissions, const LiveStores& stores);

// The validation invariant from the stores, the simulator's rule
// (harness/checks/outcomes.cpp): an invoice with a damaged submission is
// never posted unless its damage can leave a truthful document (bit flips,
// an injection string as a name, a duplicate id), and then only at its true
// amount (the harness's record of the first submission not refused); and,
// once the system is idle, never unaccounted for.
reports::InvariantResult judge_validation(const std::vector<LiveSubmission>& submissions, const LiveStores& stores,
                                          const LiveAccount& account, bool idle);

}  // namespace faultline::harness
