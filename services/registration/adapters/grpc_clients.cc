#include "services/registration/adapters/grpc_clients.h"

#include <utility>

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::registration {
namespace {

absl::Time TimeFromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

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

sigverify::v1::SignatureFormat FormatToProto(SignatureFormat f) {
  switch (f) {
    case SignatureFormat::kPkcs1Sha256: return sigverify::v1::SIGNATURE_FORMAT_PKCS1_SHA256;
    case SignatureFormat::kPssSha256: return sigverify::v1::SIGNATURE_FORMAT_PSS_SHA256;
    case SignatureFormat::kEcdsaSha256: return sigverify::v1::SIGNATURE_FORMAT_ECDSA_SHA256;
    case SignatureFormat::kCmsAttached: return sigverify::v1::SIGNATURE_FORMAT_CMS_ATTACHED;
    case SignatureFormat::kCmsDetached: return sigverify::v1::SIGNATURE_FORMAT_CMS_DETACHED;
  }
  return sigverify::v1::SIGNATURE_FORMAT_UNSPECIFIED;
}

const char* SubjectKindText(sigverify::v1::SubjectKind k) {
  switch (k) {
    case sigverify::v1::SUBJECT_KIND_PERSON: return "PERSON";
    case sigverify::v1::SUBJECT_KIND_BUSINESS: return "BUSINESS";
    case sigverify::v1::SUBJECT_KIND_AGENCY: return "AGENCY";
    case sigverify::v1::SUBJECT_KIND_SEAL: return "SEAL";
    default: return "";
  }
}

}  // namespace

CertificateInfo FromProto(const sigverify::v1::VerifiedCertificate& c) {
  CertificateInfo out;
  out.fingerprint_sha256 = c.fingerprint_sha256();
  out.serial_hex = c.serial_hex();
  out.subject = c.subject();
  out.issuer_common_name = c.issuer_common_name();
  out.not_before = TimeFromProto(c.not_before());
  out.not_after = TimeFromProto(c.not_after());
  out.kind = SubjectKindText(c.subject_kind());
  out.government_anchor = c.anchor_kind() == sigverify::v1::ANCHOR_KIND_GOVERNMENT;
  out.common_name = c.common_name();
  out.organization = c.organization();
  out.organizational_unit = c.organizational_unit();
  out.locality = c.locality();
  out.state = c.state();
  out.email = c.email();
  out.telephone = c.telephone();
  out.cccd = c.cccd();
  out.cmnd = c.cmnd();
  out.passport = c.passport();
  out.mst = c.mst();
  out.mns = c.mns();
  out.method = c.method();
  return out;
}

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

// ---- sigverify ----

GrpcSigverifyClient::GrpcSigverifyClient(std::shared_ptr<grpc::Channel> channel,
                                         absl::Duration deadline)
    : stub_(sigverify::v1::SigverifyService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<IssuedChallenge> GrpcSigverifyClient::IssueChallenge(const std::string& flow_id) {
  sigverify::v1::IssueChallengeRequest req;
  req.set_flow_id(flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_REGISTRATION);
  sigverify::v1::Challenge resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->IssueChallenge(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  IssuedChallenge out;
  out.challenge_id = resp.challenge_id();
  out.challenge = resp.challenge();
  out.expires_at = TimeFromProto(resp.expires_at());
  return out;
}

absl::StatusOr<CertificateInfo> GrpcSigverifyClient::VerifyChallengeSignature(
    const ChallengeSignature& sig) {
  sigverify::v1::VerifyChallengeSignatureRequest req;
  req.set_challenge_id(sig.challenge_id);
  req.set_flow_id(sig.flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_REGISTRATION);
  req.set_format(FormatToProto(sig.format));
  req.set_signature(sig.signature);
  req.set_certificate(sig.certificate);
  for (const auto& c : sig.chain) req.add_chain(c);
  sigverify::v1::VerifiedCertificate resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyChallengeSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  return FromProto(resp);
}

absl::StatusOr<RemoteSignatureStarted> GrpcSigverifyClient::StartRemoteSignature(
    const RemoteSignatureRequest& r) {
  sigverify::v1::StartRemoteSignatureRequest req;
  req.set_flow_id(r.flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_REGISTRATION);
  req.set_provider(r.method == kMethodSmartCa ? sigverify::v1::REMOTE_PROVIDER_SMARTCA
                                              : sigverify::v1::REMOTE_PROVIDER_SIM);
  req.set_subscriber(r.subscriber);
  req.set_display_text(r.display_text);
  sigverify::v1::RemoteSignatureTransaction resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->StartRemoteSignature(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  RemoteSignatureStarted out;
  out.transaction_id = resp.transaction_id();
  out.verification_code = resp.verification_code();
  out.expires_at = TimeFromProto(resp.expires_at());
  return out;
}

absl::StatusOr<RemoteSignatureOutcome> GrpcSigverifyClient::GetRemoteSignatureResult(
    const std::string& transaction_id, const std::string& flow_id) {
  sigverify::v1::GetRemoteSignatureResultRequest req;
  req.set_transaction_id(transaction_id);
  req.set_flow_id(flow_id);
  req.set_purpose(sigverify::v1::PURPOSE_REGISTRATION);
  sigverify::v1::RemoteSignatureResult resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->GetRemoteSignatureResult(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  RemoteSignatureOutcome out;
  out.pending = resp.state() != sigverify::v1::RemoteSignatureResult::STATE_DONE;
  if (!out.pending) out.certificate = FromProto(resp.certificate());
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
