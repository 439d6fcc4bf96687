// SigverifyClient over gRPC (dvc.sigverify.v1.SigverifyService): every call has a deadline and
// carries the caller's request id; sigverify's errors come back as domain statuses with their
// reasons, fields and messages intact (status::FromGrpcStatus).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "services/sigverify/client/sigverify_client.h"

namespace dvc::sigverify::client {

class GrpcSigverifyClient final : public SigverifyClient {
 public:
  // Verifying a signature checks revocation over the network (OCSP / CRL) and starting a remote
  // signature calls the MSSP / SmartCA, hence the long default deadline.
  explicit GrpcSigverifyClient(std::shared_ptr<grpc::Channel> channel,
                               absl::Duration deadline = absl::Seconds(15));

  absl::StatusOr<Challenge> IssueChallenge(Purpose purpose, const std::string& flow_id) override;
  absl::StatusOr<VerifiedCertificate> VerifyChallengeSignature(
      Purpose purpose, const ChallengeSignature& signature) override;
  absl::StatusOr<RemoteSignatureStarted> StartRemoteSignature(
      Purpose purpose, const RemoteSignatureRequest& request) override;
  // A DONE answer without a certificate, or an unknown state, is UNAVAILABLE
  // DEPENDENCY_UNAVAILABLE (never a success).
  absl::StatusOr<RemoteSignatureOutcome> GetRemoteSignatureResult(
      Purpose purpose, const std::string& transaction_id, const std::string& flow_id) override;

 private:
  std::unique_ptr<v1::SigverifyService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace dvc::sigverify::client
