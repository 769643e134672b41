// The CI examples of docs/ci/ (README.md, "Sharding in CI") are pipelines a
// team copies, so they are held to what they promise: each file is YAML
// (read by PyYAML, python3-yaml), its matrix covers every shard of the
// --shard K/N its jobs run, the faultline commands it runs are accepted by
// `faultline run` and `faultline merge` as written (after the CI system's
// variables are put in), the merge reads the folders the shards write and
// upload, and those very commands, run on a small stand-in suite, merge
// into the unsharded run byte for byte.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"
#include "tests/cli/quick_scenario.h"

namespace faultline::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_yaml(const fs::path& file) {
  Options o;
  o.program = "/usr/bin/python3";
  const auto r = faultline(
      {"-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", file.string()}, o);
  EXPECT_EQ(r.exit_code, 0) << file << " is not YAML PyYAML reads (install the Debian package python3-yaml):\n"
                            << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

// Every shell line the pipeline runs: GitHub's `run:`, GitLab's
// `script:`, `before_script:` and `after_script:`.
void collect_lines(const json& node, std::vector<std::string>& lines) {
  auto add = [&](const std::string& text) {
    std::size_t at = 0;
    for (std::size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
      lines.push_back(text.substr(at, end - at));
    }
    if (at < text.size()) lines.push_back(text.substr(at));
  };
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      const bool shell = key == "run" || key == "script" || key == "before_script" || key == "after_script";
      if (shell && value.is_string()) add(value.get<std::string>());
      if (shell && value.is_array()) {
        for (const auto& line : value) {
          if (line.is_string()) add(line.get<std::string>());
        }
      }
      collect_lines(value, lines);
    }
  } else if (node.is_array()) {
    for (const auto& element : node) collect_lines(element, lines);
  }
}

// The lines that run faultline, as written.
std::vector<std::string> faultline_lines(const json& pipeline) {
  std::vector<std::string> lines;
  collect_lines(pipeline, lines);
  std::vector<std::string> found;
  for (const auto& line : lines) {
    const auto start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, 10, "faultline ") == 0) found.push_back(line.substr(start));
  }
  return found;
}

// The CI system's variables put in; a `$` left over fails the test.
std::string expand(std::string text, const std::map<std::string, std::string>& variables) {
  for (const auto& [pattern, value] : variables) text = std::regex_replace(text, std::regex(pattern), value);
  EXPECT_EQ(text.find('$'), std::string::npos) << "a variable the test does not know: " << text;
  return text;
}

// Shell words: blanks separate them, double and single quotes group.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  EXPECT_EQ(quote, 0) << "unbalanced quote: " << line;
  if (in_word) out.push_back(word);
  return out;
}

// argv without its "faultline" and without `option` and its value.
std::vector<std::string> without(std::vector<std::string> argv, const std::string& option) {
  const auto at = std::find(argv.begin(), argv.end(), option);
  if (at != argv.end()) argv.erase(at, std::min(at + 2, argv.end()));
  return argv;
}
std::string value_of(const std::vector<std::string>& argv, const std::string& option) {
  const auto at = std::find(argv.begin(), argv.end(), option);
  EXPECT_TRUE(at != argv.end() && at + 1 != argv.end()) << option << " missing";
  return at != argv.end() && at + 1 != argv.end() ? *(at + 1) : "";
}

std::vector<std::string> with_list(std::vector<std::string> argv) {
  argv.push_back("--list");
  return argv;
}
std::vector<std::string> with_out(std::vector<std::string> argv, const std::string& out) {
  argv.insert(argv.end(), {"--out", out});
  return argv;
}
std::multiset<std::string> sorted_lines(const std::string& text) {
  std::multiset<std::string> lines;
  std::size_t at = 0;
  for (std::size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    lines.insert(text.substr(at, end - at));
  }
  return lines;
}

// The line that runs `faultline <command>`; exactly one.
std::string line_for(const std::vector<std::string>& lines, const std::string& command) {
  std::vector<std::string> found;
  for (const auto& line : lines) {
    if (line.rfind("faultline " + command + " ", 0) == 0) found.push_back(line);
  }
  EXPECT_EQ(found.size(), 1u) << "lines running faultline " << command;
  return found.empty() ? "" : found.front();
}

// argv as faultline sees it: the words after "faultline".
std::vector<std::string> arguments(const std::string& line) {
  auto argv = words(line);
  EXPECT_FALSE(argv.empty());
  if (!argv.empty()) argv.erase(argv.begin());
  return argv;
}

Result run_in(const fs::path& cwd, const std::vector<std::string>& args) {
  Options o;
  o.cwd = cwd;
  return faultline(args, o);
}

// What a pipeline runs, for each shard K of N: the run command's arguments
// (faultline's own, without the program name), and the merge's.
struct Pipeline {
  std::vector<std::vector<std::string>> shard_runs;  // [K - 1]
  std::vector<std::string> merge;
};

// A pipeline's commands are accepted as written, cover every shard once,
// and merge into the unsharded run.
void expect_sharded_pipeline(const Pipeline& p) {
  const std::size_t n = p.shard_runs.size();
  ASSERT_GE(n, 2u);
  std::vector<std::string> outs;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto& argv = p.shard_runs[k - 1];
    ASSERT_GE(argv.size(), 1u);
    EXPECT_EQ(argv[0], "run");
    EXPECT_EQ(value_of(argv, "--shard"), std::to_string(k) + "/" + std::to_string(n))
        << "the matrix and the N of --shard disagree";
    EXPECT_EQ(without(without(argv, "--shard"), "--out"), without(without(p.shard_runs[0], "--shard"), "--out"))
        << "every shard runs the same command but for its --shard and --out";
    outs.push_back(value_of(argv, "--out"));
  }
  ASSERT_GE(p.merge.size(), 1u);
  EXPECT_EQ(p.merge[0], "merge");
  const auto merge_dirs = std::vector<std::string>(p.merge.begin() + 1, p.merge.end() - 2);
  EXPECT_EQ(p.merge[p.merge.size() - 2], "--out");
  EXPECT_EQ(merge_dirs, outs) << "the merge reads the folders the shards write";

  // As written, against the real suite: accepted, and the shards' runs are
  // the whole set's, each once.
  const fs::path root = source_dir();
  const auto whole = run_in(root, with_list(without(without(p.shard_runs[0], "--shard"), "--out")));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::string together;
  for (const auto& argv : p.shard_runs) {
    const auto r = run_in(root, with_list(argv));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    together += r.out;
  }
  EXPECT_EQ(sorted_lines(together), sorted_lines(whole.out));
  EXPECT_FALSE(whole.out.empty());

  // As written, end to end, on a stand-in for scenarios/ that runs fast.
  const fs::path dir = fresh_dir("faultline-ci-example");
  fs::create_directory(dir / "scenarios");
  write_file(dir / "scenarios" / "a.json", quick_scenario("a"));
  write_file(dir / "scenarios" / "b.json", quick_scenario("b"));
  for (const auto& argv : p.shard_runs) {
    const auto r = run_in(dir, argv);
    EXPECT_NE(r.exit_code, 2) << r.err;
  }
  const auto merged = run_in(dir, p.merge);
  const auto unsharded = run_in(dir, with_out(without(without(p.shard_runs[0], "--shard"), "--out"), "whole"));
  EXPECT_NE(unsharded.exit_code, 2) << unsharded.err;
  // Some seeds of the stand-in submit nothing and are inconclusive: the
  // merge ends as the unsharded run does, whatever that is.
  EXPECT_EQ(merged.exit_code, unsharded.exit_code) << merged.err;
  EXPECT_EQ(read_file(dir / p.merge.back() / "latest" / "report.json"),
            read_file(dir / "whole" / "latest" / "report.json"));
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

const json* step_using(const json& steps, const std::string& action) {
  for (const auto& step : steps) {
    if (step.contains("uses") && step.at("uses").get<std::string>().rfind(action + "@", 0) == 0) return &step;
  }
  ADD_FAILURE() << "no step uses " << action;
  return nullptr;
}

TEST(CiExamples, GitHubActionsMatrixRunsEveryShardUploadsItAndMergesThemAll) {
  const json p = read_yaml(source_dir() / "docs/ci/github-actions.yml");
  ASSERT_TRUE(p.is_object());
  const json& shard_job = p.at("jobs").at("shard");
  const json& merge_job = p.at("jobs").at("merge");
  EXPECT_EQ(shard_job.at("strategy").at("fail-fast"), false) << "a failing shard must not cancel the others";
  EXPECT_EQ(merge_job.at("needs"), "shard");
  EXPECT_EQ(merge_job.at("if"), "${{ !cancelled() }}") << "the merge runs when a shard found failures";

  const auto lines = faultline_lines(p);
  EXPECT_EQ(lines.size(), 2u);
  const std::string run = line_for(lines, "run");
  const json* upload = step_using(shard_job.at("steps"), "actions/upload-artifact");
  const json* download = step_using(merge_job.at("steps"), "actions/download-artifact");
  ASSERT_TRUE(upload != nullptr && download != nullptr);
  const std::string pattern = download->at("with").at("pattern");
  ASSERT_EQ(pattern.back(), '*');

  Pipeline pipeline;
  for (const auto& value : shard_job.at("strategy").at("matrix").at("shard")) {
    const std::map<std::string, std::string> matrix = {{R"(\$\{\{ *matrix\.shard *\}\})", std::to_string(value.get<int>())}};
    pipeline.shard_runs.push_back(arguments(expand(run, matrix)));
    const std::string out = value_of(pipeline.shard_runs.back(), "--out");
    EXPECT_EQ(expand(upload->at("with").at("name"), matrix), out) << "the artifact is named as the shard's folder";
    EXPECT_EQ(expand(upload->at("with").at("path"), matrix), out + "/");
    EXPECT_EQ(out.rfind(pattern.substr(0, pattern.size() - 1), 0), 0u) << "the merge job downloads " << out;
  }
  pipeline.merge = arguments(line_for(lines, "merge"));
  expect_sharded_pipeline(pipeline);
}

TEST(CiExamples, GitLabParallelRunsEveryShardKeepsItAndMergesThemAll) {
  const json p = read_yaml(source_dir() / "docs/ci/gitlab-ci.yml");
  ASSERT_TRUE(p.is_object());
  const json& shard_job = p.at("faultline-shard");
  const json& merge_job = p.at("faultline-merge");
  EXPECT_EQ(merge_job.at("needs"), json::array({"faultline-shard"}));
  EXPECT_EQ(merge_job.at("when"), "always") << "the merge runs when a shard found failures";
  EXPECT_EQ(shard_job.at("artifacts").at("when"), "always");

  const auto lines = faultline_lines(p);
  EXPECT_EQ(lines.size(), 2u);
  const std::string run = line_for(lines, "run");
  const int n = shard_job.at("parallel").get<int>();
  Pipeline pipeline;
  for (int k = 1; k <= n; ++k) {
    // GitLab numbers parallel jobs from 1.
    const std::map<std::string, std::string> node = {{R"(\$\{?CI_NODE_INDEX\}?)", std::to_string(k)},
                                                     {R"(\$\{?CI_NODE_TOTAL\}?)", std::to_string(n)}};
    pipeline.shard_runs.push_back(arguments(expand(run, node)));
    const std::string out = value_of(pipeline.shard_runs.back(), "--out");
    EXPECT_EQ(expand(shard_job.at("artifacts").at("paths").at(0), node), out + "/") << "the job keeps its folder";
  }
  pipeline.merge = arguments(line_for(lines, "merge"));
  expect_sharded_pipeline(pipeline);
}

TEST(CiExamples, TheCheckerFindsACommandTheParserRefuses) {
  // The checks above can fail: a matrix of 3 running --shard K/4 is caught.
  Pipeline pipeline;
  for (int k = 1; k <= 3; ++k) {
    pipeline.shard_runs.push_back(arguments("faultline run scenarios/ --shard " + std::to_string(k) +
                                            "/4 --out shard-" + std::to_string(k)));
  }
  pipeline.merge = arguments("faultline merge shard-1 shard-2 shard-3 --out merged");
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    expect_sharded_pipeline(pipeline);
  }
  ASSERT_GT(failures.size(), 0) << "a matrix of 3 running --shard K/4 passed";
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("disagree"), std::string::npos)
      << failures.GetTestPartResult(0).message();
}

}  // namespace
}  // namespace faultline::cli_testing
