// Tests' shorthand for a result that must hold a value: the value, or a failed expectation and
// a default one.
#ifndef DMAHEAP_SRC_DMA_TEST_OK_H
#define DMAHEAP_SRC_DMA_TEST_OK_H

#include <gtest/gtest.h>

#include <utility>

#include "dmaheap/result.h"

namespace dmaheap {

template <typename T>
T Ok(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : T{};
}

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMA_TEST_OK_H
