#include "libs/validators/phone.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

TEST(PhoneTest, NormalisesAllAcceptedForms) {
  for (const char* in : {"0912345678", "+84912345678", "84912345678", "+84 912 345 678",
                         "0912.345.678", "0912-345-678", " 0912 345 678 ", "+84 0912345678",
                         "+84-912-345-678"}) {
    auto p = NormalizePhone(in);
    ASSERT_TRUE(p.ok()) << in << ": " << p.status();
    EXPECT_EQ(*p, "0912345678") << in;
  }
  EXPECT_EQ(*ToE164("0912345678"), "84912345678");
  EXPECT_EQ(*ToE164("+84 912 345 678"), "84912345678");
}

TEST(PhoneTest, Malformed) {
  for (const char* bad : {"", "091234567", "09123456789", "912345678", "+0912345678",
                          "+1 912345678", "0012345678", "+8400912345678", "840912345678",
                          "0912a45678", "(091) 2345678", "0912_345_678", "84 0912345678 9",
                          "+84", "++84912345678", "0912345678\x01"}) {
    auto p = NormalizePhone(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(ReasonOf(p.status()), "PHONE_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(p.status())->field, "phone");
  }
  EXPECT_EQ(GetErrorInfo(NormalizePhone("x", "otp_phone").status())->field, "otp_phone");
  EXPECT_EQ(ReasonOf(ToE164("123").status()), "PHONE_MALFORMED");
}

TEST(PhoneTest, CarriersFromDefaultTable) {
  struct Case {
    const char* phone;
    const char* carrier;
  } cases[] = {
      {"0321234567", "Viettel"},     {"0861234567", "Viettel"},   {"0981234567", "Viettel"},
      {"0701234567", "MobiFone"},    {"0901234567", "MobiFone"},  {"0931234567", "MobiFone"},
      {"0891234567", "MobiFone"},    {"0820000088", "VinaPhone"}, {"0881234567", "VinaPhone"},
      {"0911234567", "VinaPhone"},   {"0871234567", "Itel"},      {"0521234567", "Vietnamobile"},
      {"0921234567", "Vietnamobile"}, {"0591234567", "Gmobile"},  {"0993123456", "Gmobile"},
      {"0997123456", "Gmobile"},     {"0551234567", "Reddi"},     {"+84 98 123 4567", "Viettel"},
  };
  for (const Case& c : cases) {
    auto r = DetectCarrier(c.phone);
    ASSERT_TRUE(r.ok()) << c.phone << ": " << r.status();
    EXPECT_EQ(*r, c.carrier) << c.phone;
  }
}

TEST(PhoneTest, UnknownCarrier) {
  for (const char* p : {"0998123456", "0991123456", "0201234567", "0111234567", "0801234567"}) {
    auto r = DetectCarrier(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(ReasonOf(r.status()), "PHONE_CARRIER_UNKNOWN") << p;
    EXPECT_EQ(GetErrorInfo(r.status())->field, "phone");
  }
  EXPECT_EQ(ReasonOf(DetectCarrier("12").status()), "PHONE_MALFORMED");
}

TEST(PhoneTest, CustomTableLongestPrefixWins) {
  auto table = ParseCarrierTable(" Viettel = 032, 098 ; NewCo=0981,099 ");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 4u);
  EXPECT_EQ(*DetectCarrier("0981234567", *table), "NewCo");
  EXPECT_EQ(*DetectCarrier("0982234567", *table), "Viettel");
  EXPECT_EQ(*DetectCarrier("0998123456", *table), "NewCo");
  EXPECT_EQ(ReasonOf(DetectCarrier("0901234567", *table).status()), "PHONE_CARRIER_UNKNOWN");
}

TEST(PhoneTest, BadCarrierTables) {
  for (const char* bad : {"", ";;", "Viettel", "=032", "Viettel=32", "Viettel=03a",
                          "Viettel=032;MobiFone=032", "Viettel=0", "Viettel=0321234"}) {
    EXPECT_FALSE(ParseCarrierTable(bad).ok()) << bad;
  }
}

TEST(PhoneTest, Mask) {
  EXPECT_EQ(MaskPhone("0820000088"), "082****088");
  EXPECT_EQ(MaskPhone("84820000088"), "848*****088");
  EXPECT_EQ(MaskPhone("123456"), "******");
  EXPECT_EQ(MaskPhone(""), "");
  EXPECT_EQ(MaskPhone("1234567"), "123*567");
}

}  // namespace
}  // namespace dvc::validators
