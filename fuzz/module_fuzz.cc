// Fuzz target: a module file as insmod/modprobe read it before loading (ReadModuleImage: the
// ELF headers and sections through libelf, .modinfo, the module descriptor, the undefined
// dynamic symbols and their versions). The bytes go into a memfd read through /proc/self/fd,
// as a file on disk would be. Any input is an image or a refusal (whose reason goes to stderr:
// run libFuzzer with -close_fd_mask=2 to keep it quiet). Nothing is ever mapped to run.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "module/module_elf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  const int fd = memfd_create("module_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  for (size_t done = 0; done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  Result<ModuleImage> image = ReadModuleImage("/proc/self/fd/" + std::to_string(fd));
  if (image.ok()) {
    // What the loader does next reads these: they must be whole strings.
    (void)image->Get("license");
    (void)image->GetAll("import_ns");
    for (const UndefinedSymbol& s : image->undefined) (void)s.name.size();
  }
  close(fd);
  return 0;
}
