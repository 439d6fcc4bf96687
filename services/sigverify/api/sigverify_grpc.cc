#include "services/sigverify/api/sigverify_grpc.h"

#include "libs/server/call.h"

namespace dvc::sigverify {

grpc::Status SigverifyGrpc::GetTrustStoreInfo(grpc::ServerContext* ctx,
                                              const v1::GetTrustStoreInfoRequest*,
                                              v1::TrustStoreInfo* out) {
  return server::Handle(ctx, [&] {
    const TrustStoreInfo info = store_->Info();
    out->set_anchors(info.anchors);
    for (const std::string& s : info.subjects) out->add_subjects(s);
    return absl::OkStatus();
  });
}

}  // namespace dvc::sigverify
