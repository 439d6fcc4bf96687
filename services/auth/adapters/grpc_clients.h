// gRPC clients of the services auth depends on (accounts, otp), as domain ports. Every call has
// a deadline; errors come back as domain statuses (status::FromGrpcStatus), reasons intact.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/auth/domain/ports.h"

namespace dvc::auth {

class GrpcAccountsClient final : public AccountsPort {
 public:
  GrpcAccountsClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
      : stub_(accounts::v1::AccountsService::NewStub(channel)), deadline_(deadline) {}

  absl::StatusOr<PasswordVerdict> VerifyPassword(const std::string& id_number,
                                                 const std::string& password) override;
  absl::StatusOr<std::optional<std::string>> FindAccountId(const std::string& id_number) override;

 private:
  std::unique_ptr<accounts::v1::AccountsService::Stub> stub_;
  absl::Duration deadline_;
};

class GrpcOtpClient final : public OtpPort {
 public:
  GrpcOtpClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
      : stub_(otp::v1::OtpService::NewStub(channel)), deadline_(deadline) {}

  absl::StatusOr<OtpChallenge> Send(const std::string& request_id, const std::string& phone,
                                    const std::string& purpose,
                                    const std::string& subject) override;
  absl::StatusOr<OtpChallenge> Resend(const std::string& challenge_id) override;
  absl::Status Verify(const std::string& challenge_id, const std::string& code,
                      const std::string& purpose) override;

 private:
  std::unique_ptr<otp::v1::OtpService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace dvc::auth
