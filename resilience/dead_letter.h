// The dead-letter queue: where a message goes when its retries are spent
// (or it can never succeed), so that it is kept for a person or a redrive
// instead of being lost. Bounded: a push beyond capacity is refused with
// ErrorClass::capacity_exceeded and counted. Durable: every entry is a
// checkpoint in a CheckpointStore under "dlq/<queue name>/<sequence>", so
// reopening the queue on the same store (after a crash or restart) gives back
// every entry. Reaching the alert threshold records a dead_letter_alert
// event (once per crossing) and alerting() turns true.
//
//   DeadLetterQueue dlq(store, {.name = "invoices", .capacity = 10'000, .alert_threshold = 100},
//                       Observer::named(rt.log(), "dlq"));
//   (void)co_await dlq.open();                // reload entries left by a previous process
//   auto pushed = co_await dlq.push("inv-42", payload_json, failure, attempts);
//   if (!pushed) ...                           // full, or the store is down: both counted
//   dlq.size(); dlq.alerting();
//   auto oldest = co_await dlq.pop();          // for a redrive; removes it from the store
//
// Entries are kept in memory as well (bounded by capacity) so size() and
// peeking cost nothing; the store is the source of truth at open().
//
// A push whose store call failed may have been written all the same (a
// networked store that went away after the write: its reply was lost). The
// next push of that key finds its own entry in the slot and takes it as
// pushed, rather than failing on the taken slot again and again.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "resilience/checkpoint.h"
#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/task.h"

namespace faultline::resilience {

struct DeadLetterConfig {
  std::string name = "default";       // the key prefix: dlq/<name>/
  std::size_t capacity = 10'000;      // at least 1
  std::size_t alert_threshold = 100;  // at least 1, at most capacity
};
std::optional<ConfigProblem> check(const DeadLetterConfig& config);

struct DeadLetter {
  std::uint64_t sequence = 0;   // increasing in push order; after open(), continues past the
                                // highest one still stored
  std::string key;              // what it is (an invoice id)
  std::string payload;          // the message itself, opaque
  Failure reason;               // the last failure
  std::uint32_t attempts = 0;   // attempts made before giving up
  Instant at{};                 // when it was dead-lettered (runtime time)

  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

struct DeadLetterCounters {
  std::uint64_t pushed = 0;
  std::uint64_t rejected_full = 0;
  std::uint64_t store_failures = 0;  // pushes or pops the store refused
  std::uint64_t popped = 0;
  std::uint64_t alerts = 0;          // threshold crossings
};

class DeadLetterQueue {
 public:
  // `store` must outlive the queue. Asserts that check(config) finds nothing.
  DeadLetterQueue(CheckpointStore& store, DeadLetterConfig config, Observer observer = {});

  // Loads the entries this queue left in the store. Call once before use.
  runtime::Task<Outcome<>> open();

  // Appends an entry stamped `at`; its sequence number on success.
  // `subject` goes into the dead_lettered event (an invoice id).
  runtime::Task<Outcome<std::uint64_t>> push(std::string key, std::string payload, Failure reason,
                                             std::uint32_t attempts, Instant at,
                                             std::uint64_t subject = 0);
  // Removes and returns the oldest entry (nullopt when empty).
  runtime::Task<Outcome<std::optional<DeadLetter>>> pop();

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  bool alerting() const noexcept { return entries_.size() >= config_.alert_threshold; }
  const DeadLetterConfig& config() const noexcept { return config_; }
  // The store the entries live in (a checker reads the queue's contents from it).
  CheckpointStore& store() const noexcept { return *store_; }
  const DeadLetterCounters& counters() const noexcept { return counters_; }
  // The entries, oldest first.
  const std::deque<DeadLetter>& entries() const noexcept { return entries_; }

  // How an entry is stored (a checkpoint's state), and back.
  static std::string encode(const DeadLetter& entry);
  static std::optional<DeadLetter> decode(std::string_view state);
  std::string store_key(std::uint64_t sequence) const;

 private:
  CheckpointStore* store_;
  DeadLetterConfig config_;
  Observer observer_;
  std::deque<DeadLetter> entries_;
  std::uint64_t next_sequence_ = 1;
  DeadLetterCounters counters_;
};

}  // namespace faultline::resilience
