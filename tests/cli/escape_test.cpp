// The library pieces the command line prints with: reports/escape.h's
// printable() and shell_quote(), verdict labels and counts, run-directory
// names.
#include <gtest/gtest.h>

#include <filesystem>

#include "reports/escape.h"
#include "reports/result.h"
#include "reports/run_directory.h"
#include "tests/cli/process.h"

namespace faultline::reports {
namespace {

TEST(Printable, EscapesControlsAndBytesThatAreNotUtf8AndKeepsTheRest) {
  EXPECT_EQ(printable("plain name-1"), "plain name-1");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // é €
  EXPECT_EQ(printable("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(printable(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(printable("one\ntwo\r\tthree"), "one\\ntwo\\r\\tthree");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("caf\xe9"), "caf\\xe9");                  // Latin-1
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");        // C1 CSI
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");       // a surrogate
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
}

TEST(ShellQuote, QuotesWhatAShellWouldInterpret) {
  EXPECT_EQ(shell_quote("scenarios/ocr-delay-30s.json"), "scenarios/ocr-delay-30s.json");
  EXPECT_EQ(shell_quote("./a b;touch PWNED;x.json"), "'./a b;touch PWNED;x.json'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
}

TEST(VerdictCounts, CountEachVerdictByName) {
  RunResult run;
  for (auto v : {Verdict::kPass, Verdict::kPass, Verdict::kFail, Verdict::kInconclusive, Verdict::kAborted,
                 Verdict::kError}) {
    run.scenarios.emplace_back().verdict = v;
  }
  const auto c = count_verdicts(run);
  EXPECT_EQ(c.passed, 2u);
  EXPECT_EQ(c.failed, 1u);
  EXPECT_EQ(c.inconclusive, 1u);
  EXPECT_EQ(c.aborted, 1u);
  EXPECT_EQ(c.errors, 1u);
  EXPECT_EQ(c.total(), 6u);
  EXPECT_EQ(label(Verdict::kInconclusive), "INCONCLUSIVE");
  EXPECT_EQ(label(Verdict::kFail), "FAIL");
}

TEST(RunDirectory, NamesFromTheGivenTimeAndNeverReusesAFolder) {
  EXPECT_EQ(run_directory_name(0), "19700101T000000Z");
  EXPECT_EQ(run_directory_name(1'700'000'000), "20231114T221320Z");
  const auto out = cli_testing::fresh_dir("faultline-run-dir-name");
  EXPECT_EQ(new_run_directory(out, "20261127T210000Z"), out / "20261127T210000Z");
  std::filesystem::create_directory(out / "20261127T210000Z");
  std::filesystem::create_directory(out / "20261127T210000Z-2");
  EXPECT_EQ(new_run_directory(out, "20261127T210000Z"), out / "20261127T210000Z-3");
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace faultline::reports
