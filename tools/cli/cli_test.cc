#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "libs/crypto/encoding.h"
#include "libs/status/errors.h"
#include "tools/cli/cli_lib.h"

namespace dvc::cli {
namespace {

TEST(Trim, StripsCarriageReturnAndSpaces) {
  EXPECT_EQ(Trim("  0912345678 \r"), "0912345678");
  EXPECT_EQ(Trim("Nguyễn Văn An\r"), "Nguyễn Văn An");
  EXPECT_EQ(Trim(" \t\r"), "");
}

TEST(ParseYesNo, VietnameseAndEnglish) {
  for (const char* y : {"y", "Y", "yes", "c", "có", "CÓ", " Co "})
    EXPECT_EQ(ParseYesNo(y), true) << y;
  for (const char* n : {"n", "NO", "k", "không", "KHÔNG", "khong"})
    EXPECT_EQ(ParseYesNo(n), false) << n;
  for (const char* x : {"", "maybe", "yy", "ok"}) EXPECT_EQ(ParseYesNo(x), std::nullopt) << x;
}

TEST(Prompter, ReadsLinesInOrderAndStopsAtEndOfInput) {
  std::istringstream in("001099012345\r\nNguyễn Văn An\n\nlast-without-newline");
  std::ostringstream out;
  Prompter p(in, out, /*tty=*/false);
  EXPECT_EQ(p.Ask("Số CCCD", "ID number"), "001099012345");
  EXPECT_EQ(p.Ask("Họ và tên", "full name"), "Nguyễn Văn An");
  EXPECT_EQ(p.Ask("Email", "email"), "");  // an empty line is an answer, not end of input
  EXPECT_EQ(p.Secret("Mật khẩu", "password"), "last-without-newline");
  EXPECT_EQ(p.Ask("x", "y"), std::nullopt);
  EXPECT_EQ(p.Ask("x", "y"), std::nullopt);
  EXPECT_NE(out.str().find("Số CCCD (ID number): \n"), std::string::npos) << out.str();
  // Answers (the password above) are never echoed to the output.
  EXPECT_EQ(out.str().find("last-without-newline"), std::string::npos);
}

TEST(Prompter, YesNoAsksAgainUntilValidAndReturnsNulloptAtEof) {
  std::istringstream in("maybe\n\nk\nwhat\n");
  std::ostringstream out;
  Prompter p(in, out, false);
  EXPECT_EQ(p.YesNo("Đồng ý?", "accept?"), false);
  EXPECT_EQ(p.YesNo("Đồng ý?", "accept?"), std::nullopt);  // "what", then end of input
  EXPECT_NE(out.str().find("please answer y or n"), std::string::npos);
}

std::string Jws(const std::string& payload) {
  return crypto::Base64UrlEncode(R"({"alg":"ES256","typ":"JWT"})") + "." +
         crypto::Base64UrlEncode(payload) + ".c2lnbmF0dXJl";
}

TEST(JwtClaims, DecodesBase64UrlPayload) {
  // "?>~" encodes to a "-" in base64url ("+" in standard base64): the URL alphabet is used.
  auto c =
      JwtClaims(Jws(R"({"sub":"acc-1?>~","acr":"urn:dvc:ial:2","exp":1700000000,"x":{"a":1}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  std::map<std::string, std::string> m(c->begin(), c->end());
  EXPECT_EQ(m["sub"], "acc-1?>~");
  EXPECT_EQ(m["acr"], "urn:dvc:ial:2");
  EXPECT_EQ(m["exp"], "1700000000");
  EXPECT_EQ(m["x"], R"({"a":1})");
}

TEST(JwtClaims, RejectsMalformedTokens) {
  EXPECT_FALSE(JwtClaims("").ok());
  EXPECT_FALSE(JwtClaims("abc").ok());
  EXPECT_FALSE(JwtClaims("a.b").ok());
  EXPECT_FALSE(JwtClaims("a.b.c.d").ok());
  EXPECT_FALSE(JwtClaims("e30.e30=.sig").ok());         // padding is not base64url
  EXPECT_FALSE(JwtClaims("e30.bm90IGpzb24.sig").ok());  // "not json"
  EXPECT_FALSE(JwtClaims("e30.WzFd.sig").ok());         // "[1]": not an object
  EXPECT_TRUE(JwtClaims("e30.e30.sig").ok());           // "{}"
}

TEST(FormatError, ShowsBothLanguagesReasonFieldAndMetadata) {
  absl::Status s = status::WithMetadata(
      status::InvalidArgument("OTP_INVALID", "otp", "Mã OTP không đúng.", "The OTP is wrong."),
      "attempts_left", "2");
  std::string f = FormatError(s);
  EXPECT_NE(f.find("Mã OTP không đúng."), std::string::npos) << f;
  EXPECT_NE(f.find("The OTP is wrong."), std::string::npos);
  EXPECT_NE(f.find("Reason: OTP_INVALID"), std::string::npos);
  EXPECT_NE(f.find("Field:  otp"), std::string::npos);
  EXPECT_NE(f.find("attempts_left: 2"), std::string::npos);
}

TEST(FormatError, PlainStatusShowsCodeAndMessage) {
  std::string f = FormatError(absl::UnavailableError("failed to connect to all addresses"));
  EXPECT_NE(f.find("UNAVAILABLE: failed to connect to all addresses"), std::string::npos) << f;
}

TEST(ParseSmsOtp, AcceptsOnlySixDigitCodes) {
  auto m = ParseSmsOtp(R"({"otp": "048291", "message_id": "otp-1"})");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->otp, "048291");
  EXPECT_EQ(m->message_id, "otp-1");
  EXPECT_FALSE(ParseSmsOtp(R"({"otp": "48291"})").has_value());
  EXPECT_FALSE(ParseSmsOtp(R"({"otp": "04829a"})").has_value());
  EXPECT_FALSE(ParseSmsOtp(R"({"otp": 482913})").has_value());
  EXPECT_FALSE(ParseSmsOtp(R"({"error": "no message"})").has_value());
  EXPECT_FALSE(ParseSmsOtp("not json").has_value());
}

TEST(UrlEncode, EscapesPlusAndSpecials) {
  EXPECT_EQ(UrlEncode("+84912345678"), "%2B84912345678");
  EXPECT_EQ(UrlEncode("a b&c=d"), "a%20b%26c%3Dd");
  EXPECT_EQ(UrlEncode("0912345678"), "0912345678");
}

}  // namespace
}  // namespace dvc::cli
