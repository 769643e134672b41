// Argument checks shared by the subcommands: numbers are read strictly (no
// sign wrap-around, no clamping, no NaN), and a refused argument is exit 2
// with the option's name and what was expected.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reports/shard.h"
#include "runtime/json_config.h"

namespace faultline::cli {

// A decimal integer from 0 to 2^64 - 1: "-1", "+1", "1e3", " 1" and
// "18446744073709551616" are refused.
[[nodiscard]] std::optional<std::uint64_t> parse_u64(std::string_view text);

// A finite number (no NaN, no infinity) with nothing after it.
[[nodiscard]] std::optional<double> parse_finite(std::string_view text);

// "K/N" with 1 <= K <= N <= reports::kShardCountMax, both plain decimals:
// "0/3", "4/3", "3/0", "a/b", "1/3/2" and "/3" are refused.
[[nodiscard]] std::optional<reports::Shard> parse_shard(std::string_view text);

// Prints "faultline <command>: <option>: expected <expected>, got "<value>""
// (the value made printable) to stderr and returns kInputError.
int refuse(std::string_view command, std::string_view option, std::string_view expected, std::string_view value);

// A ConfigError as one printable line, "file: path: message" (built from its
// parts: what() stops at a NUL a file may hold).
std::string printable_error(const runtime::ConfigError& e);

// SIGINT and SIGTERM set the flag this returns instead of killing the
// process, so a run stops inside its scenario, removes its temporary files
// and writes what it found. A second signal ends the process at once.
const std::atomic<bool>* stop_on_signals();
// The signal that set the flag (0 if none).
int stop_signal();

}  // namespace faultline::cli
