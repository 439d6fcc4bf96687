#include "services/otp/client/grpc_otp_client.h"

#include <utility>

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::otp::client {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

Challenge ChallengeOf(const v1::OtpChallenge& c) {
  return Challenge{c.challenge_id(), c.masked_phone(), TimeOf(c.expires_at()),
                   TimeOf(c.resend_after()), c.attempts_left()};
}

}  // namespace

GrpcOtpClient::GrpcOtpClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(v1::OtpService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<Challenge> GrpcOtpClient::Send(const std::string& request_id,
                                              const std::string& phone,
                                              const std::string& purpose,
                                              const std::string& subject) {
  v1::SendOtpRequest req;
  req.set_request_id(request_id);
  req.set_phone(phone);
  req.set_purpose(purpose);
  req.set_subject(subject);
  v1::OtpChallenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->SendOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return ChallengeOf(resp);
}

absl::StatusOr<Challenge> GrpcOtpClient::Resend(const std::string& challenge_id) {
  v1::ResendOtpRequest req;
  req.set_challenge_id(challenge_id);
  v1::OtpChallenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->ResendOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return ChallengeOf(resp);
}

absl::StatusOr<std::string> GrpcOtpClient::Verify(const std::string& challenge_id,
                                                  const std::string& code,
                                                  const std::string& purpose,
                                                  const std::string& idempotency_key) {
  v1::VerifyOtpRequest req;
  req.set_challenge_id(challenge_id);
  req.set_code(code);
  req.set_purpose(purpose);
  req.set_idempotency_key(idempotency_key);
  v1::VerifyOtpResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return resp.phone();
}

}  // namespace dvc::otp::client
