#include "harness/live/sync_redis.h"

namespace faultline::harness::sync_redis {

std::vector<std::string> monitor_arguments(std::string_view line) {
  std::vector<std::string> out;
  auto at = line.find("] ");
  if (at == std::string_view::npos) return out;
  for (at += 2; at < line.size();) {
    if (line[at] != '"') {
      ++at;
      continue;
    }
    std::string arg;
    for (++at; at < line.size() && line[at] != '"'; ++at) {
      if (line[at] != '\\' || at + 1 >= line.size()) {
        arg += line[at];
        continue;
      }
      const char e = line[++at];
      switch (e) {
        case 'n': arg += '\n'; break;
        case 'r': arg += '\r'; break;
        case 't': arg += '\t'; break;
        case 'a': arg += '\a'; break;
        case 'b': arg += '\b'; break;
        case 'x':
          if (at + 2 < line.size()) {
            arg += static_cast<char>(std::stoi(std::string(line.substr(at + 1, 2)), nullptr, 16));
            at += 2;
          }
          break;
        default: arg += e;
      }
    }
    ++at;
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace faultline::harness::sync_redis
