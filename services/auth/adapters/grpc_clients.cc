#include "services/auth/adapters/grpc_clients.h"

#include "libs/server/call.h"
#include "libs/status/grpc_status.h"

namespace dvc::auth {
namespace {

AccountStatus StatusOf(accounts::v1::AccountStatus s) {
  switch (s) {
    case accounts::v1::ACCOUNT_STATUS_ACTIVE:
      return AccountStatus::kActive;
    case accounts::v1::ACCOUNT_STATUS_LOCKED:
      return AccountStatus::kLocked;
    case accounts::v1::ACCOUNT_STATUS_CLOSED:
      return AccountStatus::kClosed;
    default:
      return AccountStatus::kUnspecified;
  }
}

}  // namespace

absl::StatusOr<PasswordVerdict> GrpcAccountsClient::VerifyPassword(const std::string& id_number,
                                                                   const std::string& password) {
  accounts::v1::VerifyPasswordRequest req;
  req.set_id_number(id_number);
  req.set_password(password);
  accounts::v1::VerifyPasswordResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->VerifyPassword(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  PasswordVerdict v;
  v.valid = resp.valid();
  if (v.valid) {
    v.account_id = resp.account_id();
    v.ial = resp.ial();
    v.phone = resp.phone();
    v.status = StatusOf(resp.status());
  }
  return v;
}

absl::StatusOr<std::optional<std::string>> GrpcAccountsClient::FindAccountId(
    const std::string& id_number) {
  accounts::v1::FindAccountRequest req;
  req.set_id_number(id_number);
  accounts::v1::LookupAccountIdResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->LookupAccountId(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  if (!resp.found()) return std::optional<std::string>();
  return std::optional<std::string>(resp.account_id());
}

absl::StatusOr<CertificateHolder> GrpcAccountsClient::FindByCertificate(
    const std::string& fingerprint) {
  accounts::v1::FindByCertificateRequest req;
  req.set_fingerprint_sha256(fingerprint);
  accounts::v1::FindByCertificateResponse resp;
  auto ctx = server::ClientContext(deadline_);
  grpc::Status s = stub_->FindByCertificate(ctx.get(), req, &resp);
  if (!s.ok()) return status::FromGrpcStatus(s);
  CertificateHolder h;
  h.found = resp.found();
  if (h.found) {
    h.account_id = resp.account_id();
    h.status = StatusOf(resp.status());
    h.ial = resp.ial();
    h.method = resp.method();
  }
  return h;
}

}  // namespace dvc::auth
