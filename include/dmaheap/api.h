/* DMAHEAP_API marks what libdmaheap.so exports: the public C++ API. The library is built with
 * hidden visibility, so nothing else of the core leaves it. A C++11 attribute: C++17 code
 * includes the public headers. */
#ifndef DMAHEAP_API_H
#define DMAHEAP_API_H

#define DMAHEAP_API [[gnu::visibility("default")]]

#endif /* DMAHEAP_API_H */
