/*
 * Writing a dmaheap heap module (the kernel's <linux/module.h>, for user space).
 *
 * A module is an ELF shared object built against these headers with
 * -fvisibility=hidden -fno-semantic-interposition -fno-gnu-unique (otherwise its functions can
 * bind to the core's same-named ones, and dlclose never unmaps it). It carries:
 *  - a `.modinfo` section of NUL-terminated "key=value" strings, written by the macros below:
 *    license, description, author, import_ns (one per namespace), vermagic, name;
 *  - a module descriptor in section `.dmaheap_module` naming its init and exit functions.
 * Both are read with libelf before the module is ever mapped. An empty exit name makes the
 * module permanent: it can never be unloaded ([permanent] in listings), as in Linux.
 */
#ifndef DMAHEAP_MODULE_H
#define DMAHEAP_MODULE_H

#include <stdint.h>

#include "dmaheap/vermagic.h"

#define DMAHEAP_MODULE_DESC_MAGIC 0x646d6d64u /* "dmmd" */
#define DMAHEAP_MODULE_NAME_MAX 56
#define DMAHEAP_MODULE_FN_MAX 64

/* The descriptor: fixed-size strings, so it reads without relocation processing. */
struct dmaheap_module_desc {
  uint32_t magic;   /* DMAHEAP_MODULE_DESC_MAGIC */
  uint32_t version; /* 1 */
  char name[DMAHEAP_MODULE_NAME_MAX];
  char init[DMAHEAP_MODULE_FN_MAX]; /* required */
  char exit[DMAHEAP_MODULE_FN_MAX]; /* "" == permanent */
};

#define DMAHEAP_CONCAT_(a, b) a##b
#define DMAHEAP_CONCAT(a, b) DMAHEAP_CONCAT_(a, b)

#define DMAHEAP_MODINFO(tag, info)                                                   \
  __attribute__((section(".modinfo"), used, aligned(1))) static const char           \
      DMAHEAP_CONCAT(dmaheap_modinfo_, __COUNTER__)[] = #tag "=" info

#define MODULE_LICENSE(text) DMAHEAP_MODINFO(license, text)
#define MODULE_DESCRIPTION(text) DMAHEAP_MODINFO(description, text)
#define MODULE_AUTHOR(text) DMAHEAP_MODINFO(author, text)
#define MODULE_IMPORT_NS(text) DMAHEAP_MODINFO(import_ns, text)

/* Declares the module: its name, its init function and its exit function (or nothing, for a
 * permanent module). The init and exit functions must be exported (DMAHEAP_MODULE_ENTRY). */
#define DMAHEAP_MODULE(modname, init_fn, exit_fn)                                     \
  DMAHEAP_MODINFO(vermagic, DMAHEAP_VERMAGIC);                                       \
  DMAHEAP_MODINFO(name, #modname);                                                   \
  __attribute__((section(".dmaheap_module"), used)) static const struct              \
      dmaheap_module_desc dmaheap_this_module = {DMAHEAP_MODULE_DESC_MAGIC, 1, #modname, \
                                                 #init_fn, #exit_fn}
#define DMAHEAP_PERMANENT_MODULE(modname, init_fn) DMAHEAP_MODULE(modname, init_fn, )

#ifdef __cplusplus
#define DMAHEAP_MODULE_ENTRY extern "C" __attribute__((visibility("default")))
#else
#define DMAHEAP_MODULE_ENTRY __attribute__((visibility("default")))
#endif

#endif /* DMAHEAP_MODULE_H */
