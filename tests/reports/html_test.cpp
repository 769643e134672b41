// report.html: self-contained (no script, nothing fetched), charts for every
// scenario, every input string escaped; and in headless Chromium the page
// renders, a screenshot is taken, and a scenario named <script>...</script>
// does not run, even with the page's Content-Security-Policy removed.
#include <gtest/gtest.h>

#include <regex>

#include "reports/html.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string chromium_flags(const fs::path& profile) {
  return "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
         "--disable-component-update --disable-sync --user-data-dir=" +
         testing::shell_quote(profile.string());
}

// The DOM after load, as Chromium serialises it.
std::string dump_dom(const std::string& chromium, const fs::path& page, const fs::path& profile) {
  const auto result = testing::run_command("{ timeout 120 " + testing::shell_quote(chromium) + " " +
                                           chromium_flags(profile) + " --dump-dom " +
                                           testing::shell_quote("file://" + page.string()) + " 2>/dev/null; }");
  return result.output;
}

std::string title_of(const std::string& dom) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("<title>([^<]*)</title>"))) return m[1].str();
  return "";
}

TEST(Html, SelfContainedWithoutScriptsOrFetches) {
  for (const RunResult& run : {testing::sample_run(), testing::hostile_run()}) {
    const std::string html = to_report_html(run);
    const std::string low = lower(html);
    EXPECT_EQ(low.find("<script"), std::string::npos);
    EXPECT_EQ(low.find("<img"), std::string::npos);
    EXPECT_EQ(low.find("<link"), std::string::npos);
    EXPECT_EQ(low.find("@import"), std::string::npos);
    EXPECT_EQ(low.find("url("), std::string::npos);
    // Every src/href attribute is an in-page anchor.
    const std::regex attr(R"re(\s(src|href)\s*=\s*"([^"]*)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), attr); it != std::sregex_iterator(); ++it) {
      EXPECT_EQ((*it)[2].str().rfind('#', 0), 0u) << (*it)[0].str();
    }
    EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  }
}

TEST(Html, OverviewAndChartsPerScenario) {
  const std::string html = to_report_html(testing::sample_run());
  EXPECT_NE(html.find("<title>faultline report: fail</title>"), std::string::npos);
  EXPECT_EQ(occurrences(html, "<section id=\"scenario-"), 3u);
  EXPECT_EQ(occurrences(html, "<a href=\"#scenario-"), 3u);
  // Two scenarios have time series and breakers; all three have latency and outcome charts.
  EXPECT_EQ(occurrences(html, "<polyline class=\"throughput\""), 2u);
  EXPECT_EQ(occurrences(html, "<polyline class=\"success\""), 2u);
  EXPECT_EQ(occurrences(html, "aria-label=\"latency percentiles per agent\""), 3u);
  EXPECT_EQ(occurrences(html, "aria-label=\"invoices by outcome\""), 3u);
  // Fault windows are shaded: 2 + 1 in the throughput charts.
  EXPECT_EQ(occurrences(html, "<rect class=\"fault\""), 3u);
  // The OCR breaker's five transitions give six segments (closed, open, half open, open, half open, closed).
  const auto ocr_section = html.substr(0, html.find("<section id=\"scenario-2\""));
  EXPECT_EQ(occurrences(ocr_section, "<rect class=\"breaker-open\""), 2u);
  EXPECT_EQ(occurrences(ocr_section, "<rect class=\"breaker-half_open\""), 2u);
  EXPECT_NE(html.find("No time series was recorded."), std::string::npos) << "the third scenario has none";
  EXPECT_NE(html.find("faultline run scenarios/ocr-outage-5m.json"), std::string::npos);
  EXPECT_EQ(to_report_html(testing::sample_run()), html);
}

TEST(Html, HostileStringsAreEscaped) {
  const std::string html = to_report_html(testing::hostile_run());
  EXPECT_NE(html.find("&lt;script&gt;document.title=&#39;PWNED-BY-SCENARIO-NAME&#39;&lt;/script&gt;"),
            std::string::npos);
  EXPECT_EQ(html.find("onerror=alert(1)>"), std::string::npos);
  EXPECT_EQ(html.find('\x01'), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find('\0'), std::string::npos);
}

class HtmlInChromium : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::fresh_temp_dir("faultline-html"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path page(const std::string& name, const std::string& html) {
    testing::write_file(dir_ / name, html);
    return dir_ / name;
  }
  fs::path profile(const std::string& name) {
    fs::create_directories(dir_ / ("profile-" + name));
    return dir_ / ("profile-" + name);
  }
  fs::path dir_;
};

TEST_F(HtmlInChromium, RendersAndTakesAScreenshot) {
  FAULTLINE_REQUIRE_TOOL(chromium, "chromium", "chromium");
  const auto html = page("report.html", to_report_html(testing::sample_run()));
  const auto png = dir_ / "report.png";
  const auto result = testing::run_command("timeout 120 " + testing::shell_quote(chromium) + " " +
                                           chromium_flags(profile("shot")) + " --window-size=1300,2400 --screenshot=" +
                                           testing::shell_quote(png.string()) + " " +
                                           testing::shell_quote("file://" + html.string()));
  ASSERT_TRUE(fs::exists(png)) << result.output;
  const std::string bytes = testing::read_file(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1300u);
  EXPECT_EQ(be32(20), 2400u);
  // A rendered report is far from a blank page, which compresses to a few KB.
  EXPECT_GT(bytes.size(), 50'000u);

  const std::string dom = dump_dom(chromium, html, profile("dom"));
  EXPECT_EQ(title_of(dom), "faultline report: fail") << dom.substr(0, 500);
  EXPECT_EQ(occurrences(dom, "<svg"), 10u) << "2 throughput + 2 breaker + 3 latency + 3 outcome charts";
}

TEST_F(HtmlInChromium, ControlPageScriptDoesRun) {
  // Shows the check below can fail: Chromium here does run inline scripts.
  FAULTLINE_REQUIRE_TOOL(chromium, "chromium", "chromium");
  const auto control = page("control.html",
                            "<!DOCTYPE html><html><head><title>before</title></head><body>"
                            "<script>document.title='" + std::string(testing::kScriptMarker) + "'</script></body></html>");
  EXPECT_EQ(title_of(dump_dom(chromium, control, profile("control"))), testing::kScriptMarker);
}

TEST_F(HtmlInChromium, ScenarioNamedScriptDoesNotRun) {
  FAULTLINE_REQUIRE_TOOL(chromium, "chromium", "chromium");
  const std::string html = to_report_html(testing::hostile_run());
  // Once as written, once without the CSP: escaping alone must hold.
  std::string without_csp = html;
  const auto csp = without_csp.find("<meta http-equiv=\"Content-Security-Policy\"");
  ASSERT_NE(csp, std::string::npos);
  without_csp.erase(csp, without_csp.find('>', csp) + 1 - csp);
  ASSERT_EQ(without_csp.find("Content-Security-Policy"), std::string::npos);

  for (const auto& [name, text] : {std::pair<std::string, std::string>{"hostile.html", html},
                                   std::pair<std::string, std::string>{"hostile-no-csp.html", without_csp}}) {
    const std::string dom = dump_dom(chromium, page(name, text), profile(name));
    ASSERT_NE(dom.find("</html>"), std::string::npos) << name << ": no DOM dumped";
    EXPECT_EQ(title_of(dom), "faultline report: fail") << name;
    EXPECT_EQ(lower(dom).find("<script"), std::string::npos) << name;
    EXPECT_EQ(lower(dom).find("<img"), std::string::npos) << name;
    // The name is shown as text.
    EXPECT_NE(dom.find("&lt;script&gt;document.title='PWNED-BY-SCENARIO-NAME'&lt;/script&gt;"), std::string::npos)
        << name;
    EXPECT_EQ(occurrences(dom, "<section id=\"scenario-"), 3u) << name << ": markup in input broke the structure";
  }
}

}  // namespace
}  // namespace faultline::reports

namespace faultline::reports {
namespace {

TEST(Html, LongSeriesStayBounded) {
  RunResult run = testing::sample_run();
  auto& s = run.scenarios[0];
  s.duration = std::chrono::hours(24);
  s.series.bucket_width = std::chrono::seconds(1);
  s.series.buckets.clear();
  for (int i = 0; i < 86'400; ++i) {
    TimeBucket b;
    b.start = std::chrono::seconds(i);
    b.submitted = b.completed = 3;
    b.succeeded = i % 7 == 0 ? 2 : 3;
    s.series.buckets.push_back(b);
  }
  const std::string html = to_report_html(run);
  EXPECT_LT(html.size(), 200'000u) << "a simulated day of 1 s buckets";
  const auto start = html.find("<polyline class=\"throughput\"");
  ASSERT_NE(start, std::string::npos);
  const std::string line = html.substr(start, html.find("/>", start) - start);
  EXPECT_LE(occurrences(line, ","), 400u);
  EXPECT_NE(html.find("216 buckets of 1.00 s per point"), std::string::npos);
}

}  // namespace
}  // namespace faultline::reports

namespace faultline::reports {
namespace {

TEST(Html, BreakerChartFallsBackToBucketStates) {
  RunResult run = testing::sample_run();
  auto& s = run.scenarios[0];
  s.breakers.clear();  // only the per-bucket states remain
  const std::string html = to_report_html(run);
  const auto section = html.substr(0, html.find("<section id=\"scenario-2\""));
  // ocr_engine: closed, open for the outage buckets, closed again; po_database closed throughout.
  EXPECT_EQ(occurrences(section, "<rect class=\"breaker-open\""), 1u);
  EXPECT_EQ(occurrences(section, "<rect class=\"breaker-closed\""), 3u);
  EXPECT_NE(section.find("ocr_engine: open from 2.0 min to 7.0 min"), std::string::npos);
}

}  // namespace
}  // namespace faultline::reports
