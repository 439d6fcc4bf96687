// gRPC handlers for dvc.sigverify.v1.SigverifyService: proto ↔ domain, nothing else.
#pragma once

#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "services/sigverify/domain/trust_store.h"

namespace dvc::sigverify {

class SigverifyGrpc final : public dvc::sigverify::v1::SigverifyService::Service {
 public:
  explicit SigverifyGrpc(const TrustStore* store) : store_(store) {}

  grpc::Status GetTrustStoreInfo(grpc::ServerContext* ctx, const v1::GetTrustStoreInfoRequest* req,
                                 v1::TrustStoreInfo* out) override;

 private:
  const TrustStore* store_;
};

}  // namespace dvc::sigverify
