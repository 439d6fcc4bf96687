// gRPC handlers for dvc.idv.v1.IdvGatewayService: proto ↔ domain, nothing else.
#pragma once

#include "protos/dvc/idv/v1/idv.grpc.pb.h"
#include "services/idv_gateway/domain/idv.h"

namespace dvc::idv {

class IdvGrpc final : public dvc::idv::v1::IdvGatewayService::Service {
 public:
  explicit IdvGrpc(IdvGateway* gateway) : gateway_(gateway) {}

  grpc::Status CheckSubscriber(grpc::ServerContext* ctx, const v1::CheckSubscriberRequest* req,
                               v1::CheckSubscriberResponse* out) override;
  grpc::Status LookupCitizen(grpc::ServerContext* ctx, const v1::LookupCitizenRequest* req,
                             v1::LookupCitizenResponse* out) override;

 private:
  IdvGateway* gateway_;
};

}  // namespace dvc::idv
