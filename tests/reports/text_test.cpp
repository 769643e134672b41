// The escaping and number formatting every writer relies on.
#include <gtest/gtest.h>

#include <limits>

#include "reports/internal/text.h"

namespace faultline::reports::internal {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Text, SanitizeKeepsValidUtf8) {
  const std::string valid = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(sanitize_utf8(valid), valid);
  EXPECT_EQ(sanitize_utf8(valid, true), valid);
}

TEST(Text, SanitizeReplacesEachInvalidByte) {
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a" + kFffd + "b");
  EXPECT_EQ(sanitize_utf8("\xC3"), kFffd) << "truncated sequence";
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), kFffd + kFffd) << "overlong";
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd) << "surrogate";
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd) << "above U+10FFFF";
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), kFffd + kFffd);
}

TEST(Text, SanitizeDropsControlsOnlyWhenAsked) {
  const std::string controls = std::string("a\x01\tb\n\x1b\x7f") + '\0' + "\xC2\x85";
  EXPECT_EQ(sanitize_utf8(controls), controls);
  EXPECT_EQ(sanitize_utf8(controls, true), "a" + kFffd + "\tb\n" + kFffd + kFffd + kFffd + kFffd);
}

TEST(Text, XmlEscaping) {
  EXPECT_EQ(escape_xml_text("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(escape_xml_text("l1\nl2\r"), "l1\nl2&#13;");
  EXPECT_EQ(escape_xml_attribute("l1\nl2\tx"), "l1&#10;l2&#9;x");
  EXPECT_EQ(escape_xml_text("]]>"), "]]&gt;");
}

TEST(Text, MarkdownCell) {
  EXPECT_EQ(escape_markdown_cell("a|b *c* _d_ `e` [f](g) <h> ~i~ \\"),
            "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) &lt;h&gt; \\~i\\~ \\\\");
  EXPECT_EQ(escape_markdown_cell("one\ntwo"), "one two");
}

TEST(Text, MarkdownCodeFenceOutlastsBackticks) {
  EXPECT_EQ(markdown_code("run x"), "`run x`");
  EXPECT_EQ(markdown_code("a `b` c"), "``a `b` c``");
  EXPECT_EQ(markdown_code("`x`"), "`` `x` ``");
  EXPECT_EQ(markdown_code("a\nb"), "`a b`");
}

TEST(Text, PrometheusLabel) {
  EXPECT_EQ(escape_prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Text, Truncate) {
  EXPECT_EQ(truncate_utf8("short", 10), "short");
  EXPECT_EQ(truncate_utf8("caf\xC3\xA9 au lait", 4), "caf\xC3\xA9\xE2\x80\xA6");
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
}

TEST(Text, Numbers) {
  EXPECT_EQ(format_real(0.1), "0.1");
  EXPECT_EQ(format_real(0.96), "0.96");
  EXPECT_EQ(format_real(1e21), "1e+21");
  EXPECT_EQ(format_real(-0.0), "0");
  EXPECT_EQ(format_real(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_real(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_fixed(0.96123, 2), "0.96");
  EXPECT_EQ(format_fixed(-0.0001, 2), "0.00");
  EXPECT_EQ(format_percent(0.961), "96.1%");
  EXPECT_EQ(format_short(0.0615384615), "0.06154");
  EXPECT_EQ(format_duration_human(runtime::Duration::zero()), "0");
  EXPECT_EQ(format_duration_human(std::chrono::microseconds(250)), "250 \xC2\xB5s");
  EXPECT_EQ(format_duration_human(std::chrono::milliseconds(5)), "5.00 ms");
  EXPECT_EQ(format_duration_human(std::chrono::milliseconds(1500)), "1.50 s");
  EXPECT_EQ(format_duration_human(std::chrono::minutes(15)), "15.0 min");
}

}  // namespace
}  // namespace faultline::reports::internal
