#include "libs/validators/name.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

// "Nguyễn Văn A" precomposed (NFC) and fully decomposed (NFD).
const char kNfc[] = "Nguy\xE1\xBB\x85n V\xC4\x83n A";  // ễ = U+1EC5, ă = U+0103
const char kNfd[] = "Nguye\xCC\x82\xCC\x83n Va\xCC\x86n A";  // e + U+0302 + U+0303, a + U+0306

TEST(NameTest, NormalizeComposesAndCollapsesSpaces) {
  ASSERT_NE(std::string(kNfc), std::string(kNfd));
  EXPECT_EQ(*NormalizeName(kNfd), kNfc);
  EXPECT_EQ(*NormalizeName("  Trần\t\tThị   Bích\n"), "Trần Thị Bích");
  EXPECT_EQ(*NormalizeName("Lê\xC2\xA0Văn"), "Lê Văn");            // no-break space
  EXPECT_EQ(*NormalizeName("L\xE2\x80\x8B" "ê Văn"), "Lê Văn");     // zero-width space removed
  EXPECT_EQ(*NormalizeName("   "), "");
}

TEST(NameTest, KeyIgnoresCompositionAndCase) {
  EXPECT_EQ(*NameKey(kNfc), *NameKey(kNfd));
  EXPECT_EQ(*NameKey("NGUYỄN VĂN A"), *NameKey(kNfd));
  EXPECT_EQ(*NameKey("nguyễn  văn a "), *NameKey(kNfc));
  EXPECT_EQ(*NameKey("ĐẶNG"), *NameKey("đặng"));
  EXPECT_TRUE(SameName(kNfc, "NGUYE\xCC\x82\xCC\x83N VA\xCC\x86N A"));
  // Different diacritics are different names.
  EXPECT_FALSE(SameName("Nguyễn Văn A", "Nguyên Văn A"));
  EXPECT_FALSE(SameName("Lê", "Le"));
  EXPECT_FALSE(SameName("Lê", "L\xff"));
}

TEST(NameTest, InvalidUtf8) {
  auto r = NormalizeName("Nguy\xff" "n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonOf(r.status()), "NAME_INVALID");
  EXPECT_EQ(ReasonOf(NameKey("\xC3").status()), "NAME_INVALID");
  EXPECT_EQ(ReasonOf(ValidateFullName("\xED\xA0\x80")), "NAME_INVALID");
}

TEST(NameTest, ValidNames) {
  for (const char* ok : {"Nguyễn Văn A", kNfd, "Trần Thị Thu Hà", "Đặng Ngọc Ánh",
                         "Hoàng Phương-Linh", "H'Hen Niê", "O’Brien", "Ksor Y Đăk",
                         "José Müller", "A", "  Lê   Lợi  "}) {
    EXPECT_TRUE(ValidateFullName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateFullName(std::string(100, 'a')).ok());
  std::string hundred_vi;
  for (int i = 0; i < 100; ++i) hundred_vi += "ễ";  // 100 code points, 300 bytes
  EXPECT_TRUE(ValidateFullName(hundred_vi).ok());
}

TEST(NameTest, Required) {
  for (const char* empty : {"", "   ", "\t\n", "\xE2\x80\x8B"}) {
    auto s = ValidateFullName(empty);
    EXPECT_EQ(ReasonOf(s), "NAME_REQUIRED") << empty;
    EXPECT_EQ(GetErrorInfo(s)->field, "full_name");
  }
}

TEST(NameTest, Invalid) {
  for (const char* bad : {"Nguyen Van 2", "Nguyễn_Văn", "Lê.Lợi", "A@B", "<script>",
                          "Иван Петров", "王小明", "Nguyễn 😀", "'-'", "--", "Lê\x01Lợi",
                          "Tom & Jerry"}) {
    auto s = ValidateFullName(bad);
    EXPECT_EQ(ReasonOf(s), "NAME_INVALID") << bad;
  }
  EXPECT_EQ(ReasonOf(ValidateFullName(std::string(101, 'a'))), "NAME_INVALID");
  EXPECT_EQ(GetErrorInfo(ValidateFullName("1", "ho_ten"))->field, "ho_ten");
}

}  // namespace
}  // namespace dvc::validators
