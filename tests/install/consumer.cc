// Built with find_package(dmaheap) against an installed tree, as C++17.
#include <dmaheap/dmaheap.h>

#include <cstdio>

int main() {
  auto sys = dmaheap::System::Boot({});
  if (!sys.ok()) return 1;
  auto fd = (*sys)->Allocate("system", 4096);
  std::printf("C++ consumer: %s\n", fd.ok() ? "allocated" : "failed");
  return fd.ok() ? 0 : 1;
}
