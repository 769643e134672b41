// Run comparison, regression gate and its renderings (compare.h).
#include "reports/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "reports/internal/text.h"

namespace faultline::reports {

namespace {

struct MetricSpec {
  std::string_view id;
  std::string_view label;
  std::string_view unit;
  Better better;
};

constexpr MetricSpec kMetrics[] = {
    {"success_rate", "success rate", "%", Better::kHigher}, {"p99", "p99 latency", "ms", Better::kLower},
    {"mean", "mean processing time", "ms", Better::kLower},  {"processed", "invoices processed", "count", Better::kHigher},
    {"retries", "retries", "count", Better::kLower},         {"dlq", "DLQ size", "count", Better::kLower},
};

const MetricSpec* find_metric(std::string_view id) {
  for (const auto& m : kMetrics) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The figures of one scenario, or of the total over several, in table units.
struct Figures {
  std::uint64_t submitted = 0;
  std::uint64_t processed = 0;
  double p99_ms = 0;
  double mean_weighted_ms = 0;  // sum of mean * count
  std::uint64_t latency_count = 0;
  std::uint64_t retries = 0;
  std::uint64_t dlq = 0;

  void add(const ScenarioResult& s) {
    submitted += s.outcomes.submitted;
    processed += s.outcomes.processed();
    p99_ms = std::max(p99_ms, internal::to_ms(s.end_to_end.p99));
    mean_weighted_ms += internal::to_ms(s.end_to_end.mean) * static_cast<double>(s.end_to_end.count);
    latency_count += s.end_to_end.count;
    retries += s.retries;
    dlq += s.dlq_size_final;
  }
  double value(std::string_view id) const {
    if (id == "success_rate") {
      return submitted == 0 ? 0 : 100.0 * static_cast<double>(processed) / static_cast<double>(submitted);
    }
    if (id == "p99") return p99_ms;
    if (id == "mean") return latency_count == 0 ? 0 : mean_weighted_ms / static_cast<double>(latency_count);
    if (id == "processed") return static_cast<double>(processed);
    if (id == "retries") return static_cast<double>(retries);
    return static_cast<double>(dlq);
  }
};

std::vector<MetricDiff> diff(const Figures& a, const Figures& b, const RegressionBounds& bounds, std::string_view where,
                             std::vector<std::string>& regressions) {
  std::vector<MetricDiff> out;
  for (const auto& spec : kMetrics) {
    MetricDiff d;
    d.metric = spec.id;
    d.label = spec.label;
    d.unit = spec.unit;
    d.better = spec.better;
    d.a = a.value(spec.id);
    d.b = b.value(spec.id);
    d.difference = d.b - d.a;
    if (d.a != 0) d.relative = 100.0 * d.difference / std::fabs(d.a);
    const double worsening = spec.better == Better::kHigher ? -d.difference : d.difference;
    d.worse = worsening > 0;
    for (const auto& bound : bounds.bounds) {
      if (bound.metric != spec.id) continue;
      d.bound = bound.text;
      bool exceeded = false;
      if (bound.relative) {
        exceeded = worsening > 0 && (d.a == 0 || 100.0 * worsening / std::fabs(d.a) > bound.limit);
      } else {
        exceeded = worsening > bound.limit;
      }
      if (exceeded) {
        d.regressed = true;
        const std::string_view unit = spec.unit == "count" ? "" : spec.unit == "%" ? "%" : " ms";
        regressions.push_back(fmt::format("{}: {} went from {}{} to {}{} (bound {})", where, spec.label,
                                          internal::format_short(d.a), unit, internal::format_short(d.b), unit,
                                          bound.text));
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string clean_line(std::string_view s) {
  std::string out = internal::sanitize_utf8(s, true);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

std::string signed_value(double v, std::string_view unit) {
  const std::string number = internal::format_fixed(v, unit == "count" ? 0 : 1);
  const std::string sign = v > 0 ? "+" : "";
  if (unit == "%") return sign + number + " pp";
  if (unit == "ms") return sign + number + " ms";
  return sign + number;
}

std::string plain_value(double v, std::string_view unit) {
  if (unit == "%") return internal::format_fixed(v, 1) + "%";
  if (unit == "ms") return internal::format_fixed(v, 1) + " ms";
  return internal::format_fixed(v, 0);
}

std::string relative_text(const MetricDiff& d) {
  if (!d.relative) return d.difference == 0 ? "0.0%" : "n/a";
  return (*d.relative > 0 ? "+" : "") + internal::format_fixed(*d.relative, 1) + "%";
}

std::string assessment(const MetricDiff& d) {
  if (d.regressed) return "REGRESSION (bound " + *d.bound + ")";
  if (d.difference == 0) return "same";
  return d.worse ? "worse" : "better";
}

std::vector<const ScenarioComparison*> all_rows(const RunComparison& c) {
  std::vector<const ScenarioComparison*> rows;
  for (const auto& s : c.scenarios) rows.push_back(&s);
  rows.push_back(&c.total);
  return rows;
}

}  // namespace

ParsedBounds parse_regression_bounds(std::string_view text) {
  RegressionBounds bounds;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) {
      if (comma == text.size()) break;
      return {std::nullopt, "empty item in the bound list"};
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return {std::nullopt, fmt::format("'{}': expected metric=limit, e.g. p99=10%", clean_line(item))};
    }
    const std::string_view metric = trim(item.substr(0, eq));
    std::string_view limit = trim(item.substr(eq + 1));
    const MetricSpec* spec = find_metric(metric);
    if (spec == nullptr) {
      return {std::nullopt, fmt::format("'{}': unknown metric '{}' (known: success_rate, p99, mean, processed, "
                                        "retries, dlq)",
                                        clean_line(item), clean_line(metric))};
    }
    RegressionBound bound;
    bound.metric = spec->id;
    bound.text = std::string(item);
    double scale = 1;
    if (ends_with(limit, "%")) {
      bound.relative = true;
      limit.remove_suffix(1);
    } else if (spec->unit == "%" && ends_with(limit, "pp")) {
      limit.remove_suffix(2);
    } else if (spec->unit == "ms" && ends_with(limit, "ms")) {
      limit.remove_suffix(2);
    } else if (spec->unit == "ms" && ends_with(limit, "s")) {
      limit.remove_suffix(1);
      scale = 1000;
    }
    limit = trim(limit);
    double value = 0;
    const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), value);
    if (limit.empty() || ec != std::errc{} || end != limit.data() + limit.size() || !std::isfinite(value) ||
        value < 0) {
      const std::string_view units = spec->unit == "%" ? "pp or %" : spec->unit == "ms" ? "ms, s or %" : "a count or %";
      return {std::nullopt, fmt::format("'{}': expected a non-negative number with {}", clean_line(item), units)};
    }
    bound.limit = value * scale;
    bounds.bounds.push_back(std::move(bound));
  }
  return {std::move(bounds), ""};
}

RunComparison compare_runs(const RunResult& a, const RunResult& b, const RegressionBounds& bounds,
                           std::string label_a, std::string label_b) {
  RunComparison c;
  c.label_a = std::move(label_a);
  c.label_b = std::move(label_b);
  Figures total_a;
  Figures total_b;
  const auto find = [](const RunResult& run, const std::string& name) -> const ScenarioResult* {
    for (const auto& s : run.scenarios) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  for (const auto& sa : a.scenarios) {
    ScenarioComparison row;
    row.name = sa.name;
    const ScenarioResult* sb = find(b, sa.name);
    row.in_b = sb != nullptr;
    if (sb != nullptr) {
      Figures fa;
      Figures fb;
      fa.add(sa);
      fb.add(*sb);
      total_a.add(sa);
      total_b.add(*sb);
      row.metrics = diff(fa, fb, bounds, "scenario " + clean_line(sa.name), c.regressions);
    }
    c.scenarios.push_back(std::move(row));
  }
  for (const auto& sb : b.scenarios) {
    if (find(a, sb.name) == nullptr) c.scenarios.push_back(ScenarioComparison{sb.name, false, true, {}});
  }
  c.total.name = "total";
  c.total.metrics = diff(total_a, total_b, bounds, "total", c.regressions);
  c.regressed = !c.regressions.empty();
  return c;
}

std::string comparison_text(const RunComparison& c) {
  std::string out = fmt::format("A: {}\nB: {}\n", clean_line(c.label_a), clean_line(c.label_b));
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("\n{}\n", row == &c.total ? "total (scenarios in both runs)" : "scenario " + clean_line(row->name));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("  only in {}\n", row->in_a ? "A" : "B");
      continue;
    }
    out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>9}  {}\n", "metric", "A", "B", "B - A", "change", "");
    for (const auto& d : row->metrics) {
      out += fmt::format("  {:<22} {:>12} {:>12} {:>12} {:>9}  {}\n", d.label, plain_value(d.a, d.unit),
                         plain_value(d.b, d.unit), signed_value(d.difference, d.unit), relative_text(d),
                         assessment(d));
    }
  }
  out += c.regressed ? fmt::format("\nREGRESSION: B is worse than A beyond the bounds:\n") : "\nno regression beyond the bounds\n";
  for (const auto& line : c.regressions) out += "  " + line + "\n";
  return out;
}

std::string comparison_markdown(const RunComparison& c) {
  using internal::escape_markdown_cell;
  std::string out = fmt::format("# faultline compare: {}\n\nA: {}  \nB: {}\n", c.regressed ? "**REGRESSION**" : "ok",
                                escape_markdown_cell(c.label_a), escape_markdown_cell(c.label_b));
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("\n## {}\n\n", row == &c.total ? "Total (scenarios in both runs)"
                                                      : "Scenario " + escape_markdown_cell(row->name));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("Only in {}.\n", row->in_a ? "A" : "B");
      continue;
    }
    out += "| metric | A | B | B − A | change | |\n|---|--:|--:|--:|--:|---|\n";
    for (const auto& d : row->metrics) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", d.label, plain_value(d.a, d.unit), plain_value(d.b, d.unit),
                         signed_value(d.difference, d.unit), relative_text(d),
                         d.regressed ? "**" + escape_markdown_cell(assessment(d)) + "**"
                                     : escape_markdown_cell(assessment(d)));
    }
  }
  if (c.regressed) {
    out += "\n## Regressions\n\n";
    for (const auto& line : c.regressions) out += "- " + escape_markdown_cell(line) + "\n";
  }
  return out;
}

std::string comparison_html(const RunComparison& c) {
  const auto esc = [](std::string_view s) { return internal::escape_xml_text(s); };
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  out += fmt::format("<title>faultline compare: {}</title>\n", c.regressed ? "regression" : "ok");
  out += "<style>body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#1d2330}"
         "table{border-collapse:collapse;margin:.4rem 0 1.2rem}th,td{border:1px solid #d5d9e0;padding:.3rem .6rem}"
         "td.n{text-align:right;font-variant-numeric:tabular-nums}.better{color:#2e7d32}.worse{color:#8d6e00}"
         ".regressed{color:#fff;background:#c62828;font-weight:600}</style>\n</head>\n<body>\n";
  out += fmt::format("<h1>faultline compare: {}</h1>\n<p>A: <code>{}</code><br>B: <code>{}</code></p>\n",
                     c.regressed ? "regression" : "ok", esc(c.label_a), esc(c.label_b));
  for (const ScenarioComparison* row : all_rows(c)) {
    out += fmt::format("<h2>{}</h2>\n", row == &c.total ? std::string("Total (scenarios in both runs)")
                                                        : "Scenario " + esc(row->name));
    if (!row->in_a || !row->in_b) {
      out += fmt::format("<p>Only in {}.</p>\n", row->in_a ? "A" : "B");
      continue;
    }
    out += "<table><thead><tr><th>metric</th><th>A</th><th>B</th><th>B &minus; A</th><th>change</th><th></th></tr>"
           "</thead><tbody>\n";
    for (const auto& d : row->metrics) {
      const std::string_view cls = d.regressed ? "regressed" : d.difference == 0 ? "same" : d.worse ? "worse" : "better";
      out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>\n",
                         esc(d.label), esc(plain_value(d.a, d.unit)), esc(plain_value(d.b, d.unit)),
                         esc(signed_value(d.difference, d.unit)), esc(relative_text(d)), cls, esc(assessment(d)));
    }
    out += "</tbody></table>\n";
  }
  if (c.regressed) {
    out += "<h2>Regressions</h2>\n<ul>\n";
    for (const auto& line : c.regressions) out += "<li>" + esc(line) + "</li>\n";
    out += "</ul>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace faultline::reports
