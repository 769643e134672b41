// Parsing policy files (format in policy.h).
#include "reference_system/policy.h"

#include "reference_system/invoice.h"
#include "resilience/config.h"

namespace faultline::reference_system {

using runtime::JsonView;

Policy naive_policy() {
  Policy p;
  p.name = "naive";
  p.description = "no recovery patterns";
  return p;
}

namespace {

runtime::Duration positive_duration(const JsonView& v, std::string_view key, runtime::Duration fallback) {
  const auto d = v.duration_or(key, fallback);
  if (d <= runtime::Duration::zero()) v[key].fail("a positive duration");
  return d;
}

AgentPolicy parse_agent(const JsonView& v, AgentId id) {
  std::vector<std::string> keys = {"description", "criticality", "timeout", "retry", "workers", "queue_bound"};
  switch (id) {
    case AgentId::ocr: keys.push_back("fallback"); break;
    case AgentId::matching:
      keys.insert(keys.end(), {"default", "degrade", "manual_review_above"});
      break;
    case AgentId::accounting: keys.insert(keys.end(), {"compensation", "idempotency_key"}); break;
    default: break;
  }
  v.expect_keys(keys);
  AgentPolicy a;
  if (auto c = v.find("criticality")) a.criticality = resilience::load_criticality(*c);
  a.timeout = positive_duration(v, "timeout", a.timeout);
  if (auto r = v.find("retry")) {
    // A retry budget limits retries of calls to one service; an agent's step
    // retries have none, so the field would be read and never used.
    if (r->has("budget")) {
      (*r)["budget"].fail_with("an agent's retry takes no \"budget\" (retry budgets apply to services' retries)");
    }
    a.retry = resilience::load_retry_policy(*r);
  }
  a.workers = static_cast<std::uint32_t>(v.integer_or("workers", a.workers, 1, 100'000));
  a.queue_bound = static_cast<std::size_t>(v.integer_or("queue_bound", static_cast<std::int64_t>(a.queue_bound), 1,
                                                        10'000'000));
  if (id == AgentId::ocr) a.fallback = v.boolean_or("fallback", false);
  if (id == AgentId::matching) {
    (void)v.choice_or("default", "no_match", {"no_match"});
    a.degrade = v.boolean_or("degrade", false);
    if (auto m = v.find("manual_review_above")) {
      if (!parse_amount_cents(m->as_string(), a.manual_review_above_cents)) {
        m->fail("an amount such as \"5000.00\"");
      }
    }
    if (a.degrade && a.criticality == resilience::Criticality::critical) {
      v["degrade"].fail_with("degrade needs \"criticality\": \"non_critical\" (a critical step never degrades)");
    }
  }
  if (id == AgentId::accounting) {
    a.compensation = v.boolean_or("compensation", false);
    a.idempotency_key = v.boolean_or("idempotency_key", false);
  }
  return a;
}

ServicePolicy parse_service(const JsonView& v) {
  v.expect_keys({"description", "timeout", "retry", "circuit_breaker"});
  ServicePolicy s;
  s.timeout = positive_duration(v, "timeout", s.timeout);
  if (auto r = v.find("retry")) {
    s.retry = resilience::load_retry_policy(*r);
    s.retry_budget = resilience::load_retry_budget(*r);
  }
  if (auto b = v.find("circuit_breaker")) s.breaker = resilience::load_circuit_breaker(*b);
  return s;
}

}  // namespace

Policy parse_policy(const JsonView& root) {
  if (!root.is_object()) root.fail("a policy object");
  root.expect_keys({"name", "description", "checkpoints", "dead_letter", "manual_review", "workflow", "bus",
                    "agents", "services"});
  Policy p;
  p.name = root.string("name");
  p.description = root.string_or("description", "");
  if (auto c = root.find("checkpoints")) {
    c->expect_keys({"store", "path"});
    const auto store = c->choice("store", {"none", "memory", "sqlite"});
    p.checkpoints = store == "none" ? CheckpointStoreKind::none
                    : store == "memory" ? CheckpointStoreKind::memory
                                        : CheckpointStoreKind::sqlite;
    p.checkpoint_path = c->string_or("path", p.checkpoint_path);
  }
  if (auto d = root.find("dead_letter")) p.dead_letter = resilience::load_dead_letter(*d);
  if (auto m = root.find("manual_review")) {
    m->expect_keys({"capacity"});
    p.manual_review_capacity = static_cast<std::size_t>(m->integer("capacity", 1, 100'000'000));
  }
  if (auto w = root.find("workflow")) {
    w->expect_keys({"max_in_flight", "deadline"});
    p.max_in_flight = static_cast<std::size_t>(w->integer_or("max_in_flight", static_cast<std::int64_t>(p.max_in_flight),
                                                             1, 100'000'000));
    if (w->has("deadline")) p.workflow_deadline = positive_duration(*w, "deadline", p.workflow_deadline);
  }
  if (auto b = root.find("bus")) {
    b->expect_keys({"claim_idle", "delivery_limit"});
    p.bus.claim_idle = positive_duration(*b, "claim_idle", p.bus.claim_idle);
    p.bus.delivery_limit =
        static_cast<std::uint32_t>(b->integer_or("delivery_limit", p.bus.delivery_limit, 1, 1000));
  }
  if (auto agents = root.find("agents")) {
    if (!agents->is_object()) agents->fail("an object of agents");
    for (const auto& [name, node] : agents->members()) {
      const auto id = agent_from(name);
      if (!id) node.fail_with("unknown agent \"" + name + "\" (ocr, validation, matching, accounting, archive)");
      p.agent(*id) = parse_agent(node, *id);
    }
  }
  if (auto services = root.find("services")) {
    if (!services->is_object()) services->fail("an object of services");
    for (const auto& [name, node] : services->members()) {
      bool known = false;
      for (std::size_t i = 0; i < kServiceCount; ++i) {
        if (to_string(static_cast<ServiceId>(i)) == name) {
          p.services[i] = parse_service(node);
          known = true;
        }
      }
      if (!known) {
        node.fail_with("unknown service \"" + name +
                       "\" (ocr_engine, backup_ocr, po_database, budget_service, ledger, notifier)");
      }
    }
  }
  return p;
}

Policy load_policy(const std::string& file) {
  const auto doc = runtime::load_json_file(file);
  return parse_policy(JsonView(doc, file));
}

}  // namespace faultline::reference_system
