// junit.xml: valid against the Jenkins/GitLab JUnit schema (checked with
// xmllint), one test case per scenario x invariant and x SLO, failures with
// their messages, and hostile strings kept well-formed.
#include <gtest/gtest.h>

#include <regex>

#include "reports/junit.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

testing::CommandResult xmllint_schema(const std::string& xml) {
  const auto dir = testing::fresh_temp_dir("faultline-junit");
  testing::write_file(dir / "junit.xml", xml);
  const auto xsd = testing::source_dir() / "tests/reports/jenkins-junit.xsd";
  auto result = testing::run_command("xmllint --noout --schema " + testing::shell_quote(xsd.string()) + " " +
                                     testing::shell_quote((dir / "junit.xml").string()));
  std::filesystem::remove_all(dir);
  return result;
}

TEST(Junit, OneTestCasePerInvariantAndSlo) {
  const std::string xml = to_junit_xml(testing::sample_run());
  // 3 invariants + 6 SLOs, 1 invariant + 1 SLO, and the inconclusive verdict case.
  EXPECT_EQ(occurrences(xml, "<testcase "), 9u + 2u + 1u);
  EXPECT_EQ(occurrences(xml, "<testsuite "), 3u);
  EXPECT_NE(xml.find("<testsuites name=\"faultline\" tests=\"12\" failures=\"3\" errors=\"0\" skipped=\"1\""),
            std::string::npos)
      << xml.substr(0, 300);
  EXPECT_NE(xml.find("name=\"invariant conservation\""), std::string::npos);
  EXPECT_NE(xml.find("name=\"slo error_rate.ocr\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"2 invoices lost: inv-00417, inv-00733\" type=\"invariant\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"ocr error rate 6.2% over 5%\" type=\"slo\">"), std::string::npos);
  // An SLO failure without its own message gets one from its figures.
  EXPECT_NE(xml.find("message=\"observed 5100.125 ms, allowed at most 1600 ms\""), std::string::npos);
  EXPECT_NE(xml.find("t=181.204s inv-00417 ocr attempt 1 timeout"), std::string::npos) << "evidence in the failure";
  EXPECT_NE(xml.find("<skipped message=\"inconclusive: fault error on ledger touched no call\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<property name=\"seed\" value=\"424242\"/>"), std::string::npos);
}

TEST(Junit, AbortedScenarioIsAnError) {
  RunResult run = testing::sample_run();
  run.scenarios[1].verdict = Verdict::kAborted;
  run.scenarios[1].verdict_reason = "queue bound hit";
  const std::string xml = to_junit_xml(run);
  EXPECT_NE(xml.find("<error message=\"aborted: queue bound hit\" type=\"aborted\">"), std::string::npos);
  EXPECT_NE(xml.find("errors=\"1\""), std::string::npos);
}

TEST(Junit, SameInputGivesSameBytes) {
  EXPECT_EQ(to_junit_xml(testing::hostile_run()), to_junit_xml(testing::hostile_run()));
}

TEST(Junit, ValidAgainstJenkinsSchema) {
  FAULTLINE_REQUIRE_TOOL(xmllint, "xmllint", "libxml2-utils");
  const auto result = xmllint_schema(to_junit_xml(testing::sample_run()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(Junit, HostileInputStaysWellFormedAndValid) {
  FAULTLINE_REQUIRE_TOOL(xmllint, "xmllint", "libxml2-utils");
  const std::string xml = to_junit_xml(testing::hostile_run());
  const auto result = xmllint_schema(xml);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find("<img"), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find('\0'), std::string::npos);
  EXPECT_NE(xml.find("&lt;script&gt;"), std::string::npos);
}

TEST(Junit, SchemaCheckCanFail) {
  FAULTLINE_REQUIRE_TOOL(xmllint, "xmllint", "libxml2-utils");
  std::string xml = to_junit_xml(testing::sample_run());
  xml = std::regex_replace(xml, std::regex("tests=\"2\""), "tests=\"two\"");
  EXPECT_NE(xmllint_schema(xml).exit_code, 0);
}

}  // namespace
}  // namespace faultline::reports
