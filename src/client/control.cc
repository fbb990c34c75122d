#include "client/control.h"

#include "base/check.h"
#include "ipc/paths.h"
#include "ipc/protocol.h"
#include "ipc/transport.h"

namespace dmaheap {
namespace {

Op ToOp(ControlRequest request) {
  switch (request) {
    case ControlRequest::kStats:
      return Op::kStats;
    case ControlRequest::kBarrier:
      return Op::kBarrier;
    case ControlRequest::kBufInfo:
      return Op::kBufInfo;
    case ControlRequest::kCma:
      return Op::kCma;
    case ControlRequest::kDmesg:
      return Op::kDmesg;
    case ControlRequest::kLsmod:
      return Op::kLsmod;
    case ControlRequest::kModinfo:
      return Op::kModinfo;
    case ControlRequest::kInsmod:
      return Op::kInsmod;
    case ControlRequest::kRmmod:
      return Op::kRmmod;
    case ControlRequest::kModprobe:
      return Op::kModprobe;
  }
  return Op::kStats;
}

}  // namespace

Result<ControlConnection> ControlConnection::Open(std::string* path_out) {
  std::string path;
  if (const char* ctl = std::getenv("DMAHEAP_CONTROL"); ctl != nullptr && *ctl != '\0') {
    path = ctl;
  } else {
    std::string tried;
    Result<std::string> dir = FindDaemonDir(&tried);
    if (!dir.ok()) {
      if (path_out != nullptr) *path_out = tried;
      return Errno(ENOENT);
    }
    path = ControlSocketPathFor(*dir);
  }
  if (path_out != nullptr) *path_out = path;
  UniqueFd sock = TRY(ConnectSocket(path));
  return ControlConnection(std::move(sock));
}

Result<std::string> ControlConnection::Request(ControlRequest request, const std::string& arg) {
  Reply reply = TRY(Call(sock_.get(), ToOp(request), 0, arg.data(), arg.size()));
  if (reply.status != 0) return Errno(reply.status);
  return std::string(reply.data.begin(), reply.data.end());
}

}  // namespace dmaheap
