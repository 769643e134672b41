// metrics.prom writer (prometheus.h). Families are written in a fixed order,
// each with HELP and TYPE once, and samples in the model's order.
#include "reports/prometheus.h"

#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <utility>

#include "reports/internal/text.h"

namespace faultline::reports {

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, val] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += fmt::format("{}=\"{}\"", key, internal::escape_prometheus_label(val));
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += internal::format_real(value);
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

double seconds(Duration d) { return internal::to_ms(d) / 1000.0; }
double count(std::uint64_t n) { return static_cast<double>(n); }

void latency_summary(Writer& w, std::string_view name, const Labels& labels, const LatencySummary& l) {
  const std::pair<std::string_view, Duration> quantiles[] = {{"0.5", l.p50}, {"0.95", l.p95}, {"0.99", l.p99}};
  for (const auto& [q, value] : quantiles) {
    Labels with_q = labels;
    with_q.emplace_back("quantile", std::string(q));
    w.sample(name, with_q, seconds(value));
  }
  w.sample(std::string(name) + "_sum", labels, seconds(l.mean) * count(l.count));
  w.sample(std::string(name) + "_count", labels, count(l.count));
}

// One family, one pass over the scenario runs. A run with several seeds
// holds each scenario once per seed: the seed label keeps their series apart.
void each(Writer& w, const RunResult& run, std::string_view name, std::string_view type, std::string_view help,
          const std::function<void(const ScenarioResult&, const Labels&)>& emit) {
  w.family(name, type, help);
  for (const auto& s : run.scenarios) emit(s, Labels{{"scenario", s.name}, {"seed", std::to_string(s.seed)}});
}

}  // namespace

std::string to_prometheus_text(const RunResult& run) {
  Writer w;
  w.family("faultline_run_info", "gauge", "The faultline build and runtime that produced these metrics.");
  w.sample("faultline_run_info", {{"version", run.tool_version}, {"runtime", run.runtime}}, 1);

  each(w, run, "faultline_scenario_passed", "gauge", "1 when the scenario passed, else 0.",
       [&](const ScenarioResult& s, const Labels& l) {
         Labels with = l;
         with.emplace_back("verdict", std::string(to_string(s.verdict)));
         w.sample("faultline_scenario_passed", with, s.verdict == Verdict::kPass ? 1 : 0);
       });
  each(w, run, "faultline_invoices_submitted_total", "counter", "Invoices submitted.",
       [&](const ScenarioResult& s, const Labels& l) {
         w.sample("faultline_invoices_submitted_total", l, count(s.outcomes.submitted));
       });
  each(w, run, "faultline_invoices_total", "counter",
       "Invoices by where the harness found them: a terminal store, refused at submission, lost, in_flight.",
       [&](const ScenarioResult& s, const Labels& l) {
         const auto& o = s.outcomes;
         const std::pair<std::string_view, std::uint64_t> outcomes[] = {
             {"posted", o.posted},         {"posted_degraded", o.posted_degraded},
             {"rejected_invalid", o.rejected_invalid}, {"dead_lettered", o.dead_lettered},
             {"manual_review", o.manual_review},       {"refused", o.refused},
             {"lost", o.lost},                         {"in_flight", o.in_flight}};
         for (const auto& [outcome, n] : outcomes) {
           Labels with = l;
           with.emplace_back("outcome", std::string(outcome));
           w.sample("faultline_invoices_total", with, count(n));
         }
       });
  each(w, run, "faultline_success_ratio", "gauge", "(posted + posted_degraded) / submitted.",
       [&](const ScenarioResult& s, const Labels& l) { w.sample("faultline_success_ratio", l, s.success_rate); });
  each(w, run, "faultline_throughput_per_second", "gauge", "Completed invoices per second of scenario time.",
       [&](const ScenarioResult& s, const Labels& l) {
         w.sample("faultline_throughput_per_second", l, s.throughput_per_s);
       });
  each(w, run, "faultline_end_to_end_latency_seconds", "summary", "Submit to terminal outcome.",
       [&](const ScenarioResult& s, const Labels& l) {
         latency_summary(w, "faultline_end_to_end_latency_seconds", l, s.end_to_end);
       });
  each(w, run, "faultline_end_to_end_latency_max_seconds", "gauge", "Slowest invoice, submit to terminal outcome.",
       [&](const ScenarioResult& s, const Labels& l) {
         w.sample("faultline_end_to_end_latency_max_seconds", l, seconds(s.end_to_end.max));
       });
  each(w, run, "faultline_baseline_latency_p99_seconds", "gauge",
       "End-to-end p99 of the fault-free baseline run (same seed, faults removed).",
       [&](const ScenarioResult& s, const Labels& l) {
         if (s.baseline) w.sample("faultline_baseline_latency_p99_seconds", l, seconds(s.baseline->p99));
       });
  each(w, run, "faultline_baseline_success_ratio", "gauge", "Success ratio of the fault-free baseline run.",
       [&](const ScenarioResult& s, const Labels& l) {
         if (s.baseline) w.sample("faultline_baseline_success_ratio", l, s.baseline->success_rate);
       });

  const auto per_agent = [&](std::string_view name, std::string_view type, std::string_view help,
                             const std::function<double(const AgentResult&)>& value) {
    each(w, run, name, type, help, [&](const ScenarioResult& s, const Labels& l) {
      for (const auto& a : s.agents) {
        Labels with = l;
        with.emplace_back("agent", a.name);
        w.sample(name, with, value(a));
      }
    });
  };
  each(w, run, "faultline_agent_latency_seconds", "summary", "Time one agent spent on one invoice.",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& a : s.agents) {
           Labels with = l;
           with.emplace_back("agent", a.name);
           latency_summary(w, "faultline_agent_latency_seconds", with, a.latency);
         }
       });
  per_agent("faultline_agent_calls_total", "counter", "Calls into the agent.",
            [](const AgentResult& a) { return count(a.calls); });
  per_agent("faultline_agent_errors_total", "counter", "Calls that ended in an error.",
            [](const AgentResult& a) { return count(a.errors); });
  per_agent("faultline_agent_error_ratio", "gauge", "errors / calls.",
            [](const AgentResult& a) { return a.error_rate; });
  per_agent("faultline_agent_retries_total", "counter", "Retries the agent's policy made.",
            [](const AgentResult& a) { return count(a.retries); });

  each(w, run, "faultline_retries_total", "counter", "Retries over all agents.",
       [&](const ScenarioResult& s, const Labels& l) { w.sample("faultline_retries_total", l, count(s.retries)); });
  each(w, run, "faultline_retries_per_minute", "gauge", "Retries per minute of scenario time.",
       [&](const ScenarioResult& s, const Labels& l) {
         w.sample("faultline_retries_per_minute", l, s.retries_per_minute);
       });
  each(w, run, "faultline_dlq_size", "gauge", "Messages in the dead-letter queue at the end.",
       [&](const ScenarioResult& s, const Labels& l) { w.sample("faultline_dlq_size", l, count(s.dlq_size_final)); });
  each(w, run, "faultline_dlq_size_max", "gauge", "Largest dead-letter queue size seen.",
       [&](const ScenarioResult& s, const Labels& l) { w.sample("faultline_dlq_size_max", l, count(s.dlq_size_max)); });

  each(w, run, "faultline_circuit_breaker_open", "gauge", "1 when the service's breaker was open at the end.",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& b : s.breakers) {
           const bool open = !b.transitions.empty() && b.transitions.back().to == BreakerState::kOpen;
           Labels with = l;
           with.emplace_back("service", b.service);
           w.sample("faultline_circuit_breaker_open", with, open ? 1 : 0);
         }
       });
  each(w, run, "faultline_circuit_breaker_transitions_total", "counter", "Breaker transitions by target state.",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& b : s.breakers) {
           for (const BreakerState to : {BreakerState::kClosed, BreakerState::kOpen, BreakerState::kHalfOpen}) {
             std::uint64_t n = 0;
             for (const auto& t : b.transitions) n += t.to == to ? 1 : 0;
             Labels with = l;
             with.emplace_back("service", b.service);
             with.emplace_back("to", std::string(to_string(to)));
             w.sample("faultline_circuit_breaker_transitions_total", with, count(n));
           }
         }
       });
  each(w, run, "faultline_fault_hits_total", "counter", "Calls a scheduled fault touched.",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& f : s.faults) {
           Labels with = l;
           with.emplace_back("kind", f.kind);
           with.emplace_back("target", f.target);
           with.emplace_back("start_seconds", internal::format_real(seconds(f.start)));
           w.sample("faultline_fault_hits_total", with, count(f.hit_count));
         }
       });
  each(w, run, "faultline_invariant_passed", "gauge", "1 when the invariant held (skipped ones are left out).",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& inv : s.invariants) {
           if (inv.skipped) continue;
           Labels with = l;
           with.emplace_back("invariant", inv.id);
           w.sample("faultline_invariant_passed", with, inv.passed ? 1 : 0);
         }
       });
  each(w, run, "faultline_invariant_skipped", "gauge",
       "1 when nothing in the run could have made the invariant fail (not applicable).",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& inv : s.invariants) {
           Labels with = l;
           with.emplace_back("invariant", inv.id);
           w.sample("faultline_invariant_skipped", with, inv.skipped ? 1 : 0);
         }
       });
  each(w, run, "faultline_slo_passed", "gauge", "1 when the SLO held.",
       [&](const ScenarioResult& s, const Labels& l) {
         for (const auto& slo : s.slos) {
           Labels with = l;
           with.emplace_back("slo", slo.name);
           w.sample("faultline_slo_passed", with, slo.passed ? 1 : 0);
         }
       });
  return w.take();
}

}  // namespace faultline::reports
