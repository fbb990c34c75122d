// DMAHEAP_FAULT's rules: what parses, what is refused and why. (What the rules do to a daemon's
// allocations is tests/faults_test.cc.)
#include "platform/fault.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace dmaheap::sys {
namespace {

TEST(FaultTest, RulesParse) {
  std::string why;
  Result<std::vector<FaultRule>> rules =
      ParseFaults("heap:system:enomem:1/10,memfd:emfile:2/3,fallocate:enospc:1/1", &why);
  ASSERT_TRUE(rules.ok()) << why;
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_EQ((*rules)[0].site, "heap:system");
  EXPECT_EQ((*rules)[0].err, ENOMEM);
  EXPECT_EQ((*rules)[0].n, 1u);
  EXPECT_EQ((*rules)[0].m, 10u);
  EXPECT_EQ((*rules)[1].site, "memfd");
  EXPECT_EQ((*rules)[1].err, EMFILE);
  EXPECT_EQ((*rules)[2].err, ENOSPC);
  // A ',' ends a rule only where the next one starts: heap names may hold one.
  rules = ParseFaults("heap:linux,cma:eio:1/2,memfd:enomem:1/1", &why);
  ASSERT_TRUE(rules.ok()) << why;
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].site, "heap:linux,cma");
  EXPECT_TRUE(ParseFaults("", &why).value().empty());
}

TEST(FaultTest, BadRulesAreNamed) {
  for (const auto& [text, message] : std::initializer_list<std::pair<const char*, const char*>>{
           {"heap", "rule 'heap': expected SITE:ERRNO:N/M"},
           {"heap:system:enomem", "rule 'heap:system:enomem': SITE must be heap:NAME"},
           {"disk:enomem:1/2",
            "rule 'disk:enomem:1/2': SITE must be heap:NAME, memfd or fallocate"},
           {"heap::enomem:1/2", "SITE must be heap:NAME"},
           {"memfd:oops:1/2", "rule 'memfd:oops:1/2': ERRNO must be one of"},
           {"memfd:enomem:0/2", "N/M must be two numbers with 0 < N <= M"},
           {"memfd:enomem:3/2", "N/M must be two numbers with 0 < N <= M"},
           {"memfd:enomem:1/0", "N/M must be two numbers with 0 < N <= M"},
           {"memfd:enomem:1/x", "N/M must be two numbers"},
           {"memfd:enomem:1/2,", "a trailing ','"}}) {
    SCOPED_TRACE(text);
    std::string why;
    EXPECT_EQ(ParseFaults(text, &why).error(), EINVAL);
    EXPECT_NE(why.find(message), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace dmaheap::sys
