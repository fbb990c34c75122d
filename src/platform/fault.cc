#include "platform/fault.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "base/check.h"

namespace dmaheap::sys {
namespace {

constexpr std::pair<const char*, int> kErrnos[] = {
    {"enomem", ENOMEM}, {"enospc", ENOSPC}, {"emfile", EMFILE}, {"enfile", ENFILE},
    {"eio", EIO},       {"eagain", EAGAIN}, {"eintr", EINTR},   {"ebusy", EBUSY}};

bool Number(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 9) return false;
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

Result<FaultRule> ParseRule(std::string_view rule, std::string* why) {
  auto bad = [&](const char* what) -> Error {
    *why = std::string("rule '") + std::string(rule) + "': " + what;
    return Errno(EINVAL);
  };
  // SITE may hold one ':' (heap:NAME); the last two fields are ERRNO and N/M.
  const size_t last = rule.rfind(':');
  if (last == std::string_view::npos || last == 0) return bad("expected SITE:ERRNO:N/M");
  const size_t mid = rule.rfind(':', last - 1);
  if (mid == std::string_view::npos || mid == 0) return bad("expected SITE:ERRNO:N/M");
  FaultRule r;
  r.site = std::string(rule.substr(0, mid));
  const std::string_view err = rule.substr(mid + 1, last - mid - 1);
  const std::string_view ratio = rule.substr(last + 1);
  if (r.site != "memfd" && r.site != "fallocate" &&
      (r.site.rfind("heap:", 0) != 0 || r.site.size() == 5))
    return bad("SITE must be heap:NAME, memfd or fallocate");
  for (const auto& [name, value] : kErrnos) {
    if (err == name) r.err = value;
  }
  if (r.err == 0)
    return bad("ERRNO must be one of enomem, enospc, emfile, enfile, eio, eagain, eintr, ebusy");
  const size_t slash = ratio.find('/');
  if (slash == std::string_view::npos || !Number(ratio.substr(0, slash), &r.n) ||
      !Number(ratio.substr(slash + 1), &r.m) || r.m == 0 || r.n == 0 || r.n > r.m)
    return bad("N/M must be two numbers with 0 < N <= M");
  return r;
}

struct Faults {
  std::vector<FaultRule> rules;
  std::string why;  // non-empty: $DMAHEAP_FAULT is malformed
};

const Faults& Loaded() {
  static const Faults* faults = [] {
    auto* f = new Faults;
    const char* text = std::getenv("DMAHEAP_FAULT");
    if (text == nullptr) return f;
    Result<std::vector<FaultRule>> rules = ParseFaults(text, &f->why);
    if (rules.ok()) {
      f->rules = std::move(rules).value();
    } else {
      std::fprintf(stderr, "dmaheap: DMAHEAP_FAULT=%s: %s; no fault is injected\n", text,
                   f->why.c_str());
    }
    return f;
  }();
  return *faults;
}

}  // namespace

namespace {

// The ',' that ends the rule at the start of `text`: one followed by a site's name (a heap's
// name may hold ',', as linux,cma does), or npos.
size_t RuleEnd(std::string_view text) {
  for (size_t at = text.find(','); at != std::string_view::npos; at = text.find(',', at + 1)) {
    const std::string_view next = text.substr(at + 1);
    if (next.empty() || next.rfind("heap:", 0) == 0 || next.rfind("memfd:", 0) == 0 ||
        next.rfind("fallocate:", 0) == 0)
      return at;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<FaultRule>> ParseFaults(std::string_view text, std::string* why) {
  std::vector<FaultRule> rules;
  while (!text.empty()) {
    const size_t comma = RuleEnd(text);
    rules.push_back(TRY(ParseRule(text.substr(0, comma), why)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) {
      *why = "a trailing ','";
      return Errno(EINVAL);
    }
  }
  return rules;
}

bool FaultsEnabled() { return !Loaded().rules.empty(); }

bool FaultsValid(std::string* why) {
  *why = Loaded().why;
  return why->empty();
}

int InjectedFault(std::string_view site) {
  for (const FaultRule& r : Loaded().rules) {
    if (r.site != site) continue;
    const uint64_t call = r.calls->fetch_add(1, std::memory_order_relaxed);
    if (call % r.m < r.n) return r.err;
  }
  return 0;
}

}  // namespace dmaheap::sys
