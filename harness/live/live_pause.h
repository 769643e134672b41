// Pauses of a role in a live run (the `pause` fault, issue 18's "hang/pause
// of a process"): at the window's start the harness sends SIGSTOP to the
// process group of every worker of the role (each replica; a command of the
// team's own with whatever children it started: every worker runs in a
// process group of its own), then reads /proc/<pid>/stat until each group
// leader's state is 'T' (bounded), and at the window's end sends SIGCONT.
// Nothing is lost: the stopped workers keep their pending entries and go
// on where they stopped; the orchestrator's timeouts and retries meanwhile
// are the system's reaction. The touches are read from Redis by the caller,
// as for a crash (entries of the role's streams pending or not delivered
// when the window opened, plus those added in it).
//
// A stopped process does not act on SIGTERM until it is continued, so the
// destructor continues every group still stopped (the scenario ended, or
// was stopped by SIGINT, inside a window): the teardown's SIGTERM or
// SIGKILL then finds running processes, and a faultline that dies leaves
// its workers to their parent-death SIGKILL, which a stopped process obeys.
// Each edge adds a line to `evidence` (the report's evidence for
// conservation): the pids stopped, how many were seen in state 'T'.
//
//   LivePauses pauses(f.pause_lines);
//   pauses.stop(index, "validation", {pid1, pid2});   // window start
//   pauses.resume(index);                            // window end
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace faultline::harness {

// The state letter of /proc/<pid>/stat ('R', 'S', 'T' stopped, ...); '?'
// when it cannot be read.
char process_state(pid_t pid);

class LivePauses {
 public:
  explicit LivePauses(std::vector<std::string>& evidence) : evidence_(&evidence) {}
  ~LivePauses();
  LivePauses(const LivePauses&) = delete;
  LivePauses& operator=(const LivePauses&) = delete;

  // SIGSTOPs the process groups led by `pids` (those > 0) for fault `index`
  // and waits up to `within` (real time) to see each leader stopped.
  // Returns how many were seen stopped.
  std::size_t stop(std::size_t index, const std::string& role, const std::vector<pid_t>& pids,
                   std::chrono::milliseconds within = std::chrono::milliseconds(2000));
  // SIGCONTs what fault `index` stopped; a no-op if nothing is stopped for it.
  void resume(std::size_t index);

 private:
  struct Stopped {
    std::string role;
    std::vector<pid_t> pids;
  };
  std::vector<std::string>* evidence_;
  std::map<std::size_t, Stopped> stopped_;
};

}  // namespace faultline::harness
