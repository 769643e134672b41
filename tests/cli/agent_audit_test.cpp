// A team's own agent judged live by the same invariants as the reference
// (issue 20), the wire audit (harness/live/wire_audit.h) giving the
// evidence the stores cannot: the Python example plays validation through
// the article's four chaos tests and passes, its report naming the command;
// the broken variants fail naming the invariant: acks_first.py fails
// conservation on a crash of the validation role (each ack that came before
// its reply, lost or not), not_idempotent.py fails exactly_once on
// duplicate delivery (one request answered ok, then rejected). Run from the
// source directory with the commands the README gives, at time scale 60.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/cli/process.h"

namespace {

namespace fs = std::filesystem;
namespace ct = faultline::cli_testing;
using namespace std::chrono_literals;

constexpr const char* kExample = "/usr/bin/python3 examples/agents/validation_agent.py";
constexpr const char* kAcksFirst = "/usr/bin/python3 examples/agents/broken/acks_first.py";
constexpr const char* kNotIdempotent = "/usr/bin/python3 examples/agents/broken/not_idempotent.py";

struct AuditDir : ct::LiveDir {
  AuditDir() : ct::LiveDir("agent-audit") {}
};

struct LiveResult {
  int exit_code = -1;
  std::string output;
  nlohmann::json scenario;
};

// `faultline run FILE --mode live --time-scale 60 --agent validation=COMMAND`, from the source directory.
LiveResult run_live(const AuditDir& d, const std::string& file, const std::string& agent) {
  ct::Options o;
  o.cwd = ct::source_dir();
  o.env["TMPDIR"] = (d.root / "tmp").string();
  o.alarm = 400s;
  const fs::path out = d.root / "runs";
  auto r = ct::faultline({"run", file, "--mode", "live", "--time-scale", "60", "--agent", "validation=" + agent,
                          "--out", out.string()},
                         o);
  LiveResult run{r.exit_code, r.out + r.err, {}};
  if (fs::exists(out / "latest/report.json")) {
    run.scenario = nlohmann::json::parse(ct::read_file(out / "latest/report.json"))["scenarios"][0];
  }
  return run;
}

nlohmann::json invariant(const nlohmann::json& scenario, const std::string& id) {
  for (const auto& inv : scenario["invariants"]) {
    if (inv["id"] == id) return inv;
  }
  ADD_FAILURE() << "no invariant " << id;
  return nlohmann::json::object();
}

// The evidence line that starts with `prefix`, or "".
std::string evidence_line(const nlohmann::json& inv, const std::string& prefix) {
  for (const auto& e : inv.value("evidence", nlohmann::json::array())) {
    const std::string line = e.get<std::string>();
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

void expect_example_passes(const std::string& file) {
  AuditDir d;
  const LiveResult r = run_live(d, file, kExample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.scenario["verdict"], "pass") << r.scenario.dump(2);
  const auto conservation = invariant(r.scenario, "conservation");
  EXPECT_TRUE(conservation["passed"].get<bool>()) << conservation.dump(2);
  EXPECT_EQ(evidence_line(conservation, "played by validation"),
            std::string("played by validation: 1 process(es) of ") + kExample);
  // The audit judged the example's own acks and replies, and found each ack behind its reply.
  const std::string audit = evidence_line(conservation, "wire audit");
  EXPECT_NE(audit.find(" requests mapped from the role streams"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("wire audit (Redis MONITOR): 0 requests"), std::string::npos) << audit;
  EXPECT_TRUE(invariant(r.scenario, "exactly_once")["passed"].get<bool>());
}

TEST(AgentAuditLive, PythonExamplePassesOcrDelay) { expect_example_passes("scenarios/ocr-delay-30s.json"); }

TEST(AgentAuditLive, PythonExamplePassesAgentStopped) { expect_example_passes("scenarios/agent-stopped-5m.json"); }

TEST(AgentAuditLive, PythonExamplePassesSaturation) { expect_example_passes("scenarios/saturation-10x.json"); }

TEST(AgentAuditLive, PythonExamplePassesCorruptedInput) { expect_example_passes("scenarios/corrupted-input.json"); }

// Acking before replying changes no store (the orchestrator retries what a
// crash lost), so the stores alone pass it: the wire audit fails it.
TEST(AgentAuditLive, AcksFirstFailsConservationOnAValidationCrash) {
  AuditDir d;
  const LiveResult r = run_live(d, "tests/cli/scenarios/validation-crash.json", kAcksFirst);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.scenario["verdict"], "fail") << r.scenario.dump(2);
  EXPECT_NE(r.output.find("broken: conservation"), std::string::npos) << r.output;
  const auto conservation = invariant(r.scenario, "conservation");
  EXPECT_FALSE(conservation["passed"].get<bool>());
  const std::string message = conservation["message"];
  EXPECT_NE(message.find("acked before any reply was written (Redis MONITOR order)"), std::string::npos) << message;
  EXPECT_NE(message.find("on fl_"), std::string::npos) << message;
  EXPECT_NE(message.find(":validation (entry "), std::string::npos) << message;
  // Whether the crash actually lost one is said either way.
  EXPECT_TRUE(message.find("never answered: lost") != std::string::npos ||
              message.find("none lost this time") != std::string::npos)
      << message;
  // The crash touched the role.
  EXPECT_GT(r.scenario["faults"][0]["hit_count"].get<int>(), 0) << r.scenario["faults"].dump();
}

TEST(AgentAuditLive, NotIdempotentFailsExactlyOnceOnDuplicateDelivery) {
  AuditDir d;
  const LiveResult r = run_live(d, "scenarios/duplicate-delivery.json", kNotIdempotent);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.scenario["verdict"], "fail") << r.scenario.dump(2);
  const auto once = invariant(r.scenario, "exactly_once");
  EXPECT_FALSE(once["passed"].get<bool>());
  const std::string message = once["message"];
  EXPECT_NE(message.find("answered with two different results"), std::string::npos) << message;
  EXPECT_NE(message.find("answered ok, then rejected"), std::string::npos) << message;
  // Its acks follow its replies: conservation holds; only exactly_once is named.
  EXPECT_TRUE(invariant(r.scenario, "conservation")["passed"].get<bool>())
      << invariant(r.scenario, "conservation").dump(2);
}

}  // namespace
