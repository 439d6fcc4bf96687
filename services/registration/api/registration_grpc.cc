#include "services/registration/api/registration_grpc.h"

#include "libs/server/call.h"

namespace dvc::registration {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t s = absl::ToUnixSeconds(t);
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

v1::FlowState ToProtoState(FlowState s) {
  switch (s) {
    case FlowState::kSubscriberCheckPending:
    case FlowState::kOtpSendPending:
      return v1::FLOW_STATE_SUBSCRIBER_CHECK_PENDING;
    case FlowState::kOtpSent: return v1::FLOW_STATE_OTP_SENT;
    case FlowState::kPasswordRequired: return v1::FLOW_STATE_PASSWORD_REQUIRED;
    case FlowState::kCompleted: return v1::FLOW_STATE_COMPLETED;
    case FlowState::kFailed: return v1::FLOW_STATE_FAILED;
  }
  return v1::FLOW_STATE_UNSPECIFIED;
}

// Answers `flow` (or the error) for a handler returning a flow.
absl::Status Reply(const absl::StatusOr<Flow>& flow, v1::Flow* out) {
  if (!flow.ok()) return flow.status();
  ToProto(*flow, out);
  return absl::OkStatus();
}

}  // namespace

void ToProto(const Flow& flow, v1::Flow* out) {
  out->set_flow_id(flow.flow_id);
  out->set_state(ToProtoState(flow.state));
  out->set_method(flow.method);
  out->set_masked_phone(flow.masked_phone);
  SetTime(flow.expires_at, out->mutable_expires_at());
  if (flow.otp_expires_at) SetTime(*flow.otp_expires_at, out->mutable_otp_expires_at());
  if (flow.resend_after) SetTime(*flow.resend_after, out->mutable_resend_after());
  if (flow.state == FlowState::kCompleted) {
    out->set_account_id(flow.account_id);
    out->set_ial(flow.ial);
  }
  if (flow.state == FlowState::kFailed) out->set_failure_reason(flow.failure_reason);
}

grpc::Status RegistrationGrpc::CreateCaptcha(grpc::ServerContext* ctx,
                                             const v1::CreateCaptchaRequest*, v1::Captcha* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto c = domain_->CreateCaptcha();
    if (!c.ok()) return c.status();
    out->set_captcha_id(c->captcha_id);
    out->set_png(c->png);
    SetTime(c->expires_at, out->mutable_expires_at());
    out->set_dev_answer(c->dev_answer);
    return absl::OkStatus();
  });
}

grpc::Status RegistrationGrpc::StartMobileRegistration(
    grpc::ServerContext* ctx, const v1::StartMobileRegistrationRequest* req, v1::Flow* out) {
  return server::Handle(ctx, [&] {
    StartMobileInput in;
    in.captcha_id = req->captcha_id();
    in.captcha_answer = req->captcha_answer();
    in.id_number = req->id_number();
    in.full_name = req->full_name();
    in.date_of_birth = req->date_of_birth();
    in.phone = req->phone();
    in.email = req->email();
    in.consent_version = req->consent_version();
    in.request_id = req->request_id();
    return Reply(domain_->StartMobile(in), out);
  });
}

grpc::Status RegistrationGrpc::ResumeFlow(grpc::ServerContext* ctx, const v1::FlowRef* req,
                                          v1::Flow* out) {
  return server::Handle(ctx, [&] { return Reply(domain_->Resume(req->flow_id()), out); });
}

grpc::Status RegistrationGrpc::GetFlow(grpc::ServerContext* ctx, const v1::FlowRef* req,
                                       v1::Flow* out) {
  return server::Handle(ctx, [&] { return Reply(domain_->Get(req->flow_id()), out); });
}

grpc::Status RegistrationGrpc::ResendOtp(grpc::ServerContext* ctx, const v1::FlowRef* req,
                                         v1::Flow* out) {
  return server::Handle(ctx, [&] { return Reply(domain_->ResendOtp(req->flow_id()), out); });
}

grpc::Status RegistrationGrpc::VerifyOtp(grpc::ServerContext* ctx,
                                         const v1::VerifyOtpRequest* req, v1::Flow* out) {
  return server::Handle(
      ctx, [&] { return Reply(domain_->VerifyOtp(req->flow_id(), req->otp()), out); });
}

grpc::Status RegistrationGrpc::SetPassword(grpc::ServerContext* ctx,
                                           const v1::SetPasswordRequest* req, v1::Flow* out) {
  return server::Handle(ctx, [&] {
    return Reply(domain_->SetPassword(req->flow_id(), req->password(),
                                      req->password_confirmation()),
                 out);
  });
}

}  // namespace dvc::registration
