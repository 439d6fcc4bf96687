#include "libs/validators/date.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

TEST(DateTest, ParsesValidDates) {
  EXPECT_EQ(*ParseDate("1999-05-01"), (Date{1999, 5, 1}));
  EXPECT_EQ(*ParseDate("2000-02-29"), (Date{2000, 2, 29}));  // divisible by 400
  EXPECT_EQ(*ParseDate("2024-02-29"), (Date{2024, 2, 29}));
  EXPECT_EQ(*ParseDate("2023-12-31"), (Date{2023, 12, 31}));
  EXPECT_EQ(*ParseCompactDate("19990501"), (Date{1999, 5, 1}));
  EXPECT_EQ(FormatDate(Date{987, 3, 4}), "0987-03-04");
}

TEST(DateTest, RejectsImpossibleAndMalformedDates) {
  for (const char* bad : {"1900-02-29", "2023-02-29", "2023-04-31", "2023-13-01", "2023-00-10",
                          "2023-01-00", "2023-01-32", "0000-01-01", "1999-5-1", "1999/05/01",
                          "1999-05-01 ", " 1999-05-01", "99-05-01", "1999-05-0a", "1999-+5-01",
                          "", "01-05-1999", "1999-05-001"}) {
    auto d = ParseDate(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(ReasonOf(d.status()), "DATE_MALFORMED") << bad;
  }
  EXPECT_EQ(ReasonOf(ParseCompactDate("19990230").status()), "DATE_MALFORMED");
  EXPECT_EQ(ReasonOf(ParseCompactDate("1999-05-01").status()), "DATE_MALFORMED");
}

TEST(DateTest, FieldNameDefaultsAndOverride) {
  EXPECT_EQ(GetErrorInfo(ParseDate("x").status())->field, "date_of_birth");
  EXPECT_EQ(GetErrorInfo(ParseDate("x", "issue_date").status())->field, "issue_date");
}

TEST(DateTest, LeapYears) {
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
  EXPECT_EQ(DaysInMonth(2024, 13), 0);
}

TEST(BirthDateTest, Rules) {
  Date today{2024, 6, 15};
  EXPECT_TRUE(ValidateBirthDate({1999, 5, 1}, today).ok());
  EXPECT_TRUE(ValidateBirthDate({2024, 6, 15}, today).ok());  // born today
  EXPECT_TRUE(ValidateBirthDate({1900, 1, 1}, today).ok());
  auto future = ValidateBirthDate({2024, 6, 16}, today);
  EXPECT_EQ(ReasonOf(future), "BIRTH_DATE_INVALID");
  EXPECT_EQ(GetErrorInfo(future)->field, "date_of_birth");
  EXPECT_EQ(ReasonOf(ValidateBirthDate({1899, 12, 31}, today)), "BIRTH_DATE_INVALID");
  EXPECT_EQ(ReasonOf(ValidateBirthDate({2023, 2, 29}, today)), "DATE_MALFORMED");
  auto info = GetErrorInfo(future);
  EXPECT_FALSE(info->message_vi.empty());
  EXPECT_FALSE(info->message_en.empty());
}

}  // namespace
}  // namespace dvc::validators
