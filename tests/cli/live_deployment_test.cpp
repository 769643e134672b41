// The live deployment end to end, as issue 17's "Done when" asks: one
// faultline-agent process per role on 127.0.0.1 against the fixture's Redis
// and PostgreSQL, 1,000 invoices submitted with `faultline live submit`, the
// accounting worker SIGKILLed in the middle and a new one started, and then
// every invoice found in exactly one terminal store. Also: the agent's
// argument checks, its metrics endpoint, and the deployment example of
// docs/deploy/ (its agent commands are accepted by the argument parser).
//
// Every process the test starts is in one process group, killed with
// SIGKILL when the test ends, whether it passed or not.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reference_system/live/live_services.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/redis_connection.h"
#include "runtime/live_runtime.h"
#include "tests/cli/process.h"
#include "tests/support/live_servers.h"

namespace {

namespace fs = std::filesystem;
namespace live = faultline::reference_system::live;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const fs::path kAgent = FAULTLINE_AGENT_BINARY;
const fs::path kFaultline = FAULTLINE_BINARY;

// Children in one process group of their own (the first child leads it).
class ProcessGroup {
 public:
  explicit ProcessGroup(fs::path dir) : dir_(std::move(dir)) {}
  ~ProcessGroup() {
    if (pgid_ > 0) ::kill(-pgid_, SIGKILL);
    for (const auto& [name, pid] : pids_) {
      if (pid > 0) ::waitpid(pid, nullptr, 0);
    }
  }
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  pid_t start(const std::string& name, const fs::path& program, const std::vector<std::string>& args) {
    const fs::path out = dir_ / (name + ".out");
    const fs::path err = dir_ / (name + ".err");
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, pgid_);
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int in = ::open("/dev/null", O_RDONLY);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::dup2(in, 0);
      std::vector<std::string> all = {program.string()};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    if (pid > 0) {
      ::setpgid(pid, pgid_);  // also here: whichever runs first
      if (pgid_ == 0) pgid_ = pid;
      pids_[name] = pid;
    }
    return pid;
  }

  // Waits up to `limit` for `text` in the child's stdout.
  bool wait_for(const std::string& name, const std::string& text, std::chrono::seconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (output(name).find(text) != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pids_[name], &status, WNOHANG) == pids_[name]) {
        pids_[name] = -1;
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string output(const std::string& name) const { return faultline::cli_testing::read_file(dir_ / (name + ".out")); }
  std::string errors(const std::string& name) const { return faultline::cli_testing::read_file(dir_ / (name + ".err")); }

  void signal(const std::string& name, int sig) { ::kill(pids_.at(name), sig); }

  // The child's exit: its code, or 128 + the signal; -1 if it did not end in `limit`.
  int wait(const std::string& name, std::chrono::seconds limit) {
    const pid_t pid = pids_.at(name);
    if (pid <= 0) return -1;
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pids_[name] = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

 private:
  fs::path dir_;
  pid_t pgid_ = 0;
  std::map<std::string, pid_t> pids_;
};

live::DeploymentStatus status_of(const std::string& postgres, const std::string& schema) {
  faultline::runtime::LiveRuntime rt(1);
  live::PgConnection pg(rt, postgres);
  std::optional<faultline::resilience::Outcome<live::DeploymentStatus>> result;
  rt.spawn([](faultline::runtime::LiveRuntime& rt, live::PgConnection& pg, std::string schema,
              std::optional<faultline::resilience::Outcome<live::DeploymentStatus>>& result)
               -> faultline::runtime::Task<void> {
    result.emplace(co_await live::read_status(pg, std::move(schema), "invoices"));
    rt.stop();
  }(rt, pg, schema, result));
  rt.run();
  if (!result || !result->ok()) {
    throw std::runtime_error("status: " + (result ? result->failure().message : std::string("no result")));
  }
  return std::move(*result).value();
}

// XLEN of a stream.
long long stream_length(const std::string& redis, const std::string& stream) {
  faultline::runtime::LiveRuntime rt(1);
  live::RedisConnection connection(rt, redis);
  long long length = -1;
  rt.spawn([](faultline::runtime::LiveRuntime& rt, live::RedisConnection& c, std::string stream,
              long long& length) -> faultline::runtime::Task<void> {
    auto r = co_await c.command("XLEN", stream);
    if (r && r->type == live::RedisReply::Type::integer) length = r->integer;
    rt.stop();
  }(rt, connection, stream, length));
  rt.run();
  return length;
}

std::size_t terminal(const live::DeploymentStatus& s) {
  return s.posted.size() + s.dead_lettered.size() + s.manual_review.size() + s.rejected.size();
}

std::vector<std::string> agent_args(const std::string& role, const std::string& consumer,
                                    const faultline::test_support::LiveServerUrls& servers, const std::string& schema,
                                    double time_scale) {
  const fs::path root = faultline::cli_testing::source_dir();
  return {"--role",       role,
          "--redis",      servers.redis,
          "--postgres",   servers.postgres,
          "--policy",     (root / "docs/deploy/policy.json").string(),
          "--world",      (root / "scenarios/models/baseline.json").string(),
          "--time-scale", std::to_string(time_scale),
          "--consumer",   consumer,
          "--schema",     schema,
          "--prefix",     schema + ":",
          "--connections", "8"};
}

// A port nothing listens on now (the kernel's choice).
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(s);
  return ntohs(a.sin_port);
}

// GET /metrics from 127.0.0.1:port; the whole response.
std::string scrape(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string response;
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    (void)::write(s, request.data(), request.size());
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(s, buf, sizeof buf);
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(s);
  return response;
}

// Runs the deployment, SIGKILLs `victim` once a quarter of the invoices are
// done and starts `replacement` (a consumer name) of the same role, then
// judges the stores.
void run_with_a_killed_worker(const std::string& victim, const std::string& replacement) {
  const auto servers = faultline::test_support::live_servers();
  const std::string schema = faultline::test_support::unique_name("dep");
  const fs::path dir = faultline::cli_testing::fresh_dir("live-deployment");
  constexpr double kTimeScale = 10.0;  // the baseline's 1.5 s OCR takes 150 ms
  constexpr std::uint64_t kInvoices = 1000;
  const int metrics_port = free_port();
  {
    ProcessGroup group(dir);
    const std::vector<std::string> roles = {"ocr", "validation", "matching", "accounting", "archive", "orchestrator"};
    for (const auto& role : roles) {
      auto args = agent_args(role, role + "-0", servers, schema, kTimeScale);
      if (role == "orchestrator") {
        args.push_back("--metrics-port");
        args.push_back(std::to_string(metrics_port));
      }
      ASSERT_GT(group.start(role, kAgent, args), 0);
    }
    for (const auto& role : roles) {
      ASSERT_TRUE(group.wait_for(role, "ready", 60s)) << role << ": " << group.errors(role);
    }

    auto submit = faultline::cli_testing::faultline(
        {"live", "submit", "--redis", servers.redis, "--postgres", servers.postgres, "--invoices",
         std::to_string(kInvoices), "--seed", "17", "--schema", schema, "--prefix", schema + ":"});
    ASSERT_EQ(submit.exit_code, 0) << submit.err;
    std::smatch ids;
    ASSERT_TRUE(std::regex_search(submit.out, ids, std::regex(R"(ids (\d+)\.\.(\d+))"))) << submit.out;
    const std::uint64_t first = std::stoull(ids[1]);
    const std::uint64_t last = std::stoull(ids[2]);
    ASSERT_EQ(last - first + 1, kInvoices);

    // In the middle: SIGKILL the accounting worker, start another.
    const auto kill_guard = Clock::now() + 120s;
    std::size_t done_at_kill = 0;
    while (Clock::now() < kill_guard) {
      done_at_kill = terminal(status_of(servers.postgres, schema));
      if (done_at_kill >= kInvoices / 4) break;
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_GE(done_at_kill, kInvoices / 4) << "the pipeline made no progress";
    ASSERT_LT(done_at_kill, kInvoices) << "finished before the kill: the kill tests nothing";
    group.signal(victim, SIGKILL);
    EXPECT_EQ(group.wait(victim, 30s), 128 + SIGKILL);
    auto restarted = agent_args(victim, replacement, servers, schema, kTimeScale);
    if (victim == "orchestrator") {
      restarted.push_back("--metrics-port");
      restarted.push_back(std::to_string(metrics_port));
    }
    ASSERT_GT(group.start(replacement, kAgent, restarted), 0);
    ASSERT_TRUE(group.wait_for(replacement, "ready", 60s)) << group.errors(replacement);

    // Quiescence: every invoice terminal, and the count stable for a while
    // (hang guard only: the deadline is far above what it takes).
    live::DeploymentStatus s;
    const auto guard = Clock::now() + 300s;
    while (Clock::now() < guard) {
      s = status_of(servers.postgres, schema);
      if (terminal(s) >= kInvoices) break;
      std::this_thread::sleep_for(200ms);
    }
    std::this_thread::sleep_for(1s);  // a late duplicate would show now
    s = status_of(servers.postgres, schema);

    // Every invoice in exactly one terminal store, none lost, none foreign.
    std::map<std::uint64_t, std::vector<std::string>> stores;
    for (auto id : s.posted) stores[id].push_back("ledger");
    for (auto id : s.dead_lettered) stores[id].push_back("dead-letter");
    for (auto id : s.manual_review) stores[id].push_back("manual review");
    for (auto id : s.rejected) stores[id].push_back("rejections");
    std::uint64_t lost = 0;
    for (std::uint64_t id = first; id <= last; ++id) {
      const auto it = stores.find(id);
      if (it == stores.end()) {
        ++lost;
        continue;
      }
      EXPECT_EQ(it->second.size(), 1u) << "invoice " << id << " is in " << it->second.size() << " stores: "
                                       << it->second.front() << ", " << it->second.back();
    }
    EXPECT_EQ(lost, 0u) << "invoices in no terminal store";
    EXPECT_EQ(stores.size(), kInvoices) << "ids outside the submitted range";
    // Exactly one ledger row per posted invoice, one notification each.
    EXPECT_EQ(s.ledger_rows, s.posted.size());
    EXPECT_EQ(s.notifications, s.posted.size());
    EXPECT_EQ(s.notified_invoices, s.posted.size());
    // A fault-free world posts nearly everything (1% of invoices do not add up).
    EXPECT_GE(s.posted.size(), kInvoices * 9 / 10);

    // The intake stream stays bounded: acked entries are trimmed.
    const long long intake = stream_length(servers.redis, schema + ":intake");
    EXPECT_GE(intake, 0);
    EXPECT_LT(intake, static_cast<long long>(kInvoices));

    // The orchestrator's metrics endpoint: metrics.prom's names, this process's counts.
    const std::string metrics = scrape(metrics_port);
    EXPECT_NE(metrics.find("HTTP/1.1 200 OK"), std::string::npos) << metrics.substr(0, 200);
    EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos);
    const std::string orchestrator = victim == "orchestrator" ? replacement : "orchestrator-0";
    const std::string series = "{scenario=\"live/orchestrator/" + orchestrator + "\",seed=\"0\"}";
    if (victim != "orchestrator") {
      EXPECT_NE(metrics.find("faultline_invoices_submitted_total" + series + " " + std::to_string(kInvoices) + "\n"),
                std::string::npos)
          << metrics;
    }
    EXPECT_NE(metrics.find("faultline_invoices_submitted_total" + series), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("faultline_agent_calls_total{scenario=\"live/orchestrator/" + orchestrator +
                           "\",seed=\"0\",agent=\"accounting\"}"),
              std::string::npos);

    // SIGTERM: every worker finishes or releases its work and exits 0.
    std::vector<std::string> running;
    for (const auto& role : roles) {
      if (role != victim) running.push_back(role);
    }
    running.push_back(replacement);
    for (const auto& name : running) group.signal(name, SIGTERM);
    for (const auto& name : running) {
      EXPECT_EQ(group.wait(name, 30s), 0) << name << ": " << group.errors(name);
      EXPECT_NE(group.output(name).find("stopped"), std::string::npos) << name;
    }
  }
  fs::remove_all(dir);
}

TEST(LiveDeployment, EveryInvoiceEndsInExactlyOneTerminalStoreWhenAnAccountingWorkerIsKilled) {
  run_with_a_killed_worker("accounting", "accounting-1");
}

// The orchestrator restarted under its own consumer name re-reads the intake
// entries it had not finished and resumes their workflows from their
// checkpoints; its new request ids do not collide with the old ones.
TEST(LiveDeployment, EveryInvoiceEndsInExactlyOneTerminalStoreWhenTheOrchestratorIsKilledAndRestarted) {
  run_with_a_killed_worker("orchestrator", "orchestrator-0");
}

TEST(FaultlineAgent, RefusesBadArgumentsNamingThem) {
  faultline::cli_testing::Options options;
  options.program = kAgent;
  const std::vector<std::string> good = {"--role", "ocr", "--redis", "redis://127.0.0.1:6379", "--postgres",
                                         "postgresql://faultline@127.0.0.1:5432/faultline", "--policy", "p.json"};
  auto ok = faultline::cli_testing::faultline([&] { auto a = good; a.push_back("--check-args"); return a; }(), options);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto own_checkpoints = faultline::cli_testing::faultline(
      [&] {
        auto a = good;
        a.insert(a.end(), {"--checkpoint-postgres", "postgresql://faultline@127.0.0.1:6543/faultline", "--check-args"});
        return a;
      }(),
      options);
  EXPECT_EQ(own_checkpoints.exit_code, 0) << own_checkpoints.err;
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--role", "ledger"}, "--role"},
      {{"--redis", "127.0.0.1:6379"}, "--redis"},
      {{"--postgres", "host=127.0.0.1"}, "--postgres"},
      {{"--checkpoint-postgres", "redis://127.0.0.1:6379"}, "--checkpoint-postgres"},
      {{"--time-scale", "0"}, "--time-scale"},
      {{"--time-scale", "nan"}, "--time-scale"},
      {{"--consumer", "Bad Name"}, "--consumer"},
      {{"--metrics-port", "70000"}, "--metrics-port"},
  };
  for (const auto& [change, option] : bad) {
    auto args = good;
    for (std::size_t i = 0; i < args.size(); i += 2) {
      if (args[i] == change[0]) args[i + 1] = change[1];
    }
    if (std::find(args.begin(), args.end(), change[0]) == args.end()) args.insert(args.end(), change.begin(), change.end());
    args.push_back("--check-args");
    auto r = faultline::cli_testing::faultline(args, options);
    EXPECT_EQ(r.exit_code, 2) << option;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
  }
  // A server it cannot reach at start: exit 2, naming the server's URL.
  const std::string policy = (faultline::cli_testing::source_dir() / "docs/deploy/policy.json").string();
  auto unreachable = faultline::cli_testing::faultline(
      {"--role", "validation", "--redis", "redis://127.0.0.1:1", "--postgres", "postgresql://x@127.0.0.1:1/db",
       "--policy", policy},
      options);
  EXPECT_EQ(unreachable.exit_code, 2);
  EXPECT_NE(unreachable.err.find("redis://127.0.0.1:1"), std::string::npos) << unreachable.err;
  // A faults file with a bad entry: exit 2 naming the file and the entry's
  // JSON path, before any server is tried.
  const auto dir = faultline::cli_testing::fresh_dir("agent-faults");
  const auto faults_file = dir / "faults.json";
  faultline::cli_testing::write_file(faults_file,
                                     R"({"faults": [{"kind": "outage", "target": "nowhere", "start": "0s", "duration": "1s"}]})");
  auto bad_faults = faultline::cli_testing::faultline(
      {"--role", "accounting", "--redis", "redis://127.0.0.1:1", "--postgres", "postgresql://x@127.0.0.1:1/db",
       "--policy", policy, "--faults", faults_file.string()},
      options);
  EXPECT_EQ(bad_faults.exit_code, 2) << bad_faults.err;
  EXPECT_NE(bad_faults.err.find("$.faults[0].target"), std::string::npos) << bad_faults.err;
  EXPECT_NE(bad_faults.err.find("faults.json"), std::string::npos) << bad_faults.err;
  std::filesystem::remove_all(dir);
  auto missing = faultline::cli_testing::faultline({"--role", "ocr"}, options);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--redis"), std::string::npos) << missing.err;
}

// docs/deploy/docker-compose.yml parses, and every faultline-agent command
// in it is accepted by the agent's argument parser.
TEST(DeployExample, ComposeFileParsesAndItsAgentCommandsAreAccepted) {
  const fs::path compose = faultline::cli_testing::source_dir() / "docs/deploy/docker-compose.yml";
  ASSERT_TRUE(fs::exists(compose)) << compose;
  faultline::cli_testing::Options py;
  py.program = "/usr/bin/python3";
  // One JSON line per agent service: its command as a list.
  auto listed = faultline::cli_testing::faultline(
      {"-c",
       "import json, sys, yaml\n"
       "doc = yaml.safe_load(open(sys.argv[1]))\n"
       "for name, svc in doc['services'].items():\n"
       "    cmd = svc.get('command')\n"
       "    if svc.get('entrypoint') == ['faultline-agent'] or (isinstance(cmd, list) and cmd[:1] == ['faultline-agent']):\n"
       "        args = cmd[1:] if cmd[:1] == ['faultline-agent'] else cmd\n"
       "        print(json.dumps({'name': name, 'args': args, 'replicas': svc.get('deploy', {}).get('replicas', 1)}))\n",
       compose.string()},
      py);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::set<std::string> roles;
  std::istringstream lines(listed.out);
  std::string line;
  faultline::cli_testing::Options agent;
  agent.program = kAgent;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    std::vector<std::string> args = j["args"].get<std::vector<std::string>>();
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--role") roles.insert(args[i + 1]);
    }
    args.push_back("--check-args");
    auto r = faultline::cli_testing::faultline(args, agent);
    EXPECT_EQ(r.exit_code, 0) << j["name"] << ": " << r.err;
  }
  EXPECT_EQ(roles, (std::set<std::string>{"ocr", "validation", "matching", "accounting", "archive", "orchestrator"}));
}

}  // namespace
