#include "libs/validators/mst.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

TEST(MstTest, RealExamplesValidate) {
  for (const char* ok : {"0100109106", "0104359717", "0319303270", "0100686209",
                         "0100686209-199", "0100686209-001", "0100686209-999"}) {
    EXPECT_TRUE(ValidateMst(ok).ok()) << ok;
  }
}

TEST(MstTest, Checksum) {
  // Every other final digit of a real code is wrong.
  for (char d = '0'; d <= '9'; ++d) {
    std::string code = std::string("010010910") + d;
    if (d == '6') continue;
    auto s = ValidateMst(code);
    EXPECT_EQ(ReasonOf(s), "MST_CHECKSUM") << code;
    EXPECT_EQ(GetErrorInfo(s)->field, "tax_code");
  }
  EXPECT_EQ(ReasonOf(ValidateMst("0319303271")), "MST_CHECKSUM");  // remainder 10 → 0 only
  EXPECT_TRUE(ValidateMst("0100686209-123").ok());  // the branch number is not checked
  EXPECT_EQ(ReasonOf(ValidateMst("0100686208-199")), "MST_CHECKSUM");
  // Σ wᵢdᵢ ≡ 0 (mod 11) admits no check digit. d1..d9 = 000000012: 5·1 + 3·2 = 11 ≡ 0.
  for (char d = '0'; d <= '9'; ++d) {
    EXPECT_EQ(ReasonOf(ValidateMst(std::string("000000012") + d)), "MST_CHECKSUM") << d;
  }
}

TEST(MstTest, Malformed) {
  for (const char* bad : {"", "010010910", "01001091066", "010010910a", "0100686209-",
                          "0100686209-19", "0100686209-1999", "0100686209-000", "0100686209_199",
                          "0100686209-19a", " 0100109106", "0100000000", "1200000008",
                          "0100686209 199"}) {
    auto s = ValidateMst(bad);
    EXPECT_EQ(ReasonOf(s), "MST_MALFORMED") << bad;
  }
  EXPECT_EQ(GetErrorInfo(ValidateMst("x", "mst"))->field, "mst");
}

TEST(UnitCodeTest, Shape) {
  for (const char* ok : {"000.00.00.G22", "000.00.17.G22", "000.00.00.G12", "000.00.00.H41",
                         "123.45.67.Z99"}) {
    EXPECT_TRUE(ValidateUnitCode(ok).ok()) << ok;
  }
  for (const char* bad : {"", "000.00.00.g22", "000.00.00.G2", "000.00.00.222", "000.00.00.GG2",
                          "00.000.00.G22", "000-00-00-G22", "000.00.00.G22 ", "000.00.00G.22",
                          "000.00.0a.G22"}) {
    auto s = ValidateUnitCode(bad);
    EXPECT_EQ(ReasonOf(s), "UNIT_CODE_MALFORMED") << bad;
    EXPECT_EQ(GetErrorInfo(s)->field, "unit_code");
  }
}

}  // namespace
}  // namespace dvc::validators
