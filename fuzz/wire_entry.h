// The wire target's input format: a stream entry as text, one field a line,
// the name and the value split at the first space ("topic ocr"); a line
// without a space is a name with an empty value. Values cannot hold a
// newline in this form, which costs the fuzzer nothing it needs: the
// codec's own bodies escape every control character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reference_system/wire.h"

namespace faultline::fuzz {

inline std::vector<reference_system::WireFieldView> entry_from_text(std::string_view text) {
  std::vector<reference_system::WireFieldView> fields;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    const auto space = line.find(' ');
    fields.emplace_back(line.substr(0, space),
                        space == std::string_view::npos ? std::string_view() : line.substr(space + 1));
  }
  return fields;
}

inline std::string entry_to_text(const reference_system::WireFields& fields) {
  std::string text;
  for (const auto& [name, value] : fields) text += name + " " + value + "\n";
  return text;
}

}  // namespace faultline::fuzz
