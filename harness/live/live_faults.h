// Faults in a live worker: `latency`, `hang`, `error`, `outage` and
// `invalid_output` aimed at a service (OCR engines, PO database, budget,
// ledger, notifier), injected by the simulator's decorators
// (faults/port_faults.h) around the services the worker's role calls
// (world/live/live_role.h, RoleOptions::wrap_ports); `duplicate_delivery`
// and `reordering` aimed at the bus, injected by the simulator's bus
// decorator (FaultyMessageBus) around the worker's RedisStreamBus
// (RoleOptions::wrap_bus): a duplicate publishes the message's copies as
// entries of their own, a reordering holds a publish back up to the
// fault's window (scenario time, so divided by the time scale) in the
// worker's memory. Every worker (each role and the orchestrator) wraps its
// bus, so a message is struck where it is published; a touch is one
// message. Each fault has its own random stream "fault/<stream>/<kind>" as
// in sim (every process draws from it: the same seed, the same stream).
//
// Windows count from the scenario's start, which the harness writes to
// `<prefix>scenario_start_us` (microseconds of Redis's TIME) once every
// worker is ready; until a process has read it, its faults strike nothing.
// The process adds what its faults touched to the hash
// `<prefix>fault_touches` (field: the fault's index in the scenario) every
// 20 ms of real time, so touches in the last 20 ms before a SIGKILL are not
// counted.
//
//   LiveServiceFaults faults(rt, specs);           // the scenario's faults, in its order
//   options.wrap_ports = [&](RolePorts& p) { faults.wrap(p); };
//   options.wrap_bus = [&](std::shared_ptr<MessageBus>& b) { faults.wrap_bus(b); };
//   if (faults.wired()) rt.spawn(faults.watch(redis, prefix));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "faults/fault.h"
#include "faults/injector.h"
#include "runtime/live_runtime.h"
#include "runtime/task.h"
#include "world/live/live_role.h"

namespace faultline::reference_system::live {
class RedisConnection;
}  // namespace faultline::reference_system::live

namespace faultline::harness {

// Whether live mode injects this fault in a worker (a service fault).
bool live_service_fault(const faults::FaultSpec& spec) noexcept;
// Whether it is a bus fault a worker injects (duplicate_delivery, reordering).
bool live_bus_fault(const faults::FaultSpec& spec) noexcept;
// The Redis keys: the scenario's start, the touch counts.
std::string scenario_start_key(std::string_view prefix);
std::string fault_touches_key(std::string_view prefix);

class LiveServiceFaults {
 public:
  // `specs`: a scenario's faults in its order (a fault's index is its position).
  LiveServiceFaults(runtime::LiveRuntime& rt, const std::vector<faults::FaultSpec>& specs);

  // Wraps each service of `ports` that a fault aims at.
  void wrap(world::live::RolePorts& ports);
  // Wraps the process's bus when a fault aims at it.
  void wrap_bus(std::shared_ptr<reference_system::MessageBus>& bus);
  // Whether wrap() wrapped anything.
  bool wired() const noexcept { return wired_; }
  // Reads the scenario's start, then adds the touches to Redis, until cancelled.
  runtime::Task<void> watch(reference_system::live::RedisConnection& redis, std::string prefix);

 private:
  template <class Faulty, class Port>
  void wrap_one(std::shared_ptr<Port>& port, std::string_view target);
  runtime::Task<bool> read_start(reference_system::live::RedisConnection& redis, const std::string& prefix);
  runtime::Task<void> flush(reference_system::live::RedisConnection& redis, const std::string& prefix);

  runtime::LiveRuntime* rt_;
  std::vector<std::unique_ptr<faults::ActiveFault>> faults_;
  std::vector<std::uint64_t> flushed_;
  bool wired_ = false;
};

}  // namespace faultline::harness
