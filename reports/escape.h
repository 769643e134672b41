// Text from files (scenario names, paths, error messages that quote a file)
// on its way to a terminal or a shell. A name may hold anything a JSON string
// can: ESC sequences that recolour or retitle a terminal, NUL, newlines that
// forge a second verdict line. Everything faultline prints that came from a
// file goes through printable(); a command printed for copying goes through
// shell_quote().
//
//   fmt::print("{} {}\n", label(r.verdict), reports::printable(r.name));
//   "faultline run " + reports::shell_quote("./a b;touch x.json")   // './a b;touch x.json'
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace faultline::reports {

namespace internal {
// The length of the well-formed UTF-8 sequence at `i`, or 0 if the bytes
// there are not one (overlong forms and surrogates included).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1Fu;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0Fu;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07u;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}
}  // namespace internal

// Safe to print: printable ASCII and well-formed UTF-8 stay as they are
// (C1 controls U+0080..U+009F excepted); a backslash becomes "\\", newline,
// carriage return and tab "\n", "\r", "\t", and every other control byte or
// byte that is not UTF-8 "\xNN". The escaping is reversible.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      hex(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      const std::size_t n = internal::utf8_sequence_length(text, i);
      const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
      if (n == 0 || c1) {
        for (std::size_t k = 0; k < (n == 0 ? 1 : n); ++k) hex(static_cast<unsigned char>(text[i + k]));
        i += n == 0 ? 1 : n;
        continue;
      }
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

// One word for /bin/sh: as it is when it holds only characters no shell
// treats specially, else in single quotes (a quote inside becomes '\'').
inline std::string shell_quote(std::string_view word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_./:=@%+,-") == std::string_view::npos;
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += "'";
  return out;
}

}  // namespace faultline::reports
