#include "harness/live/wire_audit.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "harness/live/sync_redis.h"

namespace faultline::harness {

namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 5> kRoles = {"ocr", "validation", "matching", "accounting", "archive"};
constexpr std::string_view kEndMarker = "faultline-wire-audit-end";

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The value after `field` among an XADD's arguments (field/value pairs after the id).
const std::string* field_of(const std::vector<std::string>& args, std::string_view field, std::size_t from = 2) {
  for (std::size_t i = from; i + 1 < args.size(); ++i) {
    if (args[i] == field) return &args[i + 1];
  }
  return nullptr;
}

std::string status_of(const std::string* body) {
  if (body == nullptr) return "(no body)";
  const auto doc = nlohmann::json::parse(*body, nullptr, false);
  if (doc.is_object() && doc.contains("status") && doc["status"].is_string()) return doc["status"].get<std::string>();
  return "(no status)";
}

std::optional<std::int64_t> deadline_of(const std::string& text) {
  if (text.empty() || text == "none") return std::nullopt;
  try {
    return std::stoll(text);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<MonitorCommand> parse_monitor_line(std::string_view line) {
  const auto dot = line.find('.');
  const auto open = line.find(" [");
  const auto close = line.find("] ");
  if (dot == std::string_view::npos || open == std::string_view::npos || close == std::string_view::npos ||
      dot > open || close < open) {
    return std::nullopt;
  }
  MonitorCommand c;
  try {
    const std::int64_t seconds = std::stoll(std::string(line.substr(0, dot)));
    std::string micros(line.substr(dot + 1, open - dot - 1));
    micros.resize(6, '0');
    c.t_us = seconds * 1'000'000 + std::stoll(micros);
  } catch (...) {
    return std::nullopt;
  }
  c.in_script = line.substr(open, close - open).find("lua") != std::string_view::npos;
  c.args = sync_redis::monitor_arguments(line);
  if (c.args.empty()) return std::nullopt;
  const std::string name = upper(c.args[0]);
  if ((name == "EVAL" || name == "EVALSHA") && c.args.size() > 1) c.args[1].clear();
  return c;
}

std::string to_line(const MonitorCommand& c) {
  if (c.gap) return "-- MONITOR reconnected: commands run meanwhile were not seen";
  std::string out =
      fmt::format("{}.{:06} [{}]", c.t_us / 1'000'000, c.t_us % 1'000'000, c.in_script ? "lua" : "client");
  for (const auto& a : c.args) {
    std::string shown = a.size() > 160 ? a.substr(0, 160) + "..." : a;
    for (auto& ch : shown) {
      if (ch == '\n' || ch == '"') ch = ' ';
    }
    out += " \"" + shown + "\"";
  }
  return out;
}

std::string WireAuditResult::summary() const {
  std::string out = fmt::format(
      "wire audit (Redis MONITOR{}): {} requests mapped from the role streams, {} acks, {} replies; {} acks of "
      "entries it never mapped (not judged); {} acked after a copy to a dead stream, {} past their deadline, {} "
      "after a reply Redis refused",
      gaps == 0 ? "" : fmt::format(", reconnected {} time(s)", gaps), requests, acks, replies, unmapped_acks, buried,
      expired, refused_replies);
  if (held_by_fault > 0) {
    out += fmt::format(", {} before a reply the reordering fault held back in the worker (not judged)", held_by_fault);
  }
  if (after_gap > 0) out += fmt::format(", {} with no reply seen after a MONITOR gap (not judged)", after_gap);
  if (!error.empty()) out += "; " + error;
  return out;
}

WireAuditResult audit_wire(const WireEvidence& e) {
  WireAuditResult r;
  r.error = e.error;
  r.requests = e.requests.size();
  const std::string replies = e.prefix + "replies";
  std::set<std::string> role_streams;
  for (auto role : kRoles) role_streams.insert(e.prefix + std::string(role));

  // Replies seen so far: request_id -> first status; every request_id ever answered.
  std::map<std::string, std::string> answered;
  std::set<std::string> ever_answered;
  for (const auto& c : e.commands) {
    if (c.gap || c.args.size() < 2 || upper(c.args[0]) != "XADD" || c.args[1] != replies) continue;
    if (const auto* id = field_of(c.args, "request_id")) ever_answered.insert(*id);
  }
  std::set<std::string> conflicted;
  std::set<std::pair<std::string, std::string>> buried;  // (stream, entry id)
  std::set<std::string> attempted;                       // request ids of reply scripts run
  std::set<std::pair<std::string, std::string>> flagged;
  std::vector<std::string> later;  // flagged, answered after the ack
  bool seen_gap = false;
  auto wire_now = [&](std::int64_t t_us) -> std::optional<double> {
    if (!e.epoch_us) return std::nullopt;
    return static_cast<double>(t_us - *e.epoch_us) * 1000.0 * e.time_scale;
  };

  for (const auto& c : e.commands) {
    if (c.gap) {
      ++r.gaps;
      seen_gap = true;
      continue;
    }
    if (c.args.size() < 2) continue;
    const std::string name = upper(c.args[0]);
    if (name == "XADD" && c.args[1] == replies) {
      ++r.replies;
      const auto* id = field_of(c.args, "request_id");
      if (id == nullptr) continue;
      const std::string status = status_of(field_of(c.args, "body"));
      const auto [first, added] = answered.emplace(*id, status);
      if (!added && first->second != status && conflicted.insert(*id).second) {
        const auto* invoice = field_of(c.args, "invoice_id");
        r.conflicts.push_back(fmt::format("request {} of invoice {} answered {}, then {} (two replies on {}, Redis "
                                          "MONITOR)",
                                          *id, invoice != nullptr ? *invoice : "?", first->second, status, replies));
      }
    } else if (name == "XADD" && c.args[1].size() > 5 && c.args[1].ends_with(":dead") &&
               role_streams.count(c.args[1].substr(0, c.args[1].size() - 5)) > 0) {
      if (const auto* entry = field_of(c.args, "entry_id")) {
        buried.emplace(c.args[1].substr(0, c.args[1].size() - 5), *entry);
      }
    } else if ((name == "EVAL" || name == "EVALSHA") &&
               std::find(c.args.begin(), c.args.end(), replies) != c.args.end()) {
      if (const auto* id = field_of(c.args, "request_id")) attempted.insert(*id);
    } else if (name == "XACK" && role_streams.count(c.args[1]) > 0) {
      for (std::size_t i = 3; i < c.args.size(); ++i) {
        ++r.acks;
        const std::pair<std::string, std::string> key{c.args[1], c.args[i]};
        const auto found = e.requests.find(key);
        if (found == e.requests.end()) {
          ++r.unmapped_acks;
          continue;
        }
        const WireRequest& q = found->second;
        if (answered.count(q.request_id) > 0) continue;
        if (buried.count(key) > 0) {
          ++r.buried;
          continue;
        }
        const auto now = wire_now(c.t_us);
        if (q.deadline_ns && now && static_cast<double>(*q.deadline_ns) <= *now) {
          ++r.expired;
          continue;
        }
        if (attempted.count(q.request_id) > 0) {
          ++r.refused_replies;
          continue;
        }
        if (seen_gap) {
          ++r.after_gap;
          continue;
        }
        const bool lost = ever_answered.count(q.request_id) == 0;
        if (!lost && std::any_of(e.injected_holds_us.begin(), e.injected_holds_us.end(),
                                 [&](const auto& span) { return span.first <= c.t_us && c.t_us <= span.second; })) {
          ++r.held_by_fault;
          continue;
        }
        if (!flagged.insert(key).second) continue;
        if (lost) ++r.lost;
        // Those lost first: the report's message names the first.
        auto& list = lost ? r.early_acks : later;
        list.push_back(fmt::format(
            "request {} (invoice {}) on {} (entry {}) was acked before any reply was written (Redis MONITOR "
            "order): a SIGKILL between the two loses it; {}",
            q.request_id, q.invoice_id, c.args[1], key.second,
            lost ? "never answered: lost" : "its reply came after the ack"));
      }
    }
  }
  r.early_acks.insert(r.early_acks.end(), later.begin(), later.end());
  return r;
}

// ---- The collector.

struct WireAudit::Impl {
  std::string url;
  std::string prefix;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable marker_seen;
  bool saw_marker = false;
  std::unique_ptr<sync_redis::Redis> monitor;  // guarded by mutex (replaced on reconnect, shut down on stop)
  std::vector<MonitorCommand> commands;
  std::map<std::pair<std::string, std::string>, WireRequest> requests;
  std::vector<std::string> errors;
  std::thread monitor_thread;
  std::thread tailer_thread;

  static std::unique_ptr<sync_redis::Redis> open_monitor(const std::string& url) {
    auto redis = std::make_unique<sync_redis::Redis>(url);
    const sync_redis::Value ok = redis->command({"MONITOR"});
    if (ok.text != "OK") throw sync_redis::RedisError("redis: MONITOR: " + ok.text);
    redis->no_timeout();
    return redis;
  }

  // A line worth keeping: an XADD or XACK under the prefix, or a script that names the replies stream.
  bool relevant(std::string_view line) const {
    const auto at = line.find("] \"");
    if (at == std::string_view::npos) return false;
    const std::string name = upper(line.substr(at + 3, 7));
    if (name.starts_with("XADD\"") || name.starts_with("XACK\"")) {
      return line.find("\"" + prefix, at + 3) != std::string_view::npos;
    }
    if (name.starts_with("EVAL")) return line.find("\"" + prefix + "replies\"", at + 3) != std::string_view::npos;
    return false;
  }

  void run_monitor() {
    for (;;) {
      sync_redis::Redis* redis = nullptr;
      {
        std::lock_guard lock(mutex);
        redis = monitor.get();
      }
      while (redis != nullptr) {
        auto line = redis->next();
        if (!line) break;
        const std::string& text = line->text;
        if (text.find(kEndMarker) != std::string::npos) {
          std::lock_guard lock(mutex);
          saw_marker = true;
          marker_seen.notify_all();
          continue;
        }
        if (!relevant(text)) continue;
        if (auto c = parse_monitor_line(text)) {
          std::lock_guard lock(mutex);
          commands.push_back(std::move(*c));
        }
      }
      if (stopping) return;
      // The connection dropped (Redis restarted, or its link cut): reconnect; what ran between is unseen.
      std::this_thread::sleep_for(100ms);
      try {
        auto fresh = open_monitor(url);
        std::lock_guard lock(mutex);
        if (stopping) return;
        MonitorCommand gap;
        gap.gap = true;
        commands.push_back(std::move(gap));
        monitor = std::move(fresh);
      } catch (const std::exception&) {
        std::lock_guard lock(mutex);
        monitor.reset();
      }
    }
  }

  void run_tailer() {
    std::vector<std::string> streams;
    for (auto role : kRoles) streams.push_back(prefix + std::string(role));
    std::vector<std::string> last(streams.size(), "0-0");
    std::unique_ptr<sync_redis::Redis> redis;
    while (!stopping) {
      try {
        if (!redis) redis = std::make_unique<sync_redis::Redis>(url);
        std::vector<std::string> args = {"XREAD", "COUNT", "1000", "BLOCK", "100", "STREAMS"};
        args.insert(args.end(), streams.begin(), streams.end());
        args.insert(args.end(), last.begin(), last.end());
        const sync_redis::Value got = redis->command(args);
        if (got.type != REDIS_REPLY_ARRAY) continue;
        std::lock_guard lock(mutex);
        for (const auto& stream : got.elements) {
          if (stream.elements.size() != 2) continue;
          const auto at = std::find(streams.begin(), streams.end(), stream.elements[0].text);
          if (at == streams.end()) continue;
          for (const auto& entry : stream.elements[1].elements) {
            if (entry.elements.size() != 2) continue;
            const std::string& id = entry.elements[0].text;
            last[static_cast<std::size_t>(at - streams.begin())] = id;
            WireRequest q;
            const auto& fields = entry.elements[1].elements;
            for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
              const std::string& f = fields[i].text;
              if (f == "request_id") q.request_id = fields[i + 1].text;
              else if (f == "invoice_id") q.invoice_id = fields[i + 1].text;
              else if (f == "kind") q.kind = fields[i + 1].text;
              else if (f == "deadline") q.deadline_ns = deadline_of(fields[i + 1].text);
            }
            requests[{*at, id}] = std::move(q);
          }
        }
      } catch (const std::exception& ex) {
        redis.reset();
        {
          std::lock_guard lock(mutex);
          if (errors.size() < 3) errors.push_back(std::string("tailer: ") + ex.what());
        }
        std::this_thread::sleep_for(100ms);
      }
    }
  }
};

WireAudit::WireAudit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<WireAudit> WireAudit::start(const std::string& redis_url, const std::string& prefix) {
  auto impl = std::make_unique<Impl>();
  impl->url = redis_url;
  impl->prefix = prefix;
  impl->monitor = Impl::open_monitor(redis_url);
  Impl* raw = impl.get();
  impl->monitor_thread = std::thread([raw] { raw->run_monitor(); });
  impl->tailer_thread = std::thread([raw] { raw->run_tailer(); });
  return std::unique_ptr<WireAudit>(new WireAudit(std::move(impl)));
}

WireAudit::~WireAudit() {
  if (!impl_) return;
  impl_->stopping = true;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->monitor) impl_->monitor->shutdown();
  }
  if (impl_->monitor_thread.joinable()) impl_->monitor_thread.join();
  if (impl_->tailer_thread.joinable()) impl_->tailer_thread.join();
}

WireEvidence WireAudit::stop(double time_scale) {
  WireEvidence e;
  e.prefix = impl_->prefix;
  e.time_scale = time_scale;
  try {
    sync_redis::Redis redis(impl_->url);
    const sync_redis::Value epoch = redis.command({"GET", impl_->prefix + "epoch_us"});
    if (epoch.type == REDIS_REPLY_STRING) e.epoch_us = std::stoll(epoch.text);
    // Everything run before this ECHO has been shown once MONITOR shows it.
    redis.command({"ECHO", std::string(kEndMarker)});
    std::unique_lock lock(impl_->mutex);
    if (!impl_->marker_seen.wait_for(lock, 5s, [&] { return impl_->saw_marker; })) {
      impl_->errors.push_back("MONITOR did not show the end marker within 5 s: its last commands may be missing");
    }
  } catch (const std::exception& ex) {
    std::lock_guard lock(impl_->mutex);
    impl_->errors.push_back(std::string("reading the epoch: ") + ex.what());
  }
  impl_->stopping = true;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->monitor) impl_->monitor->shutdown();
  }
  if (impl_->monitor_thread.joinable()) impl_->monitor_thread.join();
  if (impl_->tailer_thread.joinable()) impl_->tailer_thread.join();
  std::lock_guard lock(impl_->mutex);
  e.commands = std::move(impl_->commands);
  e.requests = std::move(impl_->requests);
  for (const auto& err : impl_->errors) e.error += (e.error.empty() ? "" : "; ") + err;
  if (!e.epoch_us) e.error += std::string(e.error.empty() ? "" : "; ") + "no epoch in Redis: deadlines not checked";
  return e;
}

}  // namespace faultline::harness
