#include "harness/live_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/assert.h"

namespace faultline::harness {

namespace fs = std::filesystem;
using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kPgUser = "faultline";
constexpr const char* kPgDatabase = "faultline";
constexpr auto kPollInterval = std::chrono::milliseconds(20);

Failure environment_error(std::string message) { return Failure{ErrorClass::permanent, std::move(message)}; }

std::string errno_text(int error) { return std::strerror(error); }

bool is_executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; }

std::optional<fs::path> find_in_path(const std::string& name, const std::vector<fs::path>& extra) {
  std::vector<fs::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string all(path);
    std::size_t start = 0;
    while (start <= all.size()) {
      const std::size_t end = std::min(all.find(':', start), all.size());
      if (end > start) dirs.emplace_back(all.substr(start, end - start));
      start = end + 1;
    }
  }
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  for (const auto& dir : dirs) {
    if (is_executable(dir / name)) return dir / name;
  }
  return std::nullopt;
}

// The directory holding PostgreSQL's initdb and postgres: pg_config's
// bindir (libpq-dev's pg_config names the server's), else the newest
// /usr/lib/postgresql/<version>/bin.
std::optional<fs::path> find_postgres_bindir() {
  auto has_server = [](const fs::path& dir) { return is_executable(dir / "initdb") && is_executable(dir / "postgres"); };
  if (auto pg_config = find_in_path("pg_config", {})) {
    const std::string command = pg_config->string() + " --bindir 2>/dev/null";
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      std::string out;
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
      ::pclose(pipe);
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
      if (!out.empty() && has_server(out)) return fs::path(out);
    }
  }
  std::vector<std::pair<int, fs::path>> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long version = std::strtol(name.c_str(), &end, 10);
    if (end != name.c_str() && *end == '\0' && has_server(entry.path() / "bin")) {
      versions.emplace_back(static_cast<int>(version), entry.path() / "bin");
    }
  }
  if (versions.empty()) return std::nullopt;
  std::sort(versions.begin(), versions.end());
  return versions.back().second;
}

fs::path namespace_file(const std::string& name) { return fs::path("/run/netns") / name; }

// Runs `fn` on a thread of its own that has entered the network namespace
// `name` (empty: runs it here): what the launcher's checks of a server in
// another namespace connect from. The caller's thread never changes
// namespace. `fallback` is the answer when the namespace cannot be entered.
template <class R>
R in_namespace(const std::string& name, const std::function<R()>& fn, R fallback) {
  if (name.empty()) return fn();
  std::optional<R> result;
  std::thread([&] {
    const int fd = ::open(namespace_file(name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) result.emplace(fn());
  }).join();
  return result ? std::move(*result) : std::move(fallback);
}

// A port on `address` that was free a moment ago; the server may still lose
// it to another process before binding it (the caller retries).
Outcome<int> free_port(const std::string& address) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return environment_error("bind address " + address + " is not an IPv4 address");
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return environment_error("socket: " + errno_text(errno));
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    const int error = errno;
    ::close(fd);
    return environment_error("choosing a free port on " + address + ": " + errno_text(error));
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Outcome<fs::path> make_dir(const fs::path& parent, const std::string& stem) {
  std::error_code ec;
  const fs::path base = parent.empty() ? fs::temp_directory_path(ec) : parent;
  if (ec) return environment_error("no temporary directory: " + ec.message());
  std::string pattern = (base / (stem + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return environment_error("cannot make a directory in " + base.string() + ": " + errno_text(errno));
  }
  return fs::path(pattern);
}

std::string log_tail(const fs::path& log, std::size_t lines_max = 12) {
  std::ifstream in(log);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > lines_max) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "\n  | " + l;
  return out;
}

struct Credentials {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int network_namespace = -1;  // an open /run/netns/NAME: the child enters it
};

// Forks and execs argv[0] in its own process group, with `cwd` as working
// directory, stdin from /dev/null, stdout and stderr appended to `log`,
// every other descriptor closed, optionally as another user, and with
// SIGKILL as its parent-death signal. Everything the child touches is
// prepared before fork (the parent may have threads).
Outcome<pid_t> spawn(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log,
                     const Credentials& credentials) {
  FAULTLINE_ASSERT(!args.empty());
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string cwd_text = cwd.string();
  const std::string log_text = log.string();
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return environment_error("pipe: " + errno_text(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    return environment_error("fork: " + errno_text(error));
  }
  if (pid == 0) {
    auto fail = [&](int step) {
      const int payload[2] = {step, errno};
      (void)!::write(report[1], payload, sizeof payload);
      ::_exit(127);
    };
    if (::setpgid(0, 0) != 0) fail(1);
    // A server starts with no signal blocked or ignored, whatever its
    // supervisor blocks (a fixture waiting in sigtimedwait) or ignores (SIGPIPE).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) {
      ::sigaction(sig, &default_action, nullptr);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY);
    const int log_fd = ::open(log_text.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd < 0 || log_fd < 0) fail(2);
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) fail(3);
    // Before the credentials change: entering a namespace needs CAP_SYS_ADMIN.
    if (credentials.network_namespace >= 0 && ::setns(credentials.network_namespace, CLONE_NEWNET) != 0) fail(9);
    if (credentials.drop) {
      if (::fchown(log_fd, credentials.uid, credentials.gid) != 0) fail(4);
      if (::setgroups(0, nullptr) != 0 || ::setgid(credentials.gid) != 0 || ::setuid(credentials.uid) != 0) fail(5);
    }
    // After the credentials change, which clears it.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(6);
    if (::getppid() != parent) ::_exit(126);
    if (::chdir(cwd_text.c_str()) != 0) fail(7);
    // Descriptors 3 and up (but the report pipe, close-on-exec) stay out of the server.
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != report[1]) ::close(fd);
    }
    ::execv(argv[0], argv.data());
    fail(8);
  }
  ::close(report[1]);
  int payload[2] = {0, 0};
  ssize_t got;
  do {
    got = ::read(report[0], payload, sizeof payload);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    static const char* const kSteps[] = {"",      "setpgid", "opening the log", "redirecting output", "chown of the log",
                                         "setuid", "prctl",   "chdir",           "exec",
                                         "entering the network namespace"};
    const int step = payload[0] >= 1 && payload[0] <= 9 ? payload[0] : 8;
    return environment_error("starting " + args[0] + ": " + kSteps[step] + " failed: " + errno_text(payload[1]));
  }
  return pid;
}

// Whether `pid` (a child) has exited; reaps it.
bool exited(pid_t pid, int* status_out = nullptr) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    if (status_out) *status_out = status;
    return true;
  }
  return false;
}

// Whether a process of group `pgid` is still running (zombies excluded:
// they hold no socket and no shared memory).
bool group_running(pid_t pgid) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    long pgrp = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z' && state != 'X') {
      return true;
    }
  }
  return false;
}

// The processes (zombies excluded) whose working directory is `dir` or
// below it. PostgreSQL's backends run in sessions of their own (setsid), so
// they are not in the postmaster's process group; their working directory
// is its data directory.
std::vector<pid_t> processes_in(const fs::path& dir) {
  std::vector<pid_t> found;
  if (dir.empty()) return found;
  const std::string prefix = dir.string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    const std::string cwd = fs::read_symlink(entry.path() / "cwd", link_ec).string();
    if (link_ec || cwd.compare(0, prefix.size(), prefix) != 0) continue;
    if (cwd.size() > prefix.size() && cwd[prefix.size()] != '/') continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const auto close = stat.rfind(')');
    char state = 0;
    if (close == std::string::npos || std::sscanf(stat.c_str() + close + 1, " %c", &state) != 1) continue;
    if (state != 'Z' && state != 'X') found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

// Signals the child, waits up to `within`, then kills its process group,
// reaps the child and waits (bounded) until nothing of the group runs, and
// nothing runs in `dir` (when given): a killed PostgreSQL's backends too,
// which would otherwise keep its shared memory and refuse a restart.
void terminate(pid_t pid, int signal, std::chrono::milliseconds within, const fs::path& dir = {}) {
  if (pid <= 0) return;
  ::kill(pid, signal);
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (exited(pid)) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  ::killpg(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const auto drained = Clock::now() + std::chrono::seconds(10);
  while (group_running(pid) && Clock::now() < drained) {
    ::killpg(pid, SIGKILL);
    std::this_thread::sleep_for(kPollInterval);
  }
  for (auto left = processes_in(dir); !left.empty() && Clock::now() < drained; left = processes_in(dir)) {
    for (const pid_t p : left) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Runs a program to completion (initdb), bounded by `within`.
Outcome<> run_to_completion(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log,
                            const Credentials& credentials, std::chrono::milliseconds within) {
  auto pid = spawn(args, cwd, log, credentials);
  if (!pid) return std::move(pid).failure();
  const auto deadline = Clock::now() + within;
  int status = 0;
  while (!exited(pid.value(), &status)) {
    if (Clock::now() >= deadline) {
      terminate(pid.value(), SIGKILL, std::chrono::milliseconds(0));
      return environment_error(args[0] + " did not finish within " + std::to_string(within.count()) + " ms" +
                               log_tail(log));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return environment_error(args[0] + " " + describe_status(status) + log_tail(log));
  }
  return resilience::ok();
}

bool redis_answers(const std::string& host, int port) {
  const timeval timeout{0, 250'000};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
  if (c == nullptr) return false;
  bool ok = false;
  if (c->err == 0) {
    redisSetTimeout(c, timeout);
    if (auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"))) {
      ok = reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG";
      freeReplyObject(reply);
    }
  }
  redisFree(c);
  return ok;
}

std::string pg_conninfo(const std::string& host, int port, const char* database) {
  return "host=" + host + " port=" + std::to_string(port) + " user=" + kPgUser + " dbname=" + database +
         " connect_timeout=2 gssencmode=disable sslmode=disable";
}

bool postgres_answers(const std::string& host, int port) {
  return PQping(pg_conninfo(host, port, "postgres").c_str()) == PQPING_OK;
}

Outcome<> create_database(const std::string& host, int port) {
  PGconn* conn = PQconnectdb(pg_conninfo(host, port, "postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return environment_error("connecting to the new PostgreSQL server: " + message);
  }
  PGresult* result = PQexec(conn, (std::string("CREATE DATABASE ") + kPgDatabase).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string message = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!ok) return environment_error("creating database " + std::string(kPgDatabase) + ": " + message);
  return resilience::ok();
}

}  // namespace

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
  return "stopped";
}

std::string_view to_string(ServerKind kind) noexcept {
  return kind == ServerKind::redis ? "redis" : "postgres";
}

PrivateServer::PrivateServer(ServerKind kind, ServerLaunchOptions options)
    : kind_(kind), options_(std::move(options)) {}

PrivateServer::~PrivateServer() { (void)stop(); }

fs::path PrivateServer::log_file() const { return dir_ / (kind_ == ServerKind::redis ? "redis.log" : "postgres.log"); }

Outcome<std::unique_ptr<PrivateServer>> PrivateServer::start(ServerKind kind, const ServerLaunchOptions& options) {
  std::unique_ptr<PrivateServer> server(new PrivateServer(kind, options));
  fs::path binary;
  if (kind == ServerKind::redis) {
    auto found = find_in_path("redis-server", {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
    if (!found) {
      return environment_error("redis-server not found (PATH, /usr/bin): install Debian's redis-server package "
                               "(scripts/test does)");
    }
  } else {
    auto bindir = find_postgres_bindir();
    if (!bindir) {
      return environment_error("PostgreSQL's initdb and postgres not found (pg_config --bindir, "
                               "/usr/lib/postgresql/*/bin): install Debian's postgresql package (scripts/test does)");
    }
    server->binary_dir_ = *bindir;
    if (::geteuid() == 0) {
      // PostgreSQL refuses to run as root.
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        return environment_error("running as root, and there is no postgres user to run PostgreSQL as "
                                 "(Debian's postgresql package creates it)");
      }
      server->drop_privileges_ = true;
      server->run_as_uid_ = pw->pw_uid;
      server->run_as_gid_ = pw->pw_gid;
    }
  }
  if (!options.network_namespace.empty() && ::access(namespace_file(options.network_namespace).c_str(), R_OK) != 0) {
    return environment_error("network namespace " + options.network_namespace + ": " +
                             namespace_file(options.network_namespace).string() + ": " + errno_text(errno));
  }
  auto dir = make_dir(options.parent_dir, std::string("faultline-") + std::string(to_string(kind)));
  if (!dir) return std::move(dir).failure();
  server->dir_ = dir.value();
  if (server->drop_privileges_ && ::chown(server->dir_.c_str(), server->run_as_uid_, server->run_as_gid_) != 0) {
    return environment_error("chown of " + server->dir_.string() + " to postgres: " + errno_text(errno));
  }
  if (kind == ServerKind::postgres) {
    const Credentials as{server->drop_privileges_, server->run_as_uid_, server->run_as_gid_};
    // --no-sync only spares initdb's own flush of the new cluster's files;
    // the server runs with fsync on.
    auto made = run_to_completion({(server->binary_dir_ / "initdb").string(), "-D", "data", "-U", kPgUser, "-A",
                                   "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                                  server->dir_, server->dir_ / "initdb.log", as, options.ready_within);
    if (!made) return std::move(made).failure();
    if (!options.client_network.empty()) {
      std::ofstream hba(server->dir_ / "data/pg_hba.conf", std::ios::app);
      hba << "host all all " << options.client_network << " trust\n";
      if (!hba.flush()) return environment_error("cannot append to " + (server->dir_ / "data/pg_hba.conf").string());
    }
    std::error_code ec;
    fs::create_directory(server->dir_ / "socket", ec);
    if (server->drop_privileges_ &&
        ::chown((server->dir_ / "socket").c_str(), server->run_as_uid_, server->run_as_gid_) != 0) {
      return environment_error("chown of the socket directory: " + errno_text(errno));
    }
  }
  Outcome<> launched = resilience::ok();
  for (int attempt = 0; attempt < std::max(1, options.port_attempts); ++attempt) {
    auto port = in_namespace<Outcome<int>>(
        options.network_namespace, [&] { return free_port(options.bind_address); },
        environment_error("cannot enter network namespace " + options.network_namespace));
    if (!port) return std::move(port).failure();
    server->port_ = port.value();
    launched = server->launch();
    if (launched) break;
  }
  if (!launched) return std::move(launched).failure();
  const std::string& host = options.bind_address;
  if (kind == ServerKind::postgres) {
    auto created = in_namespace<Outcome<>>(
        options.network_namespace, [&] { return create_database(host, server->port_); },
        environment_error("cannot enter network namespace " + options.network_namespace));
    if (!created) return std::move(created).failure();
    server->url_ = "postgresql://" + std::string(kPgUser) + "@" + host + ":" + std::to_string(server->port_) + "/" +
                   kPgDatabase;
  } else {
    server->url_ = "redis://" + host + ":" + std::to_string(server->port_);
  }
  return server;
}

Outcome<> PrivateServer::launch() {
  std::vector<std::string> args;
  const std::string port = std::to_string(port_);
  if (kind_ == ServerKind::redis) {
    auto binary = find_in_path("redis-server", {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
    FAULTLINE_ASSERT(binary.has_value());
    // Every acknowledged write is in the fsynced append-only file; no RDB
    // snapshots anywhere, no configuration file read.
    // Protected mode refuses every client but the loopback's when there is
    // no password: off for a server bound to another address on purpose.
    const bool loopback = options_.bind_address.rfind("127.", 0) == 0;
    args = {binary->string(), "--port", port, "--bind", options_.bind_address, "--dir", dir_.string(), "--appendonly",
            "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode",
            loopback ? "yes" : "no",
            "--logfile", "", "--databases", "16"};
  } else {
    args = {(binary_dir_ / "postgres").string(), "-D", "data", "-p", port, "-k", (dir_ / "socket").string(),
            "-c", "listen_addresses=" + options_.bind_address, "-c", "fsync=on", "-c", "synchronous_commit=on",
            "-c", "max_connections=200", "-c", "logging_collector=off"};
  }
  Credentials as{drop_privileges_, run_as_uid_, run_as_gid_};
  if (!options_.network_namespace.empty()) {
    as.network_namespace = ::open(namespace_file(options_.network_namespace).c_str(), O_RDONLY | O_CLOEXEC);
    if (as.network_namespace < 0) {
      return environment_error("network namespace " + options_.network_namespace + ": " + errno_text(errno));
    }
  }
  auto pid = spawn(args, dir_, log_file(), as);
  if (as.network_namespace >= 0) ::close(as.network_namespace);
  if (!pid) return std::move(pid).failure();
  pid_ = pid.value();
  const std::string& host = options_.bind_address;
  auto answers = [&] {
    return in_namespace<bool>(
        options_.network_namespace,
        [&] { return kind_ == ServerKind::redis ? redis_answers(host, port_) : postgres_answers(host, port_); },
        false);
  };
  const auto deadline = Clock::now() + options_.ready_within;
  for (;;) {
    int status = 0;
    if (exited(pid_, &status)) {
      pid_ = -1;
      return environment_error(std::string(to_string(kind_)) + " on " + host + ":" + port + " " +
                               describe_status(status) + " before answering" + log_tail(log_file()));
    }
    if (answers()) return resilience::ok();
    if (Clock::now() >= deadline) {
      terminate(pid_, SIGKILL, std::chrono::milliseconds(0), dir_);
      pid_ = -1;
      return environment_error(std::string(to_string(kind_)) + " on " + host + ":" + port + " did not answer within " +
                               std::to_string(options_.ready_within.count()) + " ms" + log_tail(log_file()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Outcome<> PrivateServer::crash_and_restart() {
  FAULTLINE_ASSERT(pid_ > 0 && "crash_and_restart of a stopped server");
  kill();
  return restart();
}

void PrivateServer::kill() {
  FAULTLINE_ASSERT(pid_ > 0 && "kill of a server that is not running");
  terminate(pid_, SIGKILL, std::chrono::milliseconds(0), dir_);
  pid_ = -1;
}

Outcome<> PrivateServer::restart() {
  FAULTLINE_ASSERT(pid_ <= 0 && "restart of a running server");
  FAULTLINE_ASSERT(!dir_.empty() && "restart of a stopped server");
  return launch();
}

Outcome<> PrivateServer::stop() {
  if (pid_ > 0) {
    terminate(pid_, kind_ == ServerKind::postgres ? SIGINT : SIGTERM, options_.stop_within, dir_);
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) return environment_error("removing " + dir_.string() + ": " + ec.message());
    dir_.clear();
  }
  return resilience::ok();
}

Outcome<pid_t> spawn_supervised(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) {
  return spawn(args, cwd, log, Credentials{});
}

void stop_supervised(pid_t pid, int signal, std::chrono::milliseconds within) { terminate(pid, signal, within); }

Outcome<LiveServers> start_live_servers(const ServerLaunchOptions& options) {
  LiveServers servers;
  auto redis = PrivateServer::start(ServerKind::redis, options);
  if (!redis) return std::move(redis).failure();
  servers.redis = std::move(redis).value();
  auto postgres = PrivateServer::start(ServerKind::postgres, options);
  if (!postgres) return std::move(postgres).failure();
  servers.postgres = std::move(postgres).value();
  return servers;
}

}  // namespace faultline::harness
