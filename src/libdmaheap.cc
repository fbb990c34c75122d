// libdmaheap.so is the layers linked whole (CMakeLists.txt: platform, system, client and the
// kernel API, with what they need below them); it has no code of its own. What it exports is
// decided in one place each: DMAHEAP_API on the public C++ API, the C API's declarations, and
// src/kapi/kapi.syms for modules.
