// The OTP service as its callers (registration, auth) see it: a small port their domain logic
// depends on, with no gRPC types. grpc_otp_client.h is the adapter that calls dvc.otp.v1.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dvc::otp::client {

struct Challenge {
  std::string challenge_id;
  std::string masked_phone;  // 082****088
  absl::Time expires_at;
  absl::Time resend_after;
  int attempts_left = 0;
};

class OtpClient {
 public:
  virtual ~OtpClient() = default;
  // Issues a code to `phone`. Idempotent on request_id. Errors keep the otp service's reasons
  // (e.g. RESOURCE_EXHAUSTED OTP_SEND_LIMIT with retry_after_s; UNAVAILABLE SMS_UNAVAILABLE).
  virtual absl::StatusOr<Challenge> Send(const std::string& request_id, const std::string& phone,
                                         const std::string& purpose,
                                         const std::string& subject) = 0;
  // A fresh code for the challenge (the previous one stops working).
  virtual absl::StatusOr<Challenge> Resend(const std::string& challenge_id) = 0;
  // Checks and consumes the code; returns the verified phone (domestic form).
  // `idempotency_key` names the consuming step ("login:<flow_id>", ≤ 128 chars of
  // [A-Za-z0-9:._-]; "" for none): repeating the call with the same key and the correct code
  // before the challenge expires answers the phone again instead of OTP_ALREADY_USED, so a step
  // that lost the answer (deadline, crash before recording it) can be retried.
  virtual absl::StatusOr<std::string> Verify(const std::string& challenge_id,
                                             const std::string& code,
                                             const std::string& purpose,
                                             const std::string& idempotency_key) = 0;
};

}  // namespace dvc::otp::client
