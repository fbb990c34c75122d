// Compiled with -std=c++17 -Werror: the public C++ API must stay usable from C++17 code.
#include "dmaheap/c/dmaheap.h"
#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"

static_assert(__cplusplus == 201703L, "this check must be built as C++17");

int DmaheapCxx17Check() {
  auto sys = dmaheap::System::Boot();
  if (!sys.ok()) return sys.error();
  auto fd = (*sys)->Allocate("system", 4096);
  return fd.ok() ? 0 : fd.error();
}
