#include "libs/validators/cccd.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

TEST(CccdTest, ValidNumbersAndDecoding) {
  EXPECT_TRUE(ValidateCccd("001099012345").ok());
  EXPECT_EQ(*CccdBirthYear("001099012345"), 1999);
  EXPECT_EQ(*CccdGender("001099012345"), Gender::kMale);
  EXPECT_TRUE(CheckCccdMatchesBirthDate("001099012345", Date{1999, 5, 1}).ok());
  // G = 1: female, 1900s. G = 2/3: 2000s.
  EXPECT_EQ(*CccdBirthYear("079185000001"), 1985);
  EXPECT_EQ(*CccdGender("079185000001"), Gender::kFemale);
  EXPECT_EQ(*CccdBirthYear("048205000001"), 2005);
  EXPECT_EQ(*CccdGender("048205000001"), Gender::kMale);
  EXPECT_EQ(*CccdBirthYear("096300000001"), 2000);
  EXPECT_EQ(*CccdGender("096300000001"), Gender::kFemale);
  // From DOMAIN-FACTS (certificate subject example).
  EXPECT_TRUE(ValidateCccd("025199009534").ok());
}

TEST(CccdTest, Malformed) {
  for (const char* bad : {"", "00109901234", "0010990123456", "00109901234a", " 01099012345",
                          "001-99012345", "001099012345\n", "０01099012345"}) {
    auto s = ValidateCccd(bad);
    EXPECT_EQ(ReasonOf(s), "CCCD_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(s)->field, "cccd");
  }
  // Century digit 4..9 (born 2100 or later) is not issued.
  EXPECT_EQ(ReasonOf(ValidateCccd("001499012345")), "CCCD_MALFORMED");
  EXPECT_EQ(ReasonOf(ValidateCccd("001999012345")), "CCCD_MALFORMED");
  EXPECT_EQ(GetErrorInfo(ValidateCccd("1", "id_number"))->field, "id_number");
}

TEST(CccdTest, ProvinceCodes) {
  int valid = 0;
  for (int code = 0; code <= 999; ++code) valid += IsCccdProvinceCode(code);
  EXPECT_EQ(valid, 63);
  for (int code : {1, 79, 48, 96, 2, 11}) EXPECT_TRUE(IsCccdProvinceCode(code)) << code;
  for (int code : {0, 3, 5, 7, 9, 13, 16, 18, 21, 23, 28, 29, 32, 39, 41, 43, 47, 50, 53, 55,
                   57, 59, 61, 63, 65, 69, 71, 73, 76, 78, 81, 85, 88, 90, 97, 99}) {
    EXPECT_FALSE(IsCccdProvinceCode(code)) << code;
  }
  EXPECT_EQ(ReasonOf(ValidateCccd("003099012345")), "CCCD_PROVINCE_INVALID");
  EXPECT_EQ(ReasonOf(ValidateCccd("000099012345")), "CCCD_PROVINCE_INVALID");
  EXPECT_EQ(ReasonOf(ValidateCccd("097099012345")), "CCCD_PROVINCE_INVALID");
  EXPECT_EQ(ReasonOf(ValidateCccd("999099012345")), "CCCD_PROVINCE_INVALID");
}

TEST(CccdTest, BirthYearMismatch) {
  auto s = CheckCccdMatchesBirthDate("001099012345", Date{1998, 5, 1});
  EXPECT_EQ(ReasonOf(s), "CCCD_BIRTH_YEAR_MISMATCH");
  EXPECT_EQ(GetErrorInfo(s)->field, "cccd");
  // Same YY, wrong century.
  EXPECT_EQ(ReasonOf(CheckCccdMatchesBirthDate("001299012345", Date{1999, 5, 1})),
            "CCCD_BIRTH_YEAR_MISMATCH");
  EXPECT_TRUE(CheckCccdMatchesBirthDate("001299012345", Date{2099, 5, 1}).ok());
  // A malformed number reports the shape problem, not a mismatch.
  EXPECT_EQ(ReasonOf(CheckCccdMatchesBirthDate("00109901234", Date{1999, 5, 1})),
            "CCCD_MALFORMED");
  EXPECT_EQ(GetErrorInfo(CheckCccdMatchesBirthDate("001099012345", Date{1998, 1, 1}, "so_cccd"))
                ->field,
            "so_cccd");
}

TEST(CmndTest, NineDigits) {
  EXPECT_TRUE(ValidateCmnd("012345678").ok());
  for (const char* bad : {"", "01234567", "0123456789", "01234567a", "012 345 678"}) {
    auto s = ValidateCmnd(bad);
    EXPECT_EQ(ReasonOf(s), "CMND_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(s)->field, "cmnd");
  }
}

TEST(ClassifyIdNumberTest, ByShape) {
  EXPECT_EQ(*ClassifyIdNumber("001099012345"), IdNumberKind::kCccd);
  EXPECT_EQ(*ClassifyIdNumber("012345678"), IdNumberKind::kCmnd);
  for (const char* bad : {"", "0123456789", "12345678901", "0010990123456", "00109901234x",
                          "E00851967"}) {
    auto r = ClassifyIdNumber(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ReasonOf(r.status()), "ID_NUMBER_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(r.status())->field, "id_number");
  }
}

}  // namespace
}  // namespace dvc::validators
