// Runs the built `faultline` binary as a child process, as a CI job would:
// arguments as a vector (no shell), stdout and stderr captured to files,
// stdin closed, and an alarm so that a hang ends the child (SIGALRM) and
// fails the test instead of stalling the suite.
//
//   auto r = cli_testing::faultline({"run", "x.json", "--no-write"});
//   EXPECT_EQ(r.exit_code, 2) << r.err;
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace faultline::cli_testing {

struct Result {
  int exit_code = -1;  // -1 when a signal ended the child
  int signal = 0;      // the signal that ended it, 0 when it exited
  std::string out;
  std::string err;
};

struct Options {
  std::filesystem::path cwd;                  // empty: the test's own
  std::map<std::string, std::string> env;     // added to (or replacing) the environment
  std::chrono::seconds alarm{60};             // the child is killed by SIGALRM past this
  bool as_nobody = false;                     // when root: run as uid/gid 65534, so permissions bite
  std::filesystem::path program;              // empty: the faultline binary; else this program
};

// The path of the faultline binary under test.
std::filesystem::path binary();

// Runs faultline with `args` and waits for it.
Result faultline(const std::vector<std::string>& args, const Options& options = {});

// A child started and not yet waited for: for tests that signal it.
class Child {
 public:
  Child(const std::vector<std::string>& args, const Options& options = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // What the child has written to stdout so far.
  std::string out_so_far() const;
  // Waits until its stdout contains `text`, polling up to `limit`; false if
  // it did not (or the child ended first).
  bool wait_for_output(const std::string& text, std::chrono::seconds limit);
  Result wait();

 private:
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  bool waited_ = false;
  int status_ = 0;
};

// A fresh empty directory under the temp dir; removed by the caller.
std::filesystem::path fresh_dir(const std::string& stem);
void write_file(const std::filesystem::path& file, const std::string& text);
std::string read_file(const std::filesystem::path& file);
// The repository root (FAULTLINE_SOURCE_DIR, set by CTest; else the cwd).
std::filesystem::path source_dir();

// The directory of a test that runs faultline live: `root` (made reachable
// by PostgreSQL's own user, which runs the server under root), `tmp` (the
// children's TMPDIR, where the servers' data directories go), `out` (run
// directories), `scenario` (a file the test may write). Removed with all
// it holds when the test ends.
struct LiveDir {
  explicit LiveDir(const std::string& stem);  // a fresh_dir(stem)
  ~LiveDir();
  LiveDir(const LiveDir&) = delete;
  LiveDir& operator=(const LiveDir&) = delete;

  // TMPDIR = tmp, and the alarm.
  Options options(std::chrono::seconds alarm) const;

  std::filesystem::path root;
  std::filesystem::path tmp = root / "tmp";
  std::filesystem::path out = root / "runs";
  std::filesystem::path scenario = root / "scenario.json";
};

}  // namespace faultline::cli_testing
