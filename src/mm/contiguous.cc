#include "mm/contiguous.h"

#include <cctype>
#include <cstdio>
#include <string>

namespace dmaheap {
namespace {

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

Error Refuse(std::string_view value, std::string_view why) {
  std::fprintf(stderr, "dmaheap: cma=%.*s: %.*s\n", static_cast<int>(value.size()), value.data(),
               static_cast<int>(why.size()), why.data());
  return Errno(EINVAL);
}

}  // namespace

uint64_t MemParse(std::string_view text, size_t* used) {
  size_t i = 0;
  unsigned base = 10;
  // simple_strtoull(…, 0): "0x" → hex, a leading 0 → octal.
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') && text.size() > 2 &&
      DigitValue(text[2]) < 16) {
    base = 16;
    i = 2;
  } else if (!text.empty() && text[0] == '0') {
    base = 8;
  }
  const size_t digits_start = i;
  uint64_t value = 0;
  while (i < text.size() && DigitValue(text[i]) < static_cast<int>(base)) {
    value = value * base + static_cast<uint64_t>(DigitValue(text[i]));
    ++i;
  }
  if (i == digits_start) {  // no digit at all ("0" itself is an octal digit)
    *used = 0;
    return 0;
  }
  unsigned shift = 0;
  if (i < text.size()) {
    switch (text[i]) {
      case 'E':
      case 'e':
        shift = 60;
        break;
      case 'P':
      case 'p':
        shift = 50;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'K':
      case 'k':
        shift = 10;
        break;
      default:
        break;
    }
    if (shift != 0) ++i;
  }
  *used = i;
  return value << shift;
}

bool ParseStrictSize(std::string_view text, uint64_t* size) {
  unsigned shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (value > (UINT64_MAX >> shift)) return false;
  *size = value << shift;
  return true;
}

Result<CmaCmdline> ParseCmaArgument(std::string_view value) {
  CmaCmdline out;
  size_t used = 0;
  out.size = MemParse(value, &used);
  if (used == 0) return Refuse(value, "expected a size such as 64M");
  std::string_view rest = value.substr(used);
  if (rest.empty()) return out;
  if (rest[0] != '@')
    return Refuse(value, "unexpected \"" + std::string(rest) + "\" after the size");
  out.base = MemParse(rest.substr(1), &used);
  if (used == 0) return Refuse(value, "expected a start address after '@'");
  rest = rest.substr(1 + used);
  if (rest.empty()) {
    out.limit = out.base + out.size;  // "@base" alone: a fixed placement
    return out;
  }
  if (rest[0] != '-')
    return Refuse(value, "unexpected \"" + std::string(rest) + "\" after the start");
  out.limit = MemParse(rest.substr(1), &used);
  if (used == 0) return Refuse(value, "expected an end address after '-'");
  if (used + 1 != rest.size())
    return Refuse(value, "unexpected \"" + std::string(rest.substr(1 + used)) + "\" after the end");
  return out;
}

}  // namespace dmaheap
