#include <gtest/gtest.h>

#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"

namespace dvc::status {
namespace {

TEST(Errors, CarriesReasonFieldAndBothLanguages) {
  absl::Status s = InvalidArgument("CCCD_MALFORMED", "cccd", "Số CCCD phải gồm 12 chữ số.",
                                   "The CCCD number must have 12 digits.");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  auto info = GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "CCCD_MALFORMED");
  EXPECT_EQ(info->field, "cccd");
  EXPECT_EQ(info->message_vi, "Số CCCD phải gồm 12 chữ số.");
  EXPECT_EQ(s.message(), "The CCCD number must have 12 digits.");
}

TEST(Errors, RetryAfterIsMetadata) {
  absl::Status s = ResourceExhausted("OTP_RESEND_TOO_SOON", "Vui lòng chờ.", "Please wait.", 42);
  EXPECT_EQ(GetErrorInfo(s)->metadata.at("retry_after_s"), "42");
}

TEST(GrpcStatus, RoundTripsEveryPart) {
  absl::Status s = WithMetadata(
      FailedPrecondition("ACCOUNT_EXISTS", "cccd", "Tài khoản đã tồn tại.", "Account exists."),
      "flow_id", "f-1");
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(g.error_message(), "Account exists.");
  absl::Status back = FromGrpcStatus(g);
  EXPECT_EQ(back.code(), absl::StatusCode::kFailedPrecondition);
  auto info = GetErrorInfo(back);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "ACCOUNT_EXISTS");
  EXPECT_EQ(info->field, "cccd");
  EXPECT_EQ(info->message_vi, "Tài khoản đã tồn tại.");
  EXPECT_EQ(info->metadata.at("flow_id"), "f-1");
}

TEST(GrpcStatus, BareInternalErrorsAreScrubbed) {
  grpc::Status g = ToGrpcStatus(absl::InternalError("ERROR: relation \"accounts\" does not exist"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(g.error_message().find("relation"), std::string::npos);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(g)), "INTERNAL");
}

TEST(GrpcStatus, BareTransportErrorsKeepTheirCodeButNotTheirText) {
  grpc::Status g =
      ToGrpcStatus(absl::UnavailableError("failed to connect to all addresses; ipv4:10.1.2.3:50053"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(g.error_message().find("10.1.2.3"), std::string::npos);
  auto info = GetErrorInfo(FromGrpcStatus(g));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "TEMPORARILY_UNAVAILABLE");
  EXPECT_FALSE(info->message_vi.empty());
  g = ToGrpcStatus(absl::InvalidArgumentError("bad protobuf field 7"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(g.error_message().find("protobuf"), std::string::npos);
}

TEST(GrpcStatus, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace dvc::status
