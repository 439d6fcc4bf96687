#include "services/auth/api/auth_grpc.h"

#include "absl/strings/str_join.h"
#include "libs/server/call.h"
#include "libs/server/callback.h"
#include "libs/status/errors.h"

namespace dvc::auth {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t s = absl::ToUnixSeconds(t);
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

void ToProto(const LoginFlowView& f, v1::LoginFlow* out) {
  out->set_login_flow_id(f.flow_id);
  out->set_masked_phone(f.masked_phone);
  SetTime(f.expires_at, out->mutable_expires_at());
  SetTime(f.otp_expires_at, out->mutable_otp_expires_at());
  SetTime(f.resend_after, out->mutable_resend_after());
}

void ToProto(const Tokens& t, v1::TokenResponse* out) {
  out->set_access_token(t.access_token);
  out->set_refresh_token(t.refresh_token);
  out->set_token_type(t.token_type);
  out->set_expires_in(t.expires_in);
  out->set_acr(t.acr);
  out->set_session_id(t.session_id);
  out->set_amr(absl::StrJoin(t.amr, "+"));
}

v1::CertificateLoginMethod MethodToProto(const std::string& m) {
  if (m == kLoginMethodUsb) return v1::CERTIFICATE_LOGIN_METHOD_USB;
  if (m == kLoginMethodSim) return v1::CERTIFICATE_LOGIN_METHOD_SIM;
  if (m == kLoginMethodSmartCa) return v1::CERTIFICATE_LOGIN_METHOD_SMARTCA;
  return v1::CERTIFICATE_LOGIN_METHOD_UNSPECIFIED;
}

absl::StatusOr<SignatureFormat> FormatFromProto(v1::SignatureFormat f) {
  switch (f) {
    case v1::SIGNATURE_FORMAT_PKCS1_SHA256:
      return SignatureFormat::kPkcs1Sha256;
    case v1::SIGNATURE_FORMAT_PSS_SHA256:
      return SignatureFormat::kPssSha256;
    case v1::SIGNATURE_FORMAT_ECDSA_SHA256:
      return SignatureFormat::kEcdsaSha256;
    case v1::SIGNATURE_FORMAT_CMS_ATTACHED:
      return SignatureFormat::kCmsAttached;
    case v1::SIGNATURE_FORMAT_CMS_DETACHED:
      return SignatureFormat::kCmsDetached;
    default:
      return status::InvalidArgument("SIGNATURE_FORMAT_INVALID", "format",
                                     "Định dạng chữ ký không hợp lệ.",
                                     "The signature format is missing or unknown.");
  }
}

void ToProto(const Introspection& i, v1::IntrospectResponse* out) {
  out->set_active(i.active);
  if (!i.active) return;
  out->set_sub(i.sub);
  out->set_acr(i.acr);
  out->set_exp(i.exp);
  out->set_iat(i.iat);
  out->set_session_id(i.session_id);
  out->set_amr(absl::StrJoin(i.amr, "+"));
}

}  // namespace

grpc::Status AuthGrpc::CreateCaptcha(grpc::ServerContext* ctx, const v1::CreateCaptchaRequest*,
                                     v1::Captcha* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto c = domain_->CreateCaptcha();
    if (!c.ok()) return c.status();
    out->set_captcha_id(c->captcha_id);
    out->set_png(c->png);
    SetTime(c->expires_at, out->mutable_expires_at());
    out->set_dev_answer(c->dev_answer);  // empty unless --dev_expose_captcha
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::StartPasswordLogin(grpc::ServerContext* ctx,
                                          const v1::StartPasswordLoginRequest* req,
                                          v1::LoginFlow* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    StartLoginRequest r;
    r.captcha_id = req->captcha_id();
    r.captcha_answer = req->captcha_answer();
    r.id_number = req->id_number();
    r.password = req->password();
    // The REST gateway passes the end user's address; direct callers are identified by peer.
    r.client.ip = server::ClientIp(ctx, req->client().ip(), trusted_proxies_);
    r.client.user_agent = req->client().user_agent().substr(0, 512);
    r.client.device = req->client().device().substr(0, 256);
    auto flow = domain_->StartPasswordLogin(r);
    if (!flow.ok()) return flow.status();
    ToProto(*flow, out);
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::ResendLoginOtp(grpc::ServerContext* ctx, const v1::LoginFlowRef* req,
                                      v1::LoginFlow* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto flow = domain_->ResendLoginOtp(req->login_flow_id());
    if (!flow.ok()) return flow.status();
    ToProto(*flow, out);
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::CompleteLogin(grpc::ServerContext* ctx, const v1::CompleteLoginRequest* req,
                                     v1::TokenResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto t = domain_->CompleteLogin(req->login_flow_id(), req->otp());
    if (!t.ok()) return t.status();
    ToProto(*t, out);
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::StartCertificateLogin(grpc::ServerContext* ctx,
                                             const v1::StartCertificateLoginRequest* req,
                                             v1::CertificateLoginFlow* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    StartCertificateLoginRequest r;
    switch (req->method()) {
      case v1::CERTIFICATE_LOGIN_METHOD_USB:
        r.method = CertificateMethod::kUsb;
        break;
      case v1::CERTIFICATE_LOGIN_METHOD_SIM:
        r.method = CertificateMethod::kSim;
        break;
      case v1::CERTIFICATE_LOGIN_METHOD_SMARTCA:
        r.method = CertificateMethod::kSmartCa;
        break;
      default:
        return status::InvalidArgument("LOGIN_METHOD_INVALID", "method",
                                       "Phương thức đăng nhập không hợp lệ.",
                                       "The sign-in method is missing or unknown.");
    }
    r.phone = req->phone().substr(0, 64);
    r.smartca_user_id = req->smartca_user_id().substr(0, 256);
    r.client.ip = server::ClientIp(ctx, req->client().ip(), trusted_proxies_);
    r.client.user_agent = req->client().user_agent().substr(0, 512);
    r.client.device = req->client().device().substr(0, 256);
    auto flow = domain_->StartCertificateLogin(r);
    if (!flow.ok()) return flow.status();
    out->set_login_flow_id(flow->flow_id);
    out->set_method(MethodToProto(flow->method));
    SetTime(flow->expires_at, out->mutable_expires_at());
    if (flow->method == kLoginMethodUsb) {
      out->set_challenge(flow->challenge);
      SetTime(flow->challenge_expires_at, out->mutable_challenge_expires_at());
    } else {
      out->set_transaction_id(flow->transaction_id);
      out->set_verification_code(flow->verification_code);
      SetTime(flow->transaction_expires_at, out->mutable_transaction_expires_at());
      out->set_masked_phone(flow->masked_phone);
      out->set_poll_interval_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(poll_interval_)));
    }
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::CompleteCertificateLogin(grpc::ServerContext* ctx,
                                                const v1::CompleteCertificateLoginRequest* req,
                                                v1::TokenResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto format = FormatFromProto(req->format());
    if (!format.ok()) return format.status();
    CompleteCertificateLoginRequest r;
    r.flow_id = req->login_flow_id();
    r.format = *format;
    r.signature = req->signature();
    r.certificate = req->certificate();
    r.chain.assign(req->chain().begin(), req->chain().end());
    auto t = domain_->CompleteCertificateLogin(r);
    if (!t.ok()) return t.status();
    ToProto(*t, out);
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::PollCertificateLogin(grpc::ServerContext* ctx, const v1::LoginFlowRef* req,
                                            v1::PollCertificateLoginResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto poll = domain_->PollCertificateLogin(req->login_flow_id());
    if (!poll.ok()) return poll.status();
    if (poll->pending) {
      out->set_state(v1::PollCertificateLoginResponse::STATE_PENDING);
      return absl::OkStatus();
    }
    out->set_state(v1::PollCertificateLoginResponse::STATE_DONE);
    ToProto(poll->tokens, out->mutable_tokens());
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::Refresh(grpc::ServerContext* ctx, const v1::RefreshRequest* req,
                               v1::TokenResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto t = domain_->Refresh(req->refresh_token());
    if (!t.ok()) return t.status();
    ToProto(*t, out);
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::Logout(grpc::ServerContext* ctx, const v1::LogoutRequest* req,
                              v1::LogoutResponse*) {
  return server::Handle(ctx, [&] { return domain_->Logout(req->refresh_token()); });
}

grpc::ServerUnaryReactor* AuthGrpc::Introspect(grpc::CallbackServerContext* ctx,
                                               const v1::IntrospectRequest* req,
                                               v1::IntrospectResponse* out) {
  // From the caches, on the gRPC thread; a miss goes to the executor, which may block.
  std::optional<Introspection> fast = domain_->TryIntrospect(req->token());
  if (fast.has_value()) {
    return server::HandleUnary(ctx, [&] {
      ToProto(*fast, out);
      return absl::OkStatus();
    });
  }
  return server::HandleUnaryOn(&blocking_, ctx, [this, req, out] {
    ToProto(domain_->Introspect(req->token()), out);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthGrpc::GetJwks(grpc::CallbackServerContext* ctx,
                                            const v1::GetJwksRequest*, v1::GetJwksResponse* out) {
  return server::HandleUnary(ctx, [&] {
    out->set_jwks_json(domain_->Jwks());
    return absl::OkStatus();
  });
}

grpc::Status AuthGrpc::ListLoginHistory(grpc::ServerContext* ctx,
                                        const v1::ListLoginHistoryRequest* req,
                                        v1::ListLoginHistoryResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto records = domain_->ListLoginHistory(req->account_id(), req->limit());
    if (!records.ok()) return records.status();
    for (const LoginRecord& r : *records) {
      v1::LoginRecord* p = out->add_records();
      SetTime(r.at, p->mutable_at());
      p->set_method(r.method);
      p->set_success(r.success);
      p->set_ip(r.ip);
      p->set_device(r.device.empty() ? r.user_agent : r.device);
      p->set_failure_reason(r.failure_reason);
    }
    return absl::OkStatus();
  });
}

}  // namespace dvc::auth
