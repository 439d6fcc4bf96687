// gRPC handlers for dvc.sigverify.v1.SigverifyService: proto ↔ domain, nothing else.
#pragma once

#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "services/sigverify/domain/signature_service.h"
#include "services/sigverify/domain/trust_store.h"

namespace dvc::sigverify {

class SigverifyGrpc final : public dvc::sigverify::v1::SigverifyService::Service {
 public:
  SigverifyGrpc(TrustStoreHolder* trust, SignatureService* service)
      : trust_(trust), service_(service) {}

  grpc::Status GetTrustStoreInfo(grpc::ServerContext* ctx, const v1::GetTrustStoreInfoRequest* req,
                                 v1::TrustStoreInfo* out) override;
  grpc::Status IssueChallenge(grpc::ServerContext* ctx, const v1::IssueChallengeRequest* req,
                              v1::Challenge* out) override;
  grpc::Status VerifyChallengeSignature(grpc::ServerContext* ctx,
                                        const v1::VerifyChallengeSignatureRequest* req,
                                        v1::VerifiedCertificate* out) override;
  grpc::Status StartRemoteSignature(grpc::ServerContext* ctx,
                                    const v1::StartRemoteSignatureRequest* req,
                                    v1::RemoteSignatureTransaction* out) override;
  grpc::Status GetRemoteSignatureResult(grpc::ServerContext* ctx,
                                        const v1::GetRemoteSignatureResultRequest* req,
                                        v1::RemoteSignatureResult* out) override;
  grpc::Status CheckCertificate(grpc::ServerContext* ctx, const v1::CheckCertificateRequest* req,
                                v1::VerifiedCertificate* out) override;

 private:
  TrustStoreHolder* const trust_;
  SignatureService* const service_;
};

// Domain → proto (exposed for tests).
void ToProto(const VerifiedCertificate& in, v1::VerifiedCertificate* out);

}  // namespace dvc::sigverify
