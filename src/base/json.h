// The little JSON dmaheap writes (`--json` outputs): a string literal with its escapes.
#ifndef DMAHEAP_SRC_BASE_JSON_H
#define DMAHEAP_SRC_BASE_JSON_H

#include <cstdio>
#include <string>
#include <string_view>

namespace dmaheap {

inline std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_BASE_JSON_H
