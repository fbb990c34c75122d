// Boards written by a test: DTS text compiled with the dtc the build found (DTC_PATH), into a
// private directory that goes with the object.
#ifndef DMAHEAP_TESTS_BOARD_UTIL_H
#define DMAHEAP_TESTS_BOARD_UTIL_H

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace dmaheap::testing_util {

// Root node wrapper: 2/2 cells, RAM `ram` (a reg value) and `body` inside `/ { … }`.
inline std::string BoardDts(const std::string& body,
                            const std::string& ram = "0x0 0x40000000 0x0 0x40000000") {
  return "/dts-v1/;\n/ {\n#address-cells = <2>;\n#size-cells = <2>;\n"
         "memory@40000000 { device_type = \"memory\"; reg = <" + ram + ">; };\n" + body + "\n};\n";
}

// "reserved-memory { … }" with matching cells around `children`.
inline std::string ReservedMemoryNode(const std::string& children) {
  return "reserved-memory {\n#address-cells = <2>;\n#size-cells = <2>;\nranges;\n" + children +
         "\n};\n";
}

class BoardDir {
 public:
  BoardDir() {
    char tmpl[] = "/tmp/dmaheap-board.XXXXXX";
    dir_ = mkdtemp(tmpl) != nullptr ? tmpl : "/tmp";
  }
  ~BoardDir() {
    nftw(dir_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); },
         8, FTW_DEPTH | FTW_PHYS);
  }
  BoardDir(const BoardDir&) = delete;
  BoardDir& operator=(const BoardDir&) = delete;

  const std::string& path() const { return dir_; }

  // Compiles `dts` into DIR/NAME.dtb (and NAME.modules.load when `modules` is not empty);
  // returns the .dtb path, or "" when dtc refused the source.
  std::string Write(const std::string& name, const std::string& dts,
                    const std::string& modules = "") {
    const std::string src = dir_ + "/" + name + ".dts", dtb = dir_ + "/" + name + ".dtb";
    std::ofstream(src) << dts;
    if (!modules.empty()) std::ofstream(dir_ + "/" + name + ".modules.load") << modules;
    const std::string cmd = std::string(DTC_PATH) + " -q -I dts -O dtb -o " + dtb + " " + src;
    return std::system(cmd.c_str()) == 0 ? dtb : "";
  }

 private:
  std::string dir_;
};

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

}  // namespace dmaheap::testing_util

#endif  // DMAHEAP_TESTS_BOARD_UTIL_H
