#include "system/adopt.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <set>

#include "base/check.h"
#include "dmabuf/buffer_table.h"
#include "dmaheap/heap_buffer.h"
#include "heap/dma_heap.h"
#include "kapi/c_ops.h"
#include "mm/cma.h"
#include "mm/cma_trace.h"
#include "mm/genalloc.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"
#include "platform/cgroup.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

constexpr uint64_t kPage = 4096;

// Where one entry's pages came from, and how to give them back.
struct Claim {
  uint64_t pfn;
  uint64_t pages;
  CmaArea* cma;   // a CMA area's pages
  GenPool* pool;  // a carveout heap's pool's
  // Both null: the buddy allocator, one block of `pages` (a power of two) frames.
};

// Gives back what ClaimPages took.
void Release(PageAllocator& pages, const std::vector<Claim>& claims) {
  for (const Claim& c : claims) {
    if (c.cma != nullptr) {
      // As cma_release does for a buffer the CMA heap made (dmaheapd --record).
      if (c.cma->Release(c.pfn, c.pages) && CmaTraceRecorder::Get() != nullptr) {
        CmaTraceRecorder::Get()->Release(c.cma->name(), c.pfn, c.pages);
      }
    } else if (c.pool != nullptr) {
      c.pool->Free(c.pfn * kPage, c.pages * kPage);
    } else {
      pages.FreePages(c.pfn, static_cast<unsigned>(__builtin_ctzll(c.pages)));
    }
  }
}

// An adopted buffer is a heap module's buffer in every way but its release: the same ops
// (include/dmaheap/heap_buffer.h: attach copies the table, map maps it, begin/end CPU access sync
// exactly the mapped attachments, an uncached heap's buffer skips CPU sync, private mappings are
// refused), behind the same C forwarding (CBufferOps); its pages go back where they were
// claimed from.
struct AdoptedBuffer final : dmaheap_heaps::HeapBuffer {
  PageAllocator* pages = nullptr;
  std::vector<Claim> claims;
};

void ReleaseAdopted(void* priv) {
  auto* b = static_cast<AdoptedBuffer*>(dmaheap_heaps::Buffer(priv));
  Release(*b->pages, b->claims);
  delete b;
}

constexpr dma_buf_ops kAdoptedOps = dmaheap_heaps::HeapBufOps(ReleaseAdopted);

std::unique_ptr<DmaBufOps> AdoptedOps(PageAllocator& pages, const SgTable& table,
                                      std::vector<Claim> claims, bool uncached) {
  auto* b = new AdoptedBuffer;
  for (const ScatterEntry& e : table) b->table.push_back({e.dma_address, e.length});
  b->uncached = uncached;
  b->pages = &pages;
  b->claims = std::move(claims);
  auto ops = std::make_unique<CBufferOps>(&kAdoptedOps, static_cast<dmaheap_heaps::HeapBuffer*>(b));
  ops->Arm();  // from here the ops own the buffer: their end releases it
  return ops;
}

// Takes back every page of `table`; on failure gives back what it took and says why.
Result<std::vector<Claim>> ClaimPages(SystemCore& core, const SgTable& table, std::string* why) {
  std::vector<Claim> claims;
  auto fail = [&](const std::string& text, int err) -> Error {
    Release(core.pages(), claims);
    *why = text;
    return Errno(err);
  };
  for (const ScatterEntry& e : table) {
    if (e.length == 0 || e.length % kPage != 0 || e.dma_address % kPage != 0)
      return fail("its page table is malformed", EINVAL);
    const uint64_t pfn = e.dma_address / kPage, count = e.length / kPage;
    CmaArea* area = nullptr;
    GenPool* pool = nullptr;
    for (CmaRegion& r : core.reserved().cma()) {
      if (r.area->Contains(pfn)) area = r.area.get();
    }
    if (area == nullptr) {
      for (const ReservedRegion& r : core.reserved().regions()) {
        if (e.dma_address < r.base || e.dma_address >= r.end()) continue;
        // A carveout: the pages are the pool the heap module made over the region.
        const std::vector<GenPool*> pools = GenPool::PoolsContaining(e.dma_address);
        if (pools.size() != 1)
          return fail("its pages are in reserved region " + r.name + ", which " +
                          (pools.empty() ? "no pool" : "more than one pool") + " manages",
                      EINVAL);
        pool = pools.front();
      }
    }
    Result<void> taken = Errno(EINVAL);
    if (area != nullptr) {
      taken = area->Claim(pfn, count);
    } else if (pool != nullptr) {
      taken = pool->Claim(e.dma_address, e.length);
    } else if ((count & (count - 1)) == 0 && pfn % count == 0) {
      taken = core.pages().Reserve(pfn, count);  // one buddy block, freed as one at release
    }
    if (!taken.ok()) {
      char text[128];
      std::snprintf(text, sizeof(text), "its pages at 0x%" PRIx64 " (%" PRIu64 " bytes) %s",
                    e.dma_address, e.length,
                    taken.error() == EBUSY ? "are taken" : "are no block of this board");
      return fail(text, taken.error());
    }
    claims.push_back({pfn, count, area, pool});
  }
  return claims;
}

bool AllDigits(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

}  // namespace

std::map<std::pair<uint64_t, uint64_t>, Holder> FindHolders(
    const std::vector<std::pair<uint64_t, uint64_t>>& wanted) {
  const std::set<std::pair<uint64_t, uint64_t>> want(wanted.begin(), wanted.end());
  std::map<std::pair<uint64_t, uint64_t>, Holder> found;
  const std::string self = std::to_string(::getpid());
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* p = ::readdir(proc)) {
    if (!AllDigits(p->d_name) || self == p->d_name) continue;
    for (const char* kind : {"fd", "map_files"}) {
      const std::string dir = std::string("/proc/") + p->d_name + "/" + kind;
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) continue;
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const std::string path = dir + "/" + e->d_name;
        char link[256];
        const ssize_t n = ::readlink(path.c_str(), link, sizeof(link) - 1);
        if (n <= 0) continue;
        link[n] = '\0';
        if (std::strncmp(link, "/memfd:dmaheap:", 15) != 0) continue;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;
        const std::pair<uint64_t, uint64_t> key{st.st_dev, st.st_ino};
        if (want.count(key) != 0 && found.count(key) == 0) found[key] = Holder{path, link};
      }
      ::closedir(d);
    }
  }
  ::closedir(proc);
  return found;
}

AdoptReport AdoptBuffers(SystemCore& core, const std::map<uint64_t, BufferRecord>& records) {
  AdoptReport report;
  std::vector<std::pair<uint64_t, uint64_t>> wanted;
  for (const auto& entry : records) wanted.emplace_back(entry.second.dev, entry.second.ino);
  const auto holders = FindHolders(wanted);
  for (const auto& entry : records) {
    // Plain names, not structured bindings: the lambda below captures them (C++20 allows that,
    // clang before 16 does not).
    const uint64_t id = entry.first;
    const BufferRecord& r = entry.second;
    auto holder = holders.find({r.dev, r.ino});
    const std::string memfd = "/memfd:dmaheap:" + r.heap + ":" + std::to_string(id) + " (deleted)";
    if (holder == holders.end() || holder->second.link != memfd) {
      ++report.gone;
      continue;
    }
    auto note = [&](const std::string& why) {
      char head[160];
      std::snprintf(head, sizeof(head),
                    "buffer %" PRIu64 " (%s, %" PRIu64 " bytes, inode %" PRIu64 ") not adopted: ",
                    id, r.heap.c_str(), r.size, r.ino);
      report.notes.push_back(head + why);
    };
    DmaHeap* heap = core.heaps().Find(r.heap);
    if (heap == nullptr) {
      note("no heap " + r.heap + " on this boot");
      continue;
    }
    uint64_t total = 0;
    for (const ScatterEntry& e : r.table) total += e.length;
    if (total != r.size || r.size == 0) {
      note("its page table does not cover its size");
      continue;
    }
    std::string why;
    Result<std::vector<Claim>> claims = ClaimPages(core, r.table, &why);
    if (!claims.ok()) {
      note(why);
      continue;
    }
    DmaBufExportInfo info;
    info.exporter = heap;
    info.size = r.size;
    info.flags = r.f_flags;
    info.ops = AdoptedOps(core.pages(), r.table, std::move(claims).value(),
                          !heap->properties().cached);
    const Owner owner{r.pid, r.uid, r.gid,
                      r.cgroup.empty() ? nullptr : sys::InternCgroup(r.cgroup)};
    Result<DmaBufRef> buf = core.buffers().Adopt(std::move(info), id, r.dev, r.ino,
                                                 holder->second.path, {owner, r.name, r.f_flags});
    if (!buf.ok()) {
      // The buffer's ops were dropped with `info`, giving the pages back; a release in between
      // (ENOENT) is simply a buffer gone.
      if (buf.error() == ENOENT) {
        ++report.gone;
      } else {
        note(std::string("cannot watch it again: ") + std::strerror(buf.error()));
      }
      continue;
    }
    report.adopted.push_back(id);
  }
  return report;
}

}  // namespace dmaheap
