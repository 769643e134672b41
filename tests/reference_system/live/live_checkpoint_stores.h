// The networked checkpoint stores as the tests open them: on the fixture's
// servers (tests/support/live_servers.h), each under a name no other test
// uses (its own PostgreSQL schema, its own Redis key prefix), so tests run
// in parallel. A factory for the checkpoint contract suite
// (tests/resilience/checkpoint_contract_test.cpp) wraps the store so its
// calls finish before they return, on the factory's own live runtime.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "reference_system/live/pg_checkpoint_store.h"
#include "reference_system/live/redis_checkpoint_store.h"
#include "runtime/live_runtime.h"
#include "tests/support/blocking_checkpoint_store.h"
#include "tests/support/live_servers.h"
#include "tests/support/run_task.h"

namespace faultline::reference_system::live::testing {

// A store with the connection it runs on.
struct OpenedStore {
  std::unique_ptr<RedisConnection> redis;
  std::unique_ptr<PgConnection> pg;
  std::unique_ptr<resilience::CheckpointStore> store;
};

struct PostgresStores {
  static constexpr const char* kName = "postgres";
  static std::string url() { return test_support::live_servers().postgres; }
  // Throws when the store cannot be opened (the test fails with the reason).
  static OpenedStore open(runtime::LiveRuntime& rt, const std::string& url, const std::string& name) {
    OpenedStore opened;
    opened.pg = std::make_unique<PgConnection>(rt, url);
    auto store = test_support::run_task(rt, PgCheckpointStore::open(*opened.pg, name));
    if (!store) throw std::runtime_error(store.failure().message);
    opened.store = std::move(store).value();
    return opened;
  }
};

struct RedisStores {
  static constexpr const char* kName = "redis";
  static std::string url() { return test_support::live_servers().redis; }
  static OpenedStore open(runtime::LiveRuntime& rt, const std::string& url, const std::string& name) {
    OpenedStore opened;
    opened.redis = std::make_unique<RedisConnection>(rt, url);
    opened.store = std::make_unique<RedisCheckpointStore>(*opened.redis, name + ":");
    return opened;
  }
};

// For the contract suite: make() gives a store whose calls finish at once.
template <class Stores>
struct ContractFactory {
  static constexpr const char* kName = Stores::kName;
  runtime::LiveRuntime rt{1};
  OpenedStore opened;
  std::unique_ptr<resilience::CheckpointStore> make() {
    opened = Stores::open(rt, Stores::url(), test_support::unique_name("cp"));
    return std::make_unique<test_support::BlockingCheckpointStore>(rt, std::move(opened.store));
  }
};

}  // namespace faultline::reference_system::live::testing
