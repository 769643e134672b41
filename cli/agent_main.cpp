// faultline-agent: one process of a live deployment, running one role (an
// agent's workers or the orchestrator) on the live runtime against Redis and
// PostgreSQL (world/live/live_role.h).
//
//   faultline-agent --role accounting --redis redis://127.0.0.1:6379
//       --postgres postgresql://faultline@127.0.0.1:5432/faultline
//       --policy scenarios/policies/recommended.json --consumer accounting-1
//
// Prints "faultline-agent: <role> <consumer> ready protocol <N>" (N the wire
// protocol version, reference_system/wire.h) once it works. SIGTERM
// or SIGINT stops it: it takes no more work, leaves what it had received and
// not finished pending in Redis for a restarted worker of the same name or
// another worker's claim, and exits 0. Exit 2: bad arguments (each named),
// an unreadable policy or world, or a server it could not use at start.
// --checkpoint-postgres URL: the checkpoint store's (and dead-letter
// queue's) connections go there instead of --postgres (the live mode of
// `faultline run` points it at a fault proxy for checkpoint_outage).
// --faults FILE: {"faults": [...]}, a scenario's faults array (each
// entry as in scenarios/README.md); the process injects the service faults
// aimed at its role's services and the bus faults (duplicate_delivery,
// reordering) on the bus it publishes to (harness/live/live_faults.h); the
// others it ignores. --refuse-when-full (orchestrator): refuse new intake
// entries while full, as the simulated orchestrator refuses submissions.
// --check-args checks the arguments without reading files or connecting
// (for deployment files, docs/deploy/).
// --from-env takes what a harness hands a foreign agent
// (harness/live/agent_contract.h) from the FAULTLINE_* environment variables,
// for each option not given: FAULTLINE_ROLE, _REDIS_URL, _POSTGRES_URL,
// _CONSUMER, _PREFIX, _TIME_SCALE; FAULTLINE_CLAIM_IDLE_MS and
// FAULTLINE_DELIVERY_LIMIT replace the policy's bus settings; a
// FAULTLINE_PROTOCOL_VERSION other than this build's is refused (exit 2).
//   faultline check-agent validation -- faultline-agent --from-env --policy recommended.json
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/metrics_server.h"
#include "faults/fault.h"
#include "harness/live/live_faults.h"
#include "harness/exit_code.h"
#include "reference_system/live/redis_connection.h"
#include "reference_system/wire.h"
#include "runtime/json_config.h"
#include "runtime/live_runtime.h"
#include "world/live/live_role.h"
#include "world/world_model.h"

namespace {

using namespace faultline;
namespace live = world::live;

constexpr std::string_view kCommand = "faultline-agent";

struct AgentArgs {
  std::string role;
  std::string redis;
  std::string postgres;
  std::string checkpoint_postgres;
  std::string policy;
  std::string world;
  std::string faults;
  std::string time_scale = "1";
  std::string consumer;
  std::string metrics_port;
  std::string schema = "faultline";
  std::string prefix = "faultline:";
  std::string connections = "4";
  std::string seed = "1";
  bool refuse_when_full = false;
  bool check_args = false;
  bool from_env = false;
  std::optional<std::uint64_t> claim_idle_ms;    // --from-env: FAULTLINE_CLAIM_IDLE_MS
  std::optional<std::uint64_t> delivery_limit;   // --from-env: FAULTLINE_DELIVERY_LIMIT
};

// --from-env: fills the options not given from FAULTLINE_*; an exit code
// when a variable is refused.
std::optional<int> read_environment(AgentArgs& a) {
  auto take = [](std::string& option, const char* name) {
    const char* value = std::getenv(name);
    if (option.empty() && value != nullptr) option = value;
  };
  take(a.role, "FAULTLINE_ROLE");
  take(a.redis, "FAULTLINE_REDIS_URL");
  take(a.postgres, "FAULTLINE_POSTGRES_URL");
  take(a.consumer, "FAULTLINE_CONSUMER");
  if (const char* prefix = std::getenv("FAULTLINE_PREFIX"); prefix != nullptr) a.prefix = prefix;
  if (const char* scale = std::getenv("FAULTLINE_TIME_SCALE"); scale != nullptr) a.time_scale = scale;
  if (const char* version = std::getenv("FAULTLINE_PROTOCOL_VERSION");
      version != nullptr && cli::parse_u64(version) != reference_system::kWireVersion) {
    fmt::print(stderr, "{}: the harness speaks protocol version {}; this agent speaks version {}\n", kCommand,
               version, reference_system::kWireVersion);
    return cli::kInputError;
  }
  if (const char* idle = std::getenv("FAULTLINE_CLAIM_IDLE_MS"); idle != nullptr) {
    a.claim_idle_ms = cli::parse_u64(idle);
    if (!a.claim_idle_ms || *a.claim_idle_ms == 0) {
      return cli::refuse(kCommand, "FAULTLINE_CLAIM_IDLE_MS", "milliseconds above 0", idle);
    }
  }
  if (const char* limit = std::getenv("FAULTLINE_DELIVERY_LIMIT"); limit != nullptr) {
    a.delivery_limit = cli::parse_u64(limit);
    if (!a.delivery_limit || *a.delivery_limit == 0 || *a.delivery_limit > UINT32_MAX) {
      return cli::refuse(kCommand, "FAULTLINE_DELIVERY_LIMIT", "1 to 2^32-1", limit);
    }
  }
  return std::nullopt;
}

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

bool is_plain(std::string_view name, bool allow_colon) {
  if (name.empty() || name.size() > 63) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                    (allow_colon && (c == ':' || c == '.' || (c >= 'A' && c <= 'Z')));
    if (!ok) return false;
  }
  return true;
}

int refuse(std::string_view option, std::string_view expected, std::string_view value) {
  return cli::refuse(kCommand, option, expected, value);
}

// The checked options; an exit code when one is refused.
struct Checked {
  live::Role role{};
  double time_scale = 1.0;
  std::uint64_t connections = 4;
  std::uint64_t seed = 1;
  std::optional<std::uint16_t> metrics_port;
};

std::optional<int> check(const AgentArgs& a, Checked& out) {
  const auto role = live::role_from(a.role);
  if (!role) return refuse("--role", "ocr|validation|matching|accounting|archive|orchestrator", a.role);
  out.role = *role;
  if (!reference_system::live::parse_redis_url(a.redis).ok() || !a.redis.starts_with("redis://")) {
    return refuse("--redis", "a URL redis://[[user]:password@]host[:port][/db]", a.redis);
  }
  if (!is_postgres_url(a.postgres)) {
    return refuse("--postgres", "a URL postgresql://[user[:password]@]host[:port]/database", a.postgres);
  }
  if (!a.checkpoint_postgres.empty() && !is_postgres_url(a.checkpoint_postgres)) {
    return refuse("--checkpoint-postgres", "a URL postgresql://[user[:password]@]host[:port]/database",
                  a.checkpoint_postgres);
  }
  if (a.policy.empty()) return refuse("--policy", "a policy file", a.policy);
  const auto scale = cli::parse_finite(a.time_scale);
  if (!scale || *scale <= 0.0 || *scale > 1e6) return refuse("--time-scale", "a number above 0, at most 1e6", a.time_scale);
  out.time_scale = *scale;
  if (!a.consumer.empty() && !is_plain(a.consumer, false)) {
    return refuse("--consumer", "1-63 characters of a-z, 0-9, '_' and '-'", a.consumer);
  }
  if (!a.metrics_port.empty()) {
    const auto port = cli::parse_u64(a.metrics_port);
    if (!port || *port == 0 || *port > 65535) return refuse("--metrics-port", "a TCP port, 1-65535", a.metrics_port);
    out.metrics_port = static_cast<std::uint16_t>(*port);
  }
  if (!is_plain(a.schema, false) || a.schema.find('-') != std::string::npos || (a.schema[0] >= '0' && a.schema[0] <= '9')) {
    return refuse("--schema", "a PostgreSQL schema name ([a-z_][a-z0-9_]*)", a.schema);
  }
  if (!is_plain(a.prefix, true)) return refuse("--prefix", "a Redis key prefix (letters, digits, _ - : .)", a.prefix);
  const auto connections = cli::parse_u64(a.connections);
  if (!connections || *connections == 0 || *connections > 64) return refuse("--connections", "1-64", a.connections);
  out.connections = *connections;
  const auto seed = cli::parse_u64(a.seed);
  if (!seed) return refuse("--seed", "an integer 0 to 2^64-1", a.seed);
  out.seed = *seed;
  return std::nullopt;
}

int run(const AgentArgs& a, const Checked& c) {
  live::RoleOptions options;
  options.role = c.role;
  options.redis_url = a.redis;
  options.postgres_url = a.postgres;
  options.checkpoint_postgres_url = a.checkpoint_postgres;
  options.consumer = a.consumer;
  options.schema = a.schema;
  options.prefix = a.prefix;
  options.connections = c.connections;
  std::vector<faults::FaultSpec> fault_specs;
  try {
    options.policy = reference_system::load_policy(a.policy);
    if (a.claim_idle_ms) {
      // Real milliseconds on the wire contract; the policy counts scenario time.
      options.policy.bus.claim_idle = std::chrono::duration_cast<runtime::Duration>(
          std::chrono::duration<double, std::milli>(static_cast<double>(*a.claim_idle_ms) * c.time_scale));
    }
    if (a.delivery_limit) options.policy.bus.delivery_limit = static_cast<std::uint32_t>(*a.delivery_limit);
    options.world = a.world.empty() ? world::default_world_model()
                                    : world::load_world_model(a.world);
    if (!a.faults.empty()) {
      const auto doc = runtime::load_json_file(a.faults);
      const runtime::JsonView root(doc, a.faults);
      const auto entries = root["faults"].elements();
      for (std::size_t i = 0; i < entries.size(); ++i) fault_specs.push_back(faults::parse_fault(entries[i], i));
    }
  } catch (const runtime::ConfigError& e) {
    fmt::print(stderr, "{}: {}\n", kCommand, cli::printable_error(e));
    return cli::kInputError;
  }
  const std::atomic<bool>* stop_requested = cli::stop_on_signals();

  runtime::LiveRuntime rt(c.seed, c.time_scale);
  // The service faults outlive the process whose ports they wrap.
  harness::LiveServiceFaults service_faults(rt, fault_specs);
  options.wrap_ports = [&service_faults](live::RolePorts& ports) { service_faults.wrap(ports); };
  options.wrap_bus = [&service_faults](std::shared_ptr<reference_system::MessageBus>& bus) {
    service_faults.wrap_bus(bus);
  };
  options.refuse_when_full = a.refuse_when_full;
  reference_system::live::RedisConnection fault_redis(rt, options.redis_url);
  const std::string prefix = options.prefix;
  live::RoleProcess process(rt, std::move(options));
  std::unique_ptr<cli::MetricsServer> metrics;
  int exit_code = cli::kPass;
  bool started = false;

  // Starts the role, then watches for a stop signal (every 20 ms of wall time).
  rt.spawn([](runtime::LiveRuntime& rt, live::RoleProcess& process, const std::atomic<bool>* stop_requested,
              int& exit_code, bool& started, harness::LiveServiceFaults& service_faults,
              reference_system::live::RedisConnection& fault_redis, std::string prefix) -> runtime::Task<void> {
    auto outcome = co_await process.start();
    if (!outcome) {
      fmt::print(stderr, "{}: {}: {}\n", kCommand, live::to_string(process.options().role), outcome.failure().message);
      exit_code = cli::kInputError;
      process.stop();
      rt.stop();
      co_return;
    }
    started = true;
    std::optional<runtime::TaskId> watch;
    if (service_faults.wired()) watch = rt.spawn(service_faults.watch(fault_redis, std::move(prefix)));
    fmt::print("{}: {} {} ready protocol {}\n", kCommand, live::to_string(process.options().role),
               process.options().consumer, reference_system::kWireVersion);
    std::fflush(stdout);
    const auto poll = std::chrono::duration_cast<runtime::Duration>(std::chrono::milliseconds(20) * rt.time_scale());
    while (!stop_requested->load()) co_await rt.sleep(poll);
    if (watch) rt.cancel(*watch);
    process.stop();
    rt.stop();
  }(rt, process, stop_requested, exit_code, started, service_faults, fault_redis, prefix));

  if (c.metrics_port) {
    metrics = std::make_unique<cli::MetricsServer>(rt, *c.metrics_port, [&process] {
      return cli::role_metrics_text(process);
    });
    if (!metrics->listening()) {
      fmt::print(stderr, "{}: --metrics-port: cannot listen on port {}: {}\n", kCommand, *c.metrics_port,
                 metrics->error());
      return cli::kInputError;
    }
  }
  rt.run();
  if (started) fmt::print("{}: {} {} stopped\n", kCommand, live::to_string(process.options().role), process.options().consumer);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faultline-agent: one role of the reference system as a live process on Redis and PostgreSQL"};
  AgentArgs a;
  auto* role = app.add_option("--role", a.role, "ocr|validation|matching|accounting|archive|orchestrator");
  auto* redis = app.add_option("--redis", a.redis, "Redis URL: redis://host:port[/db]");
  auto* postgres = app.add_option("--postgres", a.postgres, "PostgreSQL URL: postgresql://user@host:port/database");
  app.add_option("--checkpoint-postgres", a.checkpoint_postgres,
                 "PostgreSQL URL for the checkpoint store's connections only (default: --postgres)");
  auto* policy = app.add_option("--policy", a.policy, "the resilience policy (JSON)");
  app.add_option("--world", a.world, "the world model (JSON) for the simulated services; default: built-in baseline");
  app.add_option("--faults", a.faults,
                 "a scenario's faults (JSON {\"faults\": [...]}): its service and bus faults are injected here");
  app.add_flag("--refuse-when-full", a.refuse_when_full,
               "orchestrator: refuse new intake entries while max_in_flight invoices are held (recorded in the "
               "refusals table), as the simulated orchestrator does, instead of leaving them queued");
  app.add_option("--time-scale", a.time_scale, "scenario seconds per real second (default 1)");
  app.add_option("--consumer", a.consumer, "this worker's consumer name (default <role>-0); distinct per worker");
  app.add_option("--metrics-port", a.metrics_port, "serve Prometheus text on this port (127.0.0.1 and all interfaces)");
  app.add_option("--schema", a.schema, "PostgreSQL schema of the deployment (default faultline)");
  app.add_option("--prefix", a.prefix, "Redis key prefix of the deployment (default faultline:)");
  app.add_option("--connections", a.connections, "PostgreSQL connections (default 4)");
  app.add_option("--seed", a.seed, "seed of the simulated services' random streams (default 1)");
  app.add_flag("--check-args", a.check_args, "check the arguments and exit (0 when accepted)");
  app.add_flag("--from-env", a.from_env,
               "take role, URLs, consumer, prefix, time scale and bus settings from FAULTLINE_* (a harness's)");
  try {
    app.parse(argc, argv);
    // Required, but for what --from-env reads from the environment.
    for (auto* option : {role, redis, postgres, policy}) {
      if (option->count() == 0 && (!a.from_env || option == policy)) throw CLI::RequiredError(option->get_name());
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::kInputError;
  }
  if (a.from_env) {
    if (const auto refused = read_environment(a)) return *refused;
  }
  Checked checked;
  if (const auto refused = check(a, checked)) return *refused;
  if (a.check_args) return cli::kPass;
  try {
    return run(a, checked);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", kCommand, e.what());
    return cli::kInternalError;
  }
}
