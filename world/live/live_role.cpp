// Per-role composition of a live deployment (live_role.h).
#include "world/live/live_role.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include "reference_system/agents.h"
#include "reference_system/live/live_services.h"
#include "reference_system/live/pg_checkpoint_store.h"
#include "reference_system/live/pg_connection.h"
#include "reference_system/live/pg_ledger.h"
#include "reference_system/live/redis_connection.h"
#include "reference_system/live/redis_stream_bus.h"
#include "reference_system/orchestrator.h"
#include "reference_system/wire.h"
#include "runtime/assert.h"
#include "runtime/flat_hash_map.h"
#include "world/live/live_po_database.h"
#include "world/service_models.h"
#include "world/workload.h"

namespace faultline::world::live {

using namespace reference_system;
using namespace reference_system::live;

namespace {

constexpr std::array<std::string_view, 6> kRoleNames = {"ocr",        "validation", "matching",
                                                        "accounting", "archive",    "orchestrator"};

// At most this many intake entries per read.
constexpr std::size_t kIntakeBatch = 64;
// An outcome record or refusal that fails (PostgreSQL down or restarting:
// a crash and its recovery take seconds) is tried again after this backoff
// (real time), doubling up to the cap, for as long as the process runs: its
// intake entry stays pending meanwhile, and a running orchestrator never
// re-reads an entry whose record is being written, so giving up would leave
// the invoice in no terminal store until the orchestrator restarted.
constexpr std::chrono::milliseconds kRecordRetryFirst{100};
constexpr std::chrono::milliseconds kRecordRetryMax{2'000};
// The intake stream is trimmed after this many acks.
constexpr std::uint64_t kTrimEvery = 256;

runtime::Duration scenario(const runtime::LiveRuntime& rt, std::chrono::milliseconds real) {
  return std::chrono::duration_cast<runtime::Duration>(real * rt.time_scale());
}

std::string error_text(const Outcome<RedisReply>& r) {
  return r ? r->text : r.failure().message;
}

// The deployment's shared wire epoch, from Redis's own clock: the first
// process to ask sets it. Deadlines on the wire count scenario nanoseconds
// from it, so every process agrees on them whatever its start time.
Task<Outcome<WireClock>> shared_wire_clock(runtime::LiveRuntime& rt, RedisConnection& redis, const std::string& prefix) {
  auto now = co_await redis.command("TIME");
  if (!now || now->type != RedisReply::Type::array || now->elements.size() != 2) {
    co_return Failure{ErrorClass::transient, "redis: TIME: " + error_text(now)};
  }
  const runtime::Instant local = rt.now();
  const long long now_us = std::stoll(now->elements[0].text) * 1'000'000 + std::stoll(now->elements[1].text);
  auto set = co_await redis.command("SET", prefix + "epoch_us", std::to_string(now_us), "NX");
  if (!set || set->is_error()) co_return Failure{ErrorClass::transient, "redis: SET epoch: " + error_text(set)};
  auto got = co_await redis.command("GET", prefix + "epoch_us");
  if (!got || got->type != RedisReply::Type::string) co_return Failure{ErrorClass::transient, "redis: GET epoch"};
  const long long epoch_us = std::stoll(got->text);
  // Scenario time since the epoch, now; minus this runtime's own reading.
  const double since_epoch_ns = static_cast<double>(now_us - epoch_us) * 1000.0 * rt.time_scale();
  const auto zero_on_wire =
      runtime::Duration(static_cast<runtime::Duration::rep>(since_epoch_ns)) - local.time_since_epoch();
  co_return WireClock(zero_on_wire);
}

AgentId agent_of(Role role) {
  FAULTLINE_ASSERT(role != Role::orchestrator);
  return static_cast<AgentId>(static_cast<std::uint8_t>(role));
}

}  // namespace

std::optional<Role> role_from(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view to_string(Role role) noexcept { return kRoleNames[static_cast<std::size_t>(role)]; }

std::string intake_stream(std::string_view prefix) { return std::string(prefix) + "intake"; }

struct RoleProcess::Impl {
  Impl(runtime::LiveRuntime& rt_, RoleOptions options_) : rt(&rt_), options(std::move(options_)) {
    if (options.consumer.empty()) options.consumer = std::string(to_string(options.role)) + "-0";
    options.connections = std::max<std::size_t>(1, options.connections);
  }

  runtime::LiveRuntime* rt;
  RoleOptions options;
  SystemMetrics metrics;
  RoleCounters counters;
  bool running = false;

  // Declared in the order they are made; destroyed in reverse, users first.
  std::vector<std::unique_ptr<PgConnection>> pg;
  std::vector<std::unique_ptr<PgConnection>> checkpoint_pg;  // empty: the store uses `pg`
  std::unique_ptr<RedisConnection> redis;
  std::shared_ptr<PooledCheckpointStore> checkpoints;
  std::unique_ptr<PgOutcomeRecords> records;
  std::unique_ptr<PgPurchaseOrders> purchase_orders;
  std::shared_ptr<MessageBus> bus;
  ServiceClients clients;
  std::unique_ptr<AgentHost> host;
  std::unique_ptr<Orchestrator> orchestrator;
  runtime::TaskId intake_task;
  // Intake entry per invoice the orchestrator holds, acked at its outcome.
  runtime::FlatHashMap<std::uint64_t, std::string> intake_entries;
  // Intake entries of finished invoices whose outcome record is being
  // written, and of refused ones whose refusal is: acked once it is, never
  // by a re-read (one the process stopped before writing stays pending for
  // the next run of this consumer).
  std::set<std::string> recording_entries;

  // A policy without a checkpoint store ("store": "none") runs its
  // workflows and sagas without checkpoints, as in the simulator; the
  // dead-letter queue still lives in PostgreSQL's checkpoint table.
  AgentContext context() {
    resilience::CheckpointStore* store =
        options.policy.checkpoints == reference_system::CheckpointStoreKind::none ? nullptr : checkpoints.get();
    return AgentContext{rt, &options.policy, &metrics, store, true};
  }

  const std::string& checkpoint_url() const {
    return checkpoint_pg.empty() ? options.postgres_url : options.checkpoint_postgres_url;
  }

  Task<Outcome<>> open_checkpoints() {
    std::vector<std::unique_ptr<resilience::CheckpointStore>> stores;
    for (auto& connection : checkpoint_pg.empty() ? pg : checkpoint_pg) {
      auto opened = co_await PgCheckpointStore::open(*connection, options.schema);
      if (!opened) {
        co_return Failure{opened.error_class(), "postgres " + checkpoint_url() + ": " + opened.failure().message};
      }
      stores.push_back(std::move(opened).value());
    }
    checkpoints = std::make_shared<PooledCheckpointStore>(std::move(stores));
    co_return resilience::ok();
  }

  // Tries `step` again (backoff 50 ms doubling to 2 s, real time) while it
  // fails other than permanently, until `give_up` (on the runtime's clock).
  template <class Step>
  Task<Outcome<>> until_store_answers(Step step, runtime::Instant give_up) {
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
      Outcome<> done = co_await step();
      if (done || done.error_class() == ErrorClass::permanent || rt->now() >= give_up) co_return done;
      co_await rt->sleep(scenario(*rt, backoff));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
    }
  }

  RolePorts wrapped(RolePorts ports) {
    if (options.wrap_ports) options.wrap_ports(ports);
    return ports;
  }

  Task<Outcome<std::shared_ptr<Agent>>> make_agent() {
    const AgentContext ctx = context();
    clients = make_service_clients(ctx);
    switch (options.role) {
      case Role::ocr: {
        RolePorts ports;
        ports.ocr_engine = std::make_shared<SimOcrEngine>(*rt, "ocr_engine", options.world.ocr_engine);
        ports.backup_ocr = std::make_shared<SimOcrEngine>(*rt, "backup_ocr", options.world.backup_ocr);
        ports = wrapped(std::move(ports));
        co_return std::shared_ptr<Agent>(std::make_shared<OcrAgent>(ctx, *clients.ocr_engine, *clients.backup_ocr,
                                                                    ports.ocr_engine, ports.backup_ocr));
      }
      case Role::validation: co_return std::shared_ptr<Agent>(std::make_shared<ValidationAgent>(ctx));
      case Role::matching: {
        auto orders = co_await PgPurchaseOrders::open(*pg.front(), options.schema);
        if (!orders) co_return std::move(orders).failure();
        purchase_orders = std::move(orders).value();
        RolePorts ports;
        ports.po_database = std::make_shared<LivePoDatabase>(*rt, options.world.po_database, *purchase_orders);
        ports = wrapped(std::move(ports));
        co_return std::shared_ptr<Agent>(std::make_shared<MatchingAgent>(ctx, *clients.po_database, ports.po_database));
      }
      case Role::accounting: {
        std::vector<std::unique_ptr<PgLedger>> ledgers;
        for (auto& connection : pg) {
          auto ledger = co_await PgLedger::open(*connection, options.schema);
          if (!ledger) co_return std::move(ledger).failure();
          ledgers.push_back(std::move(ledger).value());
        }
        auto budget = co_await PgBudgetService::open(*pg.front(), options.schema);
        if (!budget) co_return std::move(budget).failure();
        auto notifier = co_await PgNotifier::open(*pg.back(), options.schema);
        if (!notifier) co_return std::move(notifier).failure();
        RolePorts ports;
        ports.budget_service = std::shared_ptr<BudgetService>(std::move(budget).value());
        ports.ledger = std::make_shared<PooledLedger>(std::move(ledgers));
        ports.notifier = std::shared_ptr<Notifier>(std::move(notifier).value());
        ports = wrapped(std::move(ports));
        co_return std::shared_ptr<Agent>(
            std::make_shared<AccountingAgent>(ctx, clients, ports.budget_service, ports.ledger, ports.notifier));
      }
      case Role::archive: co_return std::shared_ptr<Agent>(std::make_shared<ArchiveAgent>(ctx));
      case Role::orchestrator: break;
    }
    FAULTLINE_ASSERT(false);
    co_return Failure{ErrorClass::permanent, "no agent"};
  }

  Task<Outcome<>> start() {
    for (std::size_t i = 0; i < options.connections; ++i) {
      pg.push_back(std::make_unique<PgConnection>(*rt, options.postgres_url));
    }
    if (!options.checkpoint_postgres_url.empty() && options.checkpoint_postgres_url != options.postgres_url) {
      for (std::size_t i = 0; i < options.connections; ++i) {
        checkpoint_pg.push_back(std::make_unique<PgConnection>(*rt, options.checkpoint_postgres_url));
      }
    }
    redis = std::make_unique<RedisConnection>(*rt, options.redis_url);
    auto clock = co_await shared_wire_clock(*rt, *redis, options.prefix);
    if (!clock) co_return Failure{clock.error_class(), "redis " + options.redis_url + ": " + clock.failure().message};
    auto reachable = co_await pg.front()->query("SELECT 1");
    if (!reachable) {
      co_return Failure{reachable.error_class(), "postgres " + options.postgres_url + ": " + reachable.failure().message};
    }
    const runtime::Instant store_give_up = rt->now() + scenario(*rt, options.store_wait);
    auto opened = co_await until_store_answers([this] { return open_checkpoints(); }, store_give_up);
    if (!opened) co_return opened;

    RedisStreamBusOptions bus_options = options_for(options.policy, options.redis_url, options.consumer);
    bus_options.prefix = options.prefix;
    bus_options.clock = clock.value();
    bus = std::make_shared<RedisStreamBus>(*rt, std::move(bus_options));
    if (options.wrap_bus) options.wrap_bus(bus);

    if (options.role == Role::orchestrator) {
      auto made = co_await PgOutcomeRecords::open(*pg.front(), options.schema);
      if (!made) co_return Failure{made.error_class(), "postgres " + options.postgres_url + ": " + made.failure().message};
      records = std::move(made).value();
      auto run = co_await redis->command("INCR", options.prefix + "orchestrator_runs");
      if (!run || run->type != RedisReply::Type::integer) {
        co_return Failure{ErrorClass::transient, "redis " + options.redis_url + ": INCR: " + error_text(run)};
      }
      std::vector<AgentId> steps = {AgentId::ocr, AgentId::validation, AgentId::matching, AgentId::accounting,
                                    AgentId::archive};
      orchestrator = std::make_unique<Orchestrator>(context(), *bus, std::move(steps), checkpoints.get());
      // 2^40 requests per run, 2^23 runs.
      orchestrator->set_first_request_id((static_cast<std::uint64_t>(run->integer) << 40) + 1);
      auto letters = co_await until_store_answers([this] { return orchestrator->open_dead_letters(); }, store_give_up);
      if (!letters) co_return Failure{letters.error_class(), "postgres: dead-letter queue: " + letters.failure().message};
      orchestrator->set_outcome_listener([this](std::uint64_t id, InvoiceOutcome outcome) { on_outcome(id, outcome); });
      auto group = co_await redis->command("XGROUP", "CREATE", intake_stream(options.prefix), "orchestrator", "0",
                                           "MKSTREAM");
      if (!group || (group->is_error() && group->text.find("BUSYGROUP") == std::string::npos)) {
        co_return Failure{ErrorClass::transient, "redis " + options.redis_url + ": XGROUP CREATE: " + error_text(group)};
      }
      orchestrator->start();
      running = true;
      intake_task = rt->spawn(read_intake());
      co_return resilience::ok();
    }

    auto agent = co_await make_agent();
    if (!agent) co_return Failure{agent.error_class(), "postgres " + options.postgres_url + ": " + agent.failure().message};
    const AgentId id = agent_of(options.role);
    host = std::make_unique<AgentHost>(*rt, *bus, static_cast<Topic>(id), std::move(agent).value(),
                                       options.policy.agent(id).workers, metrics.agent(id));
    host->start();
    running = true;
    co_return resilience::ok();
  }

  // The orchestrator's intake: own pending entries first (an earlier run's
  // unfinished invoices), then new ones, never more than there is room for.
  // Every `claim_idle` it reads its own pending entries again and takes up
  // those it does not hold: entries Redis delivered to it in a read whose
  // reply never arrived (a connection dropped while the read was held in a
  // partition, or cut after the server had sent it).
  Task<void> read_intake() {
    // A connection of its own: XREADGROUP BLOCK holds it.
    RedisOptions blocking;
    blocking.command_timeout = std::chrono::milliseconds(10'000);
    RedisConnection reader(*rt, options.redis_url, blocking);
    const std::string stream = intake_stream(options.prefix);
    std::string from = "0";
    const std::size_t bound = options.policy.max_in_flight;
    const runtime::Duration rescan_every =
        std::max(options.policy.bus.claim_idle, scenario(*rt, std::chrono::milliseconds(100)));
    runtime::Instant next_rescan = rt->now() + rescan_every;
    while (running) {
      if (from == ">" && rt->now() >= next_rescan) {
        from = "0";
        next_rescan = rt->now() + rescan_every;
      }
      const std::size_t held = orchestrator->in_flight();
      // Own pending entries (taken before a restart) are never refused for
      // room: they wait for it, as every entry does without refuse_when_full.
      const bool refusing = options.refuse_when_full && from == ">";
      if (held >= bound && !refusing) {
        co_await rt->sleep(scenario(*rt, std::chrono::milliseconds(5)));
        continue;
      }
      const std::size_t room = refusing ? kIntakeBatch : std::min(kIntakeBatch, bound - held);
      std::vector<std::string> args = {"XREADGROUP", "GROUP", "orchestrator", options.consumer,
                                       "COUNT",      std::to_string(room)};
      if (from == ">") {
        args.emplace_back("BLOCK");
        args.emplace_back("1000");
      }
      args.emplace_back("STREAMS");
      args.push_back(stream);
      args.push_back(from);
      auto r = co_await reader.command(std::move(args));
      if (!r || r->is_error()) {
        co_await rt->sleep(scenario(*rt, std::chrono::milliseconds(200)));
        continue;
      }
      // nil (BLOCK timed out) or [[stream, [[id, [f, v, ...]], ...]]]
      const RedisReply* entries = nullptr;
      if (r->type == RedisReply::Type::array && !r->elements.empty() && r->elements[0].elements.size() == 2) {
        entries = &r->elements[0].elements[1];
      }
      if (entries == nullptr || entries->elements.empty()) {
        if (from != ">") from = ">";  // own pending entries all read
        continue;
      }
      for (const RedisReply& entry : entries->elements) {
        if (entry.elements.size() != 2) continue;
        const std::string& entry_id = entry.elements[0].text;
        const bool own_pending = from != ">";  // read again from this consumer's pending entries
        if (own_pending) from = entry_id;
        ++counters.intake_read;
        std::vector<WireFieldView> fields;
        const auto& flat = entry.elements[1].elements;
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields.emplace_back(flat[i].text, flat[i + 1].text);
        Outcome<Message> m = decode(std::span<const WireFieldView>(fields), WireClock{});
        if (!m || m->topic == Topic::replies || m->work == nullptr || m->work->invoice == nullptr) {
          ++counters.intake_undecodable;
          ack_intake(entry_id);
          continue;
        }
        const std::uint64_t id = m->work->invoice->id;
        if (const std::string* holding = intake_entries.find(id); holding != nullptr && *holding == entry_id) continue;
        if (recording_entries.count(entry_id) != 0) continue;
        if (own_pending && orchestrator->outcome(id).has_value()) {
          ack_intake(entry_id);  // finished in this run, its ack not yet in Redis: no second submission
          continue;
        }
        Invoice invoice = *m->work->invoice;
        const SubmitResult result = orchestrator->submit(std::move(invoice));
        if (result == SubmitResult::accepted) {
          intake_entries[id] = entry_id;
        } else if (result == SubmitResult::refused_duplicate || refusing) {
          // A second entry under an id this run holds or finished (the first
          // one is acked at its outcome), or a new one while full: refused,
          // recorded, then acked.
          recording_entries.insert(entry_id);
          rt->spawn(refuse(entry_id, id, result));
        }
        // refused_overloaded below the bound without refuse_when_full cannot
        // happen; if it did, the entry stays pending and the next run of
        // this consumer reads it.
      }
    }
  }

  Task<void> refuse(std::string entry_id, std::uint64_t id, SubmitResult result) {
    auto backoff = kRecordRetryFirst;
    while (!(co_await records->refused(entry_id, id, reference_system::to_string(result))).ok()) {
      // Stopped: left pending, the next run of this consumer reads it again.
      if (!co_await record_backoff(backoff)) co_return;
    }
    recording_entries.erase(entry_id);
    co_await send_ack(std::move(entry_id));
  }

  // Sleeps before an outcome record or refusal is tried again (kRecordRetryFirst,
  // doubling to kRecordRetryMax); false once the process is stopping.
  Task<bool> record_backoff(std::chrono::milliseconds& backoff) {
    ++counters.record_retries;
    co_await rt->sleep(scenario(*rt, backoff));
    backoff = std::min(backoff * 2, kRecordRetryMax);
    co_return running;
  }

  void ack_intake(const std::string& entry_id) {
    rt->spawn(send_ack(entry_id));
  }

  Task<void> send_ack(std::string entry_id) {
    auto r = co_await redis->command("XACK", intake_stream(options.prefix), "orchestrator", entry_id);
    if (r && !r->is_error()) {
      ++counters.intake_acked;
      if (counters.intake_acked % kTrimEvery == 0) co_await trim_intake();
    }
  }

  // Keeps the intake stream bounded: acked entries below the oldest one the
  // group still needs (its oldest pending entry, else its last delivered
  // one) go, as the bus trims its streams; work never does.
  Task<void> trim_intake() {
    const std::string stream = intake_stream(options.prefix);
    auto pending = co_await redis->command("XPENDING", stream, "orchestrator");
    if (!pending || pending->type != RedisReply::Type::array || pending->elements.size() < 2) co_return;
    std::string keep_from;
    if (pending->elements[0].integer > 0) {
      keep_from = pending->elements[1].text;
    } else {
      auto groups = co_await redis->command("XINFO", "GROUPS", stream);
      if (!groups || groups->type != RedisReply::Type::array) co_return;
      for (const RedisReply& group : groups->elements) {
        const auto& f = group.elements;
        bool ours = false;
        std::string last;
        for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
          if (f[i].text == "name") ours = f[i + 1].text == "orchestrator";
          if (f[i].text == "last-delivered-id") last = f[i + 1].text;
        }
        if (ours) keep_from = last;
      }
      // The last delivered entry itself is acked: keep it only as the marker.
    }
    if (keep_from.empty()) co_return;
    auto trimmed = co_await redis->command("XTRIM", stream, "MINID", keep_from);
    if (trimmed && trimmed->type == RedisReply::Type::integer) counters.intake_trimmed += static_cast<std::uint64_t>(trimmed->integer);
  }

  void on_outcome(std::uint64_t id, InvoiceOutcome outcome) {
    std::optional<ReviewReason> reason;
    if (outcome == InvoiceOutcome::manual_review) {
      const auto& review = orchestrator->manual_review();
      for (auto it = review.rbegin(); it != review.rend(); ++it) {
        if (it->invoice_id == id) {
          reason = it->reason;
          break;
        }
      }
    }
    std::string entry_id;
    if (const std::string* found = intake_entries.find(id); found != nullptr) {
      entry_id = *found;
      intake_entries.erase(id);
    }
    if (!entry_id.empty()) recording_entries.insert(entry_id);
    rt->spawn(record(id, outcome, reason, std::move(entry_id)));
  }

  // Writes what only the orchestrator knows (manual review, rejections) to
  // PostgreSQL, then acks the intake entry: an invoice is acked only once
  // its terminal store holds it (the ledger, the dead-letter queue are
  // written before the outcome).
  Task<void> record(std::uint64_t id, InvoiceOutcome outcome, std::optional<ReviewReason> reason, std::string entry_id) {
    if (outcome == InvoiceOutcome::manual_review || outcome == InvoiceOutcome::rejected_invalid) {
      auto backoff = kRecordRetryFirst;
      for (;;) {
        // (No co_await inside ?: here: GCC 12 destroys such temporaries twice.)
        std::optional<Outcome<>> written;
        if (outcome == InvoiceOutcome::manual_review) {
          written.emplace(co_await records->manual_review(id, reason.value_or(ReviewReason::unreadable_document)));
        } else {
          written.emplace(co_await records->rejected(id));
        }
        if (written->ok()) break;
        // Stopped: the entry stays pending for the next run of this consumer.
        if (!co_await record_backoff(backoff)) co_return;
      }
    }
    if (!entry_id.empty()) {
      recording_entries.erase(entry_id);
      co_await send_ack(std::move(entry_id));
    }
  }

  void stop() {
    if (!running) return;
    running = false;
    if (host) host->stop();
    if (orchestrator) {
      orchestrator->stop();
      rt->cancel(intake_task);
    }
    if (bus) bus->close();
  }
};

RoleProcess::RoleProcess(runtime::LiveRuntime& rt, RoleOptions options)
    : impl_(std::make_unique<Impl>(rt, std::move(options))) {}

RoleProcess::~RoleProcess() { impl_->stop(); }

runtime::Task<resilience::Outcome<>> RoleProcess::start() { return impl_->start(); }
void RoleProcess::stop() { impl_->stop(); }
bool RoleProcess::running() const noexcept { return impl_->running; }
const SystemMetrics& RoleProcess::metrics() const noexcept { return impl_->metrics; }
const RoleCounters& RoleProcess::counters() const noexcept { return impl_->counters; }
const RoleOptions& RoleProcess::options() const noexcept { return impl_->options; }
std::size_t RoleProcess::in_flight() const noexcept {
  return impl_->orchestrator ? impl_->orchestrator->in_flight() : 0;
}

runtime::Task<resilience::Outcome<Submitted>> submit_invoices(runtime::LiveRuntime& rt, SubmitOptions options) {
  RedisConnection redis(rt, options.redis_url);
  PgConnection pg(rt, options.postgres_url);
  if (options.invoices == 0) co_return Submitted{};
  auto ids = co_await redis.command("INCRBY", options.prefix + "invoice_ids", static_cast<long long>(options.invoices));
  if (!ids || ids->type != RedisReply::Type::integer) {
    co_return Failure{ErrorClass::transient, "redis " + options.redis_url + ": INCRBY: " + error_text(ids)};
  }
  Submitted submitted;
  submitted.count = options.invoices;
  submitted.first_id = static_cast<std::uint64_t>(ids->integer) - options.invoices + 1;
  // Purchase orders take numbers from the same range: at most one per invoice.
  PoCatalogue catalogue;
  WorkloadGenerator generator(rt, options.world.workload, catalogue, submitted.first_id, submitted.first_id);
  std::vector<Invoice> invoices;
  invoices.reserve(options.invoices);
  for (std::uint64_t i = 0; i < options.invoices; ++i) invoices.push_back(generator.next().invoice);
  std::vector<PurchaseOrder> orders;
  for (std::uint64_t n = submitted.first_id; n < submitted.first_id + options.invoices; ++n) {
    if (const PurchaseOrder* po = catalogue.find(n); po != nullptr) orders.push_back(*po);
  }
  submitted.purchase_orders = orders.size();
  auto table = co_await PgPurchaseOrders::open(pg, options.schema);
  if (!table) co_return Failure{table.error_class(), "postgres " + options.postgres_url + ": " + table.failure().message};
  auto added = co_await table.value()->add(std::move(orders));
  if (!added) co_return Failure{added.error_class(), "postgres " + options.postgres_url + ": " + added.failure().message};

  // One XADD after the other: about 20,000 a second on a local Redis.
  for (Invoice& invoice : invoices) {
    auto appended = co_await append_to_intake(redis, options.prefix, std::move(invoice));
    if (!appended) co_return std::move(appended).failure();
  }
  co_return submitted;
}

runtime::Task<resilience::Outcome<std::string>> append_to_intake(RedisConnection& redis, std::string prefix,
                                                                 Invoice invoice, std::string entry_id) {
  Message m;
  m.topic = Topic::ocr;
  m.invoice_id = invoice.id;
  auto work = std::make_shared<WorkItem>();
  work->invoice = std::make_shared<const Invoice>(std::move(invoice));
  m.work = std::move(work);
  WireFields fields = encode(m, WireClock{});
  std::vector<std::string> args = {"XADD", intake_stream(prefix), std::move(entry_id)};
  for (auto& [field, value] : fields) {
    args.push_back(std::move(field));
    args.push_back(std::move(value));
  }
  auto r = co_await redis.command(std::move(args));
  if (!r || r->is_error()) co_return Failure{ErrorClass::transient, "redis: XADD: " + error_text(r)};
  co_return std::string(r->text);
}

}  // namespace faultline::world::live
