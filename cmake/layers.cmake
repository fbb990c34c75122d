# The layers of dmaheap (DESIGN.md "Layers"), lowest first: each one's source folders and the
# layers directly below it. A layer sees (may include) itself and every layer its arrows reach;
# nothing above it and no sibling. Used by the build (per-layer include roots, so an include
# against the direction does not compile) and by tests/layering_check.cmake (which reads the
# sources and names each include that runs back up).
#
#   base ← platform ← {mm, dma ← dmabuf} ← heap ← kapi ← module ← system ← ipc
#        ← {service, client, drm ← {preload, supervisor}} ← {dmabufheap, tools}
set(DMAHEAP_LAYERS base platform dma mm dmabuf heap kapi module system ipc
    service client drm preload supervisor dmabufheap tools)

set(DMAHEAP_LAYER_base_DIRS src/base)
set(DMAHEAP_LAYER_base_BELOW "")
set(DMAHEAP_LAYER_platform_DIRS src/platform)
set(DMAHEAP_LAYER_platform_BELOW base)
# The DMA API (kernel/dma, drivers/iommu/dma-iommu.c, iova.c): devices, mappings, swiotlb.
set(DMAHEAP_LAYER_dma_DIRS src/dma)
set(DMAHEAP_LAYER_dma_BELOW platform)
set(DMAHEAP_LAYER_mm_DIRS src/mm)
set(DMAHEAP_LAYER_mm_BELOW platform)
set(DMAHEAP_LAYER_dmabuf_DIRS src/dmabuf)
set(DMAHEAP_LAYER_dmabuf_BELOW dma)
set(DMAHEAP_LAYER_heap_DIRS src/heap)
set(DMAHEAP_LAYER_heap_BELOW mm dmabuf)
set(DMAHEAP_LAYER_kapi_DIRS src/kapi)
set(DMAHEAP_LAYER_kapi_BELOW heap)
set(DMAHEAP_LAYER_module_DIRS src/module)
set(DMAHEAP_LAYER_module_BELOW kapi)
set(DMAHEAP_LAYER_system_DIRS src/system src/board)
set(DMAHEAP_LAYER_system_BELOW module)
set(DMAHEAP_LAYER_ipc_DIRS src/ipc)
set(DMAHEAP_LAYER_ipc_BELOW system)
set(DMAHEAP_LAYER_service_DIRS src/service)
set(DMAHEAP_LAYER_service_BELOW ipc)
set(DMAHEAP_LAYER_client_DIRS src/client)
set(DMAHEAP_LAYER_client_BELOW ipc)
# The DRM core's ioctl rules and the vgem card (drivers/gpu/drm), served over the device socket.
set(DMAHEAP_LAYER_drm_DIRS src/drm)
set(DMAHEAP_LAYER_drm_BELOW ipc)
set(DMAHEAP_LAYER_preload_DIRS src/preload)
set(DMAHEAP_LAYER_preload_BELOW drm)
set(DMAHEAP_LAYER_supervisor_DIRS src/supervisor)
set(DMAHEAP_LAYER_supervisor_BELOW drm)
# libdmabufheap.so: Android's API over the public one (it includes public headers only).
set(DMAHEAP_LAYER_dmabufheap_DIRS src/libdmabufheap)
set(DMAHEAP_LAYER_dmabufheap_BELOW client)
set(DMAHEAP_LAYER_dmabufheap_PUBLIC_ONLY ON)
set(DMAHEAP_LAYER_tools_DIRS tools/dmaheap)
set(DMAHEAP_LAYER_tools_BELOW client supervisor)

# Not layers of the core but held to the same rule: heap modules see the plug-in ABI only (they
# are built against include/ alone), and the demos the public API only, as applications would.
set(DMAHEAP_PLUGIN_DIRS modules/system_heap modules/cma_heap modules/carveout_heap)
set(DMAHEAP_PLUGIN_BELOW kapi)
set(DMAHEAP_APPLICATION_DIRS tools/demo)
set(DMAHEAP_APPLICATION_BELOW client)

# The public headers (include/dmaheap/) belong to layers too: the plug-in ABI is the kernel API's,
# the booted System's API the system layer's, the client API the client layer's. Everything else
# there (Result, UniqueFd, the UAPI) is base.
set(DMAHEAP_PUBLIC_kapi dmaheap/kapi.h dmaheap/module.h dmaheap/vermagic.h dmaheap/heap_buffer.h)
set(DMAHEAP_PUBLIC_platform dmaheap/fd_passing.h)
set(DMAHEAP_PUBLIC_system dmaheap/dmaheap.h dmaheap/device.h)
set(DMAHEAP_PUBLIC_client dmaheap/client.h dmaheap/c/dmaheap.h BufferAllocator/BufferAllocator.h
    BufferAllocator/BufferAllocatorWrapper.h BufferAllocator/dmabufheap-defs.h)

# dmaheap_layer_visible(LAYER OUT): LAYER and every layer below it, lowest first.
function(dmaheap_layer_visible layer out)
  set(seen "")
  set(todo ${layer})
  while(todo)
    list(POP_FRONT todo l)
    if(NOT l IN_LIST seen)
      list(APPEND seen ${l})
      list(APPEND todo ${DMAHEAP_LAYER_${l}_BELOW})
    endif()
  endwhile()
  set(ordered "")
  foreach(l IN LISTS DMAHEAP_LAYERS)
    if(l IN_LIST seen)
      list(APPEND ordered ${l})
    endif()
  endforeach()
  set(${out} ${ordered} PARENT_SCOPE)
endfunction()

# dmaheap_layer_of_dir(DIR OUT): the layer a source folder (relative to the top) belongs to, or "".
function(dmaheap_layer_of_dir dir out)
  set(found "")
  foreach(l IN LISTS DMAHEAP_LAYERS)
    if(dir IN_LIST DMAHEAP_LAYER_${l}_DIRS)
      set(found ${l})
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()
