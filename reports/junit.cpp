// junit.xml writer (junit.h).
#include "reports/junit.h"

#include <fmt/format.h>

#include "reports/internal/text.h"

namespace faultline::reports {

namespace {

using internal::escape_xml_attribute;
using internal::escape_xml_text;

// Bounds what one failure body holds, so a runaway evidence list cannot make
// the file unreadable by CI; what was left out is counted in the text.
constexpr std::size_t kEvidenceLinesMax = 50;

struct Counts {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
};

Counts count(const ScenarioResult& s) {
  Counts c;
  c.tests = s.invariants.size() + s.slos.size();
  for (const auto& inv : s.invariants) {
    c.failures += inv.failed() ? 1 : 0;
    c.skipped += inv.skipped ? 1 : 0;
  }
  for (const auto& slo : s.slos) c.failures += slo.passed ? 0 : 1;
  switch (s.verdict) {
    case Verdict::kInconclusive: ++c.tests, ++c.skipped; break;
    case Verdict::kAborted:
    case Verdict::kError: ++c.tests, ++c.errors; break;
    default: break;
  }
  return c;
}

std::string seconds(Duration d) { return internal::format_fixed(internal::to_ms(d) / 1000.0, 3); }

void property(std::string& out, std::string_view name, std::string_view value) {
  out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, escape_xml_attribute(value));
}

void scenario_suite(std::string& out, const ScenarioResult& s) {
  const Counts c = count(s);
  const std::string classname = escape_xml_attribute("faultline." + s.name);
  out += fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
      escape_xml_attribute(s.name), c.tests, c.failures, c.errors, c.skipped, seconds(s.duration));
  out += "    <properties>\n";
  property(out, "verdict", to_string(s.verdict));
  property(out, "seed", std::to_string(s.seed));
  property(out, "policy", s.policy_name);
  property(out, "policy_digest", s.policy_digest);
  property(out, "scenario_digest", s.scenario_digest);
  property(out, "replay_command", s.replay_command);
  property(out, "submitted", std::to_string(s.outcomes.submitted));
  property(out, "refused", std::to_string(s.outcomes.refused));
  property(out, "lost", std::to_string(s.outcomes.lost));
  property(out, "in_flight", std::to_string(s.outcomes.in_flight));
  out += "    </properties>\n";

  for (const auto& inv : s.invariants) {
    out += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"0\">", escape_xml_attribute("invariant " + inv.id),
                       classname);
    if (inv.skipped) {
      out += fmt::format("\n      <skipped message=\"{}\"/>\n    ", escape_xml_attribute(inv.message));
    } else if (!inv.passed) {
      std::string body = inv.name + "\n" + inv.message + "\n";
      std::size_t written = 0;
      for (const auto& line : inv.evidence) {
        if (written == kEvidenceLinesMax) break;
        body += line + "\n";
        ++written;
      }
      const std::uint64_t left_out = inv.evidence_dropped + (inv.evidence.size() - written);
      if (left_out > 0) body += fmt::format("({} more evidence lines left out)\n", left_out);
      body += "replay: " + s.replay_command + "\n";
      out += fmt::format("\n      <failure message=\"{}\" type=\"invariant\">{}</failure>\n    ",
                         escape_xml_attribute(inv.message), escape_xml_text(body));
    }
    out += "</testcase>\n";
  }
  for (const auto& slo : s.slos) {
    out += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"0\">", escape_xml_attribute("slo " + slo.name),
                       classname);
    if (!slo.passed) {
      const std::string message =
          slo.message.empty()
              ? fmt::format("observed {} {}, {} {} {}", internal::format_real(slo.observed), slo.unit,
                            slo.comparison == Comparison::kAtMost ? "allowed at most" : "required at least",
                            internal::format_real(slo.threshold), slo.unit)
              : slo.message;
      const std::string body = fmt::format("{}\nobserved: {} {}\nthreshold ({}): {} {}\nreplay: {}\n", message,
                                           internal::format_real(slo.observed), slo.unit, to_string(slo.comparison),
                                           internal::format_real(slo.threshold), slo.unit, s.replay_command);
      out += fmt::format("\n      <failure message=\"{}\" type=\"slo\">{}</failure>\n    ",
                         escape_xml_attribute(message), escape_xml_text(body));
    }
    out += "</testcase>\n";
  }
  if (s.verdict == Verdict::kInconclusive || s.verdict == Verdict::kAborted || s.verdict == Verdict::kError) {
    const std::string element = s.verdict == Verdict::kInconclusive ? "skipped" : "error";
    out += fmt::format("    <testcase name=\"verdict\" classname=\"{}\" time=\"0\">\n", classname);
    out += fmt::format("      <{} message=\"{}\"", element,
                       escape_xml_attribute(std::string(to_string(s.verdict)) + ": " + s.verdict_reason));
    if (element == "error") {
      out += fmt::format(" type=\"{}\">{}</{}>\n", to_string(s.verdict),
                         escape_xml_text(s.verdict_reason + "\nreplay: " + s.replay_command + "\n"), element);
    } else {
      out += "/>\n";
    }
    out += "    </testcase>\n";
  }
  out += fmt::format("    <system-out>{}</system-out>\n", escape_xml_text(fmt::format(
                                                             "verdict: {}\nseed: {}\nreplay: {}\n", to_string(s.verdict),
                                                             s.seed, s.replay_command)));
  out += "  </testsuite>\n";
}

}  // namespace

std::string to_junit_xml(const RunResult& run) {
  Counts total;
  Duration time{};
  for (const auto& s : run.scenarios) {
    const Counts c = count(s);
    total.tests += c.tests;
    total.failures += c.failures;
    total.errors += c.errors;
    total.skipped += c.skipped;
    time += s.duration;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"faultline\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
      total.tests, total.failures, total.errors, total.skipped, seconds(time));
  for (const auto& s : run.scenarios) scenario_suite(out, s);
  out += "</testsuites>\n";
  return out;
}

}  // namespace faultline::reports
