// `faultline check-agent ROLE -- COMMAND...` (harness/live/agent_check.h) end
// to end, labelled live (CheckAgentLive.*; each run starts its own private
// Redis and PostgreSQL): the Python example agent and faultline-agent pass
// every check; the two broken variants of the example
// (examples/agents/broken/) fail the check that exposes them, named; an
// agent that exits at once and one that speaks another protocol version
// fail with their message. Without servers: the usage errors (exit 2) and
// the contract of harness/live/agent_contract.h.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/live/agent_contract.h"
#include "tests/cli/process.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace ct = faultline::cli_testing;
namespace h = faultline::harness;

constexpr const char* kPython = "/usr/bin/python3";

ct::Result check(const std::string& role, const std::vector<std::string>& command,
                 const std::vector<std::string>& options = {}) {
  std::vector<std::string> args{"check-agent", role};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  ct::Options o;
  o.alarm = 240s;
  o.cwd = ct::source_dir();
  return ct::faultline(args, o);
}

// The table's line for a check: "<name> <PASS|FAIL> <detail>".
std::string row(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return line;
  }
  return {};
}

bool passed(const std::string& out, const std::string& name) {
  return row(out, name).find(" PASS ") != std::string::npos;
}

const std::vector<std::string> kChecks = {"happy_path", "redelivery", "crash_mid_message", "past_deadline",
                                          "malformed_request"};

void expect_python_redis() {
  ct::Options o;
  o.program = kPython;
  const auto r = ct::faultline({"-c", "import redis"}, o);
  ASSERT_EQ(r.exit_code, 0) << "Debian's python3-redis is missing (scripts/lib.sh FAULTLINE_TEST_PACKAGES): " << r.err;
}

fs::path example(const std::string& relative) { return ct::source_dir() / "examples/agents" / relative; }

TEST(CheckAgentLive, ThePythonExamplePassesEveryCheck) {
  expect_python_redis();
  const fs::path dir = ct::fresh_dir("check-agent-junit");
  const auto r = check("validation", {kPython, example("validation_agent.py").string()},
                       {"--junit", (dir / "check.xml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& name : kChecks) EXPECT_TRUE(passed(r.out, name)) << name << "\n" << r.out;
  EXPECT_NE(r.out.find("5 of 5 checks passed"), std::string::npos) << r.out;
  const std::string junit = ct::read_file(dir / "check.xml");
  EXPECT_NE(junit.find("tests=\"5\" failures=\"0\""), std::string::npos) << junit;
  fs::remove_all(dir);
}

TEST(CheckAgentLive, TheReferenceAgentPassesEveryCheck) {
  const auto r = check("validation", {FAULTLINE_AGENT_BINARY, "--from-env", "--policy",
                                      (ct::source_dir() / "scenarios/policies/recommended.json").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& name : kChecks) EXPECT_TRUE(passed(r.out, name)) << name << "\n" << r.out;
}

TEST(CheckAgentLive, AnAgentThatAcksBeforeReplyingFailsCrashMidMessage) {
  expect_python_redis();
  const fs::path dir = ct::fresh_dir("check-agent-junit");
  const auto r = check("validation", {kPython, example("broken/acks_first.py").string()},
                       {"--junit", (dir / "check.xml").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string crash = row(r.out, "crash_mid_message");
  EXPECT_NE(crash.find(" FAIL "), std::string::npos) << r.out;
  EXPECT_NE(crash.find("before replying: a SIGKILL between the two loses it"), std::string::npos) << crash;
  EXPECT_TRUE(passed(r.out, "happy_path")) << r.out;
  const std::string junit = ct::read_file(dir / "check.xml");
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"acked request"), std::string::npos) << junit;
  fs::remove_all(dir);
}

TEST(CheckAgentLive, AnAgentThatIsNotIdempotentFailsRedeliveryNamingBothStatuses) {
  expect_python_redis();
  const auto r = check("validation", {kPython, example("broken/not_idempotent.py").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string redelivery = row(r.out, "redelivery");
  EXPECT_NE(redelivery.find(" FAIL "), std::string::npos) << r.out;
  EXPECT_NE(redelivery.find("answered ok, then rejected"), std::string::npos) << redelivery;
  EXPECT_TRUE(passed(r.out, "happy_path")) << r.out;
  EXPECT_TRUE(passed(r.out, "crash_mid_message")) << r.out;
}

TEST(CheckAgentLive, AnAgentThatExitsAtOnceFails) {
  const auto r = check("validation", {"/bin/sh", "-c", "echo cannot start >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("the agent exited with status 3 before saying \"validation-0 ready protocol 1\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cannot start"), std::string::npos) << r.out;
}

TEST(CheckAgentLive, AnAgentThatNeverSaysReadyFails) {
  const auto r = check("validation", {"/bin/sh", "-c", "echo starting; sleep 60"}, {"--ready-within", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("the agent did not say \"validation-0 ready protocol 1\" within 2 s; its last line: starting"),
            std::string::npos)
      << r.out;
}

TEST(CheckAgentLive, AnAgentOfAnotherProtocolVersionIsRefused) {
  const auto r = check("validation", {"/bin/sh", "-c", "echo \"$FAULTLINE_CONSUMER ready protocol 2\"; sleep 60"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("the agent speaks protocol version 2; this harness speaks version 1"), std::string::npos)
      << r.out;
}

TEST(CheckAgentUsage, BadUsageExitsTwo) {
  auto r = ct::faultline({"check-agent", "billing", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("ROLE: expected ocr|validation|matching|accounting|archive, got \"billing\""),
            std::string::npos)
      << r.err;
  r = ct::faultline({"check-agent", "validation"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("COMMAND: expected the agent's command after --"), std::string::npos) << r.err;
  r = ct::faultline({"check-agent", "validation", "--", "no-such-agent-program-xyz"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("command not found: no-such-agent-program-xyz"), std::string::npos) << r.err;
}

TEST(AgentContract, TheEnvironmentNamesStreamsGroupConsumerAndPolicy) {
  h::AgentSettings s;
  s.role = "validation";
  s.consumer = h::consumer_name("validation", 2);
  s.prefix = "run7:";
  s.redis_url = "redis://127.0.0.1:7000";
  s.postgres_url = "postgresql://faultline@127.0.0.1:7001/faultline";
  s.time_scale = 60;
  s.claim_idle = 300ms;
  s.delivery_limit = 5;
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : h::agent_environment(s)) env[k] = v;
  EXPECT_EQ(env.size(), 13u);
  EXPECT_EQ(env["FAULTLINE_REDIS_URL"], "redis://127.0.0.1:7000");
  EXPECT_EQ(env["FAULTLINE_POSTGRES_URL"], "postgresql://faultline@127.0.0.1:7001/faultline");
  EXPECT_EQ(env["FAULTLINE_ROLE"], "validation");
  EXPECT_EQ(env["FAULTLINE_STREAM"], "run7:validation");
  EXPECT_EQ(env["FAULTLINE_GROUP"], "validation");
  EXPECT_EQ(env["FAULTLINE_CONSUMER"], "validation-2");
  EXPECT_EQ(env["FAULTLINE_REPLY_STREAM"], "run7:replies");
  EXPECT_EQ(env["FAULTLINE_EPOCH_KEY"], "run7:epoch_us");
  EXPECT_EQ(env["FAULTLINE_PREFIX"], "run7:");
  EXPECT_EQ(env["FAULTLINE_TIME_SCALE"], "60");
  EXPECT_EQ(env["FAULTLINE_CLAIM_IDLE_MS"], "300");
  EXPECT_EQ(env["FAULTLINE_DELIVERY_LIMIT"], "5");
  EXPECT_EQ(env["FAULTLINE_PROTOCOL_VERSION"], "1");
  const auto argv = h::with_environment({{"A", "1"}}, {"python3", "agent.py"});
  EXPECT_EQ(argv, (std::vector<std::string>{"/usr/bin/env", "A=1", "python3", "agent.py"}));
}

TEST(AgentContract, TheReadyLineGivesTheProtocolVersion) {
  auto r = h::parse_ready("starting\nfaultline-agent: validation validation-0 ready protocol 1\n", "validation-0");
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.protocol, 1u);
  r = h::parse_ready("validation-0 ready protocol 2\n", "validation-0");
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.protocol, 2u);
  r = h::parse_ready("validation-0 ready\n", "validation-0");
  EXPECT_TRUE(r.ready);
  EXPECT_FALSE(r.protocol.has_value());
  EXPECT_FALSE(h::parse_ready("validation-01 ready protocol 1\n", "validation-0").ready);  // another consumer
  EXPECT_FALSE(h::parse_ready("validation-1 ready protocol 1\n", "validation-0").ready);
  EXPECT_FALSE(h::parse_ready("", "validation-0").ready);
}

TEST(AgentContract, FindProgramLooksInPath) {
  EXPECT_TRUE(h::find_program("sh").has_value());
  EXPECT_TRUE(h::find_program("/bin/sh").has_value());
  EXPECT_FALSE(h::find_program("no-such-agent-program-xyz").has_value());
  EXPECT_FALSE(h::find_program("/no/such/dir/agent").has_value());
}

}  // namespace

namespace {

// faultline-agent --from-env refuses a harness of another protocol version
// before connecting to anything.
TEST(AgentContract, FaultlineAgentFromEnvRefusesAnotherProtocolVersion) {
  faultline::cli_testing::Options o;
  o.program = FAULTLINE_AGENT_BINARY;
  o.env = {{"FAULTLINE_ROLE", "validation"},
           {"FAULTLINE_REDIS_URL", "redis://127.0.0.1:1"},
           {"FAULTLINE_POSTGRES_URL", "postgresql://faultline@127.0.0.1:1/faultline"},
           {"FAULTLINE_PROTOCOL_VERSION", "2"}};
  const auto policy = faultline::cli_testing::source_dir() / "scenarios/policies/recommended.json";
  const auto r = faultline::cli_testing::faultline({"--from-env", "--policy", policy.string()}, o);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the harness speaks protocol version 2; this agent speaks version 1"), std::string::npos)
      << r.err;
}

}  // namespace
