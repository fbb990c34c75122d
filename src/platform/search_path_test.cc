// Where dmaheap looks for its files: an environment variable's directories, then directories
// relative to the core. This binary links the core statically and lives in the build tree's
// bin/, so every expectation is derived from /proc/self/exe: the library directory is its
// <bin>/../lib, as it is for dmaheapd.

#include "platform/search_path.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace dmaheap {
namespace {

constexpr char kEnv[] = "DMAHEAP_SEARCH_PATH_TEST_DIRS";  // read by nothing but this test

std::string RealPath(const std::string& path) {
  char real[PATH_MAX];
  return ::realpath(path.c_str(), real) != nullptr ? std::string(real) : std::string();
}

std::string ExeDir() {
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return {};
  const std::string path(exe, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

std::vector<std::string> WithLibDirs(std::vector<std::string> dirs, const std::string& beside) {
  for (const std::string& lib : CoreLibDirs()) dirs.push_back(lib + "/" + beside);
  return dirs;
}

class SearchPathTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv(kEnv); }
  void TearDown() override {
    unsetenv(kEnv);
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) unlink(it->c_str());
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) rmdir(it->c_str());
  }

  std::string TempDir() {
    const char* tmp = getenv("TMPDIR");
    std::string path =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/search_path_test.XXXXXX";
    if (mkdtemp(path.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << strerror(errno);
      return {};
    }
    dirs_.push_back(path);
    return path;
  }
  void Touch(const std::string& path) {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    fclose(f);
    files_.push_back(path);
  }

  std::vector<std::string> dirs_;
  std::vector<std::string> files_;  // files and links, removed before the directories
};

TEST_F(SearchPathTest, ProgramDirIsTheExecutablesDirectory) {
  const std::string expected = RealPath(ExeDir());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(ProgramDir(), expected);
}

TEST_F(SearchPathTest, CoreLibDirsOfAProgramInBinIsItsLibSibling) {
  const std::string lib = RealPath(ExeDir() + "/../lib");
  ASSERT_FALSE(lib.empty()) << "the build tree has no lib/ beside bin/";
  const std::vector<std::string> dirs = CoreLibDirs();
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), lib), dirs.end()) << lib;
  for (const std::string& dir : dirs) {
    SCOPED_TRACE(dir);
    ASSERT_FALSE(dir.empty());
    EXPECT_EQ(dir.front(), '/') << "absolute";
    EXPECT_NE(dir.back(), '/') << "no trailing '/'";
    EXPECT_EQ(RealPath(dir), dir) << "already resolved";
    struct stat st {};
    EXPECT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(std::count(dirs.begin(), dirs.end(), dir), 1) << "no duplicates";
  }
}

TEST_F(SearchPathTest, UnsetVariableGivesTheLibraryDirectoriesOnly) {
  const std::vector<std::string> path = SearchPath(kEnv, "dmaheap/things");
  EXPECT_EQ(path, WithLibDirs({}, "dmaheap/things"));
  EXPECT_FALSE(path.empty()) << "the build tree's lib/ is always there";
}

TEST_F(SearchPathTest, VariableEntriesComeFirstAndEmptyOnesAreSkipped) {
  struct {
    const char* value;
    std::vector<std::string> dirs;
  } const rows[] = {
      {"", {}},
      {":::", {}},
      {"/a", {"/a"}},
      {"/a:/b", {"/a", "/b"}},
      {":/a::/b:", {"/a", "/b"}},
      {"relative:/abs", {"relative", "/abs"}},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.value);
    ASSERT_EQ(setenv(kEnv, row.value, 1), 0);
    EXPECT_EQ(SearchPath(kEnv, "mods"), WithLibDirs(row.dirs, "mods"));
  }
}

TEST_F(SearchPathTest, FindInPathReturnsTheFirstReadable) {
  const std::string empty = TempDir();
  const std::string broken = TempDir();
  const std::string first = TempDir();
  const std::string second = TempDir();
  ASSERT_FALSE(HasFailure());
  const std::string link = broken + "/file.so";
  ASSERT_EQ(symlink((broken + "/no_such_target").c_str(), link.c_str()), 0);
  files_.push_back(link);
  ASSERT_NO_FATAL_FAILURE(Touch(first + "/file.so"));
  ASSERT_NO_FATAL_FAILURE(Touch(second + "/file.so"));

  const std::vector<std::string> dirs = {empty + "/missing", empty, broken, first, second};
  EXPECT_EQ(FindInPath(dirs, "file.so"), first + "/file.so");
  EXPECT_EQ(FindInPath({second, first}, "file.so"), second + "/file.so");
  EXPECT_EQ(FindInPath(dirs, "other.so"), "");
  EXPECT_EQ(FindInPath({empty, broken}, "file.so"), "") << "a dangling link is not readable";
  EXPECT_EQ(FindInPath({}, "file.so"), "");
}

// The variable and the library directories together, as ModulePath and the board path use them.
TEST_F(SearchPathTest, FindInPathOverSearchPath) {
  const std::string dir = TempDir();
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(Touch(dir + "/search_path_test.marker"));
  ASSERT_EQ(setenv(kEnv, (":" + dir).c_str(), 1), 0);
  EXPECT_EQ(FindInPath(SearchPath(kEnv, "nowhere"), "search_path_test.marker"),
            dir + "/search_path_test.marker");
  unsetenv(kEnv);
  EXPECT_EQ(FindInPath(SearchPath(kEnv, "nowhere"), "search_path_test.marker"), "");
}

}  // namespace
}  // namespace dmaheap
