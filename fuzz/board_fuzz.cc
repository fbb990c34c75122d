// Fuzz target: a board's DTB, as `dmaheap board FILE` or dmaheapd --board reads it: parsed,
// placed, its swiotlb placed and its devices described. Any input is a Board or a refusal
// (whose reason goes to stderr: run libFuzzer with -close_fd_mask=2 to keep it quiet).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "board/board.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  Result<Board> board = ParseBoardBlob(std::span<const uint8_t>(data, size), "fuzz");
  if (!board.ok()) return 0;
  std::vector<std::string> log;
  Result<std::vector<ReservedRegion>> placed = PlaceReservedMemory(*board, &log);
  if (!placed.ok()) return 0;
  (void)PlaceSwiotlb(*board, *placed, &log);
  for (const BoardDevice& d : board->devices) (void)DmaSpecOf(d);
  (void)DescribeBoard(*board, *placed, log);
  return 0;
}
