// The network fault kind live (`faultline run --mode live`, time scale 60):
// one role's link to Redis or PostgreSQL goes through a TCP fault proxy of
// its own (harness/live/live_proxies.h) while every other role keeps its
// direct connection, read from the running processes' own arguments and
// environment. tests/cli/scenarios/validation-redis-black-hole.json passes
// with nothing lost and its held chunks counted; a delay on accounting's
// PostgreSQL link passes with its delayed chunks counted; a reset of
// matching's Redis link loses nothing; a replaced validation agent (--agent)
// gets the proxied URL in FAULTLINE_REDIS_URL.
//
// Each test gives faultline a TMPDIR of its own and starts its own private
// servers (the default --start-servers), as LiveRun.* do.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/process.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace ct = faultline::cli_testing;

// What a running worker was given: its role, and the URLs it connects to.
struct WorkerView {
  std::string redis;
  std::string postgres;
  std::string checkpoint_postgres;  // empty: none given (it uses `postgres`)
};

std::vector<std::string> nul_separated(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> out;
  std::string item;
  while (std::getline(in, item, '\0')) out.push_back(item);
  return out;
}

// The workers running in `dir` (their working directory, or a path in their
// command line), by role: faultline-agent's arguments, or a replaced agent's
// FAULTLINE_* environment.
std::map<std::string, WorkerView> workers_in(const fs::path& dir) {
  std::map<std::string, WorkerView> found;
  std::error_code ec;
  const std::string prefix = dir.string();
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const std::string cwd = fs::read_symlink(entry.path() / "cwd", link_ec).string();
    const auto args = nul_separated(entry.path() / "cmdline");
    bool inside = cwd.rfind(prefix, 0) == 0;
    for (const auto& a : args) inside = inside || a.find(prefix) != std::string::npos;
    if (!inside || args.empty()) continue;
    std::map<std::string, std::string> given;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i].rfind("--", 0) == 0) given[args[i]] = args[i + 1];
    }
    if (args[0].find("faultline-agent") != std::string::npos && given.count("--role") > 0) {
      found[given["--role"]] = {given["--redis"], given["--postgres"], given["--checkpoint-postgres"]};
      continue;
    }
    std::map<std::string, std::string> env;
    for (const auto& e : nul_separated(entry.path() / "environ")) {
      const auto eq = e.find('=');
      if (eq != std::string::npos) env[e.substr(0, eq)] = e.substr(eq + 1);
    }
    if (env.count("FAULTLINE_ROLE") > 0 && args[0].find("env") == std::string::npos) {
      found[env["FAULTLINE_ROLE"]] = {env["FAULTLINE_REDIS_URL"], env["FAULTLINE_POSTGRES_URL"], ""};
    }
  }
  return found;
}

// Polls until every role's worker runs in `dir`; what was seen last.
std::map<std::string, WorkerView> wait_workers(const fs::path& dir, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  auto seen = workers_in(dir);
  while (seen.size() < 6 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(50ms);
    seen = workers_in(dir);
  }
  return seen;
}

// A replaced agent runs where faultline runs: in the test's directory.
struct LiveDir : ct::LiveDir {
  LiveDir() : ct::LiveDir("live-network") {}
  ct::Options options(std::chrono::seconds alarm) const {
    ct::Options o = ct::LiveDir::options(alarm);
    o.cwd = root;
    return o;
  }
};

// The example scenario with its fault replaced by `fault`.
std::string scenario_with(const std::string& name, const nlohmann::json& fault) {
  const fs::path file = ct::source_dir() / "tests/cli/scenarios/validation-redis-black-hole.json";
  auto s = nlohmann::json::parse(ct::read_file(file));
  s["name"] = name;
  s["description"] = name;
  s["faults"] = nlohmann::json::array({fault});
  for (const char* key : {"world", "policy"}) {
    s[key] = (file.parent_path() / s[key].get<std::string>()).lexically_normal().string();
  }
  s.erase("$schema");
  return s.dump(2);
}

bool judged_pass(const nlohmann::json& scenario, const std::string& id) {
  for (const auto& inv : scenario["invariants"]) {
    if (inv["id"] == id) return inv["passed"].get<bool>() && !inv["skipped"].get<bool>();
  }
  return false;
}

// The proxies' lines in the conservation invariant's evidence.
std::vector<std::string> proxy_lines(const nlohmann::json& scenario) {
  std::vector<std::string> out;
  for (const auto& inv : scenario["invariants"]) {
    if (inv["id"] != "conservation") continue;
    for (const auto& e : inv["evidence"]) {
      const auto line = e.get<std::string>();
      if (line.rfind("fault proxy", 0) == 0) out.push_back(line);
    }
  }
  return out;
}

struct LiveResult {
  ct::Result result;
  std::map<std::string, WorkerView> workers;  // as they ran
  nlohmann::json scenario;                    // report.json's first scenario
};

LiveResult run_live(const LiveDir& d, const std::string& scenario_file, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"run", scenario_file, "--mode", "live", "--time-scale", "60", "--out",
                                   d.out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  ct::Child child(args, d.options(300s));
  LiveResult run;
  run.workers = wait_workers(d.root, 120s);
  run.result = child.wait();
  const fs::path report = d.out / "latest/report.json";
  if (fs::exists(report)) run.scenario = nlohmann::json::parse(ct::read_file(report))["scenarios"][0];
  return run;
}

void expect_nothing_lost(const nlohmann::json& s) {
  EXPECT_GT(s["outcomes"]["submitted"].get<int>(), 60);
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
}

// Only `role` reaches `to` ("redis" or "postgres") through a proxy: its URL
// differs from every other role's, which all share the direct one.
void expect_only_role_proxied(const std::map<std::string, WorkerView>& workers, const std::string& role,
                              const std::string& to) {
  std::string seen;
  for (const auto& [r, w] : workers) seen += r + ": " + w.redis + " " + w.postgres + " " + w.checkpoint_postgres + "\n";
  SCOPED_TRACE("workers as they ran:\n" + seen);
  ASSERT_EQ(workers.size(), 6u);
  auto url = [&](const WorkerView& w) { return to == "redis" ? w.redis : w.postgres; };
  const std::string proxied = url(workers.at(role));
  const std::string direct = url(workers.at(role == "ocr" ? "matching" : "ocr"));
  EXPECT_FALSE(proxied.empty());
  EXPECT_NE(proxied, direct);
  for (const auto& [other, w] : workers) {
    if (other == role) continue;
    EXPECT_EQ(url(w), direct) << other << " is not the fault's target: its link stays direct";
    EXPECT_EQ(w.checkpoint_postgres, "") << other;
  }
}

// The example scenario: validation's Redis link black-holed from 1m to 4m of
// 6m. Its bytes are held and delivered when the link heals; every other
// role's Redis connection is direct, so the only proxy line is validation's.
TEST(LiveNetwork, ABlackHoleOnValidationsRedisLinkPassesWithNothingLostAndOnlyThatLinkProxied) {
  LiveDir d;
  const LiveResult run = run_live(d, (ct::source_dir() / "tests/cli/scenarios/validation-redis-black-hole.json").string());
  const auto& s = run.scenario;
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err << s.dump(1);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  expect_only_role_proxied(run.workers, "validation", "redis");
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "network");
  EXPECT_EQ(s["faults"][0]["target"], "validation");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the black hole held nothing";
  expect_nothing_lost(s);
  const auto lines = proxy_lines(s);
  ASSERT_EQ(lines.size(), 1u) << s["invariants"].dump(1);
  EXPECT_NE(lines[0].find("fault proxy (validation's Redis) -> "), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find(" 0 held"), std::string::npos) << lines[0];
}

// Every chunk on accounting's PostgreSQL connections (ledger, budget and
// checkpoints: it has no second URL) is delayed 200 ms of scenario time from
// 1m to 4m: it passes, the delayed chunks counted.
TEST(LiveNetwork, ADelayOnAccountingsPostgresLinkPassesWithItsDelayedChunksCounted) {
  LiveDir d;
  ct::write_file(d.scenario, scenario_with("accounting-postgres-delay",
                                           {{"kind", "network"}, {"target", "accounting"}, {"to", "postgres"},
                                            {"mode", "delay"}, {"delay", "200ms"}, {"start", "1m"},
                                            {"duration", "3m"}}));
  const LiveResult run = run_live(d, d.scenario.string());
  const auto& s = run.scenario;
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err << s.dump(1);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  expect_only_role_proxied(run.workers, "accounting", "postgres");
  for (const auto& [role, w] : run.workers) EXPECT_EQ(w.redis, run.workers.at("ocr").redis) << role;
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "nothing was delayed";
  expect_nothing_lost(s);
  const auto lines = proxy_lines(s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("fault proxy (accounting's PostgreSQL) -> "), std::string::npos) << lines[0];
}

// matching's Redis connections are reset from 1m to 3m, and every new one
// with them: matching cannot reach the bus for two minutes, then reconnects
// and works off what waited. Nothing is lost or done twice.
TEST(LiveNetwork, AResetOfMatchingsRedisLinkLosesNothing) {
  LiveDir d;
  ct::write_file(d.scenario, scenario_with("matching-redis-reset",
                                           {{"kind", "network"}, {"target", "matching"}, {"to", "redis"},
                                            {"mode", "reset"}, {"start", "1m"}, {"duration", "2m"}}));
  const LiveResult run = run_live(d, d.scenario.string());
  const auto& s = run.scenario;
  ASSERT_FALSE(s.is_null()) << run.result.out << run.result.err;
  EXPECT_NE(s["verdict"], "error") << s["verdict_reason"];
  expect_only_role_proxied(run.workers, "matching", "redis");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "no connection was reset";
  expect_nothing_lost(s);
}

// A validation agent of the user's own (--agent) is told the proxied Redis
// URL in FAULTLINE_REDIS_URL; the reference workers of the other roles get
// the direct one.
TEST(LiveNetwork, AReplacedAgentGetsItsRolesProxiedUrlInItsEnvironment) {
  LiveDir d;
  const std::string agent = "/usr/bin/python3 " + (ct::source_dir() / "examples/agents/validation_agent.py").string();
  const LiveResult run = run_live(d, (ct::source_dir() / "tests/cli/scenarios/validation-redis-black-hole.json").string(),
                           {"--agent", "validation=" + agent});
  const auto& s = run.scenario;
  ASSERT_FALSE(s.is_null()) << run.result.out << run.result.err;
  expect_only_role_proxied(run.workers, "validation", "redis");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the black hole held nothing";
  expect_nothing_lost(s);
}

}  // namespace
