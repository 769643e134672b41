#include "harness/live/agent_check.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <array>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/core.h>

#include "harness/live/agent_contract.h"
#include "harness/live/sync_redis.h"
#include "harness/live_servers.h"
#include "reference_system/invoice.h"
#include "reference_system/ports.h"
#include "reference_system/wire.h"

namespace faultline::harness {

namespace {

namespace fs = std::filesystem;
namespace rs = reference_system;
using namespace std::chrono_literals;
using resilience::ErrorClass;
using resilience::Failure;
using Clock = std::chrono::steady_clock;
using sync_redis::monitor_arguments;
using sync_redis::Redis;
using sync_redis::RedisError;
using sync_redis::Value;

constexpr std::array<std::string_view, 5> kRoles = {"ocr", "validation", "matching", "accounting", "archive"};
constexpr std::array<std::string_view, 5> kStatusNames = {"ok", "degraded", "rejected", "needs_review", "failed"};
constexpr std::string_view kGhost = "check-agent-ghost";

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

// ---- MONITOR: every command the server runs, in its order.

class Monitor {
 public:
  explicit Monitor(const std::string& url) : redis_(url) {
    const Value ok = redis_.command({"MONITOR"});
    if (ok.text != "OK") throw RedisError("redis: MONITOR: " + ok.text);
    redis_.no_timeout();
    thread_ = std::thread([this] {
      while (auto line = redis_.next()) {
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(line->text));
      }
    });
  }
  ~Monitor() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      redis_.shutdown();
      thread_.join();
    }
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  Redis redis_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ---- The agent process.

class AgentProcess {
 public:
  AgentProcess(std::vector<std::string> argv, fs::path cwd, fs::path log, std::string consumer)
      : argv_(std::move(argv)), cwd_(std::move(cwd)), log_(std::move(log)), consumer_(std::move(consumer)) {}
  ~AgentProcess() { stop(); }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Starts it and waits for its ready line: empty, or why it is not ready.
  std::string start(std::chrono::milliseconds within) {
    std::error_code ec;
    offset_ = fs::exists(log_, ec) ? fs::file_size(log_, ec) : 0;
    auto pid = spawn_supervised(argv_, cwd_, log_);
    if (!pid) return "cannot start the agent: " + pid.failure().message;
    pid_ = pid.value();
    const std::string expected = fmt::format("\"{} ready protocol {}\"", consumer_, rs::kWireVersion);
    const auto deadline = Clock::now() + within;
    for (;;) {
      const ReadyLine line = parse_ready(output(), consumer_);
      if (line.ready) {
        if (!line.protocol) {
          return fmt::format("the agent said \"{} ready\" without its protocol version; expected {}", consumer_,
                             expected);
        }
        if (*line.protocol != rs::kWireVersion) {
          return fmt::format("the agent speaks protocol version {}; this harness speaks version {}", *line.protocol,
                             rs::kWireVersion);
        }
        return {};
      }
      if (!running()) return fmt::format("the agent {} before saying {}{}", exit_text_, expected, last_output());
      if (Clock::now() >= deadline) {
        return fmt::format("the agent did not say {} within {}{}", expected, seconds_text(within), last_output());
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // what it left in its group
      pid_ = -1;
      exit_text_ = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                     : fmt::format("was ended by signal {}", WTERMSIG(status));
      return false;
    }
    return true;
  }
  const std::string& exit_text() const { return exit_text_; }
  void signal(int sig) {
    if (pid_ > 0) ::kill(-pid_, sig);
  }
  // SIGSTOP to its group, then waits (up to 2 s) until the process is seen
  // stopped, so that nothing it runs can take an entry added next.
  void pause() {
    signal(SIGSTOP);
    const auto deadline = Clock::now() + 2s;
    while (pid_ > 0 && Clock::now() < deadline) {
      std::ifstream stat(fmt::format("/proc/{}/stat", pid_));
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      const auto paren = text.rfind(')');  // "pid (comm) S ...": comm may hold spaces
      if (paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'T') return;
      std::this_thread::sleep_for(1ms);
    }
  }
  void kill_now() {
    if (pid_ <= 0) return;
    stop_supervised(pid_, SIGKILL, 0ms);
    ::kill(-pid_, SIGKILL);  // what outlived the leader in its group (a shell's children)
    pid_ = -1;
  }
  void stop() {
    if (pid_ <= 0) return;
    signal(SIGCONT);
    stop_supervised(pid_, SIGTERM, 5000ms);
    ::kill(-pid_, SIGKILL);  // what outlived the leader in its group (a shell's children)
    pid_ = -1;
  }

 private:
  std::string output() const {
    std::ifstream in(log_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset_));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string last_output() const {
    std::string out = output();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (out.empty()) return "; it wrote nothing";
    const auto nl = out.rfind('\n');
    std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
    if (last.size() > 200) last = last.substr(0, 200) + "...";
    return "; its last line: " + last;
  }

  std::vector<std::string> argv_;
  fs::path cwd_;
  fs::path log_;
  std::string consumer_;
  std::uintmax_t offset_ = 0;
  pid_t pid_ = -1;
  std::string exit_text_;
};

// ---- Requests.

rs::Topic topic_of(const std::string& role) {
  return *rs::topic_from_wire_name(role);
}

// A well-formed invoice and, after OCR, its extraction; `valid` false: a
// negative total (validation rejects it: kNonPositive).
rs::Message make_request(const std::string& role, std::uint64_t invoice_id, std::uint64_t request_id,
                         std::int64_t deadline_wire_ns, bool valid) {
  const std::int64_t total = valid ? 258050 : -258050;
  auto invoice = std::make_shared<rs::Invoice>();
  invoice->id = invoice_id;
  invoice->vendor = "V0017 Northwind Freight";
  invoice->po_reference = fmt::format("PO-{:06}", invoice_id);
  invoice->currency = "EUR";
  invoice->lines = {{"Freight", 2, 125000}, {"Handling", 1, 8050}};
  invoice->total_cents = total;
  invoice->scan_quality = 0.93;
  invoice->document = fmt::format(
      "INVOICE/1\nid: {}\nvendor: V0017 Northwind Freight\npo: {}\ncurrency: EUR\nline: Freight; 2; 1250.00\n"
      "line: Handling; 1; 80.50\ntotal: {}{}.{:02}\n",
      invoice_id, invoice->po_reference, total < 0 ? "-" : "", std::abs(total) / 100, std::abs(total) % 100);
  auto work = std::make_shared<rs::WorkItem>();
  work->invoice = invoice;
  const rs::Topic topic = topic_of(role);
  if (topic != rs::Topic::ocr) {
    auto extraction = std::make_shared<rs::Extraction>();
    extraction->text = invoice->document;
    extraction->fields.id = invoice_id;
    extraction->fields.vendor = invoice->vendor;
    extraction->fields.po_reference = invoice->po_reference;
    extraction->fields.currency = invoice->currency;
    extraction->fields.lines = invoice->lines;
    extraction->fields.total_cents = total;
    work->extraction = extraction;
  }
  rs::Message m;
  m.topic = topic;
  m.invoice_id = invoice_id;
  m.request_id = request_id;
  m.step = static_cast<std::uint32_t>(topic);
  m.attempt = 1;
  m.deadline = runtime::Instant(runtime::Duration(deadline_wire_ns));
  m.work = work;
  return m;
}

struct ReplySeen {
  std::string entry_id;
  std::string request_id;
  std::string decode_error;  // empty: it decodes
  std::string status;
  std::uint32_t problems = 0;
};

std::pair<std::uint64_t, std::uint64_t> id_parts(const std::string& id) {
  const auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), dash == std::string::npos ? 0 : std::stoull(id.substr(dash + 1))};
}

// ---- The battery.

class Battery {
 public:
  Battery(const AgentCheckOptions& options, const AgentSettings& settings, Redis& redis, AgentProcess& agent,
          std::int64_t epoch_us)
      : o_(options), s_(settings), redis_(redis), agent_(agent), epoch_us_(epoch_us),
        stream_(settings.prefix + settings.role), replies_(settings.prefix + "replies") {}

  void run(AgentCheckReport& report, Monitor& monitor) {
    using Step = void (Battery::*)(AgentCheck&);
    const std::array<std::pair<const char*, Step>, 5> steps = {{{"happy_path", &Battery::happy_path},
                                                                {"redelivery", &Battery::redelivery},
                                                                {"crash_mid_message", &Battery::crash_mid_message},
                                                                {"past_deadline", &Battery::past_deadline},
                                                                {"malformed_request", &Battery::malformed_request}}};
    for (const auto& [name, step] : steps) {
      AgentCheck check{name, true, ""};
      if (!agent_.running()) {
        const std::string why = agent_.start(o_.ready_within);
        if (!why.empty()) {
          check.passed = false;
          check.detail = "the agent is not running and did not restart: " + why;
          report.checks.push_back(check);
          continue;
        }
      }
      try {
        (this->*step)(check);
      } catch (const std::exception& e) {
        check.passed = false;
        check.detail = std::string("harness error: ") + e.what();
      }
      agent_.signal(SIGCONT);
      if (!agent_.running() && check.passed) {
        check.passed = false;
        check.detail = "the agent " + agent_.exit_text() + " during the check";
      }
      report.checks.push_back(check);
    }
    judge_ack_order(report, monitor.lines());
  }

 private:
  // -- Redis helpers

  std::int64_t wire_now() {
    const Value t = redis_.command({"TIME"});
    const std::int64_t now_us = std::stoll(t.elements.at(0).text) * 1'000'000 + std::stoll(t.elements.at(1).text);
    return (now_us - epoch_us_) * 1000;
  }

  std::string add(const rs::WireFields& fields, std::uint64_t request_id, bool exempt) {
    std::vector<std::string> args{"XADD", stream_, "*"};
    for (const auto& [k, v] : fields) {
      args.push_back(k);
      args.push_back(v);
    }
    const std::string id = redis_.command(args).text;
    entries_[id] = {std::to_string(request_id), exempt};
    return id;
  }
  std::string add(const rs::Message& m, bool exempt = false) { return add(encode(m), m.request_id, exempt); }

  // Adds the entry and reads it as `consumer` of the group, in one script,
  // so no blocked read of the agent takes it in between.
  std::string add_and_read(const rs::Message& m, const std::string& consumer) {
    static constexpr std::string_view kScript = R"(
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
local got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', '1', 'STREAMS', KEYS[1], '>')
if not got or not got[1] or got[1][2][1][1] ~= id then return redis.error_reply('another entry was undelivered') end
return id)";
    std::vector<std::string> args{"EVAL", std::string(kScript), "1", stream_, s_.role, consumer};
    for (const auto& [k, v] : encode(m)) {
      args.push_back(k);
      args.push_back(v);
    }
    const std::string id = redis_.command(args).text;
    entries_[id] = {std::to_string(m.request_id), false};
    return id;
  }

  rs::WireFields encode(const rs::Message& m) { return rs::encode(m, rs::WireClock{}); }

  void collect() {
    const Value got = redis_.command({"XREAD", "COUNT", "1000", "STREAMS", replies_, last_reply_});
    if (got.type != REDIS_REPLY_ARRAY) return;
    for (const auto& stream : got.elements) {
      for (const auto& entry : stream.elements.at(1).elements) {
        last_reply_ = entry.elements.at(0).text;
        rs::WireFields fields;
        const auto& flat = entry.elements.at(1).elements;
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields.emplace_back(flat[i].text, flat[i + 1].text);
        ReplySeen seen;
        seen.entry_id = last_reply_;
        for (const auto& [k, v] : fields) {
          if (k == "request_id") seen.request_id = v;
        }
        auto decoded = rs::decode(fields, rs::WireClock{});
        if (!decoded) {
          seen.decode_error = decoded.failure().message;
        } else if (decoded.value().reply == nullptr || decoded.value().topic != rs::Topic::replies) {
          seen.decode_error = "a request on the reply stream";
        } else {
          seen.status = std::string(kStatusNames.at(static_cast<std::size_t>(decoded.value().reply->status)));
          seen.problems = decoded.value().reply->problems;
        }
        replies_seen_.push_back(std::move(seen));
      }
    }
  }
  std::vector<ReplySeen> replies_to(std::uint64_t request_id) {
    collect();
    std::vector<ReplySeen> out;
    for (const auto& r : replies_seen_) {
      if (r.request_id == std::to_string(request_id)) out.push_back(r);
    }
    return out;
  }
  std::optional<ReplySeen> wait_reply(std::uint64_t request_id, std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
      auto got = replies_to(request_id);
      if (!got.empty()) return got.front();
      if (Clock::now() >= deadline || !agent_.running()) return std::nullopt;
      std::this_thread::sleep_for(50ms);
    }
  }

  std::set<std::string> pending() {
    const Value got = redis_.command({"XPENDING", stream_, s_.role, "-", "+", "1000"});
    std::set<std::string> out;
    for (const auto& e : got.elements) out.insert(e.elements.at(0).text);
    return out;
  }
  bool delivered(const std::string& entry_id) {
    const Value groups = redis_.command({"XINFO", "GROUPS", stream_});
    for (const auto& g : groups.elements) {
      std::map<std::string, std::string> fields;
      for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) fields[g.elements[i].text] = g.elements[i + 1].text;
      if (fields["name"] == s_.role) return id_parts(fields["last-delivered-id"]) >= id_parts(entry_id);
    }
    return false;
  }
  // Delivered to the group and acked.
  bool acked(const std::string& entry_id) { return delivered(entry_id) && pending().count(entry_id) == 0; }
  bool wait_acked(const std::string& entry_id, std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
      if (acked(entry_id)) return true;
      if (Clock::now() >= deadline || !agent_.running()) return false;
      std::this_thread::sleep_for(50ms);
    }
  }
  bool in_dead(const std::string& entry_id) {
    const Value got = redis_.command({"XRANGE", stream_ + ":dead", "-", "+"});
    for (const auto& entry : got.elements) {
      const auto& flat = entry.elements.at(1).elements;
      for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        if (flat[i].text == "entry_id" && flat[i + 1].text == entry_id) return true;
      }
    }
    return false;
  }

  // -- Expectations

  bool validation() const { return s_.role == "validation"; }
  std::string expected(bool valid) const {
    if (!validation()) return "any status";
    return valid ? "ok" : "rejected";
  }
  // Empty when the reply is what the role must answer.
  std::string judge(const ReplySeen& r, bool valid) const {
    if (!r.decode_error.empty()) {
      return fmt::format("the reply to request {} does not decode: {}", r.request_id, r.decode_error);
    }
    if (!validation()) return {};
    if (r.status != expected(valid)) {
      return fmt::format("request {} ({} invoice) answered {}, expected {}", r.request_id,
                         valid ? "a valid" : "an invalid", r.status, expected(valid));
    }
    if (!valid && r.problems == 0) return fmt::format("request {} rejected with problems 0", r.request_id);
    return {};
  }
  // The reply to `m`, judged: empty, or why the check fails.
  std::string answered(const rs::Message& m, bool valid, std::chrono::milliseconds within, std::string_view what,
                       std::string* status = nullptr) {
    const auto r = wait_reply(m.request_id, within);
    if (!r) {
      return fmt::format("{}: no reply to request {} within {}{}", what, m.request_id, seconds_text(within),
                         agent_.running() ? "" : " (the agent " + agent_.exit_text() + ")");
    }
    if (status != nullptr) *status = r->status;
    return judge(*r, valid);
  }

  std::uint64_t next_invoice() { return ++invoice_; }
  std::uint64_t next_request() { return ++request_; }
  std::int64_t later() { return wire_now() + 600'000'000'000LL; }  // 10 minutes ahead

  void fail(AgentCheck& c, std::string detail) {
    c.passed = false;
    c.detail = std::move(detail);
  }

  // -- The checks

  void happy_path(AgentCheck& c) {
    const auto good = make_request(s_.role, next_invoice(), next_request(), later(), true);
    const std::string good_entry = add(good);
    std::string status;
    if (auto why = answered(good, true, o_.answer_within, "a well-formed request", &status); !why.empty()) {
      return fail(c, why);
    }
    first_request_ = good;
    std::string detail = fmt::format("request {} answered {}", good.request_id, status);
    std::string last_entry = good_entry;
    if (validation()) {
      const auto bad = make_request(s_.role, next_invoice(), next_request(), later(), false);
      last_entry = add(bad);
      const auto r = wait_reply(bad.request_id, o_.answer_within);
      if (!r) return fail(c, fmt::format("no reply to request {} (a negative total) within {}", bad.request_id,
                                         seconds_text(o_.answer_within)));
      if (auto why = judge(*r, false); !why.empty()) return fail(c, why);
      detail += fmt::format(", request {} (negative total) rejected, problems {}", bad.request_id, r->problems);
    }
    if (!wait_acked(good_entry, o_.answer_within) || !wait_acked(last_entry, o_.answer_within)) {
      auto left = pending();
      return fail(c, fmt::format("answered, but entries still pending in group {} after {}: {}", s_.role,
                                 seconds_text(o_.answer_within), join(left)));
    }
    c.detail = detail + "; acked (XPENDING empty)";
  }

  void redelivery(AgentCheck& c) {
    // (a) The same request again, after it was answered.
    if (!first_request_) return fail(c, "no answered request to deliver again (happy_path failed)");
    const rs::Message& again = *first_request_;
    const std::string entry = add(again);
    if (!wait_acked(entry, o_.answer_within)) {
      return fail(c, fmt::format("the second delivery of request {} (entry {}) was not acked within {}",
                                 again.request_id, entry, seconds_text(o_.answer_within)));
    }
    std::this_thread::sleep_for(500ms);  // a reply written after the ack
    const auto all = replies_to(again.request_id);
    std::string a_detail = all.size() <= 1 ? "acked without a second reply"
                                           : fmt::format("answered {} again", all.back().status);
    for (const auto& r : all) {
      if (r.status != all.front().status || !r.decode_error.empty()) {
        return fail(c, fmt::format("request {} delivered twice was answered {}, then {}: one request, two results "
                                   "(not idempotent)",
                                   again.request_id, all.front().status,
                                   r.decode_error.empty() ? r.status : "a reply that does not decode"));
      }
    }
    // (b) An entry read by a consumer that then died.
    const auto orphan = make_request(s_.role, next_invoice(), next_request(), later(), true);
    const std::string orphan_entry = add_and_read(orphan, std::string(kGhost));
    const auto within = o_.answer_within + o_.claim_idle;
    if (auto why = answered(orphan, true, within,
                            fmt::format("entry {} left pending by a dead consumer ({}, claim time {} ms)",
                                        orphan_entry, kGhost, o_.claim_idle.count()));
        !why.empty()) {
      return fail(c, why);
    }
    if (!wait_acked(orphan_entry, o_.answer_within)) {
      return fail(c, fmt::format("entry {} claimed from a dead consumer was answered but not acked", orphan_entry));
    }
    c.detail = fmt::format("request {} again: {}; entry {} of a dead consumer claimed, answered, acked",
                           again.request_id, a_detail, orphan_entry);
  }

  void crash_mid_message(AgentCheck& c) {
    agent_.pause();
    const auto m = make_request(s_.role, next_invoice(), next_request(), later(), true);
    const std::string entry = add_and_read(m, s_.consumer);
    agent_.kill_now();
    if (auto why = agent_.start(o_.ready_within); !why.empty()) return fail(c, "after SIGKILL, the restart: " + why);
    if (auto why = answered(m, true, o_.answer_within,
                            fmt::format("restarted as {} after SIGKILL with entry {} pending", s_.consumer, entry));
        !why.empty()) {
      return fail(c, why);
    }
    if (!wait_acked(entry, o_.answer_within)) {
      return fail(c, fmt::format("entry {} answered after the restart but not acked", entry));
    }
    c.detail = fmt::format("request {}, pending with {} at its SIGKILL, answered after the restart", m.request_id,
                           s_.consumer);
  }

  void past_deadline(AgentCheck& c) {
    agent_.pause();
    const auto m = make_request(s_.role, next_invoice(), next_request(), wire_now() + 200'000'000LL, true);
    const std::string entry = add(m, true);
    std::this_thread::sleep_for(700ms);
    agent_.signal(SIGCONT);
    if (!wait_acked(entry, o_.answer_within)) {
      return fail(c, fmt::format("request {} (entry {}), past its deadline, was not acked within {}", m.request_id,
                                 entry, seconds_text(o_.answer_within)));
    }
    std::this_thread::sleep_for(1s);
    if (const auto r = replies_to(m.request_id); !r.empty()) {
      return fail(c, fmt::format("request {} was answered ({}) after its deadline had passed: nobody waits for it",
                                 m.request_id, r.front().status));
    }
    c.detail = fmt::format("request {}, past its deadline when the agent resumed: acked, no reply",
                           m.request_id);
  }

  void malformed_request(AgentCheck& c) {
    const auto base = make_request(s_.role, next_invoice(), next_request(), later(), true);
    const rs::WireFields fields = encode(base);
    std::vector<std::pair<std::string, rs::WireFields>> bad;
    {
      auto f = fields;
      for (auto& [k, v] : f) {
        if (k == "v") v = "2";
      }
      bad.emplace_back("v=2", f);
    }
    {
      auto f = fields;
      std::erase_if(f, [](const auto& kv) { return kv.first == "attempt"; });
      bad.emplace_back("no attempt", f);
    }
    {
      auto f = fields;
      for (auto& [k, v] : f) {
        if (k == "body") v = "{not json";
      }
      bad.emplace_back("body not JSON", f);
    }
    std::vector<std::string> ids;
    for (const auto& [what, f] : bad) ids.push_back(add(f, base.request_id, true));
    for (std::size_t i = 0; i < bad.size(); ++i) {
      const auto deadline = Clock::now() + o_.answer_within;
      while (!(in_dead(ids[i]) && acked(ids[i]))) {
        if (!agent_.running()) {
          return fail(c, fmt::format("the agent {} after the entry with {}", agent_.exit_text(), bad[i].first));
        }
        if (Clock::now() >= deadline) {
          return fail(c, fmt::format("the entry with {} ({}) is {} after {}", bad[i].first, ids[i],
                                     in_dead(ids[i]) ? "in " + stream_ + ":dead but not acked"
                                                     : std::string(acked(ids[i]) ? "acked but not in " + stream_ +
                                                                                       ":dead"
                                                                                 : "neither acked nor in " + stream_ +
                                                                                       ":dead"),
                                     seconds_text(o_.answer_within)));
        }
        std::this_thread::sleep_for(50ms);
      }
    }
    if (const auto r = replies_to(base.request_id); !r.empty()) {
      return fail(c, fmt::format("a malformed entry was answered ({})", r.front().status));
    }
    const auto next = make_request(s_.role, next_invoice(), next_request(), later(), true);
    const std::string next_entry = add(next);
    if (auto why = answered(next, true, o_.answer_within, "after the malformed entries"); !why.empty()) {
      return fail(c, why);
    }
    if (!wait_acked(next_entry, o_.answer_within)) {
      return fail(c, fmt::format("request {} after the malformed entries was answered but not acked", next.request_id));
    }
    c.detail = fmt::format("v=2, no attempt, body not JSON: each in {}:dead and acked; request {} then answered",
                           stream_, next.request_id);
  }

  // No request entry acked before a reply to its request_id was added
  // (server order), but those past their deadline and the malformed ones.
  void judge_ack_order(AgentCheckReport& report, const std::vector<std::string>& lines) {
    auto check = std::find_if(report.checks.begin(), report.checks.end(),
                              [](const AgentCheck& c) { return c.name == "crash_mid_message"; });
    if (check == report.checks.end()) return;
    std::set<std::string> replied;
    std::size_t acks = 0;
    std::vector<std::string> violations;
    for (const auto& line : lines) {
      const auto args = monitor_arguments(line);
      if (args.size() < 2) continue;
      const std::string cmd = upper(args[0]);
      if (cmd == "XADD" && args[1] == replies_) {
        for (std::size_t i = 2; i + 1 < args.size(); ++i) {
          if (args[i] == "request_id") {
            replied.insert(args[i + 1]);
            break;
          }
        }
      } else if (cmd == "XACK" && args[1] == stream_) {
        for (std::size_t i = 3; i < args.size(); ++i) {
          const auto e = entries_.find(args[i]);
          if (e == entries_.end()) continue;
          ++acks;
          if (!e->second.exempt && replied.count(e->second.request_id) == 0) {
            violations.push_back(fmt::format("acked request {} before replying", e->second.request_id));
          }
        }
      }
    }
    if (!violations.empty()) {
      check->passed = false;
      check->detail = fmt::format("{}: a SIGKILL between the two loses it ({} of {} acks seen by MONITOR)",
                                  violations.front(), violations.size(), acks);
    } else if (check->passed) {
      check->detail += fmt::format("; MONITOR: each of {} acks after its reply", acks);
    }
  }

  struct EntryInfo {
    std::string request_id;
    bool exempt = false;  // past its deadline, or malformed
  };

  const AgentCheckOptions& o_;
  const AgentSettings& s_;
  Redis& redis_;
  AgentProcess& agent_;
  std::int64_t epoch_us_;
  std::string stream_;
  std::string replies_;
  std::string last_reply_ = "0-0";
  std::vector<ReplySeen> replies_seen_;
  std::map<std::string, EntryInfo> entries_;
  std::optional<rs::Message> first_request_;
  std::uint64_t invoice_ = 1000;
  std::uint64_t request_ = 5000;
};

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

fs::path monitor_log_of(const fs::path& log_file) { return fs::path(log_file.string() + ".monitor"); }

bool AgentCheckReport::passed() const {
  return start_failure.empty() && !checks.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const AgentCheck& c) { return c.passed; });
}

bool is_agent_role(const std::string& role) {
  return std::find(kRoles.begin(), kRoles.end(), role) != kRoles.end();
}

resilience::Outcome<AgentCheckReport> check_agent(const AgentCheckOptions& options) {
  auto servers = start_live_servers();
  if (!servers) return std::move(servers).failure();
  AgentSettings settings;
  settings.role = options.role;
  settings.consumer = consumer_name(options.role, 0);
  settings.redis_url = servers->redis->url();
  settings.postgres_url = servers->postgres->url();
  settings.time_scale = 1.0;
  settings.claim_idle = options.claim_idle;
  settings.delivery_limit = options.delivery_limit;
  AgentCheckReport report;
  report.role = options.role;
  report.consumer = settings.consumer;
  try {
    Redis redis(settings.redis_url);
    // The shared epoch, set before the agent starts (it reads it, SET NX).
    const Value t = redis.command({"TIME"});
    const std::string now_us = std::to_string(std::stoll(t.elements.at(0).text) * 1'000'000 +
                                              std::stoll(t.elements.at(1).text));
    redis.command({"SET", settings.prefix + "epoch_us", now_us, "NX"});
    const std::int64_t epoch_us = std::stoll(redis.command({"GET", settings.prefix + "epoch_us"}).text);
    const std::string stream = settings.prefix + settings.role;
    const Value created = redis.try_command({"XGROUP", "CREATE", stream, settings.role, "0", "MKSTREAM"});
    if (created.is_error() && created.text.find("BUSYGROUP") == std::string::npos) {
      return Failure{ErrorClass::permanent, "redis: XGROUP CREATE: " + created.text};
    }
    Monitor monitor(settings.redis_url);
    AgentProcess agent(with_environment(agent_environment(settings), options.command), options.work_dir,
                       options.log_file, settings.consumer);
    report.start_failure = agent.start(options.ready_within);
    if (report.start_failure.empty()) {
      Battery battery(options, settings, redis, agent, epoch_us);
      battery.run(report, monitor);
    }
    agent.stop();
    monitor.stop();
    // What the server ran, for a failed check's reader.
    std::ofstream commands(monitor_log_of(options.log_file), std::ios::trunc);
    for (const auto& line : monitor.lines()) commands << line << '\n';
  } catch (const RedisError& e) {
    return Failure{ErrorClass::permanent, e.what()};
  }
  return report;
}

std::string format_table(const AgentCheckReport& report) {
  std::string out;
  if (!report.start_failure.empty()) return fmt::format("FAIL: {}\n", report.start_failure);
  out += fmt::format("{:<18} {:<6} {}\n", "check", "result", "detail");
  std::size_t passed = 0;
  for (const auto& c : report.checks) {
    out += fmt::format("{:<18} {:<6} {}\n", c.name, c.passed ? "PASS" : "FAIL", c.detail);
    passed += c.passed ? 1 : 0;
  }
  out += fmt::format("{} of {} checks passed\n", passed, report.checks.size());
  return out;
}

std::string format_junit(const AgentCheckReport& report) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::string suite = "check-agent " + report.role;
  std::vector<AgentCheck> checks = report.checks;
  if (!report.start_failure.empty()) checks = {{"ready", false, report.start_failure}};
  const auto failures = std::count_if(checks.begin(), checks.end(), [](const AgentCheck& c) { return !c.passed; });
  out += fmt::format("<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n", xml_escape(suite), checks.size(),
                     failures);
  for (const auto& c : checks) {
    out += fmt::format("  <testcase classname=\"check-agent.{}\" name=\"{}\"", xml_escape(report.role),
                       xml_escape(c.name));
    if (c.passed) {
      out += "/>\n";
    } else {
      out += fmt::format(">\n    <failure message=\"{}\"/>\n  </testcase>\n", xml_escape(c.detail));
    }
  }
  out += "</testsuite>\n";
  return out;
}

}  // namespace faultline::harness
