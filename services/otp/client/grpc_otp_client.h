// OtpClient over gRPC (dvc.otp.v1.OtpService): every call has a deadline and carries the
// caller's request id; the otp service's errors come back as domain statuses.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/otp/client/otp_client.h"

namespace dvc::otp::client {

class GrpcOtpClient final : public OtpClient {
 public:
  // The default deadline exceeds the otp service's SMS gateway timeout (5 s): Send waits for
  // the delivery.
  explicit GrpcOtpClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration deadline = absl::Seconds(8));

  absl::StatusOr<Challenge> Send(const std::string& request_id, const std::string& phone,
                                 const std::string& purpose, const std::string& subject) override;
  absl::StatusOr<Challenge> Resend(const std::string& challenge_id) override;
  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                                     const std::string& purpose,
                                     const std::string& idempotency_key) override;

 private:
  std::unique_ptr<v1::OtpService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace dvc::otp::client
