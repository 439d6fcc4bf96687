#include "services/registration/adapters/grpc_clients.h"

#include <utility>

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::registration {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t s = absl::ToUnixSeconds(t);
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

int KindToProto(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return accounts::v1::SUBJECT_KIND_CITIZEN;
    case SubjectKind::kBusiness: return accounts::v1::SUBJECT_KIND_BUSINESS;
    case SubjectKind::kAgency: return accounts::v1::SUBJECT_KIND_AGENCY;
  }
  return accounts::v1::SUBJECT_KIND_UNSPECIFIED;
}

void CredentialToProto(const CertificateCredential& c, accounts::v1::CertificateCredential* out) {
  out->set_fingerprint_sha256(c.fingerprint_sha256);
  out->set_method(c.method);
  out->set_issuer_cn(c.issuer_cn);
  out->set_serial_hex(c.serial_hex);
  SetTime(c.not_after, out->mutable_not_after());
  out->set_subscriber(c.subscriber);
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
  accounts::v1::LookupAccountIdResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->LookupAccountId(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return resp.found();
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

absl::StatusOr<std::optional<std::string>> GrpcAccountsClient::LookupAccountId(
    const AccountKey& key) {
  accounts::v1::FindAccountRequest req;
  switch (key.kind) {
    case SubjectKind::kCitizen:
      req.set_id_number(key.id_number);
      break;
    case SubjectKind::kBusiness:
      req.set_mst(key.mst);
      break;
    case SubjectKind::kAgency:
      req.set_unit_code(key.unit_code);
      req.set_official_cccd(key.official_cccd);
      break;
  }
  accounts::v1::LookupAccountIdResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->LookupAccountId(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  if (!resp.found()) return std::optional<std::string>();
  return std::optional<std::string>(resp.account_id());
}

absl::StatusOr<CreatedAccount> GrpcAccountsClient::CreateCertificateAccount(
    const NewCertificateAccount& a) {
  accounts::v1::CreateCertificateAccountRequest req;
  req.set_request_id(a.request_id);
  req.set_subject_kind(KindToProto(a.kind));
  switch (a.kind) {
    case SubjectKind::kCitizen: {
      auto* c = req.mutable_citizen();
      c->set_cccd(a.citizen.cccd);
      c->set_cmnd(a.citizen.cmnd);
      c->set_passport(a.citizen.passport);
      c->set_full_name(a.citizen.full_name);
      c->set_phone(a.citizen.phone);
      c->set_email(a.citizen.email);
      break;
    }
    case SubjectKind::kBusiness: {
      auto* b = req.mutable_business();
      b->set_mst(a.business.mst);
      b->set_name(a.business.name);
      b->set_email(a.business.email);
      b->set_phone(a.business.phone);
      b->set_address(a.business.address);
      b->set_representative_cccd(a.business.representative_cccd);
      break;
    }
    case SubjectKind::kAgency: {
      auto* g = req.mutable_agency();
      g->set_unit_code(a.agency.unit_code);
      g->set_organization_name(a.agency.organization_name);
      g->set_official_cccd(a.agency.official_cccd);
      g->set_official_full_name(a.agency.official_full_name);
      g->set_email(a.agency.email);
      g->set_phone(a.agency.phone);
      break;
    }
  }
  CredentialToProto(a.credential, req.mutable_certificate());
  req.set_consent_version(a.consent_version);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->CreateCertificateAccount(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CreatedAccount out;
  out.account_id = resp.account_id();
  out.ial = resp.ial();
  return out;
}

absl::StatusOr<CreatedAccount> GrpcAccountsClient::AddCertificate(const CertificateLink& link) {
  accounts::v1::AddCertificateRequest req;
  req.set_request_id(link.request_id);
  req.set_account_id(link.account_id);
  CredentialToProto(link.credential, req.mutable_certificate());
  req.set_identity_number(link.identity_number);
  accounts::v1::Account resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->AddCertificate(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CreatedAccount out;
  out.account_id = resp.account_id();
  out.ial = resp.ial();
  return out;
}

// ---- auth ----

GrpcAuthClient::GrpcAuthClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(auth::v1::AuthService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<TokenInfo> GrpcAuthClient::Introspect(const std::string& access_token) {
  auth::v1::IntrospectRequest req;
  req.set_token(access_token);
  auth::v1::IntrospectResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->Introspect(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  TokenInfo out;
  out.active = resp.active();
  if (out.active) out.account_id = resp.sub();
  return out;
}

}  // namespace dvc::registration
