#include "services/sigverify/domain/remote_signer.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

std::string Digest(unsigned char first, unsigned char fill, unsigned char last) {
  std::string d(32, static_cast<char>(fill));
  d.front() = static_cast<char>(first);
  d.back() = static_cast<char>(last);
  return d;
}

std::string Hex(const std::string& s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

TEST(Sha256DigestInfoTest, IsTheDerPrefixFollowedByTheHash) {
  const std::string d = Digest(0xAB, 0x11, 0xCD);
  const std::string di = Sha256DigestInfo(d);
  ASSERT_EQ(di.size(), 51u);
  EXPECT_EQ(Hex(di.substr(0, 19)), "3031300d060960864801650304020105000420");
  EXPECT_EQ(di.substr(19), d);
}

TEST(Sha256DigestInfoTest, RejectsWrongLengths) {
  EXPECT_EQ(Sha256DigestInfo(""), "");
  EXPECT_EQ(Sha256DigestInfo(std::string(31, 'a')), "");
  EXPECT_EQ(Sha256DigestInfo(std::string(33, 'a')), "");
  EXPECT_EQ(Sha256DigestInfo(std::string(64, 'a')), "");  // hex is not raw bytes
}

TEST(VerificationCodeTest, SixHighBitsOfFirstByteAndSevenLowBitsOfLast) {
  EXPECT_EQ(VerificationCode(Digest(0x00, 0xFF, 0x00)), "0000");  // middle bytes do not count
  EXPECT_EQ(VerificationCode(Digest(0xFF, 0x00, 0xFF)), "8191");
  // 0x07 >> 2 = 1 → 128; 0x85 & 0x7F = 5 → 133 (the low 2 bits of the first byte and the
  // high bit of the last are ignored).
  EXPECT_EQ(VerificationCode(Digest(0x07, 0x00, 0x85)), "0133");
  // 0x10 >> 2 = 4 → 512; 0x09 → 521.
  EXPECT_EQ(VerificationCode(Digest(0x10, 0x00, 0x09)), "0521");
  EXPECT_EQ(VerificationCode(Digest(0xA8, 0x42, 0x7F)), "5503");  // 42<<7 | 127
}

TEST(VerificationCodeTest, AlwaysFourDigitsAndEmptyForWrongLength) {
  for (int b = 0; b < 256; b += 7) {
    const std::string code = VerificationCode(Digest(b, 0, 255 - b));
    ASSERT_EQ(code.size(), 4u) << b;
    for (char c : code) EXPECT_TRUE(c >= '0' && c <= '9');
  }
  EXPECT_EQ(VerificationCode(std::string(31, '\0')), "");
}

TEST(RemoteSignerErrorTest, CodesFieldsAndMessages) {
  struct Case {
    const char* reason;
    absl::StatusCode code;
    const char* field;
  };
  const Case cases[] = {
      {"SIGNER_USER_CANCELLED", absl::StatusCode::kFailedPrecondition, "subscriber"},
      {"SIGNER_TIMEOUT", absl::StatusCode::kFailedPrecondition, "subscriber"},
      {"SIGNER_PIN_BLOCKED", absl::StatusCode::kFailedPrecondition, "subscriber"},
      {"SIGNER_NO_CERTIFICATE", absl::StatusCode::kFailedPrecondition, "subscriber"},
      {"SIGNER_UNREACHABLE", absl::StatusCode::kUnavailable, "subscriber"},
      {"SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable, ""},
      {"SIGNATURE_INVALID", absl::StatusCode::kInvalidArgument, "signature"},
      {"CERT_REVOKED", absl::StatusCode::kInvalidArgument, "certificate"},
  };
  for (const Case& c : cases) {
    absl::Status s = RemoteSignerError(c.reason);
    EXPECT_EQ(s.code(), c.code) << c.reason;
    std::optional<status::ErrorInfo> info = status::GetErrorInfo(s);
    ASSERT_TRUE(info.has_value()) << c.reason;
    EXPECT_EQ(info->reason, c.reason);
    EXPECT_EQ(info->field, c.field) << c.reason;
    EXPECT_FALSE(info->message_vi.empty());
    EXPECT_FALSE(info->message_en.empty());
    EXPECT_NE(info->message_vi, info->message_en);
  }
}

TEST(RemoteSignerErrorTest, DetailReplacesMessagesAndUnknownIsProviderError) {
  absl::Status s = RemoteSignerError("SIGNER_NO_CERTIFICATE", "vi text", "en text");
  EXPECT_EQ(status::GetErrorInfo(s)->message_vi, "vi text");
  EXPECT_EQ(status::GetErrorInfo(s)->message_en, "en text");
  EXPECT_EQ(s.message(), "en text");
  absl::Status u = RemoteSignerError("NOT_A_REASON");
  EXPECT_EQ(status::ReasonOf(u), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(u.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace dvc::sigverify
