// Scenario files: a good file reads back every field, and every kind of bad
// file is refused with a message naming the file, the JSON path and what was
// expected (never a crash).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <functional>

#include "harness/scenario.h"
#include "runtime/json_config.h"
#include "tests/support/source_dir.h"

namespace faultline::harness {
namespace {

using namespace std::chrono_literals;

const char* kGood = R"({
  "name": "ocr-delay",
  "description": "a 30-second delay",
  "seed": 7,
  "duration": "20m",
  "drain": "5m",
  "workload": {"rate_per_hour": 600, "scan_quality": {"good": 0.7, "fair": 0.2, "poor": 0.1},
               "corrupted_share": 0.01, "unmatched_po_share": 0.1},
  "policy": "policies/recommended.json",
  "models": {"ocr_engine": {"latency_median": "2s"}},
  "faults": [
    {"kind": "latency", "target": "ocr_engine", "start": "5m", "duration": "5m", "delay": "30s"},
    {"kind": "error", "target": "po_database", "start": "1m", "duration": "2m", "probability": 0.5, "class": "rate_limited"},
    {"kind": "crash", "target": "accounting", "start": "3m", "duration": "5m"},
    {"kind": "corrupted_input", "target": "workload", "start": "0", "duration": "10m", "modes": ["markup", "injection"]}
  ],
  "expect": {"invariants": ["conservation", "exactly_once"], "success_rate_min": 0.9,
             "recovery_time_max": "3m", "slo": {"dlq_max": 5}}
})";

std::string error_of(std::string_view text) {
  try {
    (void)parse_scenario(runtime::parse_json_text(text, "s.json"), "dir/s.json");
  } catch (const runtime::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// Replaces the first occurrence of `from` in the good file.
std::string good_with(std::string_view from, std::string_view to) {
  std::string text = kGood;
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  text.replace(pos, from.size(), to);
  return text;
}

// `agents` (live mode): a role played by a command of the user's, or by
// several processes; the orchestrator is the system's own.
TEST(Scenario, AgentsNameARoleACommandAndReplicas) {
  const auto agents = [](std::string_view json) {
    return good_with("\"policy\": \"policies/recommended.json\",",
                     "\"policy\": \"policies/recommended.json\", \"agents\": " + std::string(json) + ",");
  };
  const auto s = parse_scenario(
      runtime::parse_json_text(agents(R"({"validation": {"command": ["python3", "v.py"], "replicas": 2},
                                          "ocr": {"replicas": 3}})"),
                               "s.json"),
      "dir/s.json");
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.agents.at("validation").command, (std::vector<std::string>{"python3", "v.py"}));
  EXPECT_EQ(s.agents.at("validation").replicas, 2u);
  EXPECT_TRUE(s.agents.at("ocr").command.empty());
  EXPECT_EQ(s.agents.at("ocr").replicas, 3u);
  EXPECT_TRUE(parse_scenario(runtime::parse_json_text(kGood, "s.json"), "dir/s.json").agents.empty());

  const auto orchestrator = error_of(agents(R"({"orchestrator": {"command": ["x"]}})"));
  EXPECT_NE(orchestrator.find("$.agents.orchestrator"), std::string::npos) << orchestrator;
  EXPECT_NE(orchestrator.find("cannot be replaced"), std::string::npos) << orchestrator;
  const auto empty = error_of(agents(R"({"validation": {"command": []}})"));
  EXPECT_NE(empty.find("$.agents.validation.command"), std::string::npos) << empty;
  const auto blank = error_of(agents(R"({"validation": {"command": ["python3", ""]}})"));
  EXPECT_NE(blank.find("$.agents.validation.command[1]"), std::string::npos) << blank;
  const auto many = error_of(agents(R"({"validation": {"replicas": 17}})"));
  EXPECT_NE(many.find("$.agents.validation.replicas"), std::string::npos) << many;
  const auto unknown = error_of(agents(R"({"validation": {"cmd": ["x"]}})"));
  EXPECT_NE(unknown.find("cmd"), std::string::npos) << unknown;
  const auto shape = error_of(agents(R"(["validation"])"));
  EXPECT_NE(shape.find("$.agents"), std::string::npos) << shape;
}

TEST(Scenario, AFaultDrawsFromTheStreamItNamesOrItsPosition) {
  const auto s = parse_scenario(runtime::parse_json_text(good_with("\"class\": \"rate_limited\"}",
                                                                   "\"class\": \"rate_limited\", \"stream\": 7}"),
                                                         "s.json"),
                                "dir/s.json");
  EXPECT_EQ(s.faults[0].label, "fault/0/latency");
  EXPECT_EQ(s.faults[1].stream, 7u);
  EXPECT_EQ(s.faults[1].label, "fault/7/error");
  // Two faults of one kind on one stream would draw the same numbers under one event source.
  const auto twice = error_of(good_with("\"kind\": \"crash\", ", "\"kind\": \"crash\", \"stream\": 3, "));
  EXPECT_EQ(twice, "no error") << "a crash on stream 3 and a corrupted_input at position 3 differ in kind";
  const auto clash = error_of(good_with("\"kind\": \"latency\", ", "\"kind\": \"latency\", \"stream\": 1, "));
  EXPECT_EQ(clash, "no error") << "latency on stream 1 and an error at position 1 differ in kind";
  const auto same = error_of(good_with("\"class\": \"rate_limited\"}", "\"class\": \"rate_limited\"}, "
                                       "{\"kind\": \"error\", \"target\": \"ledger\", \"start\": \"1m\", "
                                       "\"duration\": \"1m\", \"stream\": 1}"));
  EXPECT_NE(same.find("$.faults[2]"), std::string::npos) << same;
  EXPECT_NE(same.find("fault/1/error"), std::string::npos) << same;
}

// A crash of redis or postgres is a valid scenario (live mode plays it);
// the simulator refuses it naming the fault's target.
TEST(Scenario, AServerCrashIsReadButRefusedByTheSimulator) {
  const auto s = parse_scenario(runtime::parse_json_text(good_with("\"target\": \"accounting\"", "\"target\": \"redis\""),
                                                         "s.json"),
                                "dir/s.json");
  EXPECT_EQ(s.faults[2].target, "redis");
  std::string refused;
  try {
    check_sim_scenario(s);
  } catch (const runtime::ConfigError& e) {
    refused = e.what();
  }
  EXPECT_NE(refused.find("dir/s.json: $.faults[2].target: "), std::string::npos) << refused;
  EXPECT_NE(refused.find("live-only target"), std::string::npos) << refused;
  const auto good = parse_scenario(runtime::parse_json_text(kGood, "s.json"), "dir/s.json");
  EXPECT_NO_THROW(check_sim_scenario(good));
  // A server is no target for other kinds.
  const auto latency = error_of(good_with("\"target\": \"ocr_engine\"", "\"target\": \"postgres\""));
  EXPECT_NE(latency.find("$.faults[0].target: expected a target for a latency fault"), std::string::npos) << latency;
}

// A network fault is a valid scenario (live mode plays it through a TCP
// fault proxy); the simulator refuses it naming the fault's kind.
TEST(Scenario, ANetworkFaultIsReadButRefusedByTheSimulator) {
  const auto s = parse_scenario(
      runtime::parse_json_text(good_with("{\"kind\": \"crash\", \"target\": \"accounting\"",
                                         "{\"kind\": \"network\", \"target\": \"validation\", \"to\": "
                                         "\"redis\", \"mode\": \"black_hole\""),
                               "s.json"),
      "dir/s.json");
  EXPECT_EQ(s.faults[2].kind, faults::FaultKind::network);
  EXPECT_EQ(s.faults[2].label, "fault/2/network");
  std::string refused;
  try {
    check_sim_scenario(s);
  } catch (const runtime::ConfigError& e) {
    refused = e.what();
  }
  EXPECT_NE(refused.find("dir/s.json: $.faults[2].kind: "), std::string::npos) << refused;
  EXPECT_NE(refused.find("a live-only fault kind"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--mode live"), std::string::npos) << refused;
}

TEST(Scenario, ReadsEveryField) {
  const auto s = parse_scenario(runtime::parse_json_text(kGood, "s.json"), "dir/s.json");
  EXPECT_EQ(s.name, "ocr-delay");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.duration, 20min);
  EXPECT_EQ(s.drain, 5min);
  EXPECT_DOUBLE_EQ(s.workload.rate_per_hour, 600);
  EXPECT_DOUBLE_EQ(s.workload.quality_poor, 0.1);
  EXPECT_DOUBLE_EQ(s.workload.unmatched_po_share.value_or(0), 0.1);
  EXPECT_EQ(s.policy_file, "dir/policies/recommended.json");
  EXPECT_EQ(s.model_overrides["ocr_engine"]["latency_median"], "2s");
  ASSERT_EQ(s.faults.size(), 4u);
  EXPECT_EQ(s.faults[0].kind, faults::FaultKind::latency);
  EXPECT_EQ(s.faults[0].delay, 30s);
  EXPECT_EQ(s.faults[0].start, 5min);
  EXPECT_EQ(s.faults[0].label, "fault/0/latency");
  EXPECT_EQ(s.faults[1].error_class, resilience::ErrorClass::rate_limited);
  EXPECT_DOUBLE_EQ(s.faults[1].probability, 0.5);
  EXPECT_EQ(s.faults[2].kind, faults::FaultKind::crash);
  ASSERT_EQ(s.faults[3].corruptions.size(), 2u);
  EXPECT_EQ(s.faults[3].corruptions[1], faults::Corruption::injection);
  EXPECT_EQ(s.expect.invariants.size(), 2u);
  EXPECT_DOUBLE_EQ(s.expect.success_rate_min, 0.9);
  EXPECT_EQ(s.expect.recovery_time_max, 3min);
  EXPECT_EQ(s.expect.slo.dlq_max, 5u);
  EXPECT_EQ(without_faults(s).faults.size(), 0u);
}

std::string with_member(const std::string& key, nlohmann::json value) {
  auto doc = nlohmann::json::parse(kGood);
  doc[key] = std::move(value);
  return doc.dump();
}

struct BadCase {
  const char* what;
  std::string text;
  const char* expected;  // a substring of the message
};

// Derived seeds (--seeds K) use the whole 64-bit range, and a failing one
// is kept as a scenario file (scenarios/regressions/): the file must hold it.
TEST(Scenario, ASeedTakesTheWhole64BitRangeAndNothingPastIt) {
  auto seed_of = [](std::string_view text) {
    return parse_scenario(runtime::parse_json_text(good_with("\"seed\": 7", text), "s.json"), "dir/s.json").seed;
  };
  EXPECT_EQ(seed_of("\"seed\": 18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(seed_of("\"seed\": 12613777512389636667"), 12613777512389636667u);
  EXPECT_EQ(seed_of("\"seed\": 0"), 0u);
  for (const char* bad : {"\"seed\": -1", "\"seed\": 18446744073709551616", "\"seed\": 1.5"}) {
    try {
      (void)seed_of(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const runtime::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("$.seed: expected an integer"), std::string::npos) << e.what();
    }
  }
}

TEST(Scenario, EveryKindOfBadFileNamesFileAndPath) {
  const std::vector<BadCase> cases = {
      {"syntax error", "{\n  \"name\": \"x\",\n  \"seed\": ]\n}", "s.json: line 3, column 11: invalid JSON"},
      {"unknown top-level key", good_with("\"seed\": 7", "\"sede\": 7"), "dir/s.json: $.sede: unknown field \"sede\""},
      {"wrong type", good_with("\"seed\": 7", "\"seed\": \"seven\""), "dir/s.json: $.seed: expected an integer"},
      {"negative duration", good_with("\"drain\": \"5m\"", "\"drain\": \"-5m\""),
       "dir/s.json: $.drain: expected a non-negative duration"},
      {"unparseable duration", good_with("\"duration\": \"20m\"", "\"duration\": \"twenty\""),
       "dir/s.json: $.duration: expected a non-negative duration"},
      {"unknown fault kind", good_with("\"kind\": \"latency\"", "\"kind\": \"slowness\""),
       "dir/s.json: $.faults[0].kind: expected a fault kind"},
      {"unknown target", good_with("\"target\": \"ocr_engine\"", "\"target\": \"ocr_engin\""),
       "dir/s.json: $.faults[0].target: expected a target for a latency fault (one of ocr_engine"},
      {"target of the wrong family", good_with("\"target\": \"accounting\"", "\"target\": \"ledger\""),
       "$.faults[2].target: expected a target for a crash fault (one of ocr, validation, matching, accounting, orchestrator)"},
      {"unknown fault key", good_with("\"delay\": \"30s\"", "\"delay\": \"30s\", \"dealy\": 1"),
       "$.faults[0].dealy: unknown field \"dealy\""},
      {"missing fault parameter", good_with(", \"delay\": \"30s\"", ""), "$.faults[0]: missing required field \"delay\""},
      {"probability out of range", good_with("\"probability\": 0.5", "\"probability\": 1.5"),
       "$.faults[1].probability: expected a number from 0 to 1"},
      {"unknown error class", good_with("\"class\": \"rate_limited\"", "\"class\": \"flaky\""),
       "$.faults[1].class: expected one of"},
      {"unknown corruption mode", good_with("\"injection\"", "\"sql\""), "$.faults[3].modes[1]: expected a corruption mode"},
      {"fault after the end", good_with("\"start\": \"5m\"", "\"start\": \"25m\""),
       "$.faults[0].start: expected a start inside the scenario's duration (20m)"},
      {"fault window past the end", good_with("\"start\": \"3m\", \"duration\": \"5m\"", "\"start\": \"18m\", \"duration\": \"5m\""),
       "dir/s.json: $.faults[2]: the fault's window ends at 23m, after the scenario's duration (20m)"},
      {"zero fault duration", good_with("\"duration\": \"5m\", \"delay\"", "\"duration\": \"0\", \"delay\""),
       "$.faults[0].duration: expected a positive duration"},
      {"mix that does not sum to one", good_with("\"poor\": 0.1", "\"poor\": 0.3"),
       "$.workload.scan_quality: expected shares that sum to 1"},
      {"unknown service model", good_with("\"models\": {\"ocr_engine\"", "\"models\": {\"ocr\""),
       "$.models.ocr: unknown service \"ocr\""},
      {"unknown invariant", good_with("\"exactly_once\"", "\"exactly_twice\""),
       "$.expect.invariants[1]: expected an invariant id"},
      {"missing workload", good_with("\"workload\"", "\"workloads\""), "unknown field \"workloads\""},
      {"faults not an array", with_member("faults", "none"), "dir/s.json: $.faults: expected an array"},
      {"fault not an object", with_member("faults", nlohmann::json::array({1})),
       "dir/s.json: $.faults[0]: expected an object describing one fault"},
      {"policy of the wrong type", with_member("policy", 3), "dir/s.json: $.policy: expected a string"},
      {"not an object", "[1, 2]", "dir/s.json: $: expected a scenario object"},
  };
  for (const auto& c : cases) {
    const auto msg = error_of(c.text);
    EXPECT_NE(msg, "no error") << c.what;
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.what << ": " << msg;
  }
}

TEST(Scenario, MissingFileAndFolderExpansion) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "faultline-scenario-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  { std::ofstream(dir / "b.json") << kGood; }
  { std::ofstream(dir / "a.json") << kGood; }
  { std::ofstream(dir / "scenario.schema.json") << "{}"; }
  { std::ofstream(dir / "notes.md") << "x"; }
  const auto paths = expand_scenario_paths({dir.string()});
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(fs::path(paths[0]).filename(), "a.json");
  const auto s = load_scenario(paths[0]);
  EXPECT_EQ(s.digest.size(), 16u);
  EXPECT_THROW((void)expand_scenario_paths({(dir / "nope.json").string()}), runtime::ConfigError);
  EXPECT_THROW((void)load_scenario((dir / "nope.json").string()), runtime::ConfigError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faultline::harness

namespace faultline::harness {
namespace {

std::string source_root() { return test_support::source_dir().string(); }

TEST(Scenario, EverySuiteFileReadsAndItsFaultsAreScheduledInsideIt) {
  const auto files = expand_scenario_paths({source_root() + "/scenarios"});
  EXPECT_GE(files.size(), 9u);
  for (const auto& f : files) {
    const auto s = load_scenario(f);
    EXPECT_FALSE(s.description.empty()) << f;
    EXPECT_TRUE(std::filesystem::exists(s.policy_file)) << f;
    for (const auto& fault : s.faults) EXPECT_LT(fault.start, s.duration) << f;
  }
}

TEST(Scenario, TheSchemaNamesEveryFaultKindTargetAndCorruptionTheParserKnows) {
  const auto schema = runtime::load_json_file(source_root() + "/scenarios/scenario.schema.json");
  const std::string text = schema.dump();
  for (std::size_t i = 0; i < faults::kFaultKindCount; ++i) {
    const auto name = "\"" + std::string(faults::to_string(static_cast<faults::FaultKind>(i))) + "\"";
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
  for (std::size_t i = 0; i < faults::kCorruptionCount; ++i) {
    const auto name = "\"" + std::string(faults::to_string(static_cast<faults::Corruption>(i))) + "\"";
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
  for (const auto& t : faults::known_targets()) {
    EXPECT_NE(text.find("\"" + std::string(t.name) + "\""), std::string::npos) << t.name;
  }
  for (const auto& id : invariant_ids()) EXPECT_NE(text.find("\"" + id + "\""), std::string::npos) << id;
}

}  // namespace
}  // namespace faultline::harness

namespace faultline::harness {
namespace {

TEST(Scenario, SuiteFilesPassTheJsonSchema) {
  if (std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-jsonschema is not installed";
  }
  const auto root = source_root();
  std::string cmd = "python3 " + root + "/tests/harness/check_scenario_schema.py " + root +
                    "/scenarios/scenario.schema.json";
  // tests/cli/scenarios: the examples the CLI tests run (a live-only network fault among them).
  for (const auto& f :
       expand_scenario_paths({root + "/scenarios", root + "/scenarios/regressions", root + "/tests/cli/scenarios"})) {
    cmd += " " + f;
  }
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace faultline::harness

namespace faultline::harness {
namespace {

// A pause aims at an agent role, like a crash; it may not share time with a
// crash or another pause of the same role (what either would mean is not a
// fault anyone schedules), and is read otherwise.
TEST(Scenario, APauseAimsAtAnAgentAndOverlapsNoCrashOrPauseOfItsRole) {
  const std::string pause_ocr = R"({"kind": "pause", "target": "ocr", "start": "4m", "duration": "2m"})";
  const auto with = [&](const std::string& fault) {
    return good_with(R"({"kind": "crash", "target": "accounting", "start": "3m", "duration": "5m"})",
                     R"({"kind": "crash", "target": "accounting", "start": "3m", "duration": "5m"}, )" + fault);
  };
  const auto s = parse_scenario(runtime::parse_json_text(with(pause_ocr), "s.json"), "dir/s.json");
  ASSERT_EQ(s.faults.size(), 5u);
  EXPECT_EQ(s.faults[3].kind, faults::FaultKind::pause);
  EXPECT_EQ(s.faults[3].target, "ocr");
  EXPECT_EQ(s.faults[3].label, "fault/3/pause");
  EXPECT_EQ(faults::to_json(s.faults[3])["kind"], "pause");

  EXPECT_NE(error_of(with(R"({"kind": "pause", "target": "ledger", "start": "4m", "duration": "2m"})"))
                .find("dir/s.json: $.faults[3].target: expected a target for a pause fault (one of ocr, validation, "
                      "matching, accounting, orchestrator)"),
            std::string::npos);
  // A server is a live-only target of a crash, not of a pause.
  EXPECT_NE(error_of(with(R"({"kind": "pause", "target": "redis", "start": "4m", "duration": "2m"})"))
                .find("$.faults[3].target: expected a target for a pause fault"),
            std::string::npos);
  const auto over_crash =
      error_of(with(R"({"kind": "pause", "target": "accounting", "start": "7m", "duration": "2m"})"));
  EXPECT_NE(over_crash.find("dir/s.json: $.faults[3]: the pause of 'accounting' overlaps the crash of 'accounting' "
                            "($.faults[2])"),
            std::string::npos)
      << over_crash;
  const auto over_pause = error_of(with(pause_ocr + ", " + R"({"kind": "pause", "target": "ocr", "start": "5m", )" +
                                        R"("duration": "1m", "stream": 9})"));
  EXPECT_NE(over_pause.find("$.faults[4]: the pause of 'ocr' overlaps the pause of 'ocr' ($.faults[3])"),
            std::string::npos)
      << over_pause;
  // Back to back is no overlap; another role's crash is none either.
  EXPECT_EQ(error_of(with(R"({"kind": "pause", "target": "accounting", "start": "8m", "duration": "2m"})")),
            "no error");
  EXPECT_EQ(error_of(with(R"({"kind": "pause", "target": "matching", "start": "3m", "duration": "5m"})")),
            "no error");
}

}  // namespace
}  // namespace faultline::harness
