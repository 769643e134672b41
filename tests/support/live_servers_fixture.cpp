// The CTest fixture behind the tests labelled `live` (tests/CMakeLists.txt):
// `faultline_live_servers start FILE` starts a private Redis and a private
// PostgreSQL once per ctest run (harness/live_servers.h) under a small
// supervisor process that outlives this command, and writes their URLs to
// FILE, which tests/support/live_servers.h reads; `faultline_live_servers
// stop FILE` stops them at the end of the run and removes FILE.
//
// Fault model: the supervisor stops the servers and removes FILE on SIGTERM
// (what `stop` sends), on SIGINT or SIGHUP, and at the latest after
// --lifetime-s (a ctest run that was killed before its cleanup leaves
// nothing running for long); if the supervisor itself is killed, the servers
// get SIGKILL from the kernel (their parent-death signal). A FILE left by a
// run that was interrupted is stopped first. The supervisor is checked by
// its pid and start time, so a reused pid is never signalled.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "harness/live_servers.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since
// boot; empty when there is no such process. A zombie counts as gone.
std::string start_time_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {};
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  std::string state;
  fields >> state;
  if (state == "Z" || state == "X") return {};
  for (int i = 4; i <= 22; ++i) fields >> field;
  return field;
}

std::map<std::string, std::string> read_fields(const fs::path& file) {
  std::map<std::string, std::string> fields;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

int stop(const fs::path& file) {
  if (!fs::exists(file)) {
    std::cout << "no live servers recorded in " << file.string() << ": nothing to stop\n";
    return 0;
  }
  auto fields = read_fields(file);
  const pid_t pid = static_cast<pid_t>(std::atol(fields["supervisor_pid"].c_str()));
  const std::string started = fields["supervisor_start"];
  auto ours = [&] { return pid > 0 && !started.empty() && start_time_of(pid) == started; };
  if (ours()) {
    ::kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (ours() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ours()) {
      std::cerr << "the supervisor (pid " << pid << ") did not stop within 60 s: killing it\n";
      ::kill(pid, SIGKILL);  // its servers follow (parent-death signal)
    }
  }
  // What a killed supervisor could not remove.
  std::error_code ec;
  for (const char* key : {"redis_dir", "postgres_dir"}) {
    if (!fields[key].empty() && fs::exists(fields[key])) fs::remove_all(fields[key], ec);
  }
  fs::remove(file, ec);
  std::cout << "stopped the live servers of " << file.string() << "\n";
  return 0;
}

// The supervisor: starts the servers, reports to the parent through
// `report`, then waits for a signal or the end of its lifetime.
[[noreturn]] void supervise(const fs::path& file, int report, std::chrono::seconds lifetime) {
  ::setsid();
  // Nothing of ctest's: its pipes must see end-of-file when `start` exits.
  const fs::path log = fs::path(file).concat(".log");
  const int null_fd = ::open("/dev/null", O_RDONLY);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  if (log_fd >= 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
  }
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &wanted, nullptr);

  auto servers = faultline::harness::start_live_servers();
  if (!servers) {
    const std::string message = servers.failure().message;
    (void)!::write(report, message.data(), message.size());
    std::_Exit(1);
  }
  {
    const fs::path temporary = fs::path(file).concat(".tmp");
    std::ofstream out(temporary, std::ios::trunc);
    out << "redis=" << servers->redis->url() << "\n"
        << "postgres=" << servers->postgres->url() << "\n"
        << "supervisor_pid=" << ::getpid() << "\n"
        << "supervisor_start=" << start_time_of(::getpid()) << "\n"
        << "redis_dir=" << servers->redis->dir().string() << "\n"
        << "postgres_dir=" << servers->postgres->dir().string() << "\n";
    out.close();
    fs::rename(temporary, file);
  }
  std::cout << "redis " << servers->redis->url() << " pid " << servers->redis->pid() << "\npostgres "
            << servers->postgres->url() << " pid " << servers->postgres->pid() << std::endl;
  (void)!::write(report, "ok", 2);
  ::close(report);

  const timespec limit{static_cast<time_t>(lifetime.count()), 0};
  siginfo_t info;
  const int got = ::sigtimedwait(&wanted, &info, &limit);
  std::cout << (got > 0 ? "stopping on signal " + std::to_string(got) : std::string("stopping: lifetime over"))
            << std::endl;
  servers->postgres.reset();
  servers->redis.reset();
  std::error_code ec;
  fs::remove(file, ec);
  std::_Exit(0);
}

int start(const fs::path& file, std::chrono::seconds lifetime) {
  if (fs::exists(file)) (void)stop(file);  // left by an interrupted run
  int report[2];
  if (::pipe(report) != 0) {
    std::perror("pipe");
    return 1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) {
    ::close(report[0]);
    supervise(file, report[1], lifetime);
  }
  ::close(report[1]);
  std::string answer;
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(report[0], buffer, sizeof buffer)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    answer.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(report[0]);
  if (answer != "ok") {
    std::cerr << "cannot start the live servers: " << (answer.empty() ? "the supervisor died" : answer) << "\n";
    return 1;
  }
  auto fields = read_fields(file);
  std::cout << "live servers for this run (" << file.string() << "):\n  " << fields["redis"] << "\n  "
            << fields["postgres"] << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::cerr << "usage: faultline_live_servers start|stop FILE [--lifetime-s N]\n";
    return 2;
  }
  std::chrono::seconds lifetime(3 * 3600);
  if (argc == 5 && std::strcmp(argv[3], "--lifetime-s") == 0) lifetime = std::chrono::seconds(std::atol(argv[4]));
  const fs::path file = fs::absolute(argv[2]);
  return std::strcmp(argv[1], "start") == 0 ? start(file, lifetime) : stop(file);
}
