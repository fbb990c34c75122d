// What `dmaheap cma` shows of a System's CMA areas: the kernel's debugfs values
// (CmaDebugfsText), and with "owners" one `NAME/range: PFN COUNT PID COMM` line for each live
// buffer's pages in an area — who holds which part of the bitmap (`dmaheap cma --svg`,
// `dmaheap top`). PFN is hex, COUNT pages, COMM the allocating process's name ("?" once gone).
#ifndef DMAHEAP_SRC_SYSTEM_CMA_VIEW_H
#define DMAHEAP_SRC_SYSTEM_CMA_VIEW_H

#include <string>
#include <string_view>

namespace dmaheap {

class SystemCore;

// `options`: space-separated words, "bitmap" and/or "owners" (anything else is ignored, as the
// request's argument always was).
std::string CmaView(SystemCore& core, std::string_view options);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_CMA_VIEW_H
