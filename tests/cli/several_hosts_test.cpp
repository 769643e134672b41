// Several hosts on one machine (issue 18): Redis, PostgreSQL and the
// workers each on a host of their own, i.e. in a network namespace the
// test makes (`ip netns`), the workers' host joined to each store's host by
// a veth pair of its own:
//
//   faultline-<pid>-work  to-redis 10.213.0.2/30 <-> eth0 10.213.0.1  faultline-<pid>-redis
//   faultline-<pid>-work  to-pg    10.213.0.6/30 <-> eth0 10.213.0.5  faultline-<pid>-pg
//
// The addresses exist only inside these namespaces (nothing is added to the
// machine's own network), so they cannot collide with the machine's or
// another run's. The servers are the harness's private ones
// (harness/live_servers.h) bound to their host's address inside their
// namespace; `faultline run --mode live --redis URL --postgres URL` runs
// inside the workers' namespace (`ip netns exec`), so the harness and every
// worker reach the stores over the links, never the loopback.
//
// 1. A scenario passes, judged from the stores, and Redis sees the clients
//    from the workers' host's address.
// 2. The Redis host's link is cut (`ip link set eth0 down` on its side) for
//    14 s of real time mid-run, longer than the clients' command timeout
//    (10 s), then restored: the run still passes (nothing lost, each
//    invoice once), and the cut touched the run: Redis received new
//    connections (clients that gave up a silent connection and came back)
//    and the workers' host retransmitted TCP segments (the kernel's count).
//
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN: namespaces, links, setns)
// and iproute2's `ip`; skipped, saying which, without them. Everything the
// test made goes at its end, also when it fails: the servers (stopped, their
// directories removed), then the namespaces (removing one removes its veth
// ends, and a veth pair goes with either end). A test killed outright leaves
// its namespaces behind; the next run removes those whose pid is no longer
// running.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/live_servers.h"
#include "tests/cli/process.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace ct = faultline::cli_testing;
using faultline::harness::PrivateServer;
using faultline::harness::ServerKind;
using faultline::harness::ServerLaunchOptions;

constexpr const char* kRedisAddress = "10.213.0.1";
constexpr const char* kWorkToRedis = "10.213.0.2";
constexpr const char* kPgAddress = "10.213.0.5";
constexpr const char* kWorkToPg = "10.213.0.6";
constexpr const char* kPgLink = "10.213.0.4/30";
constexpr const char* kPrefix = "faultline-";

std::optional<fs::path> ip_binary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return fs::path(p);
  }
  return std::nullopt;
}

// Whether this process holds capability `bit` (CapEff of /proc/self/status).
bool has_capability(int bit) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      const unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
      return ((caps >> bit) & 1ULL) != 0;
    }
  }
  return false;
}

// Why this machine cannot run the test; empty when it can.
std::string cannot_run() {
  if (::geteuid() != 0) return "not root: making network namespaces and links needs root";
  if (!has_capability(12)) return "no CAP_NET_ADMIN: links and addresses cannot be made";
  if (!has_capability(21)) return "no CAP_SYS_ADMIN: network namespaces cannot be made or entered";
  if (!ip_binary()) return "iproute2's ip not found (/usr/sbin/ip): install Debian's iproute2 (scripts/test does)";
  return "";
}

ct::Result ip(const std::vector<std::string>& args) {
  ct::Options o;
  o.program = *ip_binary();
  o.alarm = 30s;
  return ct::faultline(args, o);
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Runs `fn` on a thread that entered the network namespace `name`: how the
// test looks at a host from inside (the test's own threads stay where they
// are). nullopt if the namespace cannot be entered.
template <class R>
std::optional<R> inside(const std::string& name, const std::function<R()>& fn) {
  std::optional<R> result;
  std::thread([&] {
    const int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) result.emplace(fn());
  }).join();
  return result;
}

// One Redis command (inline form) on a connection of its own; the reply's
// bulk string, or nullopt. Each call is one connection Redis counts.
std::optional<std::string> redis_bulk(const std::string& host, int port, const std::string& command) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string line = command + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      char buffer[4096];
      for (;;) {
        const auto header_end = reply.find("\r\n");
        if (header_end != std::string::npos && reply[0] == '$') {
          const std::size_t length = std::stoul(reply.substr(1, header_end - 1));
          if (reply.size() >= header_end + 2 + length) {
            reply = reply.substr(header_end + 2, length);
            ::close(fd);
            return reply;
          }
        } else if (header_end != std::string::npos) {
          break;  // an error or another type: not what was asked
        }
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        reply.append(buffer, static_cast<std::size_t>(got));
      }
    }
  }
  ::close(fd);
  return std::nullopt;
}

// A `name:value` of an INFO reply.
long long info_field(const std::string& info, const std::string& name) {
  const auto at = info.find(name + ":");
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + name.size() + 1));
}

// TCP segments this namespace has retransmitted (RetransSegs of the Tcp
// lines of its /proc/net/snmp, read by a thread inside it).
long long retransmitted_segments() {
  std::ifstream in("/proc/thread-self/net/snmp");
  std::string header;
  std::string values;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Tcp:", 0) != 0) continue;
    if (header.empty()) header = line;
    else values = line;
  }
  std::istringstream names(header);
  std::istringstream numbers(values);
  std::string name;
  std::string number;
  while (names >> name && numbers >> number) {
    if (name == "RetransSegs") return std::stoll(number);
  }
  return -1;
}

// The three hosts and their two links; the destructor removes them.
class Hosts {
 public:
  explicit Hosts(std::string tag) : tag_(std::move(tag)) {}
  ~Hosts() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      const auto r = ip({"netns", "delete", *it});
      if (r.exit_code != 0) std::cerr << "could not delete network namespace " << *it << ": " << r.err << "\n";
    }
  }
  Hosts(const Hosts&) = delete;
  Hosts& operator=(const Hosts&) = delete;

  std::string redis() const { return name("redis"); }
  std::string pg() const { return name("pg"); }
  std::string work() const { return name("work"); }

  // Makes the namespaces and links; empty, or what failed.
  std::string make() {
    remove_stale();
    for (const auto& ns : {redis(), pg(), work()}) {
      if (auto e = run({"netns", "add", ns}); !e.empty()) return e;
      made_.push_back(ns);
      if (auto e = run({"-n", ns, "link", "set", "lo", "up"}); !e.empty()) return e;
    }
    // Each pair is made with its ends in their namespaces already: nothing
    // appears, even for a moment, in the machine's own.
    for (const auto& [store, store_address, work_end, work_address] :
         {std::tuple{redis(), kRedisAddress, "to-redis", kWorkToRedis},
          std::tuple{pg(), kPgAddress, "to-pg", kWorkToPg}}) {
      for (const auto& step : std::vector<std::vector<std::string>>{
               {"link", "add", "eth0", "netns", store, "type", "veth", "peer", "name", work_end, "netns", work()},
               {"-n", store, "addr", "add", std::string(store_address) + "/30", "dev", "eth0"},
               {"-n", work(), "addr", "add", std::string(work_address) + "/30", "dev", work_end},
               {"-n", store, "link", "set", "eth0", "up"},
               {"-n", work(), "link", "set", work_end, "up"}}) {
        if (auto e = run(step); !e.empty()) return e;
      }
    }
    return "";
  }

  // Cuts (or restores) the Redis host's link at its own end.
  std::string set_redis_link(bool up) { return run({"-n", redis(), "link", "set", "eth0", up ? "up" : "down"}); }

 private:
  std::string name(const char* host) const { return kPrefix + tag_ + "-" + host; }

  static std::string run(const std::vector<std::string>& args) {
    const auto r = ip(args);
    if (r.exit_code == 0) return "";
    return "ip " + joined(args) + ": exit " + std::to_string(r.exit_code) + ": " + r.err;
  }

  // Namespaces of this test left by a run that was killed outright
  // (faultline-<pid>-{redis,pg,work} whose pid no longer runs).
  static void remove_stale() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
      const std::string n = entry.path().filename().string();
      if (n.rfind(kPrefix, 0) != 0) continue;
      const std::string rest = n.substr(std::string(kPrefix).size());
      const auto dash = rest.find('-');
      if (dash == std::string::npos || dash == 0) continue;
      const std::string pid = rest.substr(0, dash);
      const std::string host = rest.substr(dash + 1);
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (host != "redis" && host != "pg" && host != "work") continue;
      if (fs::exists(fs::path("/proc") / pid)) continue;
      (void)ip({"netns", "delete", n});
    }
  }

  std::string tag_;
  std::vector<std::string> made_;
};

// Whether the directory `name` (stem-<pid>-XXXXXX) was left by a test of
// this file that no longer runs.
bool stale_dir(const std::string& name, const std::string& stem) {
  if (name.rfind(stem + "-", 0) != 0) return false;
  const std::string rest = name.substr(stem.size() + 1);
  const std::string pid = rest.substr(0, rest.find('-'));
  return !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos && rest.size() > pid.size() &&
         !fs::exists(fs::path("/proc") / pid);
}

// The stem of the test's directory (a ct::LiveDir: scenario, runs, the
// servers' data directories, removed at the end); the directories a test
// killed outright left are removed first.
std::string test_dir_stem() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (stale_dir(entry.path().filename().string(), "several-hosts")) fs::remove_all(entry.path(), ec);
  }
  return "several-hosts-" + std::to_string(::getpid());
}

struct TestDir : ct::LiveDir {
  fs::path run_log = root / "run.log";  // faultline's output
  TestDir() : ct::LiveDir(test_dir_stem()) {}
  // Whether every worker of the first scenario has said it is ready.
  bool workers_ready() const {
    std::error_code ec;
    for (const auto& run : fs::directory_iterator(out, ec)) {
      std::size_t ready = 0;
      std::size_t logs = 0;
      std::error_code inner;
      for (const auto& scenario_logs : fs::directory_iterator(run.path() / "logs", inner)) {
        if (!scenario_logs.is_directory()) continue;
        for (const auto& log : fs::directory_iterator(scenario_logs.path(), inner)) {
          if (log.path().extension() != ".log") continue;
          ++logs;
          if (ct::read_file(log.path()).find(" ready") != std::string::npos) ++ready;
        }
      }
      if (logs >= 6 && ready == logs) return true;
    }
    return false;
  }
};

std::string scenario(const std::string& name, const std::string& description, const std::string& duration) {
  const fs::path root = ct::source_dir();
  nlohmann::json s = {{"name", name},
                      {"description", description},
                      {"seed", 7},
                      {"duration", duration},
                      {"drain", "10m"},
                      {"world", (root / "scenarios/models/baseline.json").string()},
                      {"workload", {{"rate_per_hour", 1200}}},
                      {"policy", (root / "scenarios/policies/recommended.json").string()},
                      {"faults", nlohmann::json::array()},
                      {"expect", {{"invariants", nlohmann::json::array({"all"})}, {"success_rate_min", 0.9}}}};
  return s.dump(2);
}

bool judged_pass(const nlohmann::json& s, const std::string& id) {
  for (const auto& inv : s["invariants"]) {
    if (inv["id"] == id) return inv["passed"].get<bool>() && !inv["skipped"].get<bool>();
  }
  return false;
}

// The hosts, the two servers on theirs, and the test's directory.
class SeveralHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = cannot_run(); !why.empty()) GTEST_SKIP() << why;
    hosts_ = std::make_unique<Hosts>(std::to_string(::getpid()));
    const std::string made = hosts_->make();
    ASSERT_EQ(made, "") << "making the hosts";
    ServerLaunchOptions redis_options;
    redis_options.parent_dir = dir_.tmp;
    redis_options.bind_address = kRedisAddress;
    redis_options.network_namespace = hosts_->redis();
    auto redis = PrivateServer::start(ServerKind::redis, redis_options);
    ASSERT_TRUE(redis) << redis.failure().message;
    redis_ = std::move(redis).value();
    ServerLaunchOptions pg_options;
    pg_options.parent_dir = dir_.tmp;
    pg_options.bind_address = kPgAddress;
    pg_options.network_namespace = hosts_->pg();
    pg_options.client_network = kPgLink;
    auto pg = PrivateServer::start(ServerKind::postgres, pg_options);
    ASSERT_TRUE(pg) << pg.failure().message;
    pg_ = std::move(pg).value();
  }

  void TearDown() override {
    if (run_pid_ > 0) faultline::harness::stop_supervised(run_pid_, SIGKILL, 0ms);
    // Servers first (their processes leave the namespaces), then the hosts.
    if (redis_) {
      EXPECT_TRUE(redis_->stop()) << "stopping redis";
    }
    if (pg_) {
      EXPECT_TRUE(pg_->stop()) << "stopping postgres";
    }
    redis_.reset();
    pg_.reset();
    hosts_.reset();
  }

  // Starts `faultline run` of the test's scenario inside the workers'
  // namespace (`ip netns exec` execs it: the pid is faultline's), as a
  // supervised child: SIGKILL if the test dies, so a test killed outright
  // leaves no run behind (its workers follow it the same way).
  void start_run() {
    auto pid = faultline::harness::spawn_supervised(
        {ip_binary()->string(), "netns", "exec", hosts_->work(), ct::binary().string(), "run", dir_.scenario.string(),
         "--mode", "live", "--time-scale", "20", "--redis", redis_->url(), "--postgres", pg_->url(), "--out",
         dir_.out.string()},
        dir_.root, dir_.run_log);
    ASSERT_TRUE(pid) << pid.failure().message;
    run_pid_ = pid.value();
  }

  // Its exit code, once it ends (-1: killed, or still running after `limit`,
  // when it is killed).
  int wait_run(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(run_pid_, &status, WNOHANG) != run_pid_) {
      if (std::chrono::steady_clock::now() >= end) {
        faultline::harness::stop_supervised(run_pid_, SIGKILL, 0ms);
        run_pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    run_pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool wait_workers_ready(std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (dir_.workers_ready()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // A Redis command sent from the workers' host.
  std::optional<std::string> redis_from_work(const std::string& command) const {
    auto r = inside<std::optional<std::string>>(
        hosts_->work(), [&] { return redis_bulk(kRedisAddress, redis_->port(), command); });
    return r ? *r : std::nullopt;
  }

  // The scenario passed, judged from the stores, with the stores on their hosts.
  void expect_passed(int exit_code, int submitted_min) const {
    const std::string output = ct::read_file(dir_.run_log);
    EXPECT_EQ(exit_code, 0) << output;  // and on: the report says why
    EXPECT_NE(output.find("PASS"), std::string::npos) << output;
    const auto report = nlohmann::json::parse(ct::read_file(dir_.out / "latest/report.json"));
    EXPECT_EQ(report["runtime"], "live");
    EXPECT_EQ(report["live"]["servers_started"], false);
    EXPECT_EQ(report["live"]["hosts"]["redis"], std::string(kRedisAddress) + ":" + std::to_string(redis_->port()));
    EXPECT_EQ(report["live"]["hosts"]["postgres"], std::string(kPgAddress) + ":" + std::to_string(pg_->port()));
    const auto& s = report["scenarios"][0];
    EXPECT_EQ(s["verdict"], "pass") << s["verdict_reason"];
    EXPECT_GE(s["outcomes"]["submitted"].get<int>(), submitted_min);
    EXPECT_EQ(s["outcomes"]["lost"], 0);
    EXPECT_EQ(s["outcomes"]["in_flight"], 0);
    EXPECT_TRUE(judged_pass(s, "conservation")) << s["invariants"].dump(1);
    EXPECT_TRUE(judged_pass(s, "exactly_once")) << s["invariants"].dump(1);
  }

  TestDir dir_;
  pid_t run_pid_ = -1;
  std::unique_ptr<Hosts> hosts_;
  std::unique_ptr<PrivateServer> redis_;
  std::unique_ptr<PrivateServer> pg_;
};

// 3 minutes at 1,200 invoices an hour (about 60), 9 s at time scale 20.
TEST_F(SeveralHosts, ScenarioPassesWithRedisPostgresAndWorkersOnHostsOfTheirOwn) {
  ct::write_file(dir_.scenario, scenario("several-hosts", "Redis, PostgreSQL and the workers on three hosts", "3m"));
  start_run();
  ASSERT_TRUE(wait_workers_ready(120s)) << ct::read_file(dir_.run_log);
  // Every client Redis sees comes over the link from the workers' host.
  const auto clients = redis_from_work("CLIENT LIST");
  ASSERT_TRUE(clients.has_value()) << "Redis did not answer from the workers' host";
  std::size_t from_work = 0;
  std::size_t all = 0;
  std::istringstream lines(*clients);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("addr=") == std::string::npos) continue;
    ++all;
    if (line.find(std::string("addr=") + kWorkToRedis + ":") != std::string::npos) ++from_work;
  }
  EXPECT_GT(all, 6u) << *clients;
  EXPECT_EQ(from_work, all) << *clients;
  expect_passed(wait_run(180s), 30);
}

// 6 minutes (about 120 invoices), 18 s at time scale 20; the link to the
// Redis host is down from about 1 s after the workers are ready for 14 s.
TEST_F(SeveralHosts, CutRedisHostLinkMidRunLosesNothing) {
  ct::write_file(dir_.scenario, scenario("several-hosts-redis-cut",
                                         "the Redis host's link is cut for 14 s of real time mid-run", "6m"));
  start_run();
  ASSERT_TRUE(wait_workers_ready(120s)) << ct::read_file(dir_.run_log);
  std::this_thread::sleep_for(1s);
  const auto info_before = redis_from_work("INFO stats");
  const auto retrans_before = inside<long long>(hosts_->work(), retransmitted_segments);
  ASSERT_TRUE(info_before && retrans_before);

  ASSERT_EQ(hosts_->set_redis_link(false), "");
  struct Restore {
    Hosts& hosts;
    bool done = false;
    ~Restore() {
      if (!done) (void)hosts.set_redis_link(true);
    }
  } restore{*hosts_};
  const auto cut_at = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(14s);
  ASSERT_EQ(hosts_->set_redis_link(true), "");
  restore.done = true;
  const auto cut_for = std::chrono::duration<double>(std::chrono::steady_clock::now() - cut_at).count();

  const int exit_code = wait_run(180s);
  const auto info_after = redis_from_work("INFO stats");
  const auto retrans_after = inside<long long>(hosts_->work(), retransmitted_segments);
  ASSERT_TRUE(info_after && retrans_after);
  // Each INFO is a connection of its own: the second counts itself.
  const long long reconnections = info_field(*info_after, "total_connections_received") -
                                  info_field(*info_before, "total_connections_received") - 1;
  const long long retransmitted = *retrans_after - *retrans_before;
  std::cout << "the cut (" << cut_for << " s): Redis received " << reconnections
            << " new connections from the workers' host; it retransmitted " << retransmitted << " TCP segments\n";
  RecordProperty("cut_seconds", std::to_string(cut_for));
  RecordProperty("redis_new_connections", std::to_string(reconnections));
  RecordProperty("tcp_segments_retransmitted", std::to_string(retransmitted));

  expect_passed(exit_code, 60);
  EXPECT_GT(reconnections, 0) << "no client gave up its silent connection: the cut touched nothing";
  EXPECT_GT(retransmitted, 0) << "no segment was lost on the cut link";
}

}  // namespace
