// The dead-letter queue over a CheckpointStore. An entry is stored in a
// length-prefixed text form rather than JSON because keys and payloads may be
// any bytes (a corrupted invoice's id may not be valid UTF-8) and must come
// back unchanged.
#include "resilience/dead_letter.h"

#include <charconv>
#include <cstdio>

#include "runtime/assert.h"

namespace faultline::resilience {

namespace {

constexpr std::string_view kFormat = "dlq1\n";
// Slots a push tries (one, and the next ones while they are taken by other
// keys) before it fails with the conflict.
constexpr std::size_t kSlotsTried = 8;

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

// Reads one `<length>:<bytes>` field from the front of `in`.
bool take(std::string_view& in, std::string_view& field) {
  const auto colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(in.data(), in.data() + colon, n);
  if (ec != std::errc() || end != in.data() + colon || n > in.size() - colon - 1) return false;
  field = in.substr(colon + 1, n);
  in.remove_prefix(colon + 1 + n);
  return true;
}

template <class Int>
bool take_int(std::string_view& in, Int& value) {
  std::string_view field;
  if (!take(in, field)) return false;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  return ec == std::errc() && end == field.data() + field.size();
}

}  // namespace

std::optional<ConfigProblem> check(const DeadLetterConfig& config) {
  if (config.name.empty()) return ConfigProblem{"name", "a non-empty name"};
  if (config.capacity == 0) return ConfigProblem{"capacity", "at least 1"};
  if (config.alert_threshold == 0) return ConfigProblem{"alert_threshold", "at least 1"};
  if (config.alert_threshold > config.capacity) {
    return ConfigProblem{"alert_threshold", "at most capacity"};
  }
  return std::nullopt;
}

DeadLetterQueue::DeadLetterQueue(CheckpointStore& store, DeadLetterConfig config,
                                 Observer observer)
    : store_(&store), config_(std::move(config)), observer_(observer) {
  FAULTLINE_ASSERT(!check(config_) && "invalid DeadLetterConfig: see check()");
}

std::string DeadLetterQueue::store_key(std::uint64_t sequence) const {
  // Zero-padded so that byte order is sequence order.
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(sequence));
  return "dlq/" + config_.name + "/" + digits;
}

std::string DeadLetterQueue::encode(const DeadLetter& e) {
  std::string out(kFormat);
  put(out, std::to_string(e.sequence));
  put(out, e.key);
  put(out, e.payload);
  put(out, to_string(e.reason.error_class));
  put(out, e.reason.message);
  put(out, std::to_string(e.reason.retry_after.count()));
  put(out, std::to_string(e.attempts));
  put(out, std::to_string(e.at.time_since_epoch().count()));
  return out;
}

std::optional<DeadLetter> DeadLetterQueue::decode(std::string_view in) {
  if (!in.starts_with(kFormat)) return std::nullopt;
  in.remove_prefix(kFormat.size());
  DeadLetter e;
  std::string_view key;
  std::string_view payload;
  std::string_view cls;
  std::string_view message;
  std::int64_t retry_after_ns = 0;
  std::int64_t at_ns = 0;
  if (!take_int(in, e.sequence) || !take(in, key) || !take(in, payload) || !take(in, cls) ||
      !take(in, message) || !take_int(in, retry_after_ns) || !take_int(in, e.attempts) ||
      !take_int(in, at_ns) || !in.empty() || !parse_error_class(cls, e.reason.error_class)) {
    return std::nullopt;
  }
  e.key = key;
  e.payload = payload;
  e.reason.message = message;
  e.reason.retry_after = Duration(retry_after_ns);
  e.at = Instant(Duration(at_ns));
  return e;
}

runtime::Task<Outcome<>> DeadLetterQueue::open() {
  auto listed = co_await store_->list("dlq/" + config_.name + "/", config_.capacity);
  if (!listed) {
    ++counters_.store_failures;
    co_return std::move(listed).failure();
  }
  entries_.clear();
  for (const Checkpoint& cp : listed.value()) {
    auto entry = decode(cp.state);
    if (!entry) {
      co_return Failure{ErrorClass::permanent, "dead-letter entry " + cp.workflow_id +
                                                   " is not in a format this version reads"};
    }
    if (entry->sequence >= next_sequence_) next_sequence_ = entry->sequence + 1;
    entries_.push_back(std::move(*entry));
  }
  co_return ok();
}

runtime::Task<Outcome<std::uint64_t>> DeadLetterQueue::push(std::string key, std::string payload,
                                                            Failure reason,
                                                            std::uint32_t attempts, Instant at,
                                                            std::uint64_t subject) {
  if (entries_.size() >= config_.capacity) {
    ++counters_.rejected_full;
    observer_.record(subject, pattern_events::DeadLetterRejected{config_.capacity});
    co_return Failure{ErrorClass::capacity_exceeded,
                      "dead-letter queue " + config_.name + " is full (" +
                          std::to_string(config_.capacity) + ")"};
  }
  DeadLetter entry{next_sequence_, std::move(key), std::move(payload), std::move(reason), attempts,
                   at};
  // The slot for the next sequence is written only if it is free (a save at
  // version 0). Taken (a conflict), it holds either this key's entry, from
  // an earlier push whose reply was lost after the store wrote it (a
  // networked store that went away mid-call: the push failed, yet landed),
  // which is then the entry pushed; or another key's, which moves this one
  // to the next slot. Without this, every later push would meet the same
  // taken slot and fail for good.
  for (std::size_t slot = 0;; ++slot) {
    auto saved = co_await store_->save(store_key(entry.sequence), 0, "dead_letter", encode(entry));
    if (saved) break;
    if (saved.error_class() != ErrorClass::conflict || slot + 1 >= kSlotsTried) {
      ++counters_.store_failures;
      co_return std::move(saved).failure();
    }
    auto there = co_await store_->load(store_key(entry.sequence));
    if (!there) {
      ++counters_.store_failures;
      co_return std::move(there).failure();
    }
    if (!there.value()) continue;  // freed meanwhile: tried again
    auto stored = decode(there.value()->state);
    if (stored && stored->key == entry.key) {
      entry = std::move(*stored);
      break;
    }
    next_sequence_ = entry.sequence + 1;
    entry.sequence = next_sequence_;
  }
  next_sequence_ = entry.sequence + 1;
  ++counters_.pushed;
  const ErrorClass error_class = entry.reason.error_class;
  const std::uint64_t sequence = entry.sequence;
  entries_.push_back(std::move(entry));
  observer_.record(subject, pattern_events::DeadLettered{sequence, entries_.size(), error_class});
  if (entries_.size() == config_.alert_threshold) {
    ++counters_.alerts;
    observer_.record(subject, pattern_events::DeadLetterAlert{entries_.size(), config_.alert_threshold});
  }
  co_return sequence;
}

runtime::Task<Outcome<std::optional<DeadLetter>>> DeadLetterQueue::pop() {
  if (entries_.empty()) co_return std::optional<DeadLetter>{};
  auto removed = co_await store_->remove(store_key(entries_.front().sequence), 1);
  if (!removed) {
    ++counters_.store_failures;
    co_return std::move(removed).failure();
  }
  std::optional<DeadLetter> out(std::move(entries_.front()));
  entries_.pop_front();
  ++counters_.popped;
  co_return out;
}

}  // namespace faultline::resilience
