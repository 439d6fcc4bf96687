// gRPC clients of the other services, implementing the domain's ports. Every call carries a
// deadline and the caller's request id (server::ClientContext); peer errors come back as domain
// statuses (status::FromGrpcStatus), so their reasons, fields and messages pass through.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/idv/v1/idv.grpc.pb.h"
#include "services/otp/client/grpc_otp_client.h"
#include "services/registration/domain/ports.h"
#include "services/sigverify/client/grpc_sigverify_client.h"

namespace dvc::registration {

class GrpcIdvClient final : public IdvClient {
 public:
  explicit GrpcIdvClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration deadline = absl::Seconds(8));
  absl::StatusOr<SubscriberAnswer> CheckSubscriber(const SubscriberQuery& q) override;

 private:
  std::unique_ptr<idv::v1::IdvGatewayService::Stub> stub_;
  absl::Duration deadline_;
};

class GrpcAccountsClient final : public AccountsClient {
 public:
  explicit GrpcAccountsClient(std::shared_ptr<grpc::Channel> channel,
                              absl::Duration deadline = absl::Seconds(5));
  absl::StatusOr<bool> Exists(const std::string& id_number) override;
  absl::StatusOr<CreatedAccount> CreateCitizen(const NewCitizenAccount& a) override;
  absl::StatusOr<std::optional<std::string>> LookupAccountId(const AccountKey& key) override;
  absl::StatusOr<CreatedAccount> CreateCertificateAccount(const NewCertificateAccount& a) override;
  absl::StatusOr<CreatedAccount> AddCertificate(const CertificateLink& link) override;

 private:
  std::unique_ptr<accounts::v1::AccountsService::Stub> stub_;
  absl::Duration deadline_;
};

class GrpcAuthClient final : public AuthClient {
 public:
  explicit GrpcAuthClient(std::shared_ptr<grpc::Channel> channel,
                          absl::Duration deadline = absl::Seconds(3));
  absl::StatusOr<TokenInfo> Introspect(const std::string& access_token) override;

 private:
  std::unique_ptr<auth::v1::AuthService::Stub> stub_;
  absl::Duration deadline_;
};

using GrpcOtpClient = otp::client::GrpcOtpClient;
using GrpcSigverifyClient = sigverify::client::GrpcSigverifyClient;

}  // namespace dvc::registration
