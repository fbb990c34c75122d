// The buffer record: what is appended is read back; a torn tail (a crash while appending) is
// normal and loses only the record being written; a damaged record stops reading there, with
// what came before kept; a rewrite keeps only the live buffers and the next id.
#include "system/buffer_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace dmaheap {
namespace {

BufferRecord Record(uint64_t id, std::string heap, std::vector<ScatterEntry> table) {
  BufferRecord r;
  r.id = id;
  r.dev = 0x15;
  r.ino = 1000 + id;
  r.heap = std::move(heap);
  for (const ScatterEntry& e : table) r.size += e.length;
  r.table = std::move(table);
  r.f_flags = O_RDWR;
  r.pid = 4242;
  r.uid = 1000;
  r.gid = 100;
  r.cgroup = "/user.slice/app";
  return r;
}

void ExpectSame(const BufferRecord& a, const BufferRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.dev, b.dev);
  EXPECT_EQ(a.ino, b.ino);
  EXPECT_EQ(a.heap, b.heap);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.f_flags, b.f_flags);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.cgroup, b.cgroup);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.table, b.table);
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(BufferLogTest, RecordsNamesAndTheNextIdReadBack) {
  const BufferRecord a = Record(7, "system", {{0x40100000, 1 << 20}, {0x40010000, 65536}});
  const BufferRecord b = Record(9, "linux,cma", {{0xf8000000, 8 << 20}});
  const LogContents log =
      DecodeLog(Cat({EncodeNextId(5), EncodeRecord(a), EncodeRecord(b), EncodeName(7, "cam0")}));
  EXPECT_TRUE(log.corrupt.empty()) << log.corrupt;
  EXPECT_FALSE(log.torn);
  ASSERT_EQ(log.records.size(), 2u);
  BufferRecord named = a;
  named.name = "cam0";
  ExpectSame(log.records.at(7), named);
  ExpectSame(log.records.at(9), b);
  EXPECT_EQ(log.next_id, 10u) << "past every recorded id";
  EXPECT_EQ(DecodeLog(Cat({EncodeRecord(a), EncodeNextId(40)})).next_id, 40u);
}

TEST(BufferLogTest, ATornTailLosesOnlyTheRecordBeingWritten) {
  const std::vector<uint8_t> whole = Cat({EncodeRecord(Record(1, "system", {{0x40000000, 4096}})),
                                          EncodeRecord(Record(2, "system", {{0x40001000, 4096}}))});
  const size_t first = EncodeRecord(Record(1, "system", {{0x40000000, 4096}})).size();
  for (size_t cut = first + 1; cut < whole.size(); ++cut) {
    SCOPED_TRACE(cut);
    const LogContents log = DecodeLog(std::span<const uint8_t>(whole.data(), cut));
    EXPECT_TRUE(log.torn);
    EXPECT_TRUE(log.corrupt.empty());
    EXPECT_EQ(log.records.size(), 1u);
  }
}

TEST(BufferLogTest, DamageStopsReadingThereAndKeepsWhatCameBefore) {
  const std::vector<uint8_t> one = EncodeRecord(Record(1, "system", {{0x40000000, 4096}}));
  std::vector<uint8_t> bytes = Cat({one, EncodeRecord(Record(2, "system", {{0x40001000, 4096}})),
                                    EncodeRecord(Record(3, "system", {{0x40002000, 4096}}))});
  bytes[one.size() + 20] ^= 0x40;  // inside the second record's payload
  LogContents log = DecodeLog(bytes);
  EXPECT_EQ(log.corrupt, "checksum mismatch at byte " + std::to_string(one.size()));
  EXPECT_EQ(log.records.size(), 1u);
  EXPECT_EQ(log.records.count(1), 1u);
  bytes = Cat({one, std::vector<uint8_t>(64, 0x5a)});
  log = DecodeLog(bytes);
  EXPECT_EQ(log.corrupt, "no record header at byte " + std::to_string(one.size()));
  EXPECT_EQ(log.records.size(), 1u);
}

TEST(BufferLogTest, AFileIsRewrittenWithTheLiveBuffersAndAppendedTo) {
  char dir[] = "/tmp/buffer_log_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/h.state";
  EXPECT_EQ(ReadBufferLog(path).error(), ENOENT);
  {
    Result<BufferLog> log =
        BufferLog::Create(path, {Record(3, "system", {{0x40000000, 4096}})}, 12);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->Append(Record(12, "system", {{0x40001000, 8192}})).ok());
    ASSERT_TRUE(log->AppendName(3, "old").ok());
    EXPECT_FALSE(log->Bloated(2));
  }
  Result<LogContents> back = ReadBufferLog(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->records.at(3).name, "old");
  EXPECT_EQ(back->next_id, 13u);
  // A rewrite replaces the file whole: only what it is given.
  ASSERT_TRUE(BufferLog::Create(path, {}, 13).ok());
  back = ReadBufferLog(path);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->records.empty());
  EXPECT_EQ(back->next_id, 13u);
  EXPECT_NE(access((path + ".new").c_str(), F_OK), 0) << "no temporary file left";
  (void)!system(("rm -rf " + std::string(dir)).c_str());
}

TEST(BufferLogTest, ALogGrownPastItsBuffersAsksForARewrite) {
  char dir[] = "/tmp/buffer_log_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/h.state";
  Result<BufferLog> log = BufferLog::Create(path, {}, 1);
  ASSERT_TRUE(log.ok());
  for (uint64_t id = 1; id <= 5000; ++id)
    ASSERT_TRUE(log->Append(Record(id, "system", {{0x40000000, 4096}})).ok());
  EXPECT_TRUE(log->Bloated(10)) << "5000 records for 10 live buffers";
  EXPECT_FALSE(log->Bloated(4000)) << "most of them still live";
  (void)!system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace dmaheap
