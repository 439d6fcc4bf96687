// gRPC clients of the services auth depends on, as domain ports: accounts here, otp and sigverify
// from their shared client libraries. Every call has a deadline; errors come back as domain
// statuses (status::FromGrpcStatus), reasons intact.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "services/auth/domain/ports.h"
#include "services/otp/client/grpc_otp_client.h"
#include "services/sigverify/client/grpc_sigverify_client.h"

namespace dvc::auth {

class GrpcAccountsClient final : public AccountsPort {
 public:
  GrpcAccountsClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
      : stub_(accounts::v1::AccountsService::NewStub(channel)), deadline_(deadline) {}

  absl::StatusOr<PasswordVerdict> VerifyPassword(const std::string& id_number,
                                                 const std::string& password) override;
  absl::StatusOr<std::optional<std::string>> FindAccountId(const std::string& id_number) override;
  absl::StatusOr<CertificateHolder> FindByCertificate(const std::string& fingerprint) override;

 private:
  std::unique_ptr<accounts::v1::AccountsService::Stub> stub_;
  absl::Duration deadline_;
};

using GrpcOtpClient = otp::client::GrpcOtpClient;
using GrpcSigverifyClient = sigverify::client::GrpcSigverifyClient;

}  // namespace dvc::auth
