// Result<T>: a value or a positive errno, and DMAHEAP_TRY to propagate it straight-line.
//
// Why not std::expected: g++ 12 has it only under -std=c++23 and without .and_then, and clang 14
// cannot parse libstdc++ 12's <expected>; this header must also build as C++17 (Android code
// includes the public API). Errors are errno values because every layer below — the kernel ABI
// this project reproduces, the C ABI, the socket protocol — speaks errno.
#ifndef DMAHEAP_RESULT_H
#define DMAHEAP_RESULT_H

#include <cassert>
#include <optional>
#include <utility>

namespace dmaheap {

// A failure: a positive errno value (EINVAL, ENOMEM, ...). Never 0.
struct Error {
  int code;
};

[[nodiscard]] inline Error Errno(int code) noexcept { return Error{code}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : error_(error.code) {     // NOLINT(google-explicit-constructor)
    assert(error.code > 0);
  }

  bool ok() const noexcept { return error_ == 0; }
  explicit operator bool() const noexcept { return ok(); }
  // The errno of a failed result; 0 when ok().
  int error() const noexcept { return error_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  // By value, so `for (auto& x : f().value())` does not dangle.
  T value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  // Used by DMAHEAP_TRY: moves the value out.
  T take() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  int error_ = 0;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(error.code) {  // NOLINT(google-explicit-constructor)
    assert(error.code > 0);
  }
  bool ok() const noexcept { return error_ == 0; }
  explicit operator bool() const noexcept { return ok(); }
  int error() const noexcept { return error_; }
  void take() && {}

 private:
  int error_ = 0;
};

// 0 for success, -errno for failure: the C ABI's convention.
template <typename T>
int ToNegErrno(const Result<T>& r) noexcept {
  return r.ok() ? 0 : -r.error();
}

}  // namespace dmaheap

// Evaluates `expr` (a Result); on failure returns its error from the enclosing function, else
// yields the value. A GNU statement expression (g++ and clang both accept it).
#define DMAHEAP_TRY(expr)                                            \
  ({                                                                 \
    auto&& dmaheap_try_result_ = (expr);                             \
    if (!dmaheap_try_result_.ok()) [[unlikely]]                      \
      return ::dmaheap::Error{dmaheap_try_result_.error()};          \
    std::move(dmaheap_try_result_).take();                           \
  })

#endif  // DMAHEAP_RESULT_H
