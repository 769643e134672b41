// `faultline merge DIR... [--out DIR]`: puts the run directories of the N
// shards of one run (`faultline run ... --shard K/N` on N machines) back
// together into one run directory under DIR, with a `latest` link, as the
// unsharded run would have written it: its report.json is byte for byte
// the unsharded run's, and junit.xml, summary.md, report.html and
// metrics.prom are written from the merged result by the same writers.
//
// Each DIR is a shard's report.json, its run directory, or the --out folder
// it ran with (its `latest`). The exit code is the one the unsharded run
// would have ended with (0 pass, 1 failed, 3 inconclusive, 4 aborted, 5 an
// internal error in a shard), or 2 for input that is not all the shards of
// one run: an unreadable folder, a file that is no faultline report or of a
// newer schema, a report made without --shard, a shard given twice, shards
// of different runs, a shard missing; the message names the files.
//
//   faultline merge shard-1 shard-2 shard-3 --out merged
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <memory>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/verdicts.h"
#include "reports/compare_run.h"
#include "reports/escape.h"
#include "reports/json_report.h"
#include "reports/run_directory.h"
#include "reports/shard.h"

namespace faultline::cli {
namespace {

using reports::printable;

struct MergeCli {
  std::vector<std::string> shards;
  std::string out = "runs";
};

int merge(const MergeCli& cli) {
  std::vector<reports::ShardReport> shards;
  reports::MergedRun merged;
  try {
    for (const auto& dir : cli.shards) {
      const std::string file = reports::report_file(dir).string();
      shards.push_back(reports::ShardReport{file, reports::read_report_json(file)});
    }
    merged = reports::merge_shards(shards);
  } catch (const runtime::ConfigError& e) {
    fmt::print(stderr, "faultline merge: {}\n", printable_error(e));
    return kInputError;
  }
  for (const auto& r : merged.run.scenarios) print_verdict(r);

  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  const auto dir = reports::new_run_directory(cli.out, reports::run_directory_name(now));
  if (const auto status = reports::write_run_directory(merged.run, dir); !status) {
    fmt::print(stderr, "faultline merge: cannot write the run directory: {}\n", printable(status.message));
    return kInputError;
  }
  fmt::print("run directory: {}\n", printable(dir.string()));
  print_counts(merged.run);
  fmt::print("merged {} shard(s) of {} runs\n", shards.size(), merged.run.scenarios.size());
  if (merged.internal_errors > 0) return kInternalError;
  return harness::exit_code_for(reports::overall_verdict(merged.run));
}

Command merge_command{"merge", [](CLI::App& app) {
  auto cli = std::make_shared<MergeCli>();
  auto* sub = app.add_subcommand(
      "merge",
      "Combine the run directories of the N shards of one run (faultline run --shard K/N) into one run directory, "
      "byte for byte the unsharded run's report.json; exit code as the unsharded run's, 2 when the shards are not "
      "all the shards of one run");
  sub->add_option("shards", cli->shards,
                  "Each shard's run directory, its report.json, or the --out folder it ran with (its latest)")
      ->required();
  sub->add_option("--out", cli->out, "Folder for the merged run directory (a new one, plus `latest`)");
  return [cli] { return merge(*cli); };
}};

}  // namespace
}  // namespace faultline::cli
