// The visibility checker's clauses that invariants_test.cpp does not already
// break: a system with no metrics at all, a manual-review queue whose size
// the metrics misreport, and a dead-letter gauge that disagrees with the
// queue's store; and conservation's "more outcomes than submissions".
#include <gtest/gtest.h>

#include "harness/invariants.h"
#include "tests/harness/history.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
namespace se = reference_system::system_events;
using namespace std::chrono_literals;
using test_history::expect_clause;
using test_history::History;


TEST(VisibilityClauses, ASystemWithNoMetrics) {
  History h;
  h.clean_invoice(1, 1min);
  EXPECT_TRUE(h.check("visibility").passed);
  h.evidence().metrics = nullptr;
  expect_clause(h.check("visibility"), "the system exposes no metrics");
}

TEST(VisibilityClauses, AReviewQueueWhoseSizeTheMetricsMisreport) {
  History h;
  h.clean_invoice(1, 1min);
  h.evidence().manual_review_ids = {7, 8};
  h.metrics().manual_review_size = 2;
  EXPECT_TRUE(h.check("visibility").passed) << h.check("visibility").message;
  h.metrics().manual_review_size = 1;
  expect_clause(h.check("visibility"), "the manual-review queue holds 2 invoices, the metrics say 1");
}

TEST(VisibilityClauses, ADeadLetterGaugeThatDisagreesWithTheStore) {
  History h;
  h.dead_lettered_invoice(1, 1min);
  EXPECT_TRUE(h.check("visibility").passed) << h.check("visibility").message;
  h.metrics().dead_letter_size = 3;
  expect_clause(h.check("visibility"), "the dead-letter queue's store holds 1 invoices, the metrics say 3");
}

TEST(ConservationClauses, MoreTerminalOutcomesThanAcceptedSubmissions) {
  History h;
  h.dead_lettered_invoice(1, 1min);
  EXPECT_TRUE(h.check("conservation").passed) << h.check("conservation").message;
  h.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 30s, 500});  // a second dead_lettered outcome
  expect_clause(h.check("conservation"), "invoice 1: 2 terminal outcomes for 1 accepted submission(s)");
}

}  // namespace
}  // namespace faultline::harness
