#include "services/registration/adapters/grpc_clients.h"

#include <utility>

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::registration {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

OtpChallenge FromProto(const otp::v1::OtpChallenge& c) {
  OtpChallenge out;
  out.challenge_id = c.challenge_id();
  out.masked_phone = c.masked_phone();
  out.expires_at = FromProto(c.expires_at());
  out.resend_after = FromProto(c.resend_after());
  out.attempts_left = c.attempts_left();
  return out;
}

}  // namespace

// ---- idv_gateway ----

GrpcIdvClient::GrpcIdvClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(idv::v1::IdvGatewayService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<SubscriberAnswer> GrpcIdvClient::CheckSubscriber(const SubscriberQuery& q) {
  idv::v1::CheckSubscriberRequest req;
  req.set_request_id(q.request_id);
  req.set_phone(q.phone);
  req.set_id_number(q.id_number);
  req.set_full_name(q.full_name);
  req.set_date_of_birth(q.date_of_birth);
  idv::v1::CheckSubscriberResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->CheckSubscriber(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  SubscriberAnswer out;
  out.subscriber_found = resp.subscriber_found();
  out.match = resp.match();
  out.mismatches.assign(resp.mismatches().begin(), resp.mismatches().end());
  out.carrier = resp.carrier();
  return out;
}

// ---- accounts ----

GrpcAccountsClient::GrpcAccountsClient(std::shared_ptr<grpc::Channel> channel,
                                       absl::Duration deadline)
    : stub_(accounts::v1::AccountsService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<bool> GrpcAccountsClient::Exists(const std::string& id_number) {
  accounts::v1::FindAccountRequest req;
  req.set_id_number(id_number);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->FindAccount(ctx.get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;
  if (!s.ok()) return status::FromGrpcStatus(s);
  return true;
}

absl::StatusOr<CreatedAccount> GrpcAccountsClient::CreateCitizen(const NewCitizenAccount& a) {
  accounts::v1::CreateCitizenAccountRequest req;
  req.set_request_id(a.request_id);
  auto* id = req.mutable_identity();
  if (a.identity.id_number.size() == 12) {
    id->set_cccd(a.identity.id_number);
  } else {
    id->set_cmnd(a.identity.id_number);
  }
  id->set_full_name(a.identity.full_name);
  id->set_date_of_birth(a.identity.date_of_birth);
  id->set_phone(a.identity.phone);
  id->set_email(a.identity.email);
  req.set_ial(a.ial);
  req.set_verification_source(a.verification_source);
  req.set_registration_method(a.registration_method);
  req.set_password(a.password);
  req.set_consent_version(a.consent_version);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->CreateCitizenAccount(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CreatedAccount out;
  out.account_id = resp.account_id();
  out.ial = resp.ial();
  return out;
}

// ---- otp ----

GrpcOtpClient::GrpcOtpClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(otp::v1::OtpService::NewStub(std::move(channel))), deadline_(deadline) {}

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
  return FromProto(resp);
}

absl::StatusOr<OtpChallenge> GrpcOtpClient::Resend(const std::string& challenge_id) {
  otp::v1::ResendOtpRequest req;
  req.set_challenge_id(challenge_id);
  otp::v1::OtpChallenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->ResendOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return FromProto(resp);
}

absl::StatusOr<std::string> GrpcOtpClient::Verify(const std::string& challenge_id,
                                                  const std::string& code,
                                                  const std::string& purpose) {
  otp::v1::VerifyOtpRequest req;
  req.set_challenge_id(challenge_id);
  req.set_code(code);
  req.set_purpose(purpose);
  otp::v1::VerifyOtpResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyOtp(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return resp.phone();
}

}  // namespace dvc::registration
