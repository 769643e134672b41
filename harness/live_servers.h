// Private Redis and PostgreSQL servers, started and supervised by this
// process: what the live tests run against (tests/support/live_servers.h)
// and what `faultline run --mode live --start-servers` starts. Each server
// gets its own temporary directory, 127.0.0.1 and a free port, durable
// settings (Redis: append-only file fsynced on every write; PostgreSQL:
// fsync on) and nothing shared with a system instance already running on
// the machine. A test of several hosts can bind a server to another address
// inside a network namespace of its own (ServerLaunchOptions).
//
//   auto servers = harness::start_live_servers();   // Outcome<LiveServers>
//   if (!servers) die(servers.failure().message);   // says which package is missing
//   connect(servers->redis->url());                 // redis://127.0.0.1:PORT
//   connect(servers->postgres->url());              // postgresql://faultline@127.0.0.1:PORT/faultline
//   // destruction stops both (SIGTERM, SIGKILL after a bound) and removes their directories
//
// Fault model of the launcher itself: a server that does not answer within
// `ready_within` (a PING, a PQping) is killed and reported; a port taken
// between choosing it and the server binding it is retried on another port
// (`port_attempts`); a server that will not stop within `stop_within` is
// killed with its whole process group (PostgreSQL's backends included).
// PostgreSQL refuses to run as root: as root, the cluster belongs to the
// `postgres` system user (Debian's package creates it) and the server runs
// as that user. The servers receive SIGKILL if the thread that started them
// dies, so a crashed supervisor leaves no server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "resilience/outcome.h"

namespace faultline::harness {

struct ServerLaunchOptions {
  // Where the servers' directories go; empty: the system's temporary directory.
  std::filesystem::path parent_dir;
  // Hang guards, never expectations: a healthy server is ready in well under a second.
  std::chrono::milliseconds ready_within{60'000};
  std::chrono::milliseconds stop_within{15'000};
  int port_attempts = 5;
  // Where the server listens (an IPv4 address), and the host its url() names.
  std::string bind_address = "127.0.0.1";
  // Empty: this process's network. Else the name of a network namespace
  // made with `ip netns add` (/run/netns/NAME): the server runs in it, and
  // this launcher's own checks (a free port, PING, PQping) are made from
  // inside it. Entering one needs CAP_SYS_ADMIN.
  std::string network_namespace;
  // PostgreSQL: clients of this network (CIDR, e.g. "10.213.0.0/24") are
  // trusted too, beside the loopback; empty: the loopback only. Redis
  // bound to an address other than the loopback turns protected mode off
  // (it would refuse every other client without a password): choose an
  // address only the intended clients reach.
  std::string client_network;
};

enum class ServerKind { redis, postgres };
std::string_view to_string(ServerKind kind) noexcept;

// One running server this process started.
class PrivateServer {
 public:
  static resilience::Outcome<std::unique_ptr<PrivateServer>> start(ServerKind kind,
                                                                   const ServerLaunchOptions& options = {});
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;
  ~PrivateServer();

  ServerKind kind() const noexcept { return kind_; }
  // redis://ADDRESS:PORT or postgresql://faultline@ADDRESS:PORT/faultline
  // (ADDRESS: the bind address, 127.0.0.1 by default)
  const std::string& url() const noexcept { return url_; }
  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  // The server's own directory (data, log, socket), removed by stop().
  const std::filesystem::path& dir() const noexcept { return dir_; }
  // The server's log file, for error messages.
  std::filesystem::path log_file() const;

  // Kills the server with SIGKILL (its process group: PostgreSQL's backends
  // too) and starts it again on the same directory and port: what a crash
  // of the server machine looks like to its clients, and how a test shows
  // that an acknowledged write survives one.
  resilience::Outcome<> crash_and_restart();
  // The two halves of crash_and_restart, for a crash that lasts a window
  // (a live `crash` fault on redis or postgres): kill() SIGKILLs the process
  // group and reaps it, the directory stays; restart() starts the server
  // again on the same directory and port and returns once it answers.
  // restart() must run on the thread that started the server (its
  // parent-death signal is tied to that thread).
  void kill();
  bool running() const noexcept { return pid_ > 0; }
  resilience::Outcome<> restart();
  // Stops the server and removes its directory; idempotent. SIGTERM to
  // Redis, SIGINT (fast shutdown: sessions ended, a clean checkpoint) to
  // PostgreSQL, whose SIGTERM would wait for every client to leave; then
  // SIGKILL to the process group after `stop_within`.
  resilience::Outcome<> stop();

 private:
  PrivateServer(ServerKind kind, ServerLaunchOptions options);
  resilience::Outcome<> launch();

  ServerKind kind_;
  ServerLaunchOptions options_;
  std::filesystem::path dir_;
  std::filesystem::path binary_dir_;  // PostgreSQL's bin directory
  std::string url_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t run_as_uid_ = 0;  // PostgreSQL when started by root: the postgres user
  gid_t run_as_gid_ = 0;
  bool drop_privileges_ = false;
};

struct LiveServers {
  std::unique_ptr<PrivateServer> redis;
  std::unique_ptr<PrivateServer> postgres;
};

// A supervised child, as the servers are run: `args[0]` (a path) exec'd in
// a process group of its own, stdin from /dev/null, stdout and stderr
// appended to `log`, SIGKILL as its parent-death signal (so a supervisor
// that dies, even by SIGKILL, leaves no child behind). What `faultline run
// --mode live` starts its workers with.
resilience::Outcome<pid_t> spawn_supervised(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                                            const std::filesystem::path& log);
// Sends `signal` to the child, waits up to `within` for it to exit, then
// SIGKILLs its process group; reaps it. A no-op for pid <= 0.
void stop_supervised(pid_t pid, int signal, std::chrono::milliseconds within);
// A wait status in words: "exited with 3", "killed by signal 9".
std::string describe_status(int status);

// Both servers; if the second fails, the first is stopped again.
resilience::Outcome<LiveServers> start_live_servers(const ServerLaunchOptions& options = {});

}  // namespace faultline::harness
