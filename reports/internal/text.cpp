// Escaping and number formatting for the writers (text.h).
#include "reports/internal/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace faultline::reports::internal {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at text[i], or 0 if it is not one.
std::size_t valid_sequence_length(std::string_view text, std::size_t i, char32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    code_point = b0;
    return 1;
  }
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  code_point = cp;
  return length;
}

bool is_forbidden_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

}  // namespace

std::string sanitize_utf8(std::string_view text, bool drop_controls) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    const std::size_t length = valid_sequence_length(text, i, cp);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (drop_controls && is_forbidden_control(cp)) {
      out += kReplacement;
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_code_points) {
  const std::string clean = sanitize_utf8(text);
  std::size_t points = 0;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    if ((static_cast<unsigned char>(clean[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (points == max_code_points) return clean.substr(0, i) + "\xE2\x80\xA6";
    ++points;
  }
  return clean;
}

namespace {
std::string escape_xml(std::string_view text, bool attribute) {
  const std::string clean = sanitize_utf8(text, true);
  std::string out;
  out.reserve(clean.size() + 16);
  for (const char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}
}  // namespace

std::string escape_xml_text(std::string_view text) { return escape_xml(text, false); }
std::string escape_xml_attribute(std::string_view text) { return escape_xml(text, true); }

std::string escape_markdown_cell(std::string_view text) {
  const std::string clean = sanitize_utf8(text, true);
  std::string out;
  out.reserve(clean.size() + 16);
  for (const char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\n':
      case '\r':
      case '\t': out += ' '; break;
      // Inside a table cell only inline markup matters: emphasis, code,
      // links and images (all need one of these), and the cell separator.
      case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '~':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

std::string markdown_code(std::string_view text) {
  std::string clean = sanitize_utf8(text, true);
  for (char& c : clean) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  std::size_t longest = 0;
  std::size_t run = 0;
  for (const char c : clean) {
    run = (c == '`') ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !clean.empty() && (clean.front() == '`' || clean.back() == '`');
  return fence + (pad ? " " : "") + clean + (pad ? " " : "") + fence;
}

std::string escape_prometheus_label(std::string_view text) {
  const std::string clean = sanitize_utf8(text, true);
  std::string out;
  out.reserve(clean.size() + 8);
  for (const char c : clean) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_real(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // one spelling for 0 and -0
  return fmt::format("{}", value);
}

std::string format_short(double value) {
  if (!std::isfinite(value)) return format_real(value);
  if (value == 0) return "0";
  return fmt::format("{:.4g}", value);
}

std::string format_fixed(double value, int decimals) {
  if (!std::isfinite(value)) return format_real(value);
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos && s.front() == '-') s.erase(0, 1);  // no "-0.00"
  return s;
}

std::string format_percent(double fraction, int decimals) {
  return format_fixed(fraction * 100.0, decimals) + "%";
}

double to_ms(runtime::Duration d) { return static_cast<double>(d.count()) / 1e6; }

std::string format_duration_human(runtime::Duration d) {
  if (d == runtime::Duration::zero()) return "0";
  const double ms = to_ms(d);
  const double magnitude = std::fabs(ms);
  if (magnitude < 1.0) return format_fixed(ms * 1000.0, 0) + " µs";
  if (magnitude < 1000.0) return format_fixed(ms, magnitude < 10 ? 2 : 1) + " ms";
  if (magnitude < 120'000.0) return format_fixed(ms / 1000.0, 2) + " s";
  return format_fixed(ms / 60'000.0, 1) + " min";
}

}  // namespace faultline::reports::internal
