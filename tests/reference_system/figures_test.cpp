// The figures the reference system must reproduce, over samples large
// enough that the tolerances come from sampling error, not tuning:
//  - four agents each failing 5% of calls, naive policy: 0.95^4 = 81.5%
//    end to end; five stages: 0.95^5 = 77.4% (n = 100,000 each: the
//    standard error is 0.12 points, so 0.5 points is four of them);
//  - the article's case study (scenarios/models/case_study.json). Its
//    world's parameters were solved, once, from the article's 78%, 96% and
//    4% (scenarios/models/README.md), so getting those back is a check of
//    the calibration and of the closed-form derivation, not evidence that
//    the model predicts anything (n = 50,000 each: standard error 0.19 and
//    0.09 points; the tolerance of 1 point covers the approximations of the
//    derivation, not a fit). The +23% more invoices processed follows
//    arithmetically from the two success rates. The one figure the
//    calibration did not use is the processing-time change: the model
//    predicts +23.1% against the article's +15%, and the test pins that
//    prediction so that a change to the world or the policies that moves it
//    has to say so (why it differs from the article: the README there).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/source_dir.h"
#include "world/simulation.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

using test_support::source_path;

// An agent that fails a share of its requests before doing anything, as a
// test double for "each agent is 95% reliable".
class FlakyAgent final : public Agent {
 public:
  FlakyAgent(runtime::Runtime& rt, std::shared_ptr<Agent> inner, double failure_probability)
      : inner_(std::move(inner)),
        rng_(rt.stream("test/flaky/" + std::string(to_string(inner_->id())))),
        p_(failure_probability) {}
  AgentId id() const noexcept override { return inner_->id(); }
  Task<StepReply> handle(const Message& request) override {
    if (rng_.bernoulli(p_)) {
      StepReply r;
      r.status = StepStatus::failed;
      r.error = ErrorClass::transient;
      co_return r;
    }
    co_return co_await inner_->handle(request);
  }

 private:
  std::shared_ptr<Agent> inner_;
  runtime::Rng rng_;
  double p_;
};

SimulationResult run_flaky(bool five_stages) {
  SimulationConfig config;
  config.seed = 20260101;
  config.invoices = 100'000;
  config.policy = load_policy(source_path("scenarios/policies/naive.json"));
  config.world = load_world_model(source_path("scenarios/models/baseline.json"));
  config.world.workload.invalid_share = 0.0;  // every invoice valid: only the agents fail
  config.archive_stage = five_stages;
  config.system.observe_patterns = false;
  return run_simulation(config, [](SystemBuilder& builder) {
    builder.wrap_agents([&builder](std::shared_ptr<Agent> agent) -> std::shared_ptr<Agent> {
      return std::make_shared<FlakyAgent>(builder.runtime(), std::move(agent), 0.05);
    });
  });
}

TEST(Figures, FourAgentsAt95PercentGive81_5PercentEndToEnd) {
  const auto r = run_flaky(false);
  ASSERT_EQ(r.submitted, 100'000u);
  EXPECT_EQ(r.metrics.terminal(), r.submitted);
  EXPECT_NEAR(r.success_rate(), std::pow(0.95, 4), 0.005);
  EXPECT_EQ(r.metrics.succeeded() + r.outcome(InvoiceOutcome::dead_lettered), r.submitted);
  std::printf("4 agents at 95%%: success %.4f (closed form %.4f)\n", r.success_rate(), std::pow(0.95, 4));
}

TEST(Figures, FiveStagesAt95PercentGive77_4PercentEndToEnd) {
  const auto r = run_flaky(true);
  ASSERT_EQ(r.submitted, 100'000u);
  EXPECT_EQ(r.metrics.terminal(), r.submitted);
  EXPECT_NEAR(r.success_rate(), std::pow(0.95, 5), 0.005);
  std::printf("5 stages at 95%%: success %.4f (closed form %.4f)\n", r.success_rate(), std::pow(0.95, 5));
}

SimulationResult run_case_study(const char* policy) {
  SimulationConfig config;
  config.seed = 20260202;
  config.invoices = 50'000;
  config.rate_per_hour = 1'000.0;
  config.policy = load_policy(source_path(policy));
  // The figures do not depend on where checkpoints are kept; 50,000
  // invoices' worth of SQLite writes would only slow the test.
  if (config.policy.checkpoints == CheckpointStoreKind::sqlite) config.policy.checkpoints = CheckpointStoreKind::memory;
  config.world = load_world_model(source_path("scenarios/models/case_study.json"));
  config.system.observe_patterns = false;
  return run_simulation(config);
}

struct CaseStudyRuns {
  SimulationResult naive;
  SimulationResult recommended;
};

// Both policies over the same 50,000 invoices, once for the tests below.
const CaseStudyRuns& case_study() {
  static const CaseStudyRuns runs{run_case_study("scenarios/policies/naive.json"),
                                  run_case_study("scenarios/policies/recommended.json")};
  return runs;
}

// Calibration inputs: the world was solved from these three figures.
TEST(Figures, CaseStudyCalibrationGivesBackItsInputs78And96With4InManualReview) {
  const auto& [naive, recommended] = case_study();
  ASSERT_EQ(naive.metrics.terminal(), naive.submitted);
  ASSERT_EQ(recommended.metrics.terminal(), recommended.submitted);

  EXPECT_NEAR(naive.success_rate(), 0.78, 0.01);
  EXPECT_NEAR(recommended.success_rate(), 0.96, 0.01);
  EXPECT_NEAR(recommended.share(InvoiceOutcome::manual_review), 0.04, 0.01);
  // "The rest in manual review": nothing dead-lettered, nothing rejected.
  EXPECT_LT(recommended.share(InvoiceOutcome::dead_lettered), 0.001);
  EXPECT_EQ(recommended.outcome(InvoiceOutcome::rejected_invalid), 0u);

  // Not a prediction either: the article's +23% is 96/78, and ours follows
  // from the two success rates above.
  const double naive_ok = static_cast<double>(naive.metrics.succeeded());
  const double rec_ok = static_cast<double>(recommended.metrics.succeeded());
  EXPECT_NEAR(rec_ok / naive_ok - 1.0, 0.96 / 0.78 - 1.0, 0.03);
  std::printf(
      "case study, calibration inputs: naive success %.4f (article 0.78, dead-lettered %.4f), recommended success "
      "%.4f (article 0.96), manual review %.4f (article 0.04), dead-lettered %.4f\n"
      "  derived from them: invoices successfully processed %+.1f%% (article +23%%)\n",
      naive.success_rate(), naive.share(InvoiceOutcome::dead_lettered), recommended.success_rate(),
      recommended.share(InvoiceOutcome::manual_review), recommended.share(InvoiceOutcome::dead_lettered),
      100.0 * (rec_ok / naive_ok - 1.0));
}

// The prediction: no parameter was chosen with processing time in mind. The
// model says +23.1%, the article +15%; scenarios/models/README.md explains
// the gap from the model (poor scans: five 10 s attempts with backoff and
// then the backup engine, where the naive policy gives up after one 30 s
// timeout). Pinned within 3 points so that a change that moves it is seen.
TEST(Figures, CaseStudyPredictsProcessingTime23PercentLongerWhereTheArticleSaw15) {
  const auto& [naive, recommended] = case_study();
  const double naive_mean = runtime::to_seconds(naive.metrics.end_to_end.mean());
  const double rec_mean = runtime::to_seconds(recommended.metrics.end_to_end.mean());
  const double naive_mean_ok = runtime::to_seconds(naive.metrics.end_to_end_success.mean());
  const double rec_mean_ok = runtime::to_seconds(recommended.metrics.end_to_end_success.mean());
  const double increase = rec_mean / naive_mean - 1.0;
  EXPECT_NEAR(increase, 0.231, 0.03);
  EXPECT_GT(increase, 0.15) << "the model no longer disagrees with the article: update the READMEs";
  std::printf(
      "case study, prediction: mean processing time, all invoices: %.2f s -> %.2f s (%+.1f%%, article +15%%); "
      "successful ones: %.2f s -> %.2f s (%+.1f%%)\n",
      naive_mean, rec_mean, 100.0 * increase, naive_mean_ok, rec_mean_ok, 100.0 * (rec_mean_ok / naive_mean_ok - 1.0));
}

}  // namespace
}  // namespace faultline::reference_system
