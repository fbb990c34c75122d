// The fuzz targets' driver in the ordinary build (g++, no libFuzzer): every file of the seed
// corpus given on the command line, then a fixed number of deterministic mutations of each
// (byte flips, truncations, insertions; $DMAHEAP_FUZZ_MUTATIONS of them), so ctest — and the sanitizer build — run every target
// over inputs near the valid ones. With clang, -DDMAHEAP_FUZZ=ON builds the same targets
// against libFuzzer for open-ended runs (fuzz/README.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  // $DMAHEAP_FUZZ_MUTATIONS per seed (default 2000).
  const char* env = std::getenv("DMAHEAP_FUZZ_MUTATIONS");
  const int mutations = env != nullptr ? std::atoi(env) : 2000;
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    const std::vector<uint8_t> seed((std::istreambuf_iterator<char>(in)), {});
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (int m = 0; m < mutations; ++m) {
      std::vector<uint8_t> input = seed;
      const int edits = 1 + static_cast<int>(next() % 4);
      for (int e = 0; e < edits; ++e) {
        const uint64_t r = next();
        switch (r % 4) {
          case 0:
            if (!input.empty()) input[(r >> 8) % input.size()] ^= static_cast<uint8_t>(r >> 32);
            break;
          case 1:
            if (!input.empty()) input.resize((r >> 8) % input.size());
            break;
          case 2:
            input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : (r >> 8) % input.size()),
                         static_cast<uint8_t>(r >> 40));
            break;
          default:
            if (input.size() >= 4) {
              const size_t at = (r >> 8) % (input.size() - 3);
              const uint32_t v = static_cast<uint32_t>(r >> 32);
              for (int b = 0; b < 4; ++b) input[at + b] = static_cast<uint8_t>(v >> (8 * b));
            }
        }
      }
      LLVMFuzzerTestOneInput(input.data(), input.size());
      ++runs;
    }
  }
  std::printf("%zu inputs, no crash\n", runs);
  return 0;
}
