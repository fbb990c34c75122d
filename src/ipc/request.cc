#include "ipc/request.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "dmabuf/dma_buf_rules.h"
#include "platform/scm.h"

namespace dmaheap {
namespace {

constexpr size_t kTextChunk = kMaxPayload;  // fits the client's first receive buffer

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A name a client may give: shorter than DMA_BUF_NAME_LEN, without NUL.
bool ValidName(std::string_view name) {
  return name.size() < DMA_BUF_NAME_LEN && name.find('\0') == std::string_view::npos;
}

}  // namespace

Result<Request> DecodeRequest(RawRequest raw) {
  if ((raw.msg_flags & MSG_TRUNC) != 0 || raw.bytes.size() > sizeof(RequestHeader) + kMaxPayload)
    return Errno(EMSGSIZE);
  if ((raw.msg_flags & MSG_CTRUNC) != 0) return Errno(EINVAL);
  if (raw.bytes.size() < sizeof(RequestHeader)) return Errno(EBADMSG);
  RequestHeader h;
  std::memcpy(&h, raw.bytes.data(), sizeof(h));
  if (h.magic != kProtocolMagic || h.reserved != 0 ||
      h.len != raw.bytes.size() - sizeof(RequestHeader)) {
    return Errno(EBADMSG);
  }
  Request request;
  request.op = static_cast<Op>(h.op);
  request.cmd = h.cmd;
  request.payload = raw.bytes.subspan(sizeof(RequestHeader));
  request.cred = raw.cred;
  request.fds = std::move(raw.fds);
  return request;
}

Result<HeapRequest> DecodeHeapRequest(const Request& request) {
  HeapRequest out;
  switch (request.op) {
    case Op::kHeapIoctl:
      if (!request.fds.empty()) return Errno(EINVAL);  // stray fds: refused (and closed)
      out.cmd = static_cast<unsigned int>(request.cmd);
      out.arg = request.payload;
      return out;
    case Op::kAllocNamed: {
      if (!request.fds.empty()) return Errno(EINVAL);
      constexpr size_t kArg = sizeof(dma_heap_allocation_data);
      if (request.payload.size() < kArg) return Errno(EINVAL);
      out.cmd = DMA_HEAP_IOCTL_ALLOC;
      out.arg = request.payload.first(kArg);
      out.name = AsText(request.payload.subspan(kArg));
      if (!ValidName(out.name)) return Errno(EINVAL);
      return out;
    }
    case Op::kSetName:
      if (request.fds.size() != 1) return Errno(EBADF);
      out.kind = HeapRequest::Kind::kSetName;
      out.name = AsText(request.payload);
      if (!ValidName(out.name)) return Errno(EINVAL);
      out.buffer_fd = request.fds[0].get();
      return out;
    case Op::kSync:
      if (request.fds.size() != 1) return Errno(EBADF);
      if (!ValidSyncFlags(request.cmd) || !request.payload.empty()) return Errno(EINVAL);
      out.kind = HeapRequest::Kind::kSync;
      out.sync_flags = request.cmd;
      out.buffer_fd = request.fds[0].get();
      return out;
    case Op::kHeapInfo:
      if (!request.fds.empty() || !request.payload.empty()) return Errno(EINVAL);
      out.kind = HeapRequest::Kind::kInfo;
      return out;
    default:
      return Errno(EOPNOTSUPP);
  }
}

HeapInfo EncodeHeapInfo(const HeapProperties& properties) {
  HeapInfo info{};
  if (properties.cached) info.flags |= kHeapInfoCached;
  if (properties.contiguous) info.flags |= kHeapInfoContiguous;
  if (properties.zeroed_on_alloc) info.flags |= kHeapInfoZeroed;
  info.max_size = properties.max_size;
  return info;
}

Result<void> CheckControlRequest(const Request& request) {
  if (request.cred.uid != 0) return Errno(EPERM);
  if (!request.fds.empty()) return Errno(EINVAL);
  switch (request.op) {
    case Op::kStats:
    case Op::kBarrier:
    case Op::kBufInfo:
    case Op::kInsmod:
    case Op::kRmmod:
    case Op::kModprobe:
    case Op::kLsmod:
    case Op::kModinfo:
    case Op::kCma:
    case Op::kDmesg:
      return {};
    default:
      return Errno(EOPNOTSUPP);
  }
}

bool SendReply(int sock, int status, const void* data, size_t len, int pass_fd) {
  ReplyHeader h{kProtocolMagic, status, static_cast<uint32_t>(len), pass_fd >= 0 ? 1u : 0u};
  const size_t first = std::min(len, kTextChunk);
  const iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void*>(data), first}};
  const int fds[1] = {pass_fd};
  if (!sys::SendWithFds(sock, std::span<const iovec>(iov, first > 0 ? 2 : 1),
                        std::span<const int>(fds, pass_fd >= 0 ? 1 : 0))
           .ok()) {
    return false;
  }
  for (size_t off = first; off < len; off += kTextChunk) {
    const size_t n = std::min(kTextChunk, len - off);
    // A client that reads text slowly may fill the socket; wait for it.
    for (;;) {
      ssize_t rc = ::send(sock, static_cast<const char*>(data) + off, n, MSG_NOSIGNAL);
      if (rc >= 0) break;
      if (errno != EAGAIN) return false;
      pollfd p{sock, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return false;
    }
  }
  return true;
}

}  // namespace dmaheap
