#include "tests/cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace faultline::cli_testing {

namespace fs = std::filesystem;

fs::path binary() { return FAULTLINE_BINARY; }

fs::path source_dir() {
  const char* dir = std::getenv("FAULTLINE_SOURCE_DIR");
  return dir ? fs::path(dir) : fs::current_path();
}

fs::path fresh_dir(const std::string& stem) {
  std::string pattern = (fs::temp_directory_path() / (stem + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

LiveDir::LiveDir(const std::string& stem) : root(fresh_dir(stem)) {
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::create_directories(tmp);
}

LiveDir::~LiveDir() {
  std::error_code ec;
  fs::remove_all(root, ec);
}

Options LiveDir::options(std::chrono::seconds alarm) const {
  Options o;
  o.env["TMPDIR"] = tmp.string();
  o.alarm = alarm;
  return o;
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Child::Child(const std::vector<std::string>& args, const Options& options) : dir_(fresh_dir("faultline-cli-io")) {
  const std::string out = (dir_ / "out").string();
  const std::string err = (dir_ / "err").string();
  const std::string exe = options.program.empty() ? binary().string() : options.program.string();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq != std::string::npos && options.env.contains(entry.substr(0, eq))) continue;
    env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string cwd = options.cwd.string();
  const bool as_nobody = options.as_nobody;
  const unsigned alarm_s = static_cast<unsigned>(options.alarm.count());

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(127);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
    if (as_nobody && ::getuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(127);
      // setuid clears the dumpable flag; LeakSanitizer (the sanitize
      // preset) needs it to stop the process's threads at exit.
      ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    // Signals the test process may block or ignore go back to their defaults.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::alarm(alarm_s);  // survives exec: a hang ends with SIGALRM
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
}

Child::~Child() {
  if (!waited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string Child::out_so_far() const { return read_file(dir_ / "out"); }

bool Child::wait_for_output(const std::string& text, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (out_so_far().find(text) != std::string::npos) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      // Ended already; keep its status for wait().
      waited_ = true;
      status_ = status;
      return out_so_far().find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Result Child::wait() {
  int status = status_;
  if (!waited_) {
    ::waitpid(pid_, &status, 0);
    waited_ = true;
  }
  Result r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = read_file(dir_ / "out");
  r.err = read_file(dir_ / "err");
  return r;
}

Result faultline(const std::vector<std::string>& args, const Options& options) {
  Child child(args, options);
  return child.wait();
}

}  // namespace faultline::cli_testing
