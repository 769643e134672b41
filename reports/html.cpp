// report.html writer (html.h). Charts are drawn here as SVG elements with
// coordinates formatted to one decimal, so the page is byte-deterministic.
#include "reports/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "reports/internal/text.h"

namespace faultline::reports {

namespace {

using internal::escape_xml_attribute;
using internal::format_duration_human;
using internal::format_fixed;
using internal::format_percent;

std::string esc(std::string_view s) { return internal::escape_xml_text(s); }
std::string num(double v) { return format_fixed(std::isfinite(v) ? v : 0.0, 1); }
double seconds(Duration d) { return internal::to_ms(d) / 1000.0; }

// Evidence lines shown per invariant; the rest is counted.
constexpr std::size_t kEvidenceLinesShownMax = 100;
// Label length in charts, in code points; the full name is in its tooltip.
constexpr std::size_t kChartLabelMax = 15;
// Points per line in the throughput chart: longer series are drawn with
// adjacent buckets merged, so a simulated day stays a small page.
constexpr std::size_t kChartPointsMax = 400;

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1.5rem 2rem;color:#1d2330;background:#f6f7f9}
h1{margin:.2rem 0 1rem}h2{margin-top:2.5rem;border-bottom:2px solid #d5d9e0;padding-bottom:.3rem}h3{margin:1.4rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;background:#fff}th,td{border:1px solid #d5d9e0;padding:.3rem .6rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}pre{white-space:pre-wrap;word-break:break-all;background:#eef0f3;padding:.5rem;margin:.3rem 0}
.v{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600;color:#fff;text-transform:uppercase;font-size:.85em}
.v-pass{background:#2e7d32}.v-fail{background:#c62828}.v-inconclusive{background:#8d6e00}.v-aborted{background:#6a1b9a}.v-error{background:#37474f}
.meta{color:#4a5263}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{background:#fff;border:1px solid #d5d9e0;padding:.4rem}
.chart h4{margin:.1rem 0 .3rem;font-size:.95em}svg text{font-size:11px;fill:#4a5263}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.skip{color:#757575}
)";

std::string verdict_badge(Verdict v) {
  return fmt::format("<span class=\"v v-{0}\">{0}</span>", to_string(v));
}

std::string pass_mark(bool passed) {
  return passed ? "<span class=\"ok\">pass</span>" : "<span class=\"bad\">FAIL</span>";
}

std::string optional_duration(const std::optional<Duration>& d, std::string_view empty) {
  return d ? esc(format_duration_human(*d)) : std::string(empty);
}

// ---- charts ----

struct Frame {
  double width = 680;
  double height = 200;
  double left = 56;
  double right = 56;
  double top = 14;
  double bottom = 28;
  double plot_width() const { return width - left - right; }
  double plot_height() const { return height - top - bottom; }
};

std::string svg_open(const Frame& f, std::string_view label) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"{2}\">\n",
      num(f.width), num(f.height), escape_xml_attribute(label));
}

std::string time_axis(const Frame& f, double end_s) {
  std::string out = fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#8a93a3\"/>\n", num(f.left),
                                num(f.top + f.plot_height()), num(f.left + f.plot_width()));
  constexpr int kTicks = 5;
  for (int i = 0; i <= kTicks; ++i) {
    const double t = end_s * i / kTicks;
    const double x = f.left + f.plot_width() * i / kTicks;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x),
                       num(f.top + f.plot_height() + 16), esc(format_duration_human(runtime::from_seconds(t))));
  }
  return out;
}

std::string fault_shading(const Frame& f, const ScenarioResult& s, double end_s) {
  std::string out;
  for (const auto& fault : s.faults) {
    const double x0 = f.left + f.plot_width() * std::clamp(seconds(fault.start) / end_s, 0.0, 1.0);
    const double x1 = f.left + f.plot_width() * std::clamp(seconds(fault.end) / end_s, 0.0, 1.0);
    out += fmt::format(
        "<rect class=\"fault\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#e53935\" fill-opacity=\"0.13\">"
        "<title>{}</title></rect>\n",
        num(x0), num(f.top), num(std::max(x1 - x0, 1.0)), num(f.plot_height()),
        esc(fault.kind + " on " + fault.target + ", " + format_duration_human(fault.start) + " to " +
            format_duration_human(fault.end)));
  }
  return out;
}

double series_end_s(const ScenarioResult& s) {
  double end = seconds(s.duration);
  if (!s.series.buckets.empty()) {
    end = std::max(end, seconds(s.series.buckets.back().start + s.series.bucket_width));
  }
  for (const auto& f : s.faults) end = std::max(end, seconds(f.end));
  return end > 0 ? end : 1.0;
}

// One point of the throughput chart: `merged` consecutive buckets.
struct ChartPoint {
  double start_s = 0;
  double width_s = 0;
  std::uint64_t completed = 0;
  std::uint64_t succeeded = 0;
};

std::vector<ChartPoint> chart_points(const TimeSeries& series, std::size_t merged) {
  std::vector<ChartPoint> points;
  const double width_s = seconds(series.bucket_width);
  for (std::size_t i = 0; i < series.buckets.size(); i += merged) {
    ChartPoint p;
    p.start_s = seconds(series.buckets[i].start);
    for (std::size_t k = i; k < series.buckets.size() && k < i + merged; ++k) {
      p.completed += series.buckets[k].completed;
      p.succeeded += series.buckets[k].succeeded;
      p.width_s += width_s;
    }
    points.push_back(p);
  }
  return points;
}

std::string throughput_chart(const ScenarioResult& s) {
  const Frame f;
  const double end_s = series_end_s(s);
  std::string out = "<div class=\"chart\"><h4>Throughput and success rate over time</h4>\n";
  if (s.series.buckets.empty() || s.series.bucket_width <= Duration::zero()) {
    return out + "<p>No time series was recorded.</p></div>\n";
  }
  const std::size_t merged = (s.series.buckets.size() + kChartPointsMax - 1) / kChartPointsMax;
  const std::vector<ChartPoint> points = chart_points(s.series, merged);
  double max_tp = 0;
  for (const auto& p : points) max_tp = std::max(max_tp, static_cast<double>(p.completed) / p.width_s);
  if (max_tp <= 0) max_tp = 1;

  out += svg_open(f, "throughput and success rate over time");
  out += fault_shading(f, s, end_s);
  out += time_axis(f, end_s);
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}/s</text>\n", num(f.left - 4), num(f.top + 8),
                     format_fixed(max_tp, max_tp < 10 ? 2 : 0));
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n", num(f.left - 4),
                     num(f.top + f.plot_height()));
  out += fmt::format("<text x=\"{}\" y=\"{}\">100%</text>\n", num(f.left + f.plot_width() + 4), num(f.top + 8));
  out += fmt::format("<text x=\"{}\" y=\"{}\">0%</text>\n", num(f.left + f.plot_width() + 4),
                     num(f.top + f.plot_height()));

  std::string throughput;
  std::string success;
  for (const auto& p : points) {
    const double mid = p.start_s + p.width_s / 2;
    const double x = f.left + f.plot_width() * std::clamp(mid / end_s, 0.0, 1.0);
    const double tp = static_cast<double>(p.completed) / p.width_s;
    throughput += fmt::format("{},{} ", num(x), num(f.top + f.plot_height() * (1 - tp / max_tp)));
    if (p.completed > 0) {
      const double rate = static_cast<double>(p.succeeded) / static_cast<double>(p.completed);
      success += fmt::format("{},{} ", num(x), num(f.top + f.plot_height() * (1 - std::clamp(rate, 0.0, 1.0))));
    }
  }
  out += fmt::format("<polyline class=\"throughput\" fill=\"none\" stroke=\"#1e63c6\" stroke-width=\"2\" points=\"{}\"/>\n",
                     throughput);
  if (!success.empty()) {
    out += fmt::format(
        "<polyline class=\"success\" fill=\"none\" stroke=\"#2e7d32\" stroke-width=\"2\" stroke-dasharray=\"5 3\" "
        "points=\"{}\"/>\n",
        success);
  }
  out += "</svg>\n<div class=\"meta\">blue: completed per second (left); green dashed: success rate of completed "
         "(right); red: fault windows";
  if (merged > 1) out += fmt::format("; {} buckets of {} per point", merged, esc(format_duration_human(s.series.bucket_width)));
  if (s.series.buckets_dropped > 0) out += fmt::format("; {} buckets dropped by the harness", s.series.buckets_dropped);
  out += "</div></div>\n";
  return out;
}

std::string_view breaker_colour(BreakerState st) {
  switch (st) {
    case BreakerState::kClosed: return "#66bb6a";
    case BreakerState::kHalfOpen: return "#ffb300";
    case BreakerState::kOpen: return "#e53935";
  }
  return "#999";
}

// Where a service's breaker changed state: from its transitions when the
// harness recorded them, else from the per-bucket states (each bucket's
// end-state drawn over the whole bucket).
struct BreakerTrack {
  std::string service;
  std::vector<std::pair<double, BreakerState>> changes;  // (since, state), first at 0
};

std::vector<BreakerTrack> breaker_tracks(const ScenarioResult& s) {
  std::vector<BreakerTrack> tracks;
  std::vector<bool> from_transitions;
  std::map<std::string, std::size_t> index;
  for (const auto& b : s.breakers) {
    BreakerTrack track{b.service, {}};
    if (!b.transitions.empty()) {
      track.changes.emplace_back(0.0, b.transitions.front().from);
      for (const auto& t : b.transitions) track.changes.emplace_back(seconds(t.at), t.to);
    }
    index.emplace(b.service, tracks.size());
    from_transitions.push_back(!b.transitions.empty());
    tracks.push_back(std::move(track));
  }
  for (const auto& bucket : s.series.buckets) {
    for (const auto& [service, state] : bucket.breaker_states) {
      auto it = index.find(service);
      if (it == index.end()) {
        it = index.emplace(service, tracks.size()).first;
        tracks.push_back(BreakerTrack{service, {}});
        from_transitions.push_back(false);
      }
      if (from_transitions[it->second]) continue;
      BreakerTrack& track = tracks[it->second];
      if (track.changes.empty() || track.changes.back().second != state) {
        track.changes.emplace_back(track.changes.empty() ? 0.0 : seconds(bucket.start), state);
      }
    }
  }
  for (auto& track : tracks) {
    if (track.changes.empty()) track.changes.emplace_back(0.0, BreakerState::kClosed);
  }
  return tracks;
}

std::string breaker_chart(const ScenarioResult& s) {
  std::string out = "<div class=\"chart\"><h4>Circuit breaker state per service</h4>\n";
  const std::vector<BreakerTrack> tracks = breaker_tracks(s);
  if (tracks.empty()) return out + "<p>No circuit breakers were recorded.</p></div>\n";
  Frame f;
  f.left = 120;
  f.right = 40;
  constexpr double kRow = 22;
  f.height = f.top + f.bottom + kRow * static_cast<double>(tracks.size());
  const double end_s = series_end_s(s);
  out += svg_open(f, "circuit breaker state per service over time");
  double y = f.top;
  for (const auto& track : tracks) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}<title>{}</title></text>\n", num(f.left - 6),
                       num(y + 15), esc(internal::truncate_utf8(track.service, kChartLabelMax)), esc(track.service));
    for (std::size_t i = 0; i < track.changes.size(); ++i) {
      const auto [from_s, state] = track.changes[i];
      const double to_s = i + 1 < track.changes.size() ? track.changes[i + 1].first : end_s;
      const double x0 = f.left + f.plot_width() * std::clamp(from_s / end_s, 0.0, 1.0);
      const double x1 = f.left + f.plot_width() * std::clamp(to_s / end_s, 0.0, 1.0);
      if (x1 <= x0) continue;
      out += fmt::format(
          "<rect class=\"breaker-{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>\n",
          to_string(state), num(x0), num(y + 2), num(x1 - x0), num(kRow - 4), breaker_colour(state),
          esc(track.service + ": " + std::string(to_string(state)) + " from " +
              format_duration_human(runtime::from_seconds(from_s)) + " to " +
              format_duration_human(runtime::from_seconds(to_s))));
    }
    y += kRow;
  }
  out += time_axis(f, end_s);
  out += "</svg>\n<div class=\"meta\">green: closed; amber: half open; red: open</div></div>\n";
  return out;
}

std::string latency_chart(const ScenarioResult& s) {
  std::string out = "<div class=\"chart\"><h4>Latency percentiles</h4>\n";
  std::vector<std::pair<std::string, const LatencySummary*>> rows;
  rows.emplace_back("end to end", &s.end_to_end);
  for (const auto& a : s.agents) rows.emplace_back(a.name, &a.latency);
  double max_ms = 0;
  for (const auto& [name, l] : rows) max_ms = std::max(max_ms, internal::to_ms(l->max));
  if (max_ms <= 0) max_ms = 1;
  Frame f;
  f.left = 120;
  f.right = 80;
  constexpr double kBar = 7;
  constexpr double kGroup = 4 * kBar + 8;
  f.height = f.top + f.bottom + kGroup * static_cast<double>(rows.size());
  out += svg_open(f, "latency percentiles per agent");
  constexpr std::array<std::string_view, 4> kNames{"p50", "p95", "p99", "max"};
  constexpr std::array<std::string_view, 4> kColours{"#90caf9", "#42a5f5", "#1565c0", "#0d2a5c"};
  double y = f.top;
  for (const auto& [name, l] : rows) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}<title>{}</title></text>\n", num(f.left - 6),
                       num(y + 2 * kBar + 4), esc(internal::truncate_utf8(name, kChartLabelMax)), esc(name));
    const std::array<Duration, 4> values{l->p50, l->p95, l->p99, l->max};
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double w = f.plot_width() * std::clamp(internal::to_ms(values[i]) / max_ms, 0.0, 1.0);
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} {}: {}</title></rect>\n",
          num(f.left), num(y + kBar * static_cast<double>(i)), num(std::max(w, 0.5)), num(kBar - 1), kColours[i],
          esc(name), kNames[i], esc(format_duration_human(values[i])));
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\">p99 {}</text>\n", num(f.left + f.plot_width() + 4),
                       num(y + 3 * kBar), esc(format_duration_human(l->p99)));
    y += kGroup;
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\">scale: 0 to {}</text>\n", num(f.left), num(f.height - 8),
                     esc(format_duration_human(runtime::from_millis(max_ms))));
  out += "</svg>\n<div class=\"meta\">bars per row, top to bottom: p50, p95, p99, max</div></div>\n";
  return out;
}

std::string outcome_chart(const ScenarioResult& s) {
  const auto& o = s.outcomes;
  const std::array<std::tuple<std::string_view, std::uint64_t, std::string_view>, 8> rows{{
      {"posted", o.posted, "#2e7d32"},
      {"posted_degraded", o.posted_degraded, "#9ccc65"},
      {"rejected_invalid", o.rejected_invalid, "#8d6e63"},
      {"manual_review", o.manual_review, "#ffb300"},
      {"dead_lettered", o.dead_lettered, "#e53935"},
      {"refused", o.refused, "#5c6bc0"},
      {"lost", o.lost, "#000000"},
      {"in_flight", o.in_flight, "#78909c"},
  }};
  std::uint64_t max = 1;
  for (const auto& [name, n, colour] : rows) max = std::max(max, n);
  Frame f;
  f.width = 420;
  f.left = 120;
  f.right = 70;
  constexpr double kRow = 20;
  f.height = f.top + f.bottom + kRow * static_cast<double>(rows.size());
  std::string out = "<div class=\"chart\"><h4>Outcomes</h4>\n" + svg_open(f, "invoices by outcome");
  double y = f.top;
  for (const auto& [name, n, colour] : rows) {
    const double w = f.plot_width() * static_cast<double>(n) / static_cast<double>(max);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(f.left - 6), num(y + 13), name);
    out += fmt::format("<rect class=\"outcome-{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", name,
                       num(f.left), num(y + 2), num(std::max(w, 0.5)), num(kRow - 5), colour);
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(f.left + w + 4), num(y + 13), n);
    y += kRow;
  }
  out += "</svg>\n";
  out += fmt::format("<div class=\"meta\">submitted {}, success rate {}</div></div>\n", o.submitted,
                     esc(format_percent(s.success_rate)));
  return out;
}

// ---- sections ----

std::string overview(const RunResult& run) {
  std::string out =
      "<table class=\"overview\"><thead><tr><th>verdict</th><th>scenario</th><th class=\"n\">success</th>"
      "<th class=\"n\">processed</th><th class=\"n\">p99</th><th class=\"n\">DLQ</th><th class=\"n\">retries/min</th>"
      "<th class=\"n\">failed checks</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < run.scenarios.size(); ++i) {
    const auto& s = run.scenarios[i];
    std::size_t failed = 0;
    for (const auto& inv : s.invariants) failed += inv.failed() ? 1 : 0;
    for (const auto& slo : s.slos) failed += slo.passed ? 0 : 1;
    out += fmt::format(
        "<tr><td>{}</td><td><a href=\"#scenario-{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}/{}</td>"
        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
        verdict_badge(s.verdict), i + 1, esc(s.name), esc(format_percent(s.success_rate)), s.outcomes.processed(),
        s.outcomes.submitted, esc(format_duration_human(s.end_to_end.p99)), s.dlq_size_final,
        format_fixed(s.retries_per_minute, 1), failed);
  }
  return out + "</tbody></table>\n";
}

std::string latency_cells(const LatencySummary& l) {
  return fmt::format("<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                     esc(format_duration_human(l.p50)), esc(format_duration_human(l.p95)),
                     esc(format_duration_human(l.p99)), esc(format_duration_human(l.max)));
}

std::string scenario_section(const ScenarioResult& s, std::size_t index) {
  std::string out = fmt::format("<section id=\"scenario-{}\">\n<h2>{} {}</h2>\n", index + 1, verdict_badge(s.verdict),
                                esc(s.name));
  if (!s.description.empty()) out += fmt::format("<p>{}</p>\n", esc(s.description));
  out += "<dl>\n";
  if (!s.verdict_reason.empty()) out += fmt::format("<dt>verdict</dt><dd>{}</dd>\n", esc(s.verdict_reason));
  out += fmt::format("<dt>seed</dt><dd><code>{}</code></dd>\n", s.seed);
  out += fmt::format("<dt>replay</dt><dd><pre>{}</pre></dd>\n", esc(s.replay_command));
  out += fmt::format("<dt>policy</dt><dd>{} <code>{}</code></dd>\n", esc(s.policy_name), esc(s.policy_digest));
  out += fmt::format("<dt>scenario digest</dt><dd><code>{}</code></dd>\n", esc(s.scenario_digest));
  out += fmt::format("<dt>duration</dt><dd>{}</dd>\n", esc(format_duration_human(s.duration)));
  out += fmt::format("<dt>success rate</dt><dd>{} ({} of {} processed), {} completed/s</dd>\n",
                     esc(format_percent(s.success_rate)), s.outcomes.processed(), s.outcomes.submitted,
                     format_fixed(s.throughput_per_s, 2));
  out += fmt::format("<dt>retries</dt><dd>{} ({} per minute)</dd>\n", s.retries, format_fixed(s.retries_per_minute, 1));
  out += fmt::format("<dt>dead-letter queue</dt><dd>{} at the end, {} at most</dd>\n", s.dlq_size_final, s.dlq_size_max);
  if (s.baseline) {
    out += fmt::format("<dt>fault-free baseline</dt><dd>success {}, p99 {}, {} completed/s</dd>\n",
                       esc(format_percent(s.baseline->success_rate)), esc(format_duration_human(s.baseline->p99)),
                       format_fixed(s.baseline->throughput_per_s, 2));
  }
  out += "</dl>\n<div class=\"charts\">\n";
  out += throughput_chart(s);
  out += breaker_chart(s);
  out += latency_chart(s);
  out += outcome_chart(s);
  out += "</div>\n";

  if (!s.agents.empty()) {
    out += "<h3>Agents</h3>\n<table><thead><tr><th>agent</th><th class=\"n\">calls</th><th class=\"n\">errors</th>"
           "<th class=\"n\">error rate</th><th class=\"n\">retries</th><th class=\"n\">p50</th><th class=\"n\">p95</th>"
           "<th class=\"n\">p99</th><th class=\"n\">max</th></tr></thead><tbody>\n";
    for (const auto& a : s.agents) {
      out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td class=\"n\">{}</td>{}</tr>\n",
                         esc(a.name), a.calls, a.errors, esc(format_percent(a.error_rate, 2)), a.retries,
                         latency_cells(a.latency));
    }
    out += "</tbody></table>\n";
  }
  if (!s.faults.empty()) {
    out += "<h3>Faults</h3>\n<table><thead><tr><th>kind</th><th>target</th><th class=\"n\">start</th>"
           "<th class=\"n\">end</th><th class=\"n\">calls hit</th><th class=\"n\">time to detect</th>"
           "<th class=\"n\">time to recover</th></tr></thead><tbody>\n";
    for (const auto& f : s.faults) {
      out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                         esc(f.kind), esc(f.target), esc(format_duration_human(f.start)),
                         esc(format_duration_human(f.end)), f.hit_count, optional_duration(f.time_to_detect, "never"),
                         optional_duration(f.time_to_recover, "not recovered"));
    }
    out += "</tbody></table>\n";
  }
  if (!s.invariants.empty()) {
    out += "<h3>Invariants</h3>\n<table><thead><tr><th>result</th><th>invariant</th><th>message</th></tr></thead>"
           "<tbody>\n";
    for (const auto& inv : s.invariants) {
      out += fmt::format("<tr><td>{}</td><td><code>{}</code><br>{}</td><td>{}", inv.skipped ? std::string("<span class=\"skip\">skipped</span>") : pass_mark(inv.passed), esc(inv.id),
                         esc(inv.name), esc(inv.message));
      if (!inv.evidence.empty()) {
        out += fmt::format("<details><summary>evidence ({} lines)</summary><pre>",
                           inv.evidence.size() + inv.evidence_dropped);
        for (std::size_t i = 0; i < inv.evidence.size() && i < kEvidenceLinesShownMax; ++i) {
          out += esc(inv.evidence[i]) + "\n";
        }
        const std::uint64_t hidden =
            inv.evidence_dropped + (inv.evidence.size() > kEvidenceLinesShownMax ? inv.evidence.size() - kEvidenceLinesShownMax : 0);
        if (hidden > 0) out += fmt::format("({} more lines left out)\n", hidden);
        out += "</pre></details>";
      }
      out += "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  if (!s.slos.empty()) {
    out += "<h3>SLOs</h3>\n<table><thead><tr><th>result</th><th>SLO</th><th class=\"n\">observed</th>"
           "<th class=\"n\">threshold</th><th>message</th></tr></thead><tbody>\n";
    for (const auto& slo : s.slos) {
      out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{} {} {}</td><td>{}</td>"
                         "</tr>\n",
                         pass_mark(slo.passed), esc(slo.name), esc(internal::format_short(slo.observed)), esc(slo.unit),
                         slo.comparison == Comparison::kAtMost ? "&le;" : "&ge;",
                         esc(internal::format_short(slo.threshold)), esc(slo.unit), esc(slo.message));
    }
    out += "</tbody></table>\n";
  }
  return out + "</section>\n";
}

}  // namespace

std::string to_report_html(const RunResult& run) {
  const Verdict verdict = overall_verdict(run);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>faultline report: {}</title>\n<style>{}</style>\n</head>\n<body>\n", to_string(verdict),
                     kStyle);
  out += fmt::format("<h1>faultline report {}</h1>\n", verdict_badge(verdict));
  std::string argv;
  for (const auto& arg : run.command_line) argv += (argv.empty() ? "" : " ") + arg;
  // started_at is empty unless the run asked for it (--timestamp), so that
  // report files stay byte-identical for the same inputs.
  const std::string started = run.started_at.empty() ? std::string() : ", started " + esc(run.started_at);
  out += fmt::format("<p class=\"meta\">faultline {}, {} runtime{}, {} scenarios.</p>\n", esc(run.tool_version),
                     esc(run.runtime), started, run.scenarios.size());
  out += fmt::format("<pre class=\"command\">{}</pre>\n", esc(argv));
  out += "<h2>Overview</h2>\n" + overview(run);
  for (std::size_t i = 0; i < run.scenarios.size(); ++i) out += scenario_section(run.scenarios[i], i);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace faultline::reports
