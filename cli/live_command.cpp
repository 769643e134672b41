// `faultline live`: talks to a live deployment (faultline-agent processes on
// Redis and PostgreSQL).
//
//   faultline live submit --redis URL --postgres URL --invoices N [--seed S] [--world FILE]
//       generates N invoices from the world's workload, stores their
//       purchase orders and appends them to the intake stream; prints the ids.
//   faultline live status --postgres URL [--json]
//       counts what each terminal store holds (ledger, dead-letter queue,
//       manual review, rejections) and the invoices found in more than one.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "reference_system/live/live_services.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/redis_connection.h"
#include "runtime/live_runtime.h"
#include "world/live/live_role.h"
#include "world/world_model.h"

namespace {

using namespace faultline;
namespace live = reference_system::live;

struct LiveOptions {
  std::string redis;
  std::string postgres;
  std::string schema = "faultline";
  std::string prefix = "faultline:";
  std::string invoices;
  std::string seed = "1";
  std::string world;
  std::string dead_letter_name = "invoices";
  bool json = false;
};

int run_submit(const LiveOptions& o) {
  if (!o.redis.starts_with("redis://") || !live::parse_redis_url(o.redis).ok()) {
    return cli::refuse("live submit", "--redis", "a URL redis://host[:port][/db]", o.redis);
  }
  if (!o.postgres.starts_with("postgresql://") && !o.postgres.starts_with("postgres://")) {
    return cli::refuse("live submit", "--postgres", "a URL postgresql://user@host[:port]/database", o.postgres);
  }
  const auto count = cli::parse_u64(o.invoices);
  if (!count || *count == 0 || *count > 10'000'000) return cli::refuse("live submit", "--invoices", "1 to 10000000", o.invoices);
  const auto seed = cli::parse_u64(o.seed);
  if (!seed) return cli::refuse("live submit", "--seed", "an integer 0 to 2^64-1", o.seed);
  world::live::SubmitOptions options;
  options.redis_url = o.redis;
  options.postgres_url = o.postgres;
  options.schema = o.schema;
  options.prefix = o.prefix;
  options.world = o.world.empty() ? world::default_world_model() : world::load_world_model(o.world);
  options.invoices = *count;
  options.seed = *seed;
  runtime::LiveRuntime rt(*seed);
  std::optional<resilience::Outcome<world::live::Submitted>> result;
  rt.spawn([](runtime::LiveRuntime& rt, world::live::SubmitOptions options,
              std::optional<resilience::Outcome<world::live::Submitted>>& result) -> runtime::Task<void> {
    result.emplace(co_await world::live::submit_invoices(rt, std::move(options)));
    rt.stop();
  }(rt, std::move(options), result));
  rt.run();
  if (!result || !*result) {
    fmt::print(stderr, "faultline live submit: {}\n", result ? result->failure().message : "did not finish");
    return cli::kInputError;
  }
  const auto& s = result->value();
  fmt::print("submitted {} invoices, ids {}..{}, {} purchase orders\n", s.count, s.first_id, s.first_id + s.count - 1,
             s.purchase_orders);
  return cli::kPass;
}

std::vector<std::uint64_t> in_two(const live::DeploymentStatus& s) {
  std::vector<std::uint64_t> all;
  for (const auto* v : {&s.posted, &s.dead_lettered, &s.manual_review, &s.rejected}) all.insert(all.end(), v->begin(), v->end());
  std::sort(all.begin(), all.end());
  std::vector<std::uint64_t> twice;
  for (std::size_t i = 1; i < all.size(); ++i) {
    if (all[i] == all[i - 1] && (twice.empty() || twice.back() != all[i])) twice.push_back(all[i]);
  }
  return twice;
}

int run_status(const LiveOptions& o) {
  if (!o.postgres.starts_with("postgresql://") && !o.postgres.starts_with("postgres://")) {
    return cli::refuse("live status", "--postgres", "a URL postgresql://user@host[:port]/database", o.postgres);
  }
  runtime::LiveRuntime rt(1);
  std::optional<resilience::Outcome<live::DeploymentStatus>> result;
  live::PgConnection pg(rt, o.postgres);
  rt.spawn([](runtime::LiveRuntime& rt, live::PgConnection& pg, const LiveOptions& o,
              std::optional<resilience::Outcome<live::DeploymentStatus>>& result) -> runtime::Task<void> {
    result.emplace(co_await live::read_status(pg, o.schema, o.dead_letter_name));
    rt.stop();
  }(rt, pg, o, result));
  rt.run();
  if (!result || !*result) {
    fmt::print(stderr, "faultline live status: {}\n", result ? result->failure().message : "did not finish");
    return cli::kInputError;
  }
  const auto& s = result->value();
  const auto twice = in_two(s);
  const std::uint64_t terminal = s.posted.size() + s.dead_lettered.size() + s.manual_review.size() + s.rejected.size();
  if (o.json) {
    fmt::print("{{\"posted\": {}, \"dead_lettered\": {}, \"manual_review\": {}, \"rejected\": {}, \"terminal\": {}, "
               "\"in_two_stores\": {}, \"ledger_rows\": {}, \"reversed_rows\": {}, \"notifications\": {}, "
               "\"notified_invoices\": {}, \"purchase_orders\": {}}}\n",
               s.posted.size(), s.dead_lettered.size(), s.manual_review.size(), s.rejected.size(), terminal, twice.size(),
               s.ledger_rows, s.reversed_rows, s.notifications, s.notified_invoices, s.purchase_orders);
  } else {
    fmt::print("posted (ledger)      {}\n", s.posted.size());
    fmt::print("dead-lettered        {}\n", s.dead_lettered.size());
    fmt::print("manual review        {}\n", s.manual_review.size());
    fmt::print("rejected             {}\n", s.rejected.size());
    fmt::print("terminal             {}\n", terminal);
    fmt::print("in two stores        {}\n", twice.size());
    fmt::print("ledger rows (live)   {}  reversed {}\n", s.ledger_rows, s.reversed_rows);
    fmt::print("notifications        {}  invoices {}\n", s.notifications, s.notified_invoices);
  }
  return cli::kPass;
}

faultline::cli::Command live_command{"live", [](CLI::App& app) -> faultline::cli::Command::Action {
  auto opts = std::make_shared<LiveOptions>();
  auto* live_app = app.add_subcommand("live", "Submit to and read the stores of a live deployment (faultline-agent)");
  live_app->require_subcommand(1);
  auto* submit = live_app->add_subcommand("submit", "Append N generated invoices to the intake stream");
  submit->add_option("--redis", opts->redis, "Redis URL")->required();
  submit->add_option("--postgres", opts->postgres, "PostgreSQL URL")->required();
  submit->add_option("--invoices", opts->invoices, "how many")->required();
  submit->add_option("--seed", opts->seed, "workload seed (default 1)");
  submit->add_option("--world", opts->world, "world model whose workload generates them (default: baseline)");
  submit->add_option("--schema", opts->schema, "PostgreSQL schema (default faultline)");
  submit->add_option("--prefix", opts->prefix, "Redis key prefix (default faultline:)");
  auto* status = live_app->add_subcommand("status", "Count the invoices in each terminal store");
  status->add_option("--postgres", opts->postgres, "PostgreSQL URL")->required();
  status->add_option("--schema", opts->schema, "PostgreSQL schema (default faultline)");
  status->add_option("--dead-letter-name", opts->dead_letter_name, "the policy's dead_letter.name (default invoices)");
  status->add_flag("--json", opts->json, "one JSON object");
  return [opts, submit, status] {
    if (submit->parsed()) return run_submit(*opts);
    if (status->parsed()) return run_status(*opts);
    return static_cast<int>(cli::kInputError);
  };
}};

}  // namespace
