#include "services/otp/api/otp_grpc.h"

#include "libs/server/call.h"

namespace dvc::otp {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  int64_t s = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --s;
  }
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

void ToProto(const ChallengeView& v, v1::OtpChallenge* out) {
  out->set_challenge_id(v.challenge_id);
  out->set_masked_phone(v.masked_phone);
  SetTime(v.expires_at, out->mutable_expires_at());
  SetTime(v.resend_after, out->mutable_resend_after());
  out->set_attempts_left(v.attempts_left);
}

}  // namespace

grpc::Status OtpGrpc::SendOtp(grpc::ServerContext* ctx, const v1::SendOtpRequest* req,
                              v1::OtpChallenge* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto v = domain_->Send({req->request_id(), req->phone(), req->purpose(), req->subject()});
    if (!v.ok()) return v.status();
    ToProto(*v, out);
    return absl::OkStatus();
  });
}

grpc::Status OtpGrpc::ResendOtp(grpc::ServerContext* ctx, const v1::ResendOtpRequest* req,
                                v1::OtpChallenge* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto v = domain_->Resend(req->challenge_id());
    if (!v.ok()) return v.status();
    ToProto(*v, out);
    return absl::OkStatus();
  });
}

grpc::Status OtpGrpc::VerifyOtp(grpc::ServerContext* ctx, const v1::VerifyOtpRequest* req,
                                v1::VerifyOtpResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto phone = domain_->Verify(req->challenge_id(), req->code(), req->purpose(),
                                 req->idempotency_key());
    if (!phone.ok()) return phone.status();
    out->set_phone(*phone);
    return absl::OkStatus();
  });
}

}  // namespace dvc::otp
