// gRPC clients of the other services, implementing the domain's ports. Every call carries a
// deadline and the caller's request id (server::ClientContext); peer errors come back as domain
// statuses (status::FromGrpcStatus), so their reasons, fields and messages pass through.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/idv/v1/idv.grpc.pb.h"
#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/registration/domain/ports.h"

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

 private:
  std::unique_ptr<accounts::v1::AccountsService::Stub> stub_;
  absl::Duration deadline_;
};

class GrpcOtpClient final : public OtpClient {
 public:
  explicit GrpcOtpClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration deadline = absl::Seconds(8));
  absl::StatusOr<OtpChallenge> Send(const std::string& request_id, const std::string& phone,
                                    const std::string& purpose,
                                    const std::string& subject) override;
  absl::StatusOr<OtpChallenge> Resend(const std::string& challenge_id) override;
  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                                     const std::string& purpose) override;

 private:
  std::unique_ptr<otp::v1::OtpService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace dvc::registration
