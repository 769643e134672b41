// The policy linter's rules (catalogue in lint_rules()). Each rule reads
// the parsed Policy for values and the raw JSON for what the team actually
// wrote, because an implicit default (a 30 s client timeout nobody chose, a
// DLQ nobody sized) is itself the flaw several rules look for.
#include "policy_check/policy_lint.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "resilience/outcome.h"
#include "runtime/json_config.h"

namespace faultline::policy_check {

namespace rs = reference_system;
using nlohmann::json;
using runtime::Duration;
using runtime::format_duration;

std::string_view to_string(Severity s) noexcept { return s == Severity::error ? "error" : "warning"; }

std::string_view to_string(Profile p) noexcept { return p == Profile::production ? "production" : "staging"; }

bool parse_profile(std::string_view text, Profile& out) noexcept {
  if (text == "production") {
    out = Profile::production;
  } else if (text == "staging") {
    out = Profile::staging;
  } else {
    return false;
  }
  return true;
}

const std::vector<RuleInfo>& lint_rules() {
  static const std::vector<RuleInfo> rules = {
      {"unbounded_retries", Severity::error,
       "a retry without an attempt limit, with more than 10 attempts, or without a delay cap"},
      {"no_timeout", Severity::error, "an external call or an agent step with no timeout of its own"},
      {"probe_without_timeout", Severity::error, "a half-open probe with no probe timeout"},
      {"timeouts_do_not_nest", Severity::error,
       "a per-attempt timeout above the overall one, or attempts x timeout + backoff beyond the caller's timeout or "
       "the workflow's deadline"},
      {"retry_amplification", Severity::error,
       "agent attempts x service attempts above the cap (a warning when a breaker bounds it)"},
      {"permanent_errors_retried", Severity::error, "permanent or business errors in the retried classes"},
      {"non_idempotent_retry", Severity::error, "the ledger post retried without an idempotency key"},
      {"breaker_cannot_open", Severity::error, "a breaker whose minimum calls can never be reached"},
      {"breaker_window_too_short", Severity::error, "a breaker window shorter than twice the per-attempt timeout"},
      {"no_neutral_default", Severity::error, "a non-critical agent without a neutral default"},
      {"checkpointing_off", Severity::error, "no checkpoints for a workflow that can run over 2 minutes"},
      {"memory_checkpoints_in_production", Severity::error, "an in-memory checkpoint store in production"},
      {"no_dead_letter_queue", Severity::error, "no dead-letter queue configured"},
      {"dead_letter_without_alert", Severity::error, "a dead-letter queue without an alert threshold"},
      {"no_jitter", Severity::warning, "retries without jitter: callers retry in lockstep"},
      {"jitter_before_cap", Severity::warning,
       "jitter drawn before the delay cap: once the schedule passes the cap, retries land on the cap together"},
      {"payment_attempts", Severity::warning, "more than 2 attempts on a payment-like step (the ledger post)"},
      {"llm_attempts", Severity::warning, "fewer than 5 attempts on the LLM-like OCR call"},
      {"no_circuit_breaker", Severity::warning, "an external service without a circuit breaker"},
      {"dead_letter_alert_late", Severity::warning, "a dead-letter alert threshold above 100 messages"},
      {"no_retry_budget", Severity::warning, "retries without a budget on a service many callers share"},
  };
  return rules;
}

std::size_t LintReport::errors() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [](const auto& f) { return f.severity == Severity::error; }));
}

std::size_t LintReport::warnings() const { return findings.size() - errors(); }

bool LintReport::has(std::string_view rule) const {
  return std::any_of(findings.begin(), findings.end(), [&](const auto& f) { return f.rule == rule; });
}

namespace {

constexpr std::uint32_t kMaxSaneAttempts = 10;
constexpr std::uint32_t kPaymentAttemptsMax = 2;
constexpr std::uint32_t kLlmAttemptsMin = 5;
constexpr std::size_t kDeadLetterAlertMax = 100;
constexpr Duration kCheckpointAbove = std::chrono::minutes(2);

// The agents the orchestrator runs, and the external services each calls.
struct Stage {
  rs::AgentId agent;
  std::vector<rs::ServiceId> services;
};
const std::vector<Stage>& stages() {
  static const std::vector<Stage> s = {
      {rs::AgentId::ocr, {rs::ServiceId::ocr_engine, rs::ServiceId::backup_ocr}},
      {rs::AgentId::validation, {}},
      {rs::AgentId::matching, {rs::ServiceId::po_database}},
      {rs::AgentId::accounting, {rs::ServiceId::budget_service, rs::ServiceId::ledger, rs::ServiceId::notifier}},
      {rs::AgentId::archive, {}},
  };
  return s;
}

std::string agent_path(rs::AgentId a) { return "$.agents." + std::string(rs::to_string(a)); }
std::string service_path(rs::ServiceId s) { return "$.services." + std::string(rs::to_string(s)); }

std::string secs(Duration d) { return format_duration(d); }

// The raw member at a path of object keys, or nullptr.
const json* member(const json& root, std::initializer_list<std::string_view> keys) {
  const json* at = &root;
  for (auto k : keys) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(std::string(k));
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}
json* member(json& root, std::initializer_list<std::string_view> keys) {
  return const_cast<json*>(member(static_cast<const json&>(root), keys));
}

bool has_member(const json* obj, std::string_view key) {
  return obj != nullptr && obj->is_object() && obj->contains(std::string(key));
}

// The worst time one call with this timeout and retry policy can take:
// every attempt runs to its timeout, every backoff is the cap.
Duration worst_call(Duration timeout, const resilience::RetryPolicy& retry) {
  const auto n = static_cast<Duration::rep>(retry.max_attempts);
  Duration d = timeout * n + retry.max_delay * (n - 1);
  if (retry.deadline > Duration::zero()) d = std::min(d, retry.deadline + timeout);
  return d;
}

// The first retry whose uncapped delay passes the cap (1 = the first
// retry), or 0 when none of the policy's retries get there.
std::uint32_t first_retry_at_cap(const resilience::RetryPolicy& p) {
  double delay = static_cast<double>(p.base_delay.count());
  const auto cap = static_cast<double>(p.max_delay.count());
  for (std::uint32_t retry = 1; retry < p.max_attempts; ++retry) {
    if (delay > cap) return retry;
    delay *= p.multiplier;
  }
  return 0;
}

class Linter {
 public:
  Linter(const json& doc, const std::string& file, const LintOptions& options)
      : raw_(doc), file_(file), options_(options) {}

  LintReport run() {
    if (!raw_.is_object()) runtime::JsonView(raw_, file_).fail("a policy object");
    json clean = raw_;
    neutralise_refused(clean);
    LintReport report;
    report.file = file_;
    report.policy = rs::parse_policy(runtime::JsonView(clean, file_));
    report.policy_name = report.policy.name;
    policy_ = &report.policy;
    timeouts();
    workflow_deadline();
    retries();
    breakers();
    degradation();
    checkpoints();
    dead_letter();
    report.findings = std::move(findings_);
    order(report.findings);
    return report;
  }

 private:
  void add(std::string_view rule, Severity sev, std::string path, std::string reason, std::string fix) {
    findings_.push_back(LintFinding{std::string(rule), sev, std::move(path), std::move(reason), std::move(fix)});
  }

  static void order(std::vector<LintFinding>& findings) {
    auto rank = [](const std::string& id) {
      const auto& rules = lint_rules();
      for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i].id == id) return i;
      }
      return rules.size();
    };
    std::stable_sort(findings.begin(), findings.end(), [&](const LintFinding& a, const LintFinding& b) {
      if (a.severity != b.severity) return a.severity < b.severity;
      return rank(a.rule) < rank(b.rule);
    });
  }

  // Settings the parser refuses but a linter should explain: reported here,
  // then replaced in `clean` by a harmless value so parsing can go on.
  void neutralise_refused(json& clean) {
    auto each_retry = [&](auto&& fn) {
      for (std::string_view group : {"agents", "services"}) {
        json* g = member(clean, {group});
        if (g == nullptr || !g->is_object()) continue;
        for (auto& [name, node] : g->items()) {
          if (!node.is_object()) continue;
          auto it = node.find("retry");
          if (it == node.end() || !it->is_object()) continue;
          fn(fmt::format("$.{}.{}.retry", group, name), *it);
        }
      }
    };
    each_retry([&](const std::string& path, json& retry) {
      auto n = retry.find("max_attempts");
      if (n == retry.end()) {
        add("unbounded_retries", Severity::error, path,
            "no \"max_attempts\": the number of attempts is not bounded by the policy",
            "set \"max_attempts\" (3 for most calls, 5 for LLM calls, 1-2 for payments)");
        retry["max_attempts"] = 1;
      } else if (n->is_number_integer() && n->get<std::int64_t>() > 1000) {
        *n = 1000;  // reported by the attempt-count rule below, from the parsed value
        huge_attempts_.push_back(path);
      }
      auto on = retry.find("retry_on");
      if (on != retry.end() && on->is_array()) {
        json kept = json::array();
        for (std::size_t i = 0; i < on->size(); ++i) {
          const json& c = (*on)[i];
          resilience::ErrorClass cls{};
          if (c.is_string() && resilience::parse_error_class(c.get<std::string>(), cls) &&
              resilience::kNeverRetried.contains(cls)) {
            add("permanent_errors_retried", Severity::error, fmt::format("{}.retry_on[{}]", path, i),
                fmt::format("\"{}\" errors fail the same way every time: retrying them only adds load and delay",
                            c.get<std::string>()),
                "retry only transient, timeout and rate_limited; reject permanent and business errors at once");
          } else {
            kept.push_back(c);
          }
        }
        *on = std::move(kept);
      }
    });
    // A count window smaller than its minimum calls (resilience/ refuses it).
    json* services = member(clean, {"services"});
    if (services != nullptr && services->is_object()) {
      for (auto& [name, node] : services->items()) {
        if (!node.is_object()) continue;
        auto b = node.find("circuit_breaker");
        if (b == node.end() || !b->is_object()) continue;
        const json mode = b->value("mode", json("consecutive"));
        const json window = b->value("window", json("count"));
        const json window_calls = b->value("window_calls", json(20));
        const json minimum = b->value("minimum_calls", json(10));
        if (mode != "rate" || window != "count" || !window_calls.is_number_integer() ||
            !minimum.is_number_integer() || minimum.get<std::int64_t>() <= window_calls.get<std::int64_t>()) {
          continue;
        }
        add("breaker_cannot_open", Severity::error,
            fmt::format("$.services.{}.circuit_breaker{}", name, b->contains("minimum_calls") ? ".minimum_calls" : ""),
            fmt::format("minimum_calls {} is above window_calls {}: the window never holds enough calls, so the "
                        "breaker never opens",
                        minimum.dump(), window_calls.dump()),
            "make minimum_calls at most window_calls");
        (*b)["minimum_calls"] = window_calls;
      }
    }
    json* matching = member(clean, {"agents", "matching"});
    if (matching != nullptr && matching->is_object()) {
      auto d = matching->find("default");
      if (d != matching->end() && *d != "no_match") {
        add("no_neutral_default", Severity::error, "$.agents.matching.default",
            fmt::format("default {} is not neutral: a failed match would invent a result downstream trusts",
                        d->dump()),
            "use \"default\": \"no_match\" (a neutral value, with candidates suggested and the result marked "
            "degraded)");
        *d = "no_match";
      }
    }
  }

  const rs::AgentPolicy& agent(rs::AgentId a) const { return policy_->agent(a); }
  const rs::ServicePolicy& service(rs::ServiceId s) const { return policy_->service(s); }
  const json* raw_agent(rs::AgentId a) const { return member(raw_, {"agents", rs::to_string(a)}); }
  const json* raw_service(rs::ServiceId s) const { return member(raw_, {"services", rs::to_string(s)}); }
  bool archive_present() const { return raw_agent(rs::AgentId::archive) != nullptr; }

  // Services this policy's workflow calls (the backup engine only with fallback on).
  std::vector<rs::ServiceId> services_of(const Stage& st) const {
    std::vector<rs::ServiceId> out;
    for (auto s : st.services) {
      if (s == rs::ServiceId::backup_ocr && !agent(rs::AgentId::ocr).fallback) continue;
      out.push_back(s);
    }
    return out;
  }

  void timeouts() {
    for (std::size_t i = 0; i < rs::kServiceCount; ++i) {
      const auto s = static_cast<rs::ServiceId>(i);
      if (!has_member(raw_service(s), "timeout")) {
        add("no_timeout", Severity::error, service_path(s) + ".timeout",
            fmt::format("no timeout for calls to {}: a hung service holds the caller for the client's implicit {}",
                        rs::to_string(s), secs(service(s).timeout)),
            "set \"timeout\" to a little above the service's P99 latency");
      }
      const auto& sp = service(s);
      if (sp.retry.deadline > Duration::zero() && sp.timeout > sp.retry.deadline) {
        add("timeouts_do_not_nest", Severity::error, service_path(s) + ".timeout",
            fmt::format("per-attempt timeout {} is above the retry deadline {}: one attempt outlives the whole call",
                        secs(sp.timeout), secs(sp.retry.deadline)),
            "make the per-attempt timeout a fraction of the retry deadline");
      }
    }
    for (const auto& st : stages()) {
      if (st.agent == rs::AgentId::archive && !archive_present()) continue;
      const auto& ap = agent(st.agent);
      const std::string path = agent_path(st.agent);
      if (!has_member(raw_agent(st.agent), "timeout")) {
        add("no_timeout", Severity::error, path + ".timeout",
            fmt::format("no timeout for the {} step: the orchestrator waits the implicit {} for a lost reply",
                        rs::to_string(st.agent), secs(ap.timeout)),
            "set the step's \"timeout\" to cover its calls' worst case, and no more");
      }
      if (ap.retry.deadline > Duration::zero() && ap.timeout > ap.retry.deadline) {
        add("timeouts_do_not_nest", Severity::error, path + ".timeout",
            fmt::format("step timeout {} is above the step's retry deadline {}", secs(ap.timeout),
                        secs(ap.retry.deadline)),
            "make the step timeout a fraction of its retry deadline");
      }
      Duration total{};
      std::string parts;
      for (auto s : services_of(st)) {
        const auto& sp = service(s);
        if (sp.timeout > ap.timeout) {
          add("timeouts_do_not_nest", Severity::error, service_path(s) + ".timeout",
              fmt::format("per-attempt timeout {} of {} is above the {} step's timeout {}: the caller gives up "
                          "while the call is still allowed to run",
                          secs(sp.timeout), rs::to_string(s), rs::to_string(st.agent), secs(ap.timeout)),
              fmt::format("lower the service timeout below {}", secs(ap.timeout)));
        }
        // The PO lookup is followed by a candidate search when it fails and matching degrades.
        const int calls = (s == rs::ServiceId::po_database && ap.degrade) ? 2 : 1;
        const Duration worst = worst_call(sp.timeout, sp.retry) * calls;
        total += worst;
        parts += fmt::format("{}{} {}", parts.empty() ? "" : " + ", rs::to_string(s), secs(worst));
      }
      if (total > ap.timeout) {
        add("timeouts_do_not_nest", Severity::error, path + ".timeout",
            fmt::format("the {} step's calls can take {} ({}: attempts x timeout + backoffs at the cap), beyond "
                        "its timeout {}: the step times out while its retries still run",
                        rs::to_string(st.agent), secs(total), parts, secs(ap.timeout)),
            "fewer attempts or shorter per-attempt timeouts, or a step timeout above " + secs(total));
      }
    }
  }

  void workflow_deadline() {
    const Duration deadline = policy_->workflow_deadline;
    if (deadline <= Duration::zero()) return;
    std::string parts;
    for (const auto& st : stages()) {
      if (st.agent == rs::AgentId::archive && !archive_present()) continue;
      const auto& ap = agent(st.agent);
      parts += fmt::format("{}{} {}", parts.empty() ? "" : " + ", rs::to_string(st.agent), secs(worst_call(ap.timeout, ap.retry)));
    }
    const Duration worst = worst_workflow();
    if (worst > deadline) {
      add("timeouts_do_not_nest", Severity::error, "$.workflow.deadline",
          fmt::format("the workflow's steps can take {} ({}: attempts x step timeout + backoffs at the cap), beyond "
                      "the workflow deadline {}: the last steps' retries are cut off by the deadline they were "
                      "configured to fit",
                      secs(worst), parts, secs(deadline)),
          "fewer step attempts or shorter step timeouts, or a workflow deadline above " + secs(worst));
    }
  }

  // Every retry object the team wrote, with the policy it parsed to.
  struct RetrySite {
    std::string path;
    const json* raw;
    const resilience::RetryPolicy* policy;
  };
  std::vector<RetrySite> retry_sites() const {
    std::vector<RetrySite> out;
    for (const auto& st : stages()) {
      const json* r = member(raw_, {"agents", rs::to_string(st.agent), "retry"});
      if (r != nullptr) out.push_back({agent_path(st.agent) + ".retry", r, &agent(st.agent).retry});
    }
    for (std::size_t i = 0; i < rs::kServiceCount; ++i) {
      const auto s = static_cast<rs::ServiceId>(i);
      const json* r = member(raw_, {"services", rs::to_string(s), "retry"});
      if (r != nullptr) out.push_back({service_path(s) + ".retry", r, &service(s).retry});
    }
    return out;
  }

  void retries() {
    for (const auto& site : retry_sites()) {
      const auto& p = *site.policy;
      const bool huge = std::find(huge_attempts_.begin(), huge_attempts_.end(), site.path) != huge_attempts_.end();
      if (p.max_attempts > kMaxSaneAttempts) {
        add("unbounded_retries", Severity::error, site.path + ".max_attempts",
            fmt::format("{}{} attempts is as good as unbounded: during an outage every call keeps retrying",
                        huge ? "over " : "", p.max_attempts),
            "cap attempts at 3 (5 for LLM calls) and send what exhausts them to the dead-letter queue");
      }
      if (p.max_attempts > 1 && !has_member(site.raw, "max_delay")) {
        add("unbounded_retries", Severity::error, site.path,
            "no \"max_delay\": backoff grows without a cap the team chose", "set \"max_delay\" (e.g. \"4s\")");
      }
      if (p.max_attempts > 1 && p.jitter == resilience::Jitter::none) {
        add("no_jitter", Severity::warning, site.path + (has_member(site.raw, "jitter") ? ".jitter" : ""),
            "no jitter: callers that failed together retry together, in synchronised waves",
            "add \"jitter\": \"full\" (or \"equal\")");
      } else if (p.max_attempts > 1 && p.jitter_order == resilience::JitterOrder::before_cap) {
        // Harmless while every retry's delay stays below the cap.
        const auto reaches = first_retry_at_cap(p);
        if (reaches != 0) {
          add("jitter_before_cap", Severity::warning, site.path + ".jitter_applied",
              fmt::format("jitter is drawn on the uncapped delay and then capped at {}: from retry {} on, most "
                          "draws are clamped to exactly {}, so callers that failed together retry together again",
                          secs(p.max_delay), reaches, secs(p.max_delay)),
              "jitter the capped delay: \"jitter_applied\": \"after_cap\" (the default)");
        }
      }
    }

    // Attempts one invoice can cause on each service: the step's attempts
    // times the service's own.
    const auto& acc = agent(rs::AgentId::accounting);
    const auto& ledger = service(rs::ServiceId::ledger);
    const std::uint32_t ledger_posts = acc.retry.max_attempts * ledger.retry.max_attempts;
    if (!acc.idempotency_key && ledger_posts > 1) {
      const bool service_retries = ledger.retry.max_attempts > 1;
      add("non_idempotent_retry", Severity::error,
          service_retries ? "$.services.ledger.retry.max_attempts" : "$.agents.accounting.retry.max_attempts",
          fmt::format("the ledger post can be sent {} times per invoice without an idempotency key: a retry after "
                      "a lost reply books the invoice twice",
                      ledger_posts),
          "set \"$.agents.accounting.idempotency_key\": true, or do not retry the post");
    }
    if (ledger_posts > kPaymentAttemptsMax) {
      add("payment_attempts", Severity::warning, "$.services.ledger.retry.max_attempts",
          fmt::format("the payment-like ledger post can be attempted {} times per invoice ({} step x {} call "
                      "attempts); guidance is 1-2",
                      ledger_posts, acc.retry.max_attempts, ledger.retry.max_attempts),
          "keep step attempts x ledger attempts at 2 or fewer");
    }
    const auto& ocr = service(rs::ServiceId::ocr_engine);
    if (ocr.retry.max_attempts < kLlmAttemptsMin) {
      add("llm_attempts", Severity::warning, "$.services.ocr_engine.retry.max_attempts",
          fmt::format("{} attempt(s) on the LLM-like OCR engine, whose transient failures and refusals often clear "
                      "on a retry; guidance is 5",
                      ocr.retry.max_attempts),
          "set 5 attempts with backoff 1 s, 2 s, 4 s, 8 s");
    }

    for (const auto& st : stages()) {
      const auto& ap = agent(st.agent);
      for (auto s : services_of(st)) {
        const auto& sp = service(s);
        const std::uint32_t product = ap.retry.max_attempts * sp.retry.max_attempts;
        if (product > options_.amplification_cap) {
          const bool bounded = sp.breaker.has_value();
          add("retry_amplification", bounded ? Severity::warning : Severity::error, service_path(s) + ".retry",
              fmt::format("one invoice can make {} attempts on {} ({} step attempts x {} call attempts), above the "
                          "cap of {}{}",
                          product, rs::to_string(s), ap.retry.max_attempts, sp.retry.max_attempts,
                          options_.amplification_cap,
                          bounded ? "; its breaker bounds this once open, not before it trips"
                                  : ": during an outage retries multiply the load on a failing service"),
              "retry at one layer: keep the call's retries and give the step 1 attempt (or the reverse)");
        }
        const std::uint32_t callers = ap.workers;
        if (sp.retry.max_attempts > 1 && callers >= options_.many_callers &&
            !has_member(member(raw_, {"services", rs::to_string(s), "retry"}), "budget")) {
          add("no_retry_budget", Severity::warning, service_path(s) + ".retry",
              fmt::format("{} workers of the {} agent share {} and each retries on its own: nothing caps the "
                          "share of retries in its load",
                          callers, rs::to_string(st.agent), rs::to_string(s)),
              "add \"budget\": {\"ratio\": 0.2, \"min_retries\": 10, \"window\": \"10s\"}");
        }
      }
    }
  }

  void breakers() {
    const double per_second = options_.expected_rate_per_hour / 3600.0;
    for (std::size_t i = 0; i < rs::kServiceCount; ++i) {
      const auto s = static_cast<rs::ServiceId>(i);
      const std::string path = service_path(s) + ".circuit_breaker";
      const auto& sp = service(s);
      if (s == rs::ServiceId::backup_ocr && !agent(rs::AgentId::ocr).fallback) continue;
      if (!sp.breaker) {
        add("no_circuit_breaker", Severity::warning, service_path(s),
            fmt::format("no circuit breaker on {}: during its outage every call still waits for a failure",
                        rs::to_string(s)),
            "add \"circuit_breaker\" (e.g. rate mode, 50% over 20 calls, minimum 10, open 30s)");
        continue;
      }
      const auto& b = *sp.breaker;
      const json* raw_b = member(raw_, {"services", rs::to_string(s), "circuit_breaker"});
      if (!has_member(raw_b, "probe_timeout")) {
        add("probe_without_timeout", Severity::error, path + ".probe_timeout",
            fmt::format("no probe timeout: a half-open probe is bounded only by the library's implicit {}",
                        secs(b.probe_timeout)),
            fmt::format("set \"probe_timeout\" to the service's timeout ({})", secs(sp.timeout)));
      }
      if (b.trip != resilience::TripMode::failure_rate) continue;
      // (A count window smaller than its minimum calls was reported before parsing.)
      if (b.window == resilience::WindowKind::count_based) continue;
      const double expected = per_second * runtime::to_seconds(b.window_duration);
      if (static_cast<double>(b.minimum_calls) > expected) {
        add("breaker_cannot_open", Severity::error, path + ".minimum_calls",
            fmt::format("at {:.0f} invoices/hour a {} window sees about {:.1f} calls, under minimum_calls {}: "
                        "the breaker can never open",
                        options_.expected_rate_per_hour, secs(b.window_duration), expected, b.minimum_calls),
            "use a count window, or a longer window, or fewer minimum calls");
      }
      if (b.window_duration < sp.timeout * 2) {
        add("breaker_window_too_short", Severity::error, path + ".window_duration",
            fmt::format("window {} is shorter than twice the per-attempt timeout {}: a timed-out call reports "
                        "after the calls around it have left the window",
                        secs(b.window_duration), secs(sp.timeout)),
            fmt::format("a window of at least {}", secs(sp.timeout * 2)));
      }
    }
  }

  void degradation() {
    for (const auto& st : stages()) {
      if (st.agent == rs::AgentId::archive && !archive_present()) continue;
      if (agent(st.agent).criticality != resilience::Criticality::non_critical) continue;
      const std::string path = agent_path(st.agent);
      if (st.agent != rs::AgentId::matching) {
        add("no_neutral_default", Severity::error, path + ".criticality",
            fmt::format("the {} step is non-critical but has no neutral default to yield when it fails: the "
                        "invoice would go on without its result",
                        rs::to_string(st.agent)),
            "make it critical (only matching has a neutral default, \"no_match\")");
      } else if (!has_member(raw_agent(st.agent), "default")) {
        add("no_neutral_default", Severity::error, path,
            "matching is non-critical but declares no default: what a failed match yields is left implicit",
            "declare \"default\": \"no_match\"");
      }
    }
  }

  // The longest one workflow can run: every step to its timeout, every retry
  // after the longest backoff.
  Duration worst_workflow() const {
    Duration worst{};
    for (const auto& st : stages()) {
      if (st.agent == rs::AgentId::archive && !archive_present()) continue;
      worst += worst_call(agent(st.agent).timeout, agent(st.agent).retry);
    }
    return worst;
  }

  void checkpoints() {
    const Duration worst = worst_workflow();
    if (policy_->checkpoints == rs::CheckpointStoreKind::none && worst > kCheckpointAbove) {
      add("checkpointing_off", Severity::error, "$.checkpoints",
          fmt::format("no checkpoints, yet a workflow can run {} (every step to its timeout, every retry): a "
                      "crash restarts it from the first step",
                      secs(worst)),
          "\"checkpoints\": {\"store\": \"sqlite\"} (or Redis/PostgreSQL in production)");
    }
    if (policy_->checkpoints == rs::CheckpointStoreKind::memory && options_.profile == Profile::production) {
      add("memory_checkpoints_in_production", Severity::error, "$.checkpoints.store",
          "an in-memory checkpoint store loses every checkpoint when the process restarts",
          "use \"sqlite\" (or a replicated store) in production");
    }
  }

  void dead_letter() {
    const json* d = member(raw_, {"dead_letter"});
    if (d == nullptr) {
      add("no_dead_letter_queue", Severity::error, "$.dead_letter",
          "no dead-letter queue: what exhausts its retries lands in an implicit queue nobody sized or watches",
          "add \"dead_letter\": {\"name\": ..., \"capacity\": ..., \"alert_threshold\": 100}");
      return;
    }
    if (!has_member(d, "alert_threshold")) {
      add("dead_letter_without_alert", Severity::error, "$.dead_letter",
          "the dead-letter queue has no alert threshold: failed invoices pile up unseen",
          "set \"alert_threshold\": 100");
    } else if (policy_->dead_letter.alert_threshold > kDeadLetterAlertMax) {
      add("dead_letter_alert_late", Severity::warning, "$.dead_letter.alert_threshold",
          fmt::format("the alert fires at {} messages; over 100 already needs manual processing",
                      policy_->dead_letter.alert_threshold),
          "alert at 100");
    }
  }

  const json& raw_;
  const std::string& file_;
  const LintOptions& options_;
  const rs::Policy* policy_ = nullptr;
  std::vector<std::string> huge_attempts_;
  std::vector<LintFinding> findings_;
};

}  // namespace

LintReport lint_policy(const json& doc, const std::string& file, const LintOptions& options) {
  return Linter(doc, file, options).run();
}

LintReport lint_policy_file(const std::string& file, const LintOptions& options) {
  const auto doc = runtime::load_json_file(file);
  return lint_policy(doc, file, options);
}

}  // namespace faultline::policy_check
