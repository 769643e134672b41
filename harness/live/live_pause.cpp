// SIGSTOP and SIGCONT of a role's workers in a live run (live_pause.h).
#include "harness/live/live_pause.h"

#include <signal.h>

#include <fmt/core.h>

#include <fstream>
#include <iterator>
#include <thread>

namespace faultline::harness {

char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "pid (comm) S ...": the command may hold spaces and parentheses, the
  // state follows the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

std::size_t LivePauses::stop(std::size_t index, const std::string& role, const std::vector<pid_t>& pids,
                             std::chrono::milliseconds within) {
  Stopped& s = stopped_[index];
  s.role = role;
  for (const pid_t pid : pids) {
    if (pid <= 0) continue;
    ::killpg(pid, SIGSTOP);
    s.pids.push_back(pid);
  }
  // SIGSTOP takes effect at the target's next return to user space: soon,
  // but not at once. Stopped is 'T' ('t' is a tracer's stop, not ours).
  const auto deadline = std::chrono::steady_clock::now() + within;
  std::size_t seen = 0;
  std::string states;
  for (;;) {
    seen = 0;
    states.clear();
    for (const pid_t pid : s.pids) {
      const char state = process_state(pid);
      if (state == 'T') ++seen;
      states += fmt::format("{}{} {}", states.empty() ? "" : ", ", pid, state);
    }
    if (seen == s.pids.size() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  evidence_->push_back(fmt::format("pause of {} (fault {}): SIGSTOP to {} process group(s), {} seen stopped in "
                                   "/proc (pid state: {})",
                                   role, index, s.pids.size(), seen, states.empty() ? "none" : states));
  return seen;
}

void LivePauses::resume(std::size_t index) {
  const auto it = stopped_.find(index);
  if (it == stopped_.end()) return;
  for (const pid_t pid : it->second.pids) ::killpg(pid, SIGCONT);
  evidence_->push_back(fmt::format("pause of {} (fault {}): SIGCONT to {} process group(s)", it->second.role, index,
                                   it->second.pids.size()));
  stopped_.erase(it);
}

LivePauses::~LivePauses() {
  // A window still open (the run ended inside it, or was stopped): continue
  // the workers so that the teardown's signals reach running processes.
  for (const auto& [index, s] : stopped_) {
    for (const pid_t pid : s.pids) ::killpg(pid, SIGCONT);
  }
}

}  // namespace faultline::harness
