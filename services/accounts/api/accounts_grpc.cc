#include "services/accounts/api/accounts_grpc.h"

#include "libs/server/call.h"
#include "libs/status/errors.h"

namespace dvc::accounts {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

absl::Time TimeOf(const v1::CertificateCredential& c) {
  if (!c.has_not_after()) return absl::InfinitePast();
  return absl::FromUnixSeconds(c.not_after().seconds()) + absl::Nanoseconds(c.not_after().nanos());
}

CitizenIdentity FromProto(const v1::CitizenIdentity& id) {
  CitizenIdentity c{id.cccd(),   id.cmnd(),  id.full_name(), id.date_of_birth(),
                    id.gender(), id.phone(), id.email()};
  c.passport = id.passport();
  return c;
}

CertificateCredential FromProto(const v1::CertificateCredential& c) {
  CertificateCredential out;
  out.fingerprint_sha256 = c.fingerprint_sha256();
  out.method = c.method();
  out.issuer_cn = c.issuer_cn();
  out.serial_hex = c.serial_hex();
  out.not_after = TimeOf(c);
  out.subscriber = c.subscriber();
  return out;
}

void ToProto(const CertificateCredential& c, v1::CertificateCredential* out) {
  out->set_fingerprint_sha256(c.fingerprint_sha256);
  out->set_method(c.method);
  out->set_issuer_cn(c.issuer_cn);
  out->set_serial_hex(c.serial_hex);
  SetTime(c.not_after, out->mutable_not_after());
  out->set_subscriber(c.subscriber);
  if (c.created_at != absl::InfinitePast()) SetTime(c.created_at, out->mutable_created_at());
}

void ToProto(const Account& a, v1::Account* out) {
  out->set_account_id(a.account_id);
  out->set_subject_kind(static_cast<int>(a.subject_kind));
  out->set_ial(a.ial);
  out->set_status(static_cast<v1::AccountStatus>(static_cast<int>(a.status)));
  switch (a.subject_kind) {
    case SubjectKind::kCitizen: {
      auto* c = out->mutable_citizen();
      c->set_cccd(a.citizen.cccd);
      c->set_cmnd(a.citizen.cmnd);
      c->set_full_name(a.citizen.full_name);
      c->set_date_of_birth(a.citizen.date_of_birth);
      c->set_gender(a.citizen.gender);
      c->set_phone(a.citizen.phone);
      c->set_email(a.citizen.email);
      c->set_passport(a.citizen.passport);
      break;
    }
    case SubjectKind::kBusiness: {
      auto* b = out->mutable_business();
      b->set_mst(a.business.mst);
      b->set_name(a.business.name);
      b->set_email(a.business.email);
      b->set_phone(a.business.phone);
      b->set_address(a.business.address);
      b->set_representative_cccd(a.business.representative_cccd);
      break;
    }
    case SubjectKind::kAgency: {
      auto* g = out->mutable_agency();
      g->set_unit_code(a.agency.unit_code);
      g->set_organization_name(a.agency.organization_name);
      g->set_official_cccd(a.agency.official_cccd);
      g->set_official_full_name(a.agency.official_full_name);
      g->set_email(a.agency.email);
      g->set_phone(a.agency.phone);
      break;
    }
  }
  out->set_verification_source(a.verification_source);
  out->set_registration_method(a.registration_method);
  out->mutable_created_at()->set_seconds(absl::ToUnixSeconds(a.created_at));
  out->set_has_password(a.has_password);
}

}  // namespace

grpc::Status AccountsGrpc::CreateCitizenAccount(grpc::ServerContext* ctx,
                                                const v1::CreateCitizenAccountRequest* req,
                                                v1::Account* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    NewCitizen c;
    c.request_id = req->request_id();
    c.identity = FromProto(req->identity());
    c.ial = req->ial();
    c.verification_source = req->verification_source();
    c.registration_method = req->registration_method();
    c.password = req->password();
    c.consent_version = req->consent_version();
    auto a = domain_->CreateCitizen(std::move(c));
    if (!a.ok()) return a.status();
    ToProto(*a, out);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest* req,
                                      v1::Account* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto a = domain_->Get(req->account_id());
    if (!a.ok()) return a.status();
    ToProto(*a, out);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::FindAccount(grpc::ServerContext* ctx,
                                       const v1::FindAccountRequest* req, v1::Account* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto a = domain_->Find(req->id_number());
    if (!a.ok()) return a.status();
    ToProto(*a, out);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::LookupAccountId(grpc::ServerContext* ctx,
                                           const v1::FindAccountRequest* req,
                                           v1::LookupAccountIdResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto id = domain_->LookupAccountId(
        AccountKey{req->id_number(), req->mst(), req->unit_code(), req->official_cccd()});
    if (!id.ok()) return id.status();
    out->set_found(id->has_value());
    if (id->has_value()) out->set_account_id(**id);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::SetPassword(grpc::ServerContext* ctx,
                                       const v1::SetPasswordRequest* req,
                                       v1::SetPasswordResponse*) {
  return server::Handle(ctx,
                        [&] { return domain_->SetPassword(req->account_id(), req->password()); });
}

grpc::Status AccountsGrpc::VerifyPassword(grpc::ServerContext* ctx,
                                          const v1::VerifyPasswordRequest* req,
                                          v1::VerifyPasswordResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto r = domain_->VerifyPassword(req->id_number(), req->password());
    if (!r.ok()) return r.status();
    out->set_valid(r->valid);
    if (r->valid) {
      out->set_account_id(r->account_id);
      out->set_ial(r->ial);
      out->set_phone(r->phone);
      out->set_status(static_cast<v1::AccountStatus>(static_cast<int>(r->status)));
    }
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::CreateCertificateAccount(grpc::ServerContext* ctx,
                                                    const v1::CreateCertificateAccountRequest* req,
                                                    v1::Account* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    NewCertificateAccount c;
    c.request_id = req->request_id();
    // subject_kind must name the identity that is set.
    const int kind = req->subject_kind();
    v1::CreateCertificateAccountRequest::IdentityCase want =
        kind == v1::SUBJECT_KIND_CITIZEN    ? v1::CreateCertificateAccountRequest::kCitizen
        : kind == v1::SUBJECT_KIND_BUSINESS ? v1::CreateCertificateAccountRequest::kBusiness
        : kind == v1::SUBJECT_KIND_AGENCY   ? v1::CreateCertificateAccountRequest::kAgency
                                            : v1::CreateCertificateAccountRequest::IDENTITY_NOT_SET;
    if (want == v1::CreateCertificateAccountRequest::IDENTITY_NOT_SET) {
      return status::InvalidArgument("SUBJECT_KIND_INVALID", "subject_kind",
                                     "Loại chủ thể phải là công dân, doanh nghiệp hoặc cơ quan.",
                                     "subject_kind must be CITIZEN, BUSINESS or AGENCY.");
    }
    if (req->identity_case() != want) {
      return status::InvalidArgument(
          "IDENTITY_REQUIRED", kind == v1::SUBJECT_KIND_CITIZEN    ? "citizen"
                               : kind == v1::SUBJECT_KIND_BUSINESS ? "business"
                                                                   : "agency",
          "Thiếu thông tin định danh tương ứng với loại chủ thể.",
          "The identity matching subject_kind (citizen, business or agency) is required.");
    }
    c.subject_kind = static_cast<SubjectKind>(kind);
    if (req->has_citizen()) c.citizen = FromProto(req->citizen());
    if (req->has_business()) {
      const auto& b = req->business();
      c.business = BusinessIdentity{b.mst(),     b.name(),    b.email(),
                                    b.phone(),   b.address(), b.representative_cccd()};
    }
    if (req->has_agency()) {
      const auto& g = req->agency();
      c.agency = AgencyIdentity{g.unit_code(),          g.organization_name(), g.official_cccd(),
                                g.official_full_name(), g.email(),             g.phone()};
    }
    c.certificate = FromProto(req->certificate());
    c.consent_version = req->consent_version();
    auto a = domain_->CreateCertificateAccount(std::move(c));
    if (!a.ok()) return a.status();
    ToProto(*a, out);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::AddCertificate(grpc::ServerContext* ctx,
                                          const v1::AddCertificateRequest* req,
                                          v1::Account* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    NewCertificate c;
    c.request_id = req->request_id();
    c.account_id = req->account_id();
    c.certificate = FromProto(req->certificate());
    c.identity_number = req->identity_number();
    auto a = domain_->AddCertificate(std::move(c));
    if (!a.ok()) return a.status();
    ToProto(*a, out);
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::FindByCertificate(grpc::ServerContext* ctx,
                                             const v1::FindByCertificateRequest* req,
                                             v1::FindByCertificateResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto o = domain_->FindByCertificate(req->fingerprint_sha256());
    if (!o.ok()) return o.status();
    out->set_found(o->has_value());
    if (o->has_value()) {
      const CertificateOwner& w = **o;
      out->set_account_id(w.account_id);
      out->set_status(static_cast<v1::AccountStatus>(static_cast<int>(w.status)));
      out->set_ial(w.ial);
      out->set_subject_kind(static_cast<int>(w.subject_kind));
      out->set_method(w.method);
    }
    return absl::OkStatus();
  });
}

grpc::Status AccountsGrpc::ListCertificates(grpc::ServerContext* ctx,
                                            const v1::ListCertificatesRequest* req,
                                            v1::ListCertificatesResponse* out) {
  return server::Handle(ctx, [&]() -> absl::Status {
    auto list = domain_->ListCertificates(req->account_id());
    if (!list.ok()) return list.status();
    for (const auto& c : *list) ToProto(c, out->add_certificates());
    return absl::OkStatus();
  });
}

}  // namespace dvc::accounts
