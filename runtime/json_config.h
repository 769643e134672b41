// Reading configuration files (policies, scenarios, service models) with
// errors a person can act on: every failure names the file, the JSON path
// and what was expected, e.g.
//   scenarios/outage.json: $.faults[2].duration: expected a duration such as "30s", got "-5s"
//
//   const auto doc = load_json_file("policy.json");          // syntax errors: line and column
//   JsonView root(doc, "policy.json");
//   root.expect_keys({"agents", "services"});                // unknown keys are errors
//   auto timeout = root["services"]["ocr"].duration("timeout");
//   int attempts = root["retry"].integer("max_attempts", 1, 100);
//
// Parsing is not a hot path, so a bad value throws ConfigError; the command
// line turns it into exit code 2 with its message.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/time.h"

namespace faultline::runtime {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string path, std::string message);
  const std::string& file() const noexcept { return file_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string file_;
  std::string path_;
  std::string message_;
};

// The deepest nesting of arrays and objects a configuration file may have.
// Deeper text is refused before it is parsed (line and column of the first
// bracket too deep), so no recursive walk of a parsed value can overflow
// the stack. faultline's own files nest at most about eight levels.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Reads and parses a JSON file; a syntax error names line and column. Refused
// as well: nesting deeper than kMaxJsonDepth, a key repeated in one object
// (named by its JSON path), a number out of range.
nlohmann::json load_json_file(const std::string& file);
// Parses text that came from `file` (for tests and embedded documents).
nlohmann::json parse_json_text(std::string_view text, const std::string& file);

class JsonView {
 public:
  JsonView(const nlohmann::json& node, std::string file, std::string path = "$");

  const nlohmann::json& raw() const noexcept { return *node_; }
  const std::string& file() const noexcept { return *file_; }
  const std::string& path() const noexcept { return path_; }

  bool is_object() const noexcept { return node_->is_object(); }
  bool is_array() const noexcept { return node_->is_array(); }
  bool is_null() const noexcept { return node_->is_null(); }
  bool has(std::string_view key) const;

  // A required member (error if missing or if this is not an object).
  JsonView operator[](std::string_view key) const;
  // An optional member.
  std::optional<JsonView> find(std::string_view key) const;
  // Array elements, each with its own path.
  std::vector<JsonView> elements() const;
  // Object members, sorted by key.
  std::vector<std::pair<std::string, JsonView>> members() const;

  // Fails on any member not in `allowed`, naming it.
  void expect_keys(std::initializer_list<std::string_view> allowed) const;
  void expect_keys(const std::vector<std::string>& allowed) const;

  // This node's value.
  std::string as_string() const;
  bool as_bool() const;
  double as_number() const;
  std::int64_t as_integer() const;
  Duration as_duration() const;

  // A member's value, required.
  std::string string(std::string_view key) const { return (*this)[key].as_string(); }
  bool boolean(std::string_view key) const { return (*this)[key].as_bool(); }
  double number(std::string_view key, double lo, double hi) const;
  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi) const;
  // An integer from 0 to 2^64 - 1 (seeds: derived seeds use the whole range).
  std::uint64_t unsigned_integer(std::string_view key) const;
  Duration duration(std::string_view key) const { return (*this)[key].as_duration(); }
  // One of `choices`.
  std::string choice(std::string_view key, std::initializer_list<std::string_view> choices) const;

  // A member's value, or `fallback` when the member is absent.
  std::string string_or(std::string_view key, std::string fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  double number_or(std::string_view key, double fallback, double lo, double hi) const;
  std::uint64_t unsigned_integer_or(std::string_view key, std::uint64_t fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t lo,
                          std::int64_t hi) const;
  Duration duration_or(std::string_view key, Duration fallback) const;
  std::string choice_or(std::string_view key, std::string fallback,
                        std::initializer_list<std::string_view> choices) const;

  // Throws ConfigError at this node: "expected <expected>, got <value>".
  [[noreturn]] void fail(std::string_view expected) const;
  // Throws ConfigError at this node with a message of its own.
  [[noreturn]] void fail_with(std::string message) const;

 private:
  JsonView(const nlohmann::json* node, std::shared_ptr<const std::string> file, std::string path)
      : node_(node), file_(std::move(file)), path_(std::move(path)) {}
  JsonView child(std::string_view key) const;

  const nlohmann::json* node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

}  // namespace faultline::runtime
