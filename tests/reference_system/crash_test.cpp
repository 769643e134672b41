// Each agent (and the orchestrator) crashed mid-workflow and restarted:
// work resumes from its checkpoint, no invoice is posted twice, none is lost.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include "reference_system/system.h"
#include "runtime/sim_runtime.h"
#include "tests/support/source_dir.h"
#include "world/sim_world.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

namespace se = system_events;

using namespace std::chrono_literals;

using test_support::source_path;

// A fresh folder for one run's SQLite checkpoint file, removed afterwards:
// the crash tests run recommended.json as written, on its durable store.
struct PrivateFolder {
  std::filesystem::path path;
  PrivateFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "faultline-crash-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  ~PrivateFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

Policy recommended_on(const PrivateFolder& folder) {
  Policy p = load_policy(source_path("scenarios/policies/recommended.json"));
  EXPECT_EQ(p.checkpoints, CheckpointStoreKind::sqlite);
  p.checkpoint_path = (folder.path / "checkpoints.db").string();
  return p;
}

struct CrashRun {
  PrivateFolder folder;
  runtime::SimRuntime rt{11};
  SimWorld sim;
  std::unique_ptr<System> system;
  std::uint64_t submitted = 0;
  std::uint64_t valid = 0;

  explicit CrashRun(WorldModel world = default_world_model()) {
    world.workload.invalid_share = 0.0;
    sim = make_sim_world(rt, world);
    SystemBuilder builder(rt, recommended_on(folder), sim.ports());
    generator = std::make_unique<WorkloadGenerator>(rt, world.workload, *sim.catalogue);
    system = builder.build();
    system->start();
  }
  // 300 invoices at 10,000 an hour (one every 0.36 s on average).
  void drive() {
    rt.spawn([](CrashRun& run) -> runtime::Task<void> {
      for (int i = 0; i < 300; ++i) {
        co_await run.rt.sleep(run.generator->next_interarrival(10'000.0));
        EXPECT_EQ(run.system->submit(run.generator->next().invoice), SubmitResult::accepted);
        ++run.submitted;
      }
    }(*this));
  }
  void crash_between(std::string_view agent, runtime::Duration at, runtime::Duration until) {
    rt.spawn([](CrashRun& run, std::string_view agent, runtime::Duration at, runtime::Duration until)
                 -> runtime::Task<void> {
      co_await run.rt.sleep(at);
      EXPECT_TRUE(run.system->supervisor().stop(agent));
      co_await run.rt.sleep(until - at);
      EXPECT_TRUE(run.system->supervisor().start(agent));
    }(*this, agent, at, until));
  }
  std::size_t count(SystemEvent kind, std::string_view source = {}) const {
    const auto id = source.empty() ? 0 : rt.log().find(source);
    std::size_t n = 0;
    for (const auto& e : rt.log().events()) {
      if (e.kind == static_cast<std::uint16_t>(kind) && (source.empty() || e.source == id)) ++n;
    }
    return n;
  }
  // Nothing lost, nothing posted twice, every valid invoice posted.
  void expect_exactly_once() {
    const auto& m = system->metrics();
    EXPECT_EQ(submitted, 300u);
    EXPECT_EQ(system->orchestrator().in_flight(), 0u) << "invoices left in flight";
    EXPECT_EQ(m.terminal(), submitted);
    EXPECT_EQ(m.succeeded(), submitted) << "dead-lettered " << m.outcome(InvoiceOutcome::dead_lettered)
                                        << ", manual review " << m.outcome(InvoiceOutcome::manual_review);
    const SimLedger& ledger = *sim.ledger;
    std::set<std::uint64_t> seen;
    for (const auto& e : ledger.entries()) {
      EXPECT_FALSE(e.reversed) << "invoice " << e.invoice_id;
      EXPECT_TRUE(seen.insert(e.invoice_id).second) << "invoice " << e.invoice_id << " posted twice";
    }
    EXPECT_EQ(seen.size(), m.succeeded());
  }
  std::unique_ptr<WorkloadGenerator> generator;
};

class AgentCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(AgentCrash, DownThirtySecondsThenRestartedLosesNothingAndPostsOnce) {
  CrashRun run;
  run.drive();
  run.crash_between(GetParam(), 20s, 50s);
  run.rt.run();
  run.expect_exactly_once();
  EXPECT_EQ(run.count(SystemEvent::agent_stopped, GetParam()), 1u);
  EXPECT_EQ(run.count(SystemEvent::agent_started, GetParam()), 1u);
}

INSTANTIATE_TEST_SUITE_P(EveryAgent, AgentCrash,
                         ::testing::Values("ocr", "validation", "matching", "accounting", "orchestrator"));

TEST(Crash, OcrWorkInFlightIsRedeliveredAfterRestart) {
  CrashRun run;
  run.drive();
  run.crash_between("ocr", 20s, 50s);
  run.rt.run();
  run.expect_exactly_once();
  // OCR takes seconds, so some scans were being read at the crash: they
  // were redelivered from the bus to the restarted agent.
  EXPECT_GT(run.count(SystemEvent::message_redelivered, to_string(Topic::ocr)), 0u);
}

TEST(Crash, OrchestratorResumesAWorkflowFromItsCheckpointWithoutRedoingSteps) {
  CrashRun run;
  std::uint64_t victim = 0;
  // Crash the orchestrator right after a workflow checkpointed its third
  // step (matching), restart it 30 s later.
  const auto orchestrator = run.rt.log().intern("orchestrator");
  run.rt.log().add_listener([&](const runtime::Event& e) {
    if (victim != 0 || !is<se::CheckpointSaved>(e) || e.source != orchestrator ||
        read<se::CheckpointSaved>(e).steps_completed != 3) {
      return;
    }
    victim = e.subject;
    run.rt.spawn([](CrashRun& run) -> runtime::Task<void> {
      EXPECT_TRUE(run.system->supervisor().stop("orchestrator"));
      co_await run.rt.sleep(30s);
      EXPECT_TRUE(run.system->supervisor().start("orchestrator"));
    }(run));
  });
  run.drive();
  run.rt.run();
  ASSERT_NE(victim, 0u);
  run.expect_exactly_once();
  bool resumed = false;
  std::size_t steps_run = 0;
  for (const auto& e : run.rt.log().events()) {
    if (e.subject != victim) continue;
    resumed |= is<se::CheckpointLoaded>(e) && e.source == orchestrator &&
               read<se::CheckpointLoaded>(e).steps_completed == 3;
    // Steps 0-2 were complete at the crash; step 3 may have been in flight.
    steps_run += is<se::StepStarted>(e) && read<se::StepStarted>(e).step < 3 ? 1 : 0;
  }
  EXPECT_TRUE(resumed) << "the workflow did not resume at its fourth step";
  EXPECT_EQ(steps_run, 3u) << "a completed step ran again";
  EXPECT_EQ(run.system->orchestrator().outcome(victim), InvoiceOutcome::posted);
}

TEST(Crash, AccountingCrashedBetweenPostAndNotifyResumesTheSagaWithoutASecondEntry) {
  CrashRun run;
  std::uint64_t victim = 0;
  // The moment the ledger applies its first entry, the accounting agent is
  // inside that invoice's saga (the ledger's answer is still on its way):
  // crash it then, and restart it 30 s later.
  run.rt.log().add_listener([&](const runtime::Event& e) {
    if (victim != 0 || !is<se::LedgerPosted>(e)) return;
    victim = e.subject;
    run.rt.spawn([](CrashRun& run) -> runtime::Task<void> {
      EXPECT_TRUE(run.system->supervisor().stop("accounting"));
      co_await run.rt.sleep(30s);
      EXPECT_TRUE(run.system->supervisor().start("accounting"));
    }(run));
  });
  run.drive();
  run.rt.run();
  ASSERT_NE(victim, 0u);
  run.expect_exactly_once();
  bool resumed = false, refused_duplicate = false;
  for (const auto& e : run.rt.log().events()) {
    if (e.subject != victim) continue;
    resumed |= is<se::CheckpointLoaded>(e) && read<se::CheckpointLoaded>(e).steps_completed == 1;
    refused_duplicate |= is<se::LedgerDuplicate>(e);
  }
  EXPECT_TRUE(resumed) << "the saga did not resume after its reserve step";
  EXPECT_TRUE(refused_duplicate) << "the repeated post was not recognised by its idempotency key";
  EXPECT_EQ(run.sim.ledger->live_entries(victim), 1u);
}

}  // namespace
}  // namespace faultline::reference_system
