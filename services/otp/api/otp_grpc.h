// gRPC handlers for dvc.otp.v1.OtpService: proto ↔ domain, nothing else.
#pragma once

#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/otp/domain/otp.h"

namespace dvc::otp {

class OtpGrpc final : public v1::OtpService::Service {
 public:
  explicit OtpGrpc(OtpDomain* domain) : domain_(domain) {}

  grpc::Status SendOtp(grpc::ServerContext* ctx, const v1::SendOtpRequest* req,
                       v1::OtpChallenge* out) override;
  grpc::Status ResendOtp(grpc::ServerContext* ctx, const v1::ResendOtpRequest* req,
                         v1::OtpChallenge* out) override;
  grpc::Status VerifyOtp(grpc::ServerContext* ctx, const v1::VerifyOtpRequest* req,
                         v1::VerifyOtpResponse* out) override;

 private:
  OtpDomain* domain_;
};

}  // namespace dvc::otp
