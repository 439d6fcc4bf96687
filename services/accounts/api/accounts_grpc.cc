#include "services/accounts/api/accounts_grpc.h"

#include "libs/server/call.h"

namespace dvc::accounts {
namespace {

void ToProto(const Account& a, v1::Account* out) {
  out->set_account_id(a.account_id);
  out->set_subject_kind(static_cast<int>(a.subject_kind));
  out->set_ial(a.ial);
  out->set_status(static_cast<v1::AccountStatus>(static_cast<int>(a.status)));
  auto* c = out->mutable_citizen();
  c->set_cccd(a.citizen.cccd);
  c->set_cmnd(a.citizen.cmnd);
  c->set_full_name(a.citizen.full_name);
  c->set_date_of_birth(a.citizen.date_of_birth);
  c->set_gender(a.citizen.gender);
  c->set_phone(a.citizen.phone);
  c->set_email(a.citizen.email);
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
    const auto& id = req->identity();
    c.identity = CitizenIdentity{id.cccd(),   id.cmnd(),  id.full_name(), id.date_of_birth(),
                                 id.gender(), id.phone(), id.email()};
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
    auto id = domain_->LookupAccountId(req->id_number());
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

}  // namespace dvc::accounts
