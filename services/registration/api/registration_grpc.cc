#include "services/registration/api/registration_grpc.h"

#include <algorithm>
#include <optional>
#include <string>

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
    case FlowState::kSignatureStartPending: return v1::FLOW_STATE_SIGNATURE_START_PENDING;
    case FlowState::kSignatureRequired: return v1::FLOW_STATE_SIGNATURE_REQUIRED;
    case FlowState::kSignaturePending: return v1::FLOW_STATE_SIGNATURE_PENDING;
    case FlowState::kDuplicateCheckPending: return v1::FLOW_STATE_DUPLICATE_CHECK_PENDING;
    case FlowState::kReview: return v1::FLOW_STATE_REVIEW;
    case FlowState::kExistingAccount: return v1::FLOW_STATE_EXISTING_ACCOUNT;
  }
  return v1::FLOW_STATE_UNSPECIFIED;
}

v1::SubjectKind ToProtoKind(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return v1::SUBJECT_KIND_CITIZEN;
    case SubjectKind::kBusiness: return v1::SUBJECT_KIND_BUSINESS;
    case SubjectKind::kAgency: return v1::SUBJECT_KIND_AGENCY;
  }
  return v1::SUBJECT_KIND_UNSPECIFIED;
}

// "" when not chosen; "?" for a value this server does not know (→ *_INVALID).
std::string MethodName(int m) {
  switch (m) {
    case v1::CERTIFICATE_METHOD_UNSPECIFIED: return "";
    case v1::CERTIFICATE_METHOD_USB: return kMethodUsb;
    case v1::CERTIFICATE_METHOD_SIM: return kMethodSim;
    case v1::CERTIFICATE_METHOD_SMARTCA: return kMethodSmartCa;
  }
  return "?";
}

std::string KindName(int k) {
  switch (k) {
    case v1::SUBJECT_KIND_UNSPECIFIED: return "";
    case v1::SUBJECT_KIND_CITIZEN: return SubjectKindName(SubjectKind::kCitizen);
    case v1::SUBJECT_KIND_BUSINESS: return SubjectKindName(SubjectKind::kBusiness);
    case v1::SUBJECT_KIND_AGENCY: return SubjectKindName(SubjectKind::kAgency);
  }
  return "?";
}

std::optional<SignatureFormat> FormatOf(int f) {
  switch (f) {
    case v1::SIGNATURE_FORMAT_PKCS1_SHA256: return SignatureFormat::kPkcs1Sha256;
    case v1::SIGNATURE_FORMAT_PSS_SHA256: return SignatureFormat::kPssSha256;
    case v1::SIGNATURE_FORMAT_ECDSA_SHA256: return SignatureFormat::kEcdsaSha256;
    case v1::SIGNATURE_FORMAT_CMS_ATTACHED: return SignatureFormat::kCmsAttached;
    case v1::SIGNATURE_FORMAT_CMS_DETACHED: return SignatureFormat::kCmsDetached;
  }
  return std::nullopt;
}

void CertificateToProto(const Flow& flow, v1::Flow* out) {
  const CertificateFlow& c = flow.cert;
  out->set_subject_kind(ToProtoKind(c.subject_kind));
  if (flow.state == FlowState::kSignatureRequired && !c.challenge_id.empty()) {
    auto* ch = out->mutable_challenge();
    ch->set_challenge_id(c.challenge_id);
    ch->set_challenge(c.challenge);
    if (c.signature_expires_at) SetTime(*c.signature_expires_at, ch->mutable_expires_at());
  }
  if (flow.state == FlowState::kSignaturePending && !c.transaction_id.empty()) {
    auto* rs = out->mutable_remote_signature();
    rs->set_verification_code(c.verification_code);
    if (c.signature_expires_at) SetTime(*c.signature_expires_at, rs->mutable_expires_at());
  }
  if (flow.state == FlowState::kSignatureRequired || flow.state == FlowState::kSignaturePending) {
    out->set_signature_requests_left(std::max(0, kMaxSignatureRequests - c.signature_requests));
  }
  if ((flow.state == FlowState::kReview || flow.state == FlowState::kExistingAccount) &&
      c.certificate) {
    const CertificateSummary s = SummarizeCertificate(c);
    auto* v = out->mutable_certificate();
    v->set_full_name(s.full_name);
    v->set_organization(s.organization);
    v->set_organizational_unit(s.organizational_unit);
    v->set_issuer_name(s.issuer_name);
    SetTime(s.valid_from, v->mutable_valid_from());
    SetTime(s.valid_to, v->mutable_valid_to());
    v->set_subject_kind(ToProtoKind(c.subject_kind));
    v->set_identity_type(s.identity_type);
    v->set_masked_identity_number(s.masked_identity_number);
    v->set_email(s.email);
    v->set_unit_code(s.unit_code);
  }
  if (flow.state == FlowState::kExistingAccount) {
    const status::ErrorInfo n = ExistingAccountNotice(c.subject_kind);
    auto* notice = out->mutable_notice();
    notice->set_reason(n.reason);
    notice->set_message_vi(n.message_vi);
    notice->set_message_en(n.message_en);
  }
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
  if (IsCertificateMethod(flow.method)) CertificateToProto(flow, out);
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

grpc::Status RegistrationGrpc::StartCertificateRegistration(
    grpc::ServerContext* ctx, const v1::StartCertificateRegistrationRequest* req, v1::Flow* out) {
  return server::Handle(ctx, [&] {
    StartCertificateInput in;
    in.captcha_id = req->captcha_id();
    in.captcha_answer = req->captcha_answer();
    in.method = MethodName(req->method());
    in.subject_kind = KindName(req->subject_kind());
    in.phone = req->phone();
    in.smartca_user_id = req->smartca_user_id();
    in.unit_code = req->unit_code();
    in.consent_version = req->consent_version();
    return Reply(domain_->StartCertificate(in), out);
  });
}

grpc::Status RegistrationGrpc::SubmitCertificateSignature(
    grpc::ServerContext* ctx, const v1::SubmitCertificateSignatureRequest* req, v1::Flow* out) {
  return server::Handle(ctx, [&] {
    CertificateSignatureInput in;
    in.flow_id = req->flow_id();
    in.format = FormatOf(req->format());
    in.signature = req->signature();
    in.certificate = req->certificate();
    in.chain.assign(req->chain().begin(), req->chain().end());
    return Reply(domain_->SubmitCertificateSignature(in), out);
  });
}

grpc::Status RegistrationGrpc::PollCertificateSignature(grpc::ServerContext* ctx,
                                                        const v1::FlowRef* req, v1::Flow* out) {
  return server::Handle(
      ctx, [&] { return Reply(domain_->PollCertificateSignature(req->flow_id()), out); });
}

grpc::Status RegistrationGrpc::RenewChallenge(grpc::ServerContext* ctx, const v1::FlowRef* req,
                                              v1::Flow* out) {
  return server::Handle(ctx,
                        [&] { return Reply(domain_->RenewChallenge(req->flow_id()), out); });
}

grpc::Status RegistrationGrpc::CompleteCertificateRegistration(
    grpc::ServerContext* ctx, const v1::CompleteCertificateRegistrationRequest* req,
    v1::Flow* out) {
  return server::Handle(ctx, [&] {
    return Reply(domain_->CompleteCertificate({req->flow_id(), req->email(), req->phone()}), out);
  });
}

grpc::Status RegistrationGrpc::LinkCertificate(grpc::ServerContext* ctx,
                                               const v1::LinkCertificateRequest* req,
                                               v1::Flow* out) {
  return server::Handle(ctx, [&] {
    return Reply(domain_->LinkCertificate(req->flow_id(), req->access_token()), out);
  });
}

}  // namespace dvc::registration
