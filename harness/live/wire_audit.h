// The wire audit of a live run (harness/live/live_run.h): evidence from
// Redis itself of what every agent did with its requests, reference or
// foreign, never the agent's word. While a scenario runs, the harness keeps
// a MONITOR connection on its own (direct) Redis URL, which shows every
// command the server executes in its order with the server's timestamp,
// those run inside scripts too (`[0 lua]`), and a tailer that reads the
// role request streams (`<prefix>ocr` ... `<prefix>archive`) with plain
// XREAD BLOCK, mapping each entry id to its request's fields before the
// stream is trimmed (an entry is trimmed only once acked; one the tailer
// never saw is counted and skipped, never flagged).
//
//   auto audit = WireAudit::start(redis_url, "fl_x_0:");   // throws std::runtime_error
//   ...                                                     // the scenario runs
//   WireEvidence e = audit->stop(time_scale);
//   WireAuditResult r = audit_wire(e);
//   r.early_acks;   // conservation: an XACK before any reply to its request
//   r.conflicts;    // exactly_once: one request answered with two statuses
//
// The checks. An XACK of a role stream's entry before any XADD to
// `<prefix>replies` carries its request_id loses the request to a SIGKILL
// between the two: flagged, unless the entry was copied to `<stream>:dead`
// first (an XADD there with its `entry_id`), or its deadline had passed at
// the ack (wire nanoseconds since `<prefix>epoch_us`, protocol/README.md
// "Deadlines"), or a script publishing its reply had run and Redis refused
// it (the replies stream at its bound), or MONITOR missed commands before it
// (reconnected), or a reordering fault injected in the worker's bus held its
// reply back (the reply came later, within the fault's span). Two replies
// to one request_id with different statuses are flagged; a repeated
// identical reply is allowed (a redelivery may be answered again).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::harness {

// One command Redis ran, as MONITOR showed it.
struct MonitorCommand {
  std::int64_t t_us = 0;           // the server's clock at the command (microseconds since the Unix epoch)
  bool in_script = false;          // run by a script (`[0 lua]`)
  bool gap = false;                // not a command: MONITOR reconnected here; what ran between was not seen
  std::vector<std::string> args;   // the command's name first; a script's text (EVAL) left empty
};

// A MONITOR line as a command; nullopt for a line that is not one (`OK`).
std::optional<MonitorCommand> parse_monitor_line(std::string_view line);
// The command as a line for the run's log (`wire-audit.log`), long values cut.
std::string to_line(const MonitorCommand& c);

// A request entry's fields, as the tailer read them.
struct WireRequest {
  std::string request_id;
  std::string invoice_id;
  std::string kind;
  std::optional<std::int64_t> deadline_ns;  // none: nothing bounds the wait
};

struct WireEvidence {
  std::string prefix;
  std::vector<MonitorCommand> commands;  // in server order
  std::map<std::pair<std::string, std::string>, WireRequest> requests;  // (stream, entry id) -> its fields
  std::optional<std::int64_t> epoch_us;  // `<prefix>epoch_us`
  double time_scale = 1.0;
  // Spans of Redis's clock (microseconds) in which a fault injected in the
  // workers' own bus (reordering) holds publishes back in the worker after
  // telling it they went out: an ack there whose reply came later is the
  // injector's doing, counted apart and not flagged (one never answered is).
  std::vector<std::pair<std::int64_t, std::int64_t>> injected_holds_us;
  std::string error;  // what went wrong collecting (the audit then judges what it has)
};

struct WireAuditResult {
  std::size_t requests = 0;        // request entries the tailer mapped
  std::size_t acks = 0;            // XACKs of role-stream entries (per entry id)
  std::size_t replies = 0;         // XADDs to the replies stream
  std::size_t unmapped_acks = 0;   // acks of entries the tailer never saw: not judged
  std::size_t buried = 0;          // acks of entries copied to a dead stream first
  std::size_t expired = 0;         // acks past the request's deadline, no reply
  std::size_t refused_replies = 0; // acks after a reply script Redis refused
  std::size_t after_gap = 0;       // acks with no reply seen after a MONITOR gap: not judged
  std::size_t held_by_fault = 0;   // acks before a reply an injected reordering held back: not judged
  std::size_t gaps = 0;
  std::vector<std::string> early_acks;  // conservation: "request R (invoice I) on S was acked before ..."
  std::size_t lost = 0;                 // of those, never answered at all
  std::vector<std::string> conflicts;   // exactly_once: "request R of invoice I answered ok, then rejected"
  std::string error;
  // One evidence line: what the audit saw.
  std::string summary() const;
};

WireAuditResult audit_wire(const WireEvidence& evidence);

// The collector: MONITOR and the stream tailer, each on a thread of its own
// with a blocking connection.
class WireAudit {
 public:
  // Connects both (throws std::runtime_error when Redis cannot be reached or refuses MONITOR).
  static std::unique_ptr<WireAudit> start(const std::string& redis_url, const std::string& prefix);
  ~WireAudit();
  WireAudit(const WireAudit&) = delete;
  WireAudit& operator=(const WireAudit&) = delete;
  // Stops both after MONITOR has shown every command run so far, and reads the epoch.
  WireEvidence stop(double time_scale);

 private:
  struct Impl;
  explicit WireAudit(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::harness
