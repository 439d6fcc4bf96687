#include "services/auth/adapters/grpc_clients.h"

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::auth {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

OtpChallenge ChallengeOf(const otp::v1::OtpChallenge& c) {
  return OtpChallenge{c.challenge_id(), c.masked_phone(), TimeOf(c.expires_at()),
                      TimeOf(c.resend_after())};
}

AccountStatus StatusOf(accounts::v1::AccountStatus s) {
  switch (s) {
    case accounts::v1::ACCOUNT_STATUS_ACTIVE:
      return AccountStatus::kActive;
    case accounts::v1::ACCOUNT_STATUS_LOCKED:
      return AccountStatus::kLocked;
    case accounts::v1::ACCOUNT_STATUS_CLOSED:
      return AccountStatus::kClosed;
    default:
      return AccountStatus::kUnspecified;
  }
}

}  // namespace

absl::StatusOr<PasswordVerdict> GrpcAccountsClient::VerifyPassword(const std::string& id_number,
                                                                   const std::string& password) {
  accounts::v1::VerifyPasswordRequest req;
  req.set_id_number(id_number);
  req.set_password(password);
  accounts::v1::VerifyPasswordResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyPassword(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  PasswordVerdict v;
  v.valid = resp.valid();
  if (v.valid) {
    v.account_id = resp.account_id();
    v.ial = resp.ial();
    v.phone = resp.phone();
    v.status = StatusOf(resp.status());
  }
  return v;
}

absl::StatusOr<std::optional<std::string>> GrpcAccountsClient::FindAccountId(
    const std::string& id_number) {
  accounts::v1::FindAccountRequest req;
  req.set_id_number(id_number);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->FindAccount(ctx.get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return std::optional<std::string>();
  if (!s.ok()) return status::FromGrpcStatus(s);
  return std::optional<std::string>(resp.account_id());
}

absl::StatusOr<OtpChallenge> GrpcOtpClient::Send(const std::string& request_id,
                                                 const std::string& phone,
                                                 const std::string& purpose,
                                                 const std::string& subject) {
  otp::v1::SendOtpRequest req;
  req.set_request_id(request_id);
  req.set_phone(phone);
  req.set_purpose(purpose);
  req.set_subject(subject);
  otp::v1::OtpChallenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->SendOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return ChallengeOf(resp);
}

absl::StatusOr<OtpChallenge> GrpcOtpClient::Resend(const std::string& challenge_id) {
  otp::v1::ResendOtpRequest req;
  req.set_challenge_id(challenge_id);
  otp::v1::OtpChallenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->ResendOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return ChallengeOf(resp);
}

absl::Status GrpcOtpClient::Verify(const std::string& challenge_id, const std::string& code,
                                   const std::string& purpose) {
  otp::v1::VerifyOtpRequest req;
  req.set_challenge_id(challenge_id);
  req.set_code(code);
  req.set_purpose(purpose);
  otp::v1::VerifyOtpResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return absl::OkStatus();
}

}  // namespace dvc::auth
