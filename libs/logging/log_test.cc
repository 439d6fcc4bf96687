#include "libs/logging/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dvc::log {
namespace {

std::vector<std::string>* g_lines;
void Capture(const std::string& line) { g_lines->push_back(line); }

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_lines = &lines_;
    SetSink(&Capture);
    Init("test", Level::kDebug);
  }
  void TearDown() override { SetSink(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectWithFields) {
  Write(Level::kInfo, "flow.started", {{"flow_id", "f-1"}, {"state", "OTP_SENT"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"msg\":\"flow.started\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"flow_id\":\"f-1\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"svc\":\"test\""), std::string::npos);
}

TEST_F(LogTest, SensitiveKeysAreRedacted) {
  Write(Level::kInfo, "x", {{"password", "Secret@123"}, {"otp", "123456"},
                            {"refresh_token", "abc"}, {"cccd", "001099012345"},
                            {"phone", "0912345678"}});
  for (const char* secret : {"Secret@123", "123456", "abc", "001099012345", "0912345678"}) {
    EXPECT_EQ(lines_[0].find(secret), std::string::npos) << secret;
  }
}

TEST_F(LogTest, IdNumbersInFreeTextAreScrubbed) {
  Write(Level::kWarn, "lookup failed for 001099012345", {{"detail", "phone 84912345678 busy"}});
  EXPECT_EQ(lines_[0].find("001099012345"), std::string::npos);
  EXPECT_EQ(lines_[0].find("84912345678"), std::string::npos);
  EXPECT_EQ(ScrubDigits("port 50051, id 123456789"), "port 50051, id [digits]");
  // Digits inside a longer token (UUIDs, hex digests) are not personal data.
  EXPECT_EQ(ScrubDigits("6f1c2d3e-1234-4abc-a123-a123456789ef"),
            "6f1c2d3e-1234-4abc-a123-a123456789ef");
  EXPECT_EQ(ScrubDigits("+84912345678"), "+[digits]");
}

TEST_F(LogTest, SensitiveKeyRules) {
  for (const char* k : {"password", "otp", "code", "refresh_token", "cccd", "phone", "pii_key",
                        "date_of_birth", "email", "captcha_answer"}) {
    EXPECT_TRUE(IsSensitiveKey(k)) << k;
  }
  for (const char* k : {"grpc_code", "event_key", "flow_id", "method", "state", "reason"}) {
    EXPECT_FALSE(IsSensitiveKey(k)) << k;
  }
}

TEST_F(LogTest, EscapesJson) {
  Write(Level::kInfo, "quote\" and \n newline");
  EXPECT_NE(lines_[0].find("quote\\\" and \\n newline"), std::string::npos);
}

TEST_F(LogTest, RequestIdIsAttachedWithinScope) {
  {
    ScopedRequestId r("req-42");
    Write(Level::kInfo, "inside");
  }
  Write(Level::kInfo, "outside");
  EXPECT_NE(lines_[0].find("\"request_id\":\"req-42\""), std::string::npos);
  EXPECT_EQ(lines_[1].find("request_id"), std::string::npos);
}

TEST_F(LogTest, LevelFilter) {
  Init("test", Level::kWarn);
  Write(Level::kInfo, "dropped");
  Write(Level::kError, "kept");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("kept"), std::string::npos);
}

}  // namespace
}  // namespace dvc::log
