#include "libs/crypto/encoding.h"

#include <string>

#include "gtest/gtest.h"

namespace dvc::crypto {
namespace {

TEST(HexTest, RoundTripAndCase) {
  std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(HexDecode("0001ABff"), bytes);
  EXPECT_EQ(HexDecode(""), std::string());
}

TEST(HexTest, RejectsBadInput) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode(" 00").has_value());
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fooba", /*pad=*/false), "Zm9vYmE");
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), std::string(s)) << s;
    EXPECT_EQ(Base64Decode(Base64Encode(s, false)), std::string(s)) << s;
  }
}

TEST(Base64Test, StandardAlphabetCharacters) {
  std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64Decode("+/+/"), bytes);
  EXPECT_FALSE(Base64Decode("-_-_").has_value());
}

TEST(Base64Test, RejectsBadPadding) {
  EXPECT_FALSE(Base64Decode("Zg=").has_value());    // padded but not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zg===").has_value());
  EXPECT_FALSE(Base64Decode("====").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v=").has_value());
  EXPECT_FALSE(Base64Decode("Z=g=").has_value());   // padding in the middle
  EXPECT_FALSE(Base64Decode("Zh==").has_value());   // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("Z").has_value());      // impossible length
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());
}

TEST(Base64UrlTest, UrlAlphabetNoPadding) {
  std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), bytes);
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlDecode("Zg"), std::string("f"));
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
  EXPECT_EQ(Base64UrlDecode(""), std::string());
}

TEST(Base64UrlTest, RejectsPaddingStandardCharsAndMalleableForms) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("+/+/").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());   // "Zg" is the only encoding of "f"
  EXPECT_FALSE(Base64UrlDecode("Zm9").has_value());  // trailing bits set
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());  // length ≡ 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("Zm 8").has_value());
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0", 3)).has_value());
}

TEST(Base64UrlTest, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string s = all.substr(0, n);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
}

}  // namespace
}  // namespace dvc::crypto
