// gRPC clients of the services auth depends on (accounts, otp, sigverify), as domain ports. Every call has
// a deadline; errors come back as domain statuses (status::FromGrpcStatus), reasons intact.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "services/auth/domain/ports.h"
#include "services/otp/client/grpc_otp_client.h"

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

// sigverify, purpose LOGIN.
class GrpcSigverifyClient final : public SigverifyPort {
 public:
  GrpcSigverifyClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
      : stub_(sigverify::v1::SigverifyService::NewStub(channel)), deadline_(deadline) {}

  absl::StatusOr<SignatureChallenge> IssueLoginChallenge(const std::string& flow_id) override;
  absl::StatusOr<VerifiedSigner> VerifyLoginSignature(const ChallengeSignature& sig) override;
  absl::StatusOr<RemoteSignatureStarted> StartRemoteLogin(const std::string& flow_id,
                                                          RemoteProvider provider,
                                                          const std::string& subscriber,
                                                          const std::string& display_text) override;
  absl::StatusOr<RemoteSignatureOutcome> GetRemoteLoginResult(const std::string& transaction_id,
                                                              const std::string& flow_id) override;

 private:
  std::unique_ptr<sigverify::v1::SigverifyService::Stub> stub_;
  absl::Duration deadline_;
};

using GrpcOtpClient = otp::client::GrpcOtpClient;

}  // namespace dvc::auth
