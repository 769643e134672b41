#include <gtest/gtest.h>

#include <functional>

#include "runtime/json_config.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

nlohmann::json doc(std::string_view text) { return parse_json_text(text, "t.json"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonConfig, SyntaxErrorsNameLineAndColumn) {
  const auto msg = error_of([] { (void)doc("{\n  \"a\": 1,\n  \"b\": ]\n}"); });
  EXPECT_NE(msg.find("t.json: line 3, column 8"), std::string::npos) << msg;
}

TEST(JsonConfig, MissingFileIsAClearError) {
  const auto msg = error_of([] { (void)load_json_file("/nonexistent/x.json"); });
  EXPECT_NE(msg.find("/nonexistent/x.json: $: cannot open"), std::string::npos) << msg;
}

TEST(JsonConfig, ReadsTypedValuesWithPaths) {
  const auto j = doc(R"({"faults": [{"duration": "30s", "rate": 0.5}], "name": "x"})");
  JsonView root(j, "t.json");
  auto faults = root["faults"].elements();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].duration("duration"), 30s);
  EXPECT_DOUBLE_EQ(faults[0].number("rate", 0, 1), 0.5);
  EXPECT_EQ(faults[0].path(), "$.faults[0]");
  EXPECT_EQ(root.string_or("missing", "d"), "d");
}

TEST(JsonConfig, BadValuesNameThePathAndTheExpectation) {
  const auto j = doc(R"({"faults": [{"duration": "-5s", "rate": 2, "kind": "boom", "extra": 1}]})");
  JsonView f = JsonView(j, "t.json")["faults"].elements()[0];
  EXPECT_NE(error_of([&] { (void)f.duration("duration"); }).find("t.json: $.faults[0].duration: expected a non-negative duration"),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)f.number("rate", 0, 1); }).find("$.faults[0].rate: expected a number from 0 to 1, got 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)f.choice("kind", {"latency", "hang"}); }).find("expected one of \"latency\", \"hang\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { f.expect_keys({"duration", "rate", "kind"}); }).find("$.faults[0].extra: unknown field \"extra\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)f["target"]; }).find("$.faults[0]: missing required field \"target\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)f["rate"].as_string(); }).find("expected a string, got 2 (number)"), std::string::npos);
}

TEST(JsonConfig, NestingDeeperThanTheBoundIsRefusedBeforeParsing) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW((void)parse_json_text(ok, "ok.json"));
  const std::string deep = "{\"a\": \"[[[\",\n \"b\": " + std::string(70'000, '[') + std::string(70'000, ']') + "}";
  // Brackets inside strings do not count; the first one too deep is named.
  EXPECT_EQ(error_of([&] { (void)parse_json_text(deep, "d.json"); }),
            "d.json: line 2, column " + std::to_string(6 + kMaxJsonDepth) + ": JSON nested deeper than 64 levels");
}

TEST(JsonConfig, ARepeatedKeyIsRefusedWithItsPath) {
  EXPECT_EQ(error_of([&] { (void)parse_json_text(R"({"faults": [{"kind": "a"}, {"kind": "b", "kind": "c"}]})", "t.json"); }),
            "t.json: $.faults[1].kind: duplicate key \"kind\" (each key may appear once in an object)");
  EXPECT_EQ(error_of([&] { (void)parse_json_text(R"({"a": {"x": 1}, "b": [[1, 2], {"y": 1, "y": 2}]})", "t.json"); }),
            "t.json: $.b[1].y: duplicate key \"y\" (each key may appear once in an object)");
  // The same key in two objects is fine.
  EXPECT_NO_THROW((void)parse_json_text(R"({"a": {"k": 1}, "b": {"k": 2}, "k": 3})", "t.json"));
}

TEST(JsonConfig, ANumberOutOfRangeNamesLineAndColumn) {
  EXPECT_NE(error_of([&] { (void)parse_json_text("{\n  \"seed\": 1e400\n}", "t.json"); })
                .find("t.json: line 2, column 11: invalid JSON: number overflow"),
            std::string::npos);
}

TEST(JsonConfig, AContainerIsNamedNotDumpedInAnError) {
  const auto j = doc(R"({"x": {"big": [1, 2, 3]}})");
  EXPECT_NE(error_of([&] { (void)JsonView(j, "t.json")["x"].as_string(); }).find("expected a string, got an object"),
            std::string::npos);
}

// Found by fuzz/duration_fuzzer.cpp (fuzz/corpus/duration/regression-number-overflow):
// a number too large for a double escaped parse_json_text as nlohmann's
// out_of_range, not a ConfigError naming the file and a line and column.
TEST(JsonConfig, NumbersBeyondADoubleAreRefusedWithLineAndColumn) {
  for (const std::string_view text : {std::string_view("999E992]99"), std::string_view("{\n  \"a\": 1e400\n}")}) {
    try {
      (void)doc(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.file(), "t.json");
      EXPECT_EQ(e.path().substr(0, 5), "line ") << e.what();
    }
  }
}

// An unsigned number beyond int64 read as -1, and a double beyond it was
// cast to an integer (undefined behaviour, which UBSan reports). Refused,
// like any value that is not a whole number, with the caller's range: a
// replicas count of 1.5 is told "an integer from 1 to 16", not int64's.
TEST(JsonConfig, IntegersBeyondInt64AreRefusedNotWrapped) {
  const auto j = doc(
      R"({"u": 18446744073709551615, "f": 1e30, "g": -1e30, "h": 9223372036854775808.0, "half": 1.5,
          "text": "3", "ok": -4.0})");
  const JsonView root(j, "t.json");
  for (const char* key : {"u", "f", "g", "h", "half", "text"}) {
    EXPECT_NE(error_of([&] { (void)root.integer(key, -5, 5); })
                  .find(std::string("$.") + key + ": expected an integer from -5 to 5, got "),
              std::string::npos)
        << key << ": " << error_of([&] { (void)root.integer(key, -5, 5); });
  }
  EXPECT_EQ(root.integer("ok", -5, 5), -4);
  EXPECT_NE(error_of([&] { (void)root["u"].as_integer(); })
                .find("$.u: expected an integer from -9223372036854775808 to 9223372036854775807"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::runtime
