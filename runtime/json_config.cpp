#include "runtime/json_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace faultline::runtime {

namespace {

// A short account of a value for an error message. Containers are named, not
// dumped: a message needs no copy of a whole subtree.
std::string describe(const nlohmann::json& value) {
  const char* type = value.type_name();
  if (value.is_object() || value.is_array()) return std::string("an ") + type;
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text + " (" + type + ")";
}

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string member_path(const std::string& base, std::string_view key) {
  if (is_identifier(key)) return base + "." + std::string(key);
  return base + "[" + nlohmann::json(std::string(key)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "]";
}

}  // namespace

ConfigError::ConfigError(std::string file, std::string path, std::string message)
    : std::runtime_error(file + ": " + path + ": " + message),
      file_(std::move(file)),
      path_(std::move(path)),
      message_(std::move(message)) {}

namespace {

std::string line_and_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The first '[' or '{' that opens a level deeper than kMaxJsonDepth, or npos.
// A scan of the bytes, before any parsing: nothing deeper is ever built.
std::size_t too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// Follows the parser's events to know the JSON path of the value being read
// and the keys each open object has so far, so that a repeated key is
// refused with its path instead of silently replacing the first value.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& file) : file_(file) {}

  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        frames_.push_back(Frame{child_path(), event == E::array_start, 0, {}, {}});
        break;
      case E::key: {
        auto& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          throw ConfigError(file_, member_path(top.path, top.key),
                            "duplicate key \"" + top.key + "\" (each key may appear once in an object)");
        }
        break;
      }
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        advance();
        break;
      case E::value:
        advance();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    std::string path;
    bool is_array = false;
    std::size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };

  std::string child_path() const {
    if (frames_.empty()) return "$";
    const auto& top = frames_.back();
    if (top.is_array) return top.path + "[" + std::to_string(top.index) + "]";
    return member_path(top.path, top.key);
  }
  void advance() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  const std::string& file_;
  std::vector<Frame> frames_;
};

}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& file) {
  if (const auto at = too_deep_at(text); at != std::string_view::npos) {
    throw ConfigError(file, line_and_column(text, at),
                      "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end(), DuplicateKeyCheck(file));
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into a line and column a person can jump to.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    std::string reason = e.what();
    if (auto pos = reason.find("parse error"); pos != std::string::npos) reason = reason.substr(pos);
    throw ConfigError(file, line_and_column(text, offset), "invalid JSON: " + reason);
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e400) and the like: the parser
    // names the token, not the place.
    // names the token, not the place; the token's first occurrence is.
    std::string reason = e.what();
    if (auto pos = reason.find("] "); pos != std::string::npos) reason = reason.substr(pos + 2);
    std::string where = "$";
    const auto open = reason.find('\'');
    const auto close = reason.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      const auto at = text.find(std::string_view(reason).substr(open + 1, close - open - 1));
      if (at != std::string_view::npos) where = line_and_column(text, at);
    }
    throw ConfigError(file, where, "invalid JSON: " + reason);
  }
}

nlohmann::json load_json_file(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw ConfigError(file, "$", "is a folder, not a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file, "$", "cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), file);
}

JsonView::JsonView(const nlohmann::json& node, std::string file, std::string path)
    : node_(&node), file_(std::make_shared<const std::string>(std::move(file))), path_(std::move(path)) {}

bool JsonView::has(std::string_view key) const {
  return node_->is_object() && node_->contains(std::string(key));
}

JsonView JsonView::child(std::string_view key) const {
  return JsonView(&node_->at(std::string(key)), file_, member_path(path_, key));
}

JsonView JsonView::operator[](std::string_view key) const {
  if (!node_->is_object()) fail("an object");
  if (!has(key)) fail_with("missing required field \"" + std::string(key) + "\"");
  return child(key);
}

std::optional<JsonView> JsonView::find(std::string_view key) const {
  if (!node_->is_object()) fail("an object");
  if (!has(key)) return std::nullopt;
  return child(key);
}

std::vector<JsonView> JsonView::elements() const {
  if (!node_->is_array()) fail("an array");
  std::vector<JsonView> out;
  out.reserve(node_->size());
  for (std::size_t i = 0; i < node_->size(); ++i) {
    out.push_back(JsonView(&(*node_)[i], file_, path_ + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::vector<std::pair<std::string, JsonView>> JsonView::members() const {
  if (!node_->is_object()) fail("an object");
  std::vector<std::pair<std::string, JsonView>> out;
  for (auto it = node_->begin(); it != node_->end(); ++it) out.emplace_back(it.key(), child(it.key()));
  return out;
}

void JsonView::expect_keys(std::initializer_list<std::string_view> allowed) const {
  expect_keys(std::vector<std::string>(allowed.begin(), allowed.end()));
}

void JsonView::expect_keys(const std::vector<std::string>& allowed) const {
  if (!node_->is_object()) fail("an object");
  for (auto it = node_->begin(); it != node_->end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string list;
    for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
    throw ConfigError(*file_, member_path(path_, it.key()),
                      "unknown field \"" + it.key() + "\" (expected one of: " + list + ")");
  }
}

std::string JsonView::as_string() const {
  if (!node_->is_string()) fail("a string");
  return node_->get<std::string>();
}

bool JsonView::as_bool() const {
  if (!node_->is_boolean()) fail("true or false");
  return node_->get<bool>();
}

double JsonView::as_number() const {
  if (!node_->is_number()) fail("a number");
  return node_->get<double>();
}

namespace {

// The node's value as an int64, if it is a whole number in int64's range.
// nlohmann counts an unsigned number as an integer too: one above int64's
// range must not wrap to a negative value, nor a double beyond it be cast
// (undefined behaviour), so both are checked against the range first.
std::optional<std::int64_t> whole_number(const nlohmann::json& node) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (node.is_number_unsigned()) {
    const auto u = node.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(u);
  } else if (node.is_number_integer()) {
    return node.get<std::int64_t>();
  } else if (node.is_number_float()) {
    const double v = node.get<double>();
    if (v >= -kTwoTo63 && v < kTwoTo63 && v == std::trunc(v)) return static_cast<std::int64_t>(v);
  }
  return std::nullopt;
}

}  // namespace

std::int64_t JsonView::as_integer() const {
  if (const auto x = whole_number(*node_)) return *x;
  fail("an integer from -9223372036854775808 to 9223372036854775807");
}

Duration JsonView::as_duration() const {
  Duration d{};
  if (!node_->is_string() || !parse_duration(node_->get<std::string>(), d)) {
    fail("a non-negative duration such as \"250ms\", \"30s\", \"5m\" or \"2h\"");
  }
  return d;
}

double JsonView::number(std::string_view key, double lo, double hi) const {
  const JsonView v = (*this)[key];
  const double x = v.as_number();
  if (x < lo || x > hi) {
    std::ostringstream expected;
    expected << "a number from " << lo << " to " << hi;
    v.fail(expected.str());
  }
  return x;
}

std::int64_t JsonView::integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
  const JsonView v = (*this)[key];
  // A value that is no integer at all is told the same range as one out of
  // it: "an integer from 1 to 16", not int64's.
  const auto x = whole_number(v.raw());
  if (!x || *x < lo || *x > hi) v.fail("an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return *x;
}

std::uint64_t JsonView::unsigned_integer(std::string_view key) const {
  const JsonView v = (*this)[key];
  if (v.raw().is_number_unsigned()) return v.raw().get<std::uint64_t>();
  if (v.raw().is_number_integer() && v.raw().get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.raw().get<std::int64_t>());
  }
  v.fail("an integer from 0 to 18446744073709551615");
}

std::uint64_t JsonView::unsigned_integer_or(std::string_view key, std::uint64_t fallback) const {
  return has(key) ? unsigned_integer(key) : fallback;
}

std::string JsonView::choice(std::string_view key, std::initializer_list<std::string_view> choices) const {
  const JsonView v = (*this)[key];
  const std::string s = v.as_string();
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  std::string list;
  for (auto c : choices) list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
  v.fail("one of " + list);
}

std::string JsonView::string_or(std::string_view key, std::string fallback) const {
  return has(key) ? string(key) : std::move(fallback);
}
bool JsonView::boolean_or(std::string_view key, bool fallback) const {
  return has(key) ? boolean(key) : fallback;
}
double JsonView::number_or(std::string_view key, double fallback, double lo, double hi) const {
  return has(key) ? number(key, lo, hi) : fallback;
}
std::int64_t JsonView::integer_or(std::string_view key, std::int64_t fallback, std::int64_t lo,
                                  std::int64_t hi) const {
  return has(key) ? integer(key, lo, hi) : fallback;
}
Duration JsonView::duration_or(std::string_view key, Duration fallback) const {
  return has(key) ? duration(key) : fallback;
}
std::string JsonView::choice_or(std::string_view key, std::string fallback,
                                std::initializer_list<std::string_view> choices) const {
  return has(key) ? choice(key, choices) : std::move(fallback);
}

void JsonView::fail(std::string_view expected) const {
  throw ConfigError(*file_, path_, "expected " + std::string(expected) + ", got " + describe(*node_));
}

void JsonView::fail_with(std::string message) const { throw ConfigError(*file_, path_, std::move(message)); }

}  // namespace faultline::runtime
