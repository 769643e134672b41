// `faultline run --mode live` end to end (harness/live/live_run.h): a short
// scenario with the accounting worker SIGKILLed and restarted, judged PASS
// from the stores; a notifier outage injected in the accounting worker,
// its touches counted, judged PASS from the stores; a service fault whose
// window sees no call INCONCLUSIVE; scenarios/checkpoint-outage.json and a
// bus partition through the harness's TCP fault proxies, PASS with their
// touches in the reports; a pause of validation's two workers, seen stopped
// in /proc for the window and PASS with nothing lost; a fault kind with no
// live form refused with exit 2 naming its JSON path; and teardown: after a
// normal end, after SIGINT (also inside a pause) and after a SIGKILL of
// faultline itself, no process it started is left (none runs in, or was
// started from, the test's directory), and after the first two no server
// data directory either.
//
// Each test gives faultline a TMPDIR of its own, so the servers' data
// directories are made there and can be looked for.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/process.h"
#include "tests/support/live_servers.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace ct = faultline::cli_testing;

// A 3-minute workload at 1,200 invoices an hour (about 60): at time scale
// 20 it takes 9 s of real time, the drain a few more.
std::string live_scenario(const std::string& name, const std::string& description, const nlohmann::json& faults,
                          double success_rate_min) {
  const fs::path root = ct::source_dir();
  nlohmann::json s = {
      {"name", name},
      {"description", description},
      {"seed", 7},
      {"duration", "3m"},
      {"drain", "10m"},
      {"world", (root / "scenarios/models/baseline.json").string()},
      {"workload", {{"rate_per_hour", 1200}}},
      {"policy", (root / "scenarios/policies/recommended.json").string()},
      {"faults", faults},
      {"expect", {{"invariants", nlohmann::json::array({"all"})}, {"success_rate_min", success_rate_min}}}};
  return s.dump(2);
}

// The accounting worker is down from 1m to 2m.
std::string crash_scenario() {
  return live_scenario("live-accounting-crash", "the accounting worker is SIGKILLed at 1m and restarted at 2m",
                       nlohmann::json::array({{{"kind", "crash"}, {"target", "accounting"}, {"start", "1m"},
                                               {"duration", "1m"}}}),
                       0.9);
}

// Processes whose working directory or command line is inside `dir`.
std::vector<std::string> processes_in(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  const std::string prefix = dir.string();
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const std::string cwd = fs::read_symlink(entry.path() / "cwd", link_ec).string();
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cwd.rfind(prefix, 0) == 0 || cmdline.find(prefix) != std::string::npos) {
      found.push_back(name + " (cwd " + cwd + "): " + cmdline.substr(0, 120));
    }
  }
  return found;
}

// Waits up to `limit` until no process is in `dir`; what is left.
std::vector<std::string> wait_gone(const fs::path& dir, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  auto left = processes_in(dir);
  while (!left.empty() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(100ms);
    left = processes_in(dir);
  }
  return left;
}

std::vector<std::string> server_dirs_in(const fs::path& tmp) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("faultline-", 0) == 0) out.push_back(name);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += x + "\n";
  return out;
}

struct LiveDir : ct::LiveDir {
  LiveDir() : ct::LiveDir("live-run") { ct::write_file(scenario, crash_scenario()); }
  // The first scenario of the latest run's report.json under `out`.
  nlohmann::json first_scenario() const {
    return nlohmann::json::parse(ct::read_file(out / "latest/report.json"))["scenarios"][0];
  }
  // The first scenario's orchestrator log, once the run directory exists.
  fs::path orchestrator_log() const {
    std::error_code ec;
    for (const auto& run : fs::directory_iterator(out, ec)) {
      const fs::path log = run.path() / "logs/0-live-accounting-crash/orchestrator-0.log";
      if (fs::exists(log)) return log;
    }
    return {};
  }
  bool wait_workers_ready(std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const fs::path log = orchestrator_log();
      if (!log.empty() && ct::read_file(log).find("ready") != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
};

TEST(LiveRun, AccountingCrashPassesFromStoreEvidenceAndTearsEverythingDown) {
  LiveDir d;
  const auto started = std::chrono::steady_clock::now();
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--out", d.out.string()},
                         d.options(180s));
  const auto took = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
  EXPECT_LT(took.count(), 60) << "the live run took " << took.count() << " s";

  const auto report = nlohmann::json::parse(ct::read_file(d.out / "latest/report.json"));
  EXPECT_EQ(report["runtime"], "live");
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(report["live"]["time_scale"], 20.0);
  EXPECT_EQ(report["live"]["servers_started"], true);
  EXPECT_FALSE(report["live"]["redis_version"].get<std::string>().empty());
  EXPECT_FALSE(report["live"]["postgres_version"].get<std::string>().empty());
  EXPECT_NE(report["live"]["hosts"]["redis"].get<std::string>().find("127.0.0.1:"), std::string::npos);
  const auto& s = report["scenarios"][0];
  EXPECT_GT(s["outcomes"]["submitted"].get<int>(), 30);
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "crash");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the crash touched nothing";
  bool conservation = false;
  bool exactly_once = false;
  for (const auto& inv : s["invariants"]) {
    if (inv["id"] == "conservation") conservation = inv["passed"].get<bool>() && !inv["skipped"].get<bool>();
    if (inv["id"] == "exactly_once") exactly_once = inv["passed"].get<bool>() && !inv["skipped"].get<bool>();
    if (inv["id"] == "timeouts") {
      EXPECT_TRUE(inv["skipped"].get<bool>());
      EXPECT_NE(inv["message"].get<std::string>().find("not judged live"), std::string::npos);
    }
  }
  EXPECT_TRUE(conservation) << s["invariants"].dump(1);
  EXPECT_TRUE(exactly_once) << s["invariants"].dump(1);
  // The other report formats, and every process's log in the run directory.
  for (const char* f : {"junit.xml", "summary.md", "report.html", "metrics.prom", "logs/redis.log", "logs/postgres.log"}) {
    EXPECT_TRUE(fs::exists(d.out / "latest" / f)) << f;
  }
  const std::string accounting = ct::read_file(d.out / "latest/logs/0-live-accounting-crash/accounting-0.log");
  std::size_t readies = 0;
  for (auto at = accounting.find("accounting-0 ready"); at != std::string::npos;
       at = accounting.find("accounting-0 ready", at + 1)) {
    ++readies;
  }
  EXPECT_EQ(readies, 2u) << "started, SIGKILLed and started again:\n" << accounting;

  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "") << "server data directories left behind";
}

// With --redis and --postgres it uses those servers (the fixture's) and
// starts none: its workers run under a schema and key prefix of their own.
TEST(LiveRun, WithServerUrlsItStartsNoServer) {
  LiveDir d;
  const auto servers = faultline::test_support::live_servers();
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--redis",
                          servers.redis, "--postgres", servers.postgres, "--out", d.out.string()},
                         d.options(180s));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(ct::read_file(d.out / "latest/report.json"));
  EXPECT_EQ(report["live"]["servers_started"], false);
  EXPECT_EQ(report["live"]["hosts"]["redis"], servers.redis.substr(servers.redis.find("://") + 3));
  EXPECT_FALSE(fs::exists(d.out / "latest/logs/redis.log")) << "no server of its own, no server log";
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "");
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// The report's invariant `id`: passed and judged (not skipped).
bool judged_pass(const nlohmann::json& scenario, const std::string& id) {
  for (const auto& inv : scenario["invariants"]) {
    if (inv["id"] == id) return inv["passed"].get<bool>() && !inv["skipped"].get<bool>();
  }
  return false;
}

// The notifier is down from 1m to 1m30s: the accounting worker's injector
// fails its calls (the saga compensates, retries, dead-letters), counts
// them in Redis, and the stores still hold every invoice exactly once.
TEST(LiveRun, NotifierOutageTouchesCallsAndConservationHoldsFromTheStores) {
  LiveDir d;
  ct::write_file(d.scenario, live_scenario("live-notifier-outage", "the notifier is down from 1m to 1m30s",
                                           nlohmann::json::array({{{"kind", "outage"}, {"target", "notifier"},
                                                                   {"start", "1m"}, {"duration", "30s"}}}),
                                           0.5));
  const auto started = std::chrono::steady_clock::now();
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--out", d.out.string()},
                         d.options(180s));
  const auto took = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(took.count(), 60) << "the live run took " << took.count() << " s";
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "outage");
  EXPECT_EQ(s["faults"][0]["target"], "notifier");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the outage touched no call";
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  // Only the accounting worker calls the notifier; every worker got the faults.
  EXPECT_TRUE(fs::exists(d.out / "latest/logs/0-live-notifier-outage/faults.json"));
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// A notifier error in the first 500 ms: no invoice can have reached the
// notifier yet (OCR alone takes about 1.5 s), so the fault touches nothing
// and the scenario is INCONCLUSIVE, never a pass.
TEST(LiveRun, AServiceFaultThatTouchesNothingIsInconclusive) {
  LiveDir d;
  ct::write_file(d.scenario, live_scenario("live-notifier-early", "the notifier fails in the first 500 ms only",
                                           nlohmann::json::array({{{"kind", "error"}, {"target", "notifier"},
                                                                   {"class", "transient"}, {"start", "0s"},
                                                                   {"duration", "500ms"}}}),
                                           0.9));
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--out", d.out.string()},
                         d.options(180s));
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "inconclusive") << r.out;
  EXPECT_NE(s["verdict_reason"].get<std::string>().find("touched nothing: fault 0 (error on notifier)"),
            std::string::npos)
      << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["hit_count"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// A crash is drawn as the simulator draws it: one of probability 0 never
// strikes, so it touches nothing and the scenario is INCONCLUSIVE, live as
// in sim (the live run used to SIGKILL the role whatever the probability).
TEST(LiveRun, ACrashWhoseDrawMissesDoesNothingAsInTheSimulator) {
  LiveDir d;
  ct::write_file(d.scenario,
                 live_scenario("live-crash-never", "a crash of probability 0",
                               nlohmann::json::array({{{"kind", "crash"}, {"target", "accounting"}, {"start", "1m"},
                                                       {"duration", "1m"}, {"probability", 0}}}),
                               0.9));
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "60", "--out", d.out.string()},
                         d.options(180s));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "inconclusive") << r.out;
  EXPECT_NE(s["verdict_reason"].get<std::string>().find("touched nothing: fault 0 (crash on accounting)"),
            std::string::npos)
      << s["verdict_reason"];
  const std::string log = ct::read_file(d.out / "latest/logs/0-live-crash-never/accounting-0.log");
  std::size_t readies = 0;
  for (auto at = log.find(" ready"); at != std::string::npos; at = log.find(" ready", at + 1)) ++readies;
  EXPECT_EQ(readies, 1u) << "started once, never killed:\n" << log;
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);

  auto sim = ct::faultline({"run", d.scenario.string(), "--no-write"}, d.options(120s));
  EXPECT_EQ(sim.exit_code, 3) << sim.out << sim.err;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// A workload that submits nothing tests nothing, live as in sim: the
// success-rate floor over no invoice is not measured, so the verdict is
// INCONCLUSIVE (exit 3), not a FAIL on 0 of 0.
TEST(LiveRun, AWorkloadThatSubmitsNothingIsInconclusive) {
  LiveDir d;
  auto s = nlohmann::json::parse(live_scenario("live-empty", "one second of a slow workload", nlohmann::json::array(),
                                               0.95));
  s["duration"] = "1s";
  s["drain"] = "0";
  ct::write_file(d.scenario, s.dump(2));
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "60", "--out", d.out.string()},
                         d.options(180s));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto sc = d.first_scenario();
  EXPECT_EQ(sc["outcomes"]["submitted"], 0);
  EXPECT_EQ(sc["verdict"], "inconclusive") << r.out;
  EXPECT_NE(sc["verdict_reason"].get<std::string>().find("submitted no invoice"), std::string::npos)
      << sc["verdict_reason"];
  for (const auto& slo : sc["slos"]) EXPECT_NE(slo["name"], "success_rate");
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// scenarios/checkpoint-outage.json as it is (30 minutes; the checkpoint
// store unreachable for 10, the OCR worker and the orchestrator SIGKILLed
// inside that window) at time scale 60: the workers' checkpoint-store
// connections go through the harness's fault proxy, which refuses them for
// the window. It passes from the stores with the recommended policy, and
// the outage's touches (connection attempts refused) are in every report
// format: report.json, metrics.prom and report.html.
TEST(LiveRun, CheckpointOutagePassesThroughTheProxyWithItsTouchesInTheReports) {
  LiveDir d;
  const auto started = std::chrono::steady_clock::now();
  auto r = ct::faultline({"run", (ct::source_dir() / "scenarios/checkpoint-outage.json").string(), "--mode", "live",
                          "--time-scale", "60", "--out", d.out.string()},
                         d.options(240s));
  const auto took = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(took.count(), 120) << "the live run took " << took.count() << " s";
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 3u);
  EXPECT_EQ(s["faults"][0]["kind"], "checkpoint_outage");
  const int touched = s["faults"][0]["hit_count"].get<int>();
  EXPECT_GT(touched, 0) << "the outage refused no connection";
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  bool proxy_line = false;
  for (const auto& inv : s["invariants"]) {
    if (inv["id"] != "conservation") continue;
    for (const auto& e : inv["evidence"]) {
      proxy_line = proxy_line || e.get<std::string>().find("fault proxy (checkpoint store)") != std::string::npos;
    }
  }
  EXPECT_TRUE(proxy_line) << "the proxy's totals are evidence";
  const std::string prom = ct::read_file(d.out / "latest/metrics.prom");
  EXPECT_NE(prom.find("kind=\"checkpoint_outage\",target=\"checkpoint_store\",start_seconds=\"300\"} " +
                      std::to_string(touched)),
            std::string::npos)
      << prom;
  const std::string html = ct::read_file(d.out / "latest/report.html");
  EXPECT_NE(html.find("<td>checkpoint_outage</td><td>checkpoint_store</td><td class=\"n\">5.0 min</td><td "
                      "class=\"n\">15.0 min</td><td class=\"n\">" + std::to_string(touched) + "</td>"),
            std::string::npos);
  // The orchestrator, restarted inside the outage, waited for the store and came back.
  const std::string orchestrator = ct::read_file(d.out / "latest/logs/0-checkpoint-outage/orchestrator-0.log");
  EXPECT_NE(orchestrator.find("ready"), orchestrator.rfind("ready")) << orchestrator;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// Every worker's Redis is black-holed from 1m to 6m of 8m (15 s at time
// scale 20, longer than a Redis command's 10 s timeout, so blocked reads
// time out and reconnect into the partition) and then heals: what was held
// is delivered, nothing is lost or done twice. Before the orchestrator
// re-read its own pending intake entries, an XREADGROUP held past its
// timeout was delivered at the heal with no one to read its reply, and its
// entries stayed pending: conservation failed.
TEST(LiveRun, BusPartitionHealsWithNothingLostAndItsHeldBytesCounted) {
  LiveDir d;
  auto scenario = nlohmann::json::parse(
      live_scenario("live-bus-partition", "every worker's Redis is partitioned from 1m to 6m",
                    nlohmann::json::array({{{"kind", "bus_partition"}, {"target", "bus"}, {"start", "1m"},
                                            {"duration", "5m"}}}),
                    0.9));
  scenario["duration"] = "8m";
  ct::write_file(d.scenario, scenario.dump(2));
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--out", d.out.string()},
                         d.options(240s));
  const auto s = d.first_scenario();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << s["invariants"].dump(1);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "bus_partition");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the partition held nothing";
  EXPECT_GT(s["outcomes"]["submitted"].get<int>(), 30);
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// Every fault kind has a live form now; what live mode still refuses is a
// fault it cannot reach: one injected inside a reference worker whose role
// a command of the user's plays (--agent), and bad --agent values.
TEST(LiveRun, RefusesWhatItCannotPlayNamingItsPath) {
  LiveDir d;
  const std::string agent = "/usr/bin/python3 " + (ct::source_dir() / "examples/agents/validation_agent.py").string();
  auto r = ct::faultline({"run", (ct::source_dir() / "scenarios/ocr-delay-30s.json").string(), "--mode", "live",
                          "--agent", "ocr=" + agent, "--out", d.out.string()},
                         d.options(60s));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("$.faults[0].target"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("injected inside the reference ocr worker"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d.out)) << "nothing may start before the input is accepted";
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "");

  for (const std::string& bad : std::vector<std::string>{"validation=/no/such/program --flag", "orchestrator=" + agent, "validation=",
                                "validation='unclosed"}) {
    auto refused = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--agent", bad}, d.options(60s));
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.err;
    EXPECT_NE(refused.err.find("--agent"), std::string::npos) << refused.err;
  }

  // A proxied fault plays on whole connections: no share of the messages.
  const fs::path partial = d.root / "partial.json";
  ct::write_file(partial, live_scenario("live-partial-partition", "half the messages held",
                                        nlohmann::json::array({{{"kind", "bus_partition"}, {"target", "bus"},
                                                                {"start", "1m"}, {"duration", "1m"},
                                                                {"probability", 0.5}}}),
                                        0.9));
  auto share = ct::faultline({"run", partial.string(), "--mode", "live"}, d.options(60s));
  EXPECT_EQ(share.exit_code, 2) << share.out << share.err;
  EXPECT_NE(share.err.find("$.faults[0].probability"), std::string::npos) << share.err;
  EXPECT_NE(share.err.find("whole connections"), std::string::npos) << share.err;

  auto scale = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "0"}, d.options(60s));
  EXPECT_EQ(scale.exit_code, 2);
  EXPECT_NE(scale.err.find("--time-scale"), std::string::npos) << scale.err;
  auto half = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--redis", "redis://127.0.0.1:1"},
                            d.options(60s));
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_NE(half.err.find("--postgres"), std::string::npos) << half.err;
  auto sim_only = ct::faultline({"run", d.scenario.string(), "--time-scale", "5", "--no-write"}, d.options(60s));
  EXPECT_EQ(sim_only.exit_code, 2);
  EXPECT_NE(sim_only.err.find("--mode"), std::string::npos) << sim_only.err;
}

// An agent command that ends before its ready line is an ERROR (exit 2)
// that says how it ended and where its log is, even when it wrote nothing,
// and everything started for the run is torn down.
TEST(LiveRun, AnAgentThatEndsBeforeItIsReadyIsAnErrorSayingHowAndWhere) {
  LiveDir d;
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--agent", "validation=/bin/true", "--out",
                          d.out.string()},
                         d.options(120s));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("worker validation-0 exited with 0 before it was ready (it wrote nothing to "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("validation-0.log"), std::string::npos) << r.out;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "");
}

TEST(LiveRun, SigintMidRunLeavesNoProcessAndNoDataDirectory) {
  LiveDir d;
  ct::Child child({"run", d.scenario.string(), "--mode", "live", "--time-scale", "5", "--out", d.out.string()},
                  d.options(120s));
  ASSERT_TRUE(d.wait_workers_ready(60s)) << "the workers never said ready";
  std::this_thread::sleep_for(1s);
  ::kill(child.pid(), SIGINT);
  const auto r = child.wait();
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.out.find("ABORTED"), std::string::npos) << r.out;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "") << "server data directories left behind";
}

// SIGKILL cannot be caught: what stops the workers and the servers is
// their parent-death signal. The servers' data directories stay (nothing is
// left to remove them); the test removes them.
TEST(LiveRun, SigkillOfFaultlineLeavesNoOrphanProcess) {
  LiveDir d;
  ct::Child child({"run", d.scenario.string(), "--mode", "live", "--time-scale", "5", "--out", d.out.string()},
                  d.options(120s));
  ASSERT_TRUE(d.wait_workers_ready(60s)) << "the workers never said ready";
  std::this_thread::sleep_for(1s);
  ASSERT_FALSE(processes_in(d.root).empty());
  ::kill(child.pid(), SIGKILL);
  const auto r = child.wait();
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(joined(wait_gone(d.root, 10s)), "") << "orphans of a killed faultline";
}

// The report's first scenario of a run of `file` (sim, or live at `scale`).
nlohmann::json run_scenario_file(const LiveDir& d, const std::string& file, const std::string& out,
                                 std::optional<int> scale) {
  std::vector<std::string> args = {"run", (ct::source_dir() / file).string(), "--out", (d.root / out).string()};
  if (scale) {
    for (const std::string a : {"--mode", "live", "--time-scale"}) args.push_back(a);
    args.push_back(std::to_string(*scale));
  }
  auto r = ct::faultline(args, d.options(300s));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return nlohmann::json::parse(ct::read_file(d.root / out / "latest/report.json"))["scenarios"][0];
}

// The article's saturation test live: the harness submits what the
// simulator's workload driver submits (the same 10x surge, counted as the
// fault's touches), the orchestrator refuses at its in-flight bound and
// records each refusal, and every submission is found in one store or
// among the refusals.
TEST(LiveRun, SaturationTenfoldPassesWithTheSimsSubmissionsAndRefusalsCounted) {
  LiveDir d;
  const auto sim = run_scenario_file(d, "scenarios/saturation-10x.json", "sim", std::nullopt);
  const auto s = run_scenario_file(d, "scenarios/saturation-10x.json", "live", 60);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"] << "\n" << s["invariants"].dump(1);
  EXPECT_EQ(s["outcomes"]["submitted"], sim["outcomes"]["submitted"]);
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "saturation");
  EXPECT_EQ(s["faults"][0]["hit_count"], sim["faults"][0]["hit_count"]) << "extra arrivals";
  EXPECT_GT(s["outcomes"]["refused"].get<int>(), 0) << "the surge was never refused at the door";
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "validation")) << s["invariants"].dump(1);
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// The article's corrupted-input test live: the same damaged documents as in
// sim reach the OCR and validation workers through the intake stream; the
// validation invariant is judged from the ledger and rejection tables.
TEST(LiveRun, CorruptedInputPassesWithValidationJudgedFromTheStores) {
  LiveDir d;
  const auto sim = run_scenario_file(d, "scenarios/corrupted-input.json", "sim", std::nullopt);
  const auto s = run_scenario_file(d, "scenarios/corrupted-input.json", "live", 60);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"] << "\n" << s["invariants"].dump(1);
  EXPECT_EQ(s["outcomes"]["submitted"], sim["outcomes"]["submitted"]);
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["hit_count"], sim["faults"][0]["hit_count"]) << "damaged documents";
  EXPECT_GT(s["outcomes"]["rejected_invalid"].get<int>(), 0);
  EXPECT_TRUE(judged_pass(s, "validation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  for (const auto& inv : s["invariants"]) {
    if (inv["id"] == "validation") {
      EXPECT_NE(inv["message"].get<std::string>().find("corrupted invoices"), std::string::npos) << inv.dump(1);
    }
  }
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// Duplicate delivery in every worker's bus: copies published as entries of
// their own, counted per message; the ledger, budget and notifications
// still hold each invoice once.
TEST(LiveRun, DuplicateDeliveryPassesWithExactlyOnceJudgedAndTouchesCounted) {
  LiveDir d;
  const auto s = run_scenario_file(d, "scenarios/duplicate-delivery.json", "live", 60);
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"] << "\n" << s["invariants"].dump(1);
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "duplicate_delivery");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "no message was duplicated";
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// Reordering: publishes held back up to 20 s (scenario time) for a minute.
TEST(LiveRun, ReorderingOnTheBusHoldsMessagesBackAndLosesNothing) {
  LiveDir d;
  ct::write_file(d.scenario, live_scenario("live-reordering", "publishes held back up to 20 s from 1m to 2m",
                                           nlohmann::json::array({{{"kind", "reordering"}, {"target", "bus"},
                                                                   {"start", "1m"}, {"duration", "1m"},
                                                                   {"window", "20s"}, {"probability", 0.5}}}),
                                           0.9));
  auto r = ct::faultline({"run", d.scenario.string(), "--mode", "live", "--time-scale", "20", "--out", d.out.string()},
                         d.options(180s));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "no publish was held back";
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// The workers of `role` running in (or started from) `dir`: pid and the
// state letter of /proc/<pid>/stat ('T': stopped).
std::vector<std::pair<std::string, char>> role_states(const fs::path& dir, const std::string& role) {
  std::vector<std::pair<std::string, char>> out;
  for (const auto& line : processes_in(dir)) {
    if (line.find("--role " + role + " ") == std::string::npos) continue;
    const std::string pid = line.substr(0, line.find(' '));
    std::ifstream in("/proc/" + pid + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    out.emplace_back(pid, close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2]);
  }
  return out;
}

// Whether `child` has ended (not reaping it: Child::wait does).
bool ended(const ct::Child& child) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(child.pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0;
}

// Polls until `child` ends: the most `role` workers seen stopped at once.
std::size_t most_stopped_while_running(const ct::Child& child, const fs::path& dir, const std::string& role) {
  std::size_t most = 0;
  while (!ended(child)) {
    std::size_t stopped = 0;
    for (const auto& [pid, state] : role_states(dir, role)) stopped += state == 'T' ? 1 : 0;
    most = std::max(most, stopped);
    std::this_thread::sleep_for(10ms);
  }
  return most;
}

// A pause of validation (two replicas) from 1m to 2m at time scale 60: the
// harness SIGSTOPs both workers' process groups, which the test sees in
// /proc as stopped, and SIGCONTs them at the end; the pipeline picks up
// where it stopped and the stores hold every invoice once.
TEST(LiveRun, APausedRoleIsReallyStoppedForItsWindowAndLosesNothing) {
  LiveDir d;
  auto doc = nlohmann::json::parse(
      live_scenario("live-validation-pause", "both validation workers SIGSTOPped from 1m to 2m",
                    nlohmann::json::array({{{"kind", "pause"}, {"target", "validation"}, {"start", "1m"},
                                            {"duration", "1m"}}}),
                    0.9));
  doc["agents"] = {{"validation", {{"replicas", 2}}}};
  ct::write_file(d.scenario, doc.dump(2));
  ct::Child child({"run", d.scenario.string(), "--mode", "live", "--time-scale", "60", "--out", d.out.string()},
                  d.options(180s));
  const std::size_t most = most_stopped_while_running(child, d.root, "validation");
  const auto r = child.wait();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(most, 2u) << "both validation workers should have been seen in state T during the window";
  const auto s = d.first_scenario();
  EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
  ASSERT_EQ(s["faults"].size(), 1u);
  EXPECT_EQ(s["faults"][0]["kind"], "pause");
  EXPECT_GT(s["faults"][0]["hit_count"].get<int>(), 0) << "the pause touched nothing";
  EXPECT_GT(s["outcomes"]["submitted"].get<int>(), 30);
  EXPECT_EQ(s["outcomes"]["lost"], 0);
  EXPECT_EQ(s["outcomes"]["in_flight"], 0);
  EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
  EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  // The harness's own record: what it stopped and saw stopped, then continued.
  std::string evidence;
  for (const auto& inv : s["invariants"]) {
    if (inv["id"] != "conservation") continue;
    for (const auto& line : inv["evidence"]) evidence += line.get<std::string>() + "\n";
  }
  EXPECT_NE(evidence.find("pause of validation (fault 0): SIGSTOP to 2 process group(s), 2 seen stopped"),
            std::string::npos)
      << evidence;
  EXPECT_NE(evidence.find("pause of validation (fault 0): SIGCONT to 2 process group(s)"), std::string::npos)
      << evidence;
  // Stopped and continued, never restarted: each worker said ready once.
  const std::string log = ct::read_file(d.out / "latest/logs/0-live-validation-pause/validation-1.log");
  EXPECT_EQ(log.find("ready"), log.rfind("ready")) << log;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
}

// SIGINT while the role is stopped: the run is aborted and no process is
// left, stopped or not (a stopped process heeds no SIGTERM until continued).
TEST(LiveRun, SigintDuringAPauseLeavesNoProcess) {
  LiveDir d;
  ct::write_file(d.scenario,
                 live_scenario("live-validation-pause", "validation SIGSTOPped from 30s to the end",
                               nlohmann::json::array({{{"kind", "pause"}, {"target", "validation"}, {"start", "30s"},
                                                       {"duration", "150s"}}}),
                               0.9));
  ct::Child child({"run", d.scenario.string(), "--mode", "live", "--time-scale", "5", "--out", d.out.string()},
                  d.options(120s));
  bool stopped = false;
  const auto limit = std::chrono::steady_clock::now() + 90s;
  while (!stopped && std::chrono::steady_clock::now() < limit && !ended(child)) {
    for (const auto& [pid, state] : role_states(d.root, "validation")) stopped |= state == 'T';
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(stopped) << "the validation worker was never seen stopped";
  ::kill(child.pid(), SIGINT);
  const auto r = child.wait();
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.out.find("ABORTED"), std::string::npos) << r.out;
  EXPECT_EQ(joined(wait_gone(d.root, 5s)), "");
  EXPECT_EQ(joined(server_dirs_in(d.tmp)), "") << "server data directories left behind";
}

}  // namespace
