// Where the tests labelled `live` find their Redis and PostgreSQL: the URLs
// the CTest fixture `live_servers` wrote (tests/support/live_servers_fixture.cpp,
// started once per ctest run, also when ctest runs a single live test). A
// test that needs them and finds no file fails, naming what to run; it is
// never skipped.
//
//   const auto servers = test_support::live_servers();   // throws if missing
//   RedisConnection redis(rt, servers.redis);
//   const std::string schema = test_support::unique_name("cp");  // "cp_4242_3"
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace faultline::test_support {

struct LiveServerUrls {
  std::string redis;     // redis://127.0.0.1:PORT
  std::string postgres;  // postgresql://USER@127.0.0.1:PORT/DB
};

// The fixture's file: FAULTLINE_LIVE_SERVERS when set, else the one in the
// build directory this binary was configured in.
std::filesystem::path live_servers_file();

// Throws std::runtime_error (the test fails with its message) when the file
// or one of the URLs is missing.
LiveServerUrls live_servers();

// A lower-case name no other test process of this run uses: stem, this
// process's id and a counter. Usable as a PostgreSQL schema or a Redis key
// prefix, so tests run in parallel (ctest -j) without sharing data.
std::string unique_name(std::string_view stem);

}  // namespace faultline::test_support
