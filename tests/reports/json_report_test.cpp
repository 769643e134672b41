// report.json: byte-identical output, lossless round trip through the
// reader, conformance to reports/report.schema.json, and reader errors that
// name file, path and expectation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reports/internal/text.h"
#include "reports/json_report.h"
#include "runtime/json_config.h"
#include "tests/reports/sample_runs.h"
#include "tests/reports/tools.h"

namespace faultline::reports {
namespace {

using testing::hostile_run;
using testing::sample_run;

TEST(JsonReport, SameInputGivesSameBytes) {
  const std::string a = to_report_json(sample_run());
  const std::string b = to_report_json(sample_run());
  EXPECT_EQ(a, b);
  EXPECT_EQ(to_report_json(hostile_run()), to_report_json(hostile_run()));
  EXPECT_EQ(a.back(), '\n');
}

TEST(JsonReport, DocumentsVersionAndVerdict) {
  const auto doc = nlohmann::json::parse(to_report_json(sample_run()));
  EXPECT_EQ(doc["schema"], "faultline.report");
  EXPECT_EQ(doc["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(doc["verdict"], "fail");
  ASSERT_EQ(doc["scenarios"].size(), 3u);
  const auto& s = doc["scenarios"][0];
  EXPECT_EQ(s["seed"], 424242u);
  EXPECT_EQ(s["outcomes"]["posted_degraded"], 55u);
  EXPECT_DOUBLE_EQ(s["latency_end_to_end"]["p99_ms"].get<double>(), 5100.125);
  EXPECT_EQ(s["breakers"][0]["transitions"][0]["to"], "open");
  EXPECT_DOUBLE_EQ(s["breakers"][0]["transitions"][0]["at_ms"].get<double>(), 125000.0);
  EXPECT_TRUE(s["faults"][1]["time_to_detect_ms"].is_null());
  EXPECT_DOUBLE_EQ(s["faults"][0]["time_to_recover_ms"].get<double>(), 40000.0);
  EXPECT_EQ(s["series"]["buckets"][12]["breakers"]["ocr_engine"], "open");
  EXPECT_DOUBLE_EQ(s["baseline"]["p99_ms"].get<double>(), 800.0);
  EXPECT_TRUE(doc["scenarios"][2]["baseline"].is_null());
}

TEST(JsonReport, RoundTripsThroughTheReader) {
  const RunResult run = sample_run();
  const std::string text = to_report_json(run);
  const RunResult back = parse_report_json(text, "report.json");
  EXPECT_EQ(back, run);
  EXPECT_EQ(to_report_json(back), text);
}

TEST(JsonReport, KeepsNanosecondDurations) {
  RunResult run = sample_run();
  run.scenarios[0].end_to_end.p99 = Duration{86'399'999'999'999};  // a day less one ns
  run.scenarios[0].breakers[0].transitions[0].at = Duration{1};
  EXPECT_EQ(parse_report_json(to_report_json(run), "r.json"), run);
}

TEST(JsonReport, HostileInputIsValidUtf8AndRoundTripsStably) {
  const std::string text = to_report_json(hostile_run());
  EXPECT_EQ(internal::sanitize_utf8(text), text) << "output is not valid UTF-8";
  const RunResult back = parse_report_json(text, "hostile.json");
  EXPECT_EQ(back.scenarios[0].name, testing::hostile_name());
  // The second generation equals the first: only invalid bytes were replaced.
  EXPECT_EQ(to_report_json(back), text);
  EXPECT_NE(back.scenarios[1].name.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(back.scenarios[2].name.find(std::string(1, '\0')), std::string::npos) << "NUL survives as \\u0000";
}

TEST(JsonReport, NonFiniteNumbersBecomeNull) {
  RunResult run = sample_run();
  run.scenarios[0].success_rate = std::numeric_limits<double>::quiet_NaN();
  run.scenarios[0].retries_per_minute = std::numeric_limits<double>::infinity();
  const auto doc = nlohmann::json::parse(to_report_json(run));
  EXPECT_TRUE(doc["scenarios"][0]["success_rate"].is_null());
  EXPECT_TRUE(doc["scenarios"][0]["retries_per_minute"].is_null());
  const RunResult back = parse_report_json(to_report_json(run), "r.json");
  EXPECT_TRUE(std::isnan(back.scenarios[0].success_rate));
}

void expect_matches_schema(const RunResult& run, const std::string& label) {
  const std::filesystem::path python = "/usr/bin/python3";
  ASSERT_TRUE(std::filesystem::exists(python)) << "/usr/bin/python3 missing: install the Debian package python3";
  const auto probe = testing::run_command(python.string() + " -c 'import jsonschema'");
  ASSERT_EQ(probe.exit_code, 0) << "python3 cannot import jsonschema: install the Debian package python3-jsonschema\n"
                                << probe.output;
  const auto dir = testing::fresh_temp_dir("faultline-json");
  const auto file = dir / "report.json";
  testing::write_file(file, to_report_json(run));
  const auto root = testing::source_dir();
  const auto result = testing::run_command(
      python.string() + " " + testing::shell_quote((root / "tests/reports/validate_json_schema.py").string()) + " " +
      testing::shell_quote((root / "reports/report.schema.json").string()) + " " + testing::shell_quote(file.string()));
  EXPECT_EQ(result.exit_code, 0) << label << " does not match reports/report.schema.json:\n" << result.output;
  std::filesystem::remove_all(dir);
}

TEST(JsonReport, MatchesTheSchema) { expect_matches_schema(sample_run(), "sample run"); }
TEST(JsonReport, HostileInputMatchesTheSchema) { expect_matches_schema(hostile_run(), "hostile run"); }
TEST(JsonReport, AShardsReportMatchesTheSchema) {
  RunResult run = sample_run();
  run.shard = ShardInfo{2, 3, 8, "0123456789abcdef", 0};
  expect_matches_schema(run, "shard 2/3");
}

// A live run's report (faultline run --mode live) carries its live section,
// which the reader gives back and the schema accepts.
TEST(JsonReport, ALiveRunsReportRoundTripsAndMatchesTheSchema) {
  RunResult run = sample_run();
  run.runtime = "live";
  run.live = LiveInfo{20.0, true, "vm", "vm", "127.0.0.1:6379", "127.0.0.1:5432", "7.0.15", "15.18"};
  const std::string text = to_report_json(run);
  EXPECT_NE(text.find("\"redis_version\": \"7.0.15\""), std::string::npos) << text.substr(0, 600);
  EXPECT_EQ(parse_report_json(text, "live.json"), run);
  expect_matches_schema(run, "live run");
}

TEST(JsonReport, SchemaRejectsADocumentThatBreaksIt) {
  // The validator itself must be able to fail: a verdict outside the enum.
  auto doc = nlohmann::json::parse(to_report_json(sample_run()));
  doc["scenarios"][0]["verdict"] = "green";
  const auto dir = testing::fresh_temp_dir("faultline-json");
  testing::write_file(dir / "bad.json", doc.dump());
  const auto root = testing::source_dir();
  const auto result = testing::run_command(
      "/usr/bin/python3 " + testing::shell_quote((root / "tests/reports/validate_json_schema.py").string()) + " " +
      testing::shell_quote((root / "reports/report.schema.json").string()) + " " +
      testing::shell_quote((dir / "bad.json").string()));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("scenarios/0/verdict"), std::string::npos) << result.output;
  std::filesystem::remove_all(dir);
}

TEST(JsonReport, ReaderErrorsNameFileAndPath) {
  auto doc = nlohmann::json::parse(to_report_json(sample_run()));
  doc["scenarios"][1]["verdict"] = "green";
  try {
    (void)parse_report_json(doc.dump(), "runs/a/report.json");
    FAIL() << "a bad verdict was accepted";
  } catch (const runtime::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("runs/a/report.json"), std::string::npos) << what;
    EXPECT_NE(what.find("scenarios[1].verdict"), std::string::npos) << what;
  }
  doc = nlohmann::json::parse(to_report_json(sample_run()));
  doc["schema_version"] = kReportSchemaVersion + 1;
  EXPECT_THROW((void)parse_report_json(doc.dump(), "new.json"), runtime::ConfigError);
  doc = nlohmann::json::parse(to_report_json(sample_run()));
  doc["scenarios"][0]["outcomes"]["posted"] = -3;
  EXPECT_THROW((void)parse_report_json(doc.dump(), "neg.json"), runtime::ConfigError);
  EXPECT_THROW((void)parse_report_json("{\"schema\": ", "cut.json"), runtime::ConfigError);
  EXPECT_THROW((void)read_report_json("/nonexistent/report.json"), runtime::ConfigError);
}

// Found by fuzz/report_fuzzer.cpp (fuzz/corpus/report/regression-number-overflow.json):
// a number too large for a double escaped the reader as nlohmann's
// out_of_range instead of a ConfigError naming the file and its place.
TEST(JsonReport, ANumberTooLargeForADoubleIsRefusedWithItsPlace) {
  std::string text = to_report_json(sample_run());
  const std::string member = "\"seed\": ";
  const auto at = text.find(member) + member.size();
  text.replace(at, text.find(',', at) - at, "1100e411");
  try {
    (void)parse_report_json(text, "runs/a/report.json");
    FAIL() << "a number beyond a double was accepted";
  } catch (const runtime::ConfigError& e) {
    EXPECT_EQ(e.file(), "runs/a/report.json");
    EXPECT_EQ(e.path().substr(0, 5), "line ") << e.what();
  }
}

}  // namespace
}  // namespace faultline::reports
