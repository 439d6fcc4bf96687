#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "libs/pg/test_embed.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CcEmbedTest, FilesAreSortedBasenamesWithExactBytes) {
  const auto& files = dvc::pg::test_embed::Files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "binary.bin");
  EXPECT_EQ(files[1].name, "text.txt");
  for (const auto& f : files) {
    std::string on_disk = ReadFile("libs/pg/testdata/embed/" + f.name);
    ASSERT_FALSE(on_disk.empty()) << f.name;
    EXPECT_EQ(f.content, on_disk) << f.name;
  }
}

TEST(CcEmbedTest, BinaryContentKeepsNulAndHighBytes) {
  const auto& bin = dvc::pg::test_embed::Files()[0];
  const std::string expected("a\0b\xff\xfe\"\\?\n\t\r\x01" "end", 15);
  EXPECT_EQ(bin.content.size(), 15u);
  EXPECT_EQ(bin.content, expected);
}

TEST(CcEmbedTest, ReturnsTheSameVectorEachCall) {
  EXPECT_EQ(&dvc::pg::test_embed::Files(), &dvc::pg::test_embed::Files());
}

}  // namespace
