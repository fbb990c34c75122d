// The daemon's crash-safe record of its live buffers ("<heap dir>.state"), so that a daemon
// started after any crash re-adopts every buffer that still has a holder (system/adopt.h).
//
// An append-only log of checksummed records. A buffer's record is appended — one write(2),
// which a crash of the process cannot half-do once it returned — before its fd leaves the
// daemon, so any buffer a client can hold has a whole record; a later SET_NAME appends the
// new name. Released buffers are not written: the log is rewritten (to a temporary file, renamed
// into place) from the live buffers when it has grown well past them, and once at each start.
// The ids of a buffer's memfd name (dmaheap:<heap>:<id>) never repeat across restarts: the log
// carries the next id.
//
// Reading stops at the first record that is not whole and correct: a torn tail (a crash during
// the append of a record whose fd never left) is normal; anything else is corruption, reported,
// and what came before it is still used.
#ifndef DMAHEAP_SRC_SYSTEM_BUFFER_LOG_H
#define DMAHEAP_SRC_SYSTEM_BUFFER_LOG_H

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "dmabuf/dma_buf.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

// What re-adopting a buffer needs to know of it.
struct BufferRecord {
  uint64_t id = 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string heap;
  uint64_t size = 0;
  uint32_t f_flags = 0;  // the access mode
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string cgroup;  // "" when unknown
  std::string name;
  std::vector<ScatterEntry> table;  // the modelled pages, as the heap allocated them
};

BufferRecord RecordOf(const DmaBuf& buf);

struct LogContents {
  std::map<uint64_t, BufferRecord> records;  // by id
  uint64_t next_id = 1;
  bool torn = false;    // the last record was cut short (a crash while appending)
  std::string corrupt;  // why reading stopped early, with the offset; "" when it did not
};

// Encoding, for the log and its fuzz target.
std::vector<uint8_t> EncodeRecord(const BufferRecord& record);
std::vector<uint8_t> EncodeName(uint64_t id, std::string_view name);
std::vector<uint8_t> EncodeNextId(uint64_t next_id);
LogContents DecodeLog(std::span<const uint8_t> bytes);

// The log at `path`: ENOENT when there is none; read's errno.
Result<LogContents> ReadBufferLog(const std::string& path);

class BufferLog {
 public:
  BufferLog() = default;

  // Writes `live` and `next_id` to a new file that replaces `path`, and opens it for appending.
  static Result<BufferLog> Create(const std::string& path, const std::vector<BufferRecord>& live,
                                  uint64_t next_id);

  Result<void> Append(const BufferRecord& record);
  Result<void> AppendName(uint64_t id, std::string_view name);

  // Whether the log has grown well past `live` buffers' records (time to rewrite it).
  bool Bloated(size_t live) const;
  const std::string& path() const { return path_; }
  uint64_t bytes() const { return bytes_; }

 private:
  Result<void> Write(const std::vector<uint8_t>& bytes);

  std::string path_;
  UniqueFd fd_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;  // appended since the last rewrite, the rewrite's included
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_BUFFER_LOG_H
