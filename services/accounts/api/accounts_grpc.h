// gRPC handlers for dvc.accounts.v1.AccountsService: proto ↔ domain, nothing else.
#pragma once

#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "services/accounts/domain/accounts.h"

namespace dvc::accounts {

class AccountsGrpc final : public dvc::accounts::v1::AccountsService::Service {
 public:
  explicit AccountsGrpc(AccountsDomain* domain) : domain_(domain) {}

  grpc::Status CreateCitizenAccount(grpc::ServerContext* ctx,
                                    const v1::CreateCitizenAccountRequest* req,
                                    v1::Account* out) override;
  grpc::Status GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest* req,
                          v1::Account* out) override;
  grpc::Status FindAccount(grpc::ServerContext* ctx, const v1::FindAccountRequest* req,
                           v1::Account* out) override;
  grpc::Status LookupAccountId(grpc::ServerContext* ctx, const v1::FindAccountRequest* req,
                               v1::LookupAccountIdResponse* out) override;
  grpc::Status SetPassword(grpc::ServerContext* ctx, const v1::SetPasswordRequest* req,
                           v1::SetPasswordResponse* out) override;
  grpc::Status VerifyPassword(grpc::ServerContext* ctx, const v1::VerifyPasswordRequest* req,
                              v1::VerifyPasswordResponse* out) override;
  grpc::Status CreateCertificateAccount(grpc::ServerContext* ctx,
                                        const v1::CreateCertificateAccountRequest* req,
                                        v1::Account* out) override;
  grpc::Status AddCertificate(grpc::ServerContext* ctx, const v1::AddCertificateRequest* req,
                              v1::Account* out) override;
  grpc::Status FindByCertificate(grpc::ServerContext* ctx,
                                 const v1::FindByCertificateRequest* req,
                                 v1::FindByCertificateResponse* out) override;
  grpc::Status ListCertificates(grpc::ServerContext* ctx, const v1::ListCertificatesRequest* req,
                                v1::ListCertificatesResponse* out) override;

 private:
  AccountsDomain* domain_;
};

}  // namespace dvc::accounts
