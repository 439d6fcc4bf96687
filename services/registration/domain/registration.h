// REG-1 registration by mobile subscriber as a persisted, expiring flow:
//
//   StartMobileRegistration: captcha → form validation → flow persisted (SUBSCRIBER_CHECK_PENDING)
//     → telco subscriber check (idv_gateway) → duplicate check (accounts) → OTP sent (otp)
//   VerifyOtp → PASSWORD_REQUIRED;  SetPassword → account at IAL2 (accounts) → COMPLETED
//
// A retryable provider failure leaves the flow pending and answers UNAVAILABLE with metadata
// flow_id; ResumeFlow retries exactly the pending step. Refusals (not the subscriber's owner,
// duplicate account, too many wrong OTPs) move the flow to FAILED. Every step checks, in order:
// unknown flow, completed, failed, expired, wrong state. Steps on one flow are serialised by the
// store (FlowStore::WithLockedFlow); every call to another service carries an idempotency key
// derived from the flow id, so retries never send two OTPs or create two accounts.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "services/registration/domain/flow.h"
#include "services/registration/domain/ports.h"

namespace dvc::registration {

struct StartMobileInput {
  std::string captcha_id;
  std::string captcha_answer;
  std::string id_number;
  std::string full_name;
  std::string date_of_birth;
  std::string phone;
  std::string email;
  std::string consent_version;
  std::string request_id;  // optional idempotency key
};

struct Options {
  absl::Duration flow_ttl = absl::Minutes(30);
  // Key of the keyed blind index of the id number (the OTP subject); not an encryption key.
  std::string blind_index_key;
};

inline constexpr char kOtpPurpose[] = "REGISTRATION";
inline constexpr char kMethodMobile[] = "MOBILE";
inline constexpr char kVerificationSourceTelco[] = "TELCO";
inline constexpr int kMobileIal = 2;

class Registration final {
 public:
  // All pointers must outlive the object.
  Registration(FlowStore* store, captcha::CaptchaChecker* captcha, IdvClient* idv,
               AccountsClient* accounts, OtpClient* otp, Clock* clock, crypto::Random* random,
               Options options);

  absl::StatusOr<captcha::IssuedCaptcha> CreateCaptcha();
  absl::StatusOr<Flow> StartMobile(const StartMobileInput& in);
  absl::StatusOr<Flow> Resume(const std::string& flow_id);
  absl::StatusOr<Flow> Get(const std::string& flow_id);
  absl::StatusOr<Flow> ResendOtp(const std::string& flow_id);
  absl::StatusOr<Flow> VerifyOtp(const std::string& flow_id, const std::string& otp);
  absl::StatusOr<Flow> SetPassword(const std::string& flow_id, const std::string& password,
                                   const std::string& confirmation);

 private:
  // Runs `step` on the locked flow after the common checks (exists, not completed, not failed,
  // not expired); returns the flow as saved.
  absl::StatusOr<Flow> RunStep(const std::string& flow_id,
                               const std::function<StepResult(Flow&)>& step);
  // The pending checks (telco → duplicate → OTP), from wherever the flow stands.
  StepResult RunPending(Flow& flow);
  StepResult Fail(Flow& flow, const std::string& reason, absl::Status error);
  absl::StatusOr<Flow> ReplayStart(const Flow& existing, const std::string& id_index);

  FlowStore* store_;
  captcha::CaptchaChecker* captcha_;
  IdvClient* idv_;
  AccountsClient* accounts_;
  OtpClient* otp_;
  Clock* clock_;
  crypto::Random* random_;
  Options options_;
};

}  // namespace dvc::registration
