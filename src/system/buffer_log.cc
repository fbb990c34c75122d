#include "system/buffer_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

constexpr uint32_t kMagic = 0x52424844;  // "DHBR" little-endian
constexpr uint8_t kBuffer = 1, kName = 2, kNextId = 3;
constexpr size_t kHeader = 16;  // magic, type + pad, payload length, CRC-32 of the payload
constexpr uint32_t kMaxPayload = 1u << 24;

uint32_t Crc32(std::span<const uint8_t> bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

class Writer {
 public:
  void U16(uint16_t v) { Raw(&v, sizeof(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof(v)); }
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void Str(std::string_view s) {
    U16(static_cast<uint16_t>(std::min<size_t>(s.size(), 0xffff)));
    Raw(s.data(), std::min<size_t>(s.size(), 0xffff));
  }
  // The record: header, then the payload written so far.
  std::vector<uint8_t> Seal(uint8_t type) const {
    std::vector<uint8_t> out(kHeader + payload_.size());
    const uint32_t len = static_cast<uint32_t>(payload_.size());
    const uint32_t crc = Crc32(payload_);
    std::memcpy(out.data(), &kMagic, 4);
    out[4] = type;
    std::memcpy(out.data() + 8, &len, 4);
    std::memcpy(out.data() + 12, &crc, 4);
    if (!payload_.empty()) std::memcpy(out.data() + kHeader, payload_.data(), payload_.size());
    return out;
  }

 private:
  void Raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    payload_.insert(payload_.end(), b, b + n);
  }
  std::vector<uint8_t> payload_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool U16(uint16_t& v) { return Raw(&v, sizeof(v)); }
  bool U32(uint32_t& v) { return Raw(&v, sizeof(v)); }
  bool U64(uint64_t& v) { return Raw(&v, sizeof(v)); }
  bool Str(std::string& s) {
    uint16_t n = 0;
    if (!U16(n) || n > bytes_.size() - at_) return false;
    s.assign(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  bool Raw(void* p, size_t n) {
    if (n > bytes_.size() - at_) return false;
    std::memcpy(p, bytes_.data() + at_, n);
    at_ += n;
    return true;
  }
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

bool DecodeBuffer(std::span<const uint8_t> payload, BufferRecord& r) {
  Reader in(payload);
  uint32_t pid = 0, n = 0;
  if (!in.U64(r.id) || !in.U64(r.dev) || !in.U64(r.ino) || !in.U64(r.size) || !in.U32(r.f_flags) ||
      !in.U32(pid) || !in.U32(r.uid) || !in.U32(r.gid) || !in.Str(r.heap) || !in.Str(r.name) ||
      !in.Str(r.cgroup) || !in.U32(n))
    return false;
  r.pid = static_cast<pid_t>(pid);
  if (n > payload.size() / 16) return false;
  r.table.resize(n);
  for (ScatterEntry& e : r.table) {
    if (!in.U64(e.dma_address) || !in.U64(e.length)) return false;
  }
  return in.done() && r.id != 0 && !r.heap.empty();
}

}  // namespace

BufferRecord RecordOf(const DmaBuf& buf) {
  BufferRecord r;
  r.id = buf.id();
  r.dev = static_cast<uint64_t>(buf.dev());
  r.ino = static_cast<uint64_t>(buf.ino());
  r.heap = buf.exp_name();
  r.size = buf.size();
  r.f_flags = buf.f_flags();
  r.pid = buf.owner().pid;
  r.uid = buf.owner().uid;
  r.gid = buf.owner().gid;
  if (buf.owner().cgroup != nullptr) r.cgroup = *buf.owner().cgroup;
  r.name = buf.name();
  const std::span<const ScatterEntry> table = buf.ops().sg_table();
  r.table.assign(table.begin(), table.end());
  return r;
}

std::vector<uint8_t> EncodeRecord(const BufferRecord& r) {
  Writer out;
  out.U64(r.id);
  out.U64(r.dev);
  out.U64(r.ino);
  out.U64(r.size);
  out.U32(r.f_flags);
  out.U32(static_cast<uint32_t>(r.pid));
  out.U32(r.uid);
  out.U32(r.gid);
  out.Str(r.heap);
  out.Str(r.name);
  out.Str(r.cgroup);
  out.U32(static_cast<uint32_t>(r.table.size()));
  for (const ScatterEntry& e : r.table) {
    out.U64(e.dma_address);
    out.U64(e.length);
  }
  return out.Seal(kBuffer);
}

std::vector<uint8_t> EncodeName(uint64_t id, std::string_view name) {
  Writer out;
  out.U64(id);
  out.Str(name);
  return out.Seal(kName);
}

std::vector<uint8_t> EncodeNextId(uint64_t next_id) {
  Writer out;
  out.U64(next_id);
  return out.Seal(kNextId);
}

LogContents DecodeLog(std::span<const uint8_t> bytes) {
  LogContents log;
  size_t at = 0;
  auto corrupt = [&](const char* why) {
    char text[128];
    std::snprintf(text, sizeof(text), "%s at byte %zu", why, at);
    log.corrupt = text;
  };
  while (at < bytes.size()) {
    if (bytes.size() - at < kHeader) {
      log.torn = true;
      break;
    }
    uint32_t magic = 0, len = 0, crc = 0;
    std::memcpy(&magic, bytes.data() + at, 4);
    std::memcpy(&len, bytes.data() + at + 8, 4);
    std::memcpy(&crc, bytes.data() + at + 12, 4);
    const uint8_t type = bytes[at + 4];
    if (magic != kMagic || len > kMaxPayload) {
      corrupt("no record header");
      break;
    }
    if (bytes.size() - at - kHeader < len) {
      log.torn = true;
      break;
    }
    const std::span<const uint8_t> payload = bytes.subspan(at + kHeader, len);
    if (Crc32(payload) != crc) {
      corrupt("checksum mismatch");
      break;
    }
    bool ok = false;
    if (type == kBuffer) {
      BufferRecord r;
      ok = DecodeBuffer(payload, r);
      if (ok) {
        if (r.id >= log.next_id) log.next_id = r.id + 1;
        log.records[r.id] = std::move(r);
      }
    } else if (type == kName) {
      Reader in(payload);
      uint64_t id = 0;
      std::string name;
      ok = in.U64(id) && in.Str(name) && in.done();
      if (ok) {
        auto it = log.records.find(id);
        if (it != log.records.end()) it->second.name = std::move(name);
      }
    } else if (type == kNextId) {
      Reader in(payload);
      uint64_t next = 0;
      ok = in.U64(next) && in.done();
      if (ok && next > log.next_id) log.next_id = next;
    }
    if (!ok) {
      corrupt("malformed record");
      break;
    }
    at += kHeader + len;
  }
  return log;
}

Result<LogContents> ReadBufferLog(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Errno(errno);
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno);
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  return DecodeLog(bytes);
}

Result<BufferLog> BufferLog::Create(const std::string& path, const std::vector<BufferRecord>& live,
                                    uint64_t next_id) {
  const std::string tmp = path + ".new";
  std::vector<uint8_t> bytes = EncodeNextId(next_id);
  for (const BufferRecord& r : live) {
    const std::vector<uint8_t> one = EncodeRecord(r);
    bytes.insert(bytes.end(), one.begin(), one.end());
  }
  {
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!out) return Errno(errno);
    BufferLog staging;
    staging.fd_ = std::move(out);
    TRY(staging.Write(bytes));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Errno(err);
  }
  BufferLog log;
  log.path_ = path;
  log.fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!log.fd_) return Errno(errno);
  log.bytes_ = bytes.size();
  log.records_ = live.size() + 1;
  return log;
}

Result<void> BufferLog::Write(const std::vector<uint8_t>& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno(n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  bytes_ += bytes.size();
  ++records_;
  return {};
}

Result<void> BufferLog::Append(const BufferRecord& record) { return Write(EncodeRecord(record)); }

Result<void> BufferLog::AppendName(uint64_t id, std::string_view name) {
  return Write(EncodeName(id, name));
}

bool BufferLog::Bloated(size_t live) const {
  // A few thousand records at least between rewrites, and never more than twice the live ones.
  return records_ > 4096 && records_ > 2 * live;
}

}  // namespace dmaheap
