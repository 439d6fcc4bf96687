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
//
// The certificate flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA; citizens, businesses, agencies)
// use the same flows, store and checks (certificate_flow.cc):
//
//   StartCertificateRegistration: captcha → form → flow persisted (SIGNATURE_START_PENDING)
//     → USB: sigverify IssueChallenge → SIGNATURE_REQUIRED (the challenge to sign)
//     → SIM / SmartCA: sigverify StartRemoteSignature → SIGNATURE_PENDING (verification code)
//   SubmitCertificateSignature (USB) / PollCertificateSignature (SIM, SmartCA)
//     → subject kind vs certificate (SUB-1..3) → DUPLICATE_CHECK_PENDING → duplicate check
//     → REVIEW (certificate data shown) or EXISTING_ACCOUNT (guidance; nothing created)
//   A failed signature or mismatching certificate clears the used request: RenewChallenge
//   issues a new one (at most kMaxSignatureRequests per flow).
//   CompleteCertificateRegistration (REVIEW) → accounts CreateCertificateAccount (IAL3) → COMPLETED
//   LinkCertificate (EXISTING_ACCOUNT, the holder's access token) → accounts AddCertificate
//     → COMPLETED.  Replaying Complete / Link on a completed flow answers the same account.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "services/registration/domain/certificate.h"
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

struct CertificateSignatureInput {
  std::string flow_id;
  std::optional<SignatureFormat> format;  // nullopt = not given
  std::string signature;
  std::string certificate;  // DER or PEM; optional for CMS
  std::vector<std::string> chain;
};

struct CompleteCertificateInput {
  std::string flow_id;
  std::string email;  // required for a business
  std::string phone;  // optional contact phone
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
inline constexpr int kCertificateIal = 3;
// Challenges / remote signing requests one flow may issue (the first one included).
inline constexpr int kMaxSignatureRequests = 5;

class Registration final {
 public:
  // All pointers must outlive the object.
  Registration(FlowStore* store, captcha::CaptchaChecker* captcha, IdvClient* idv,
               AccountsClient* accounts, OtpClient* otp, SigverifyClient* sigverify,
               AuthClient* auth, Clock* clock, crypto::Random* random, Options options);

  absl::StatusOr<captcha::IssuedCaptcha> CreateCaptcha();
  absl::StatusOr<Flow> StartMobile(const StartMobileInput& in);
  absl::StatusOr<Flow> Resume(const std::string& flow_id);
  absl::StatusOr<Flow> Get(const std::string& flow_id);
  absl::StatusOr<Flow> ResendOtp(const std::string& flow_id);
  absl::StatusOr<Flow> VerifyOtp(const std::string& flow_id, const std::string& otp);
  absl::StatusOr<Flow> SetPassword(const std::string& flow_id, const std::string& password,
                                   const std::string& confirmation);

  // ---- certificate flows (certificate_flow.cc) ----
  absl::StatusOr<Flow> StartCertificate(const StartCertificateInput& in);
  absl::StatusOr<Flow> SubmitCertificateSignature(const CertificateSignatureInput& in);
  absl::StatusOr<Flow> PollCertificateSignature(const std::string& flow_id);
  absl::StatusOr<Flow> RenewChallenge(const std::string& flow_id);
  absl::StatusOr<Flow> CompleteCertificate(const CompleteCertificateInput& in);
  absl::StatusOr<Flow> LinkCertificate(const std::string& flow_id,
                                       const std::string& access_token);

 private:
  // Runs `step` on the locked flow after the common checks (exists, not completed, not failed,
  // not expired); returns the flow as saved. With `replay_completed`, a completed flow is
  // answered as it stands (idempotent final steps) instead of FLOW_COMPLETED.
  absl::StatusOr<Flow> RunStep(const std::string& flow_id,
                               const std::function<StepResult(Flow&)>& step,
                               bool replay_completed = false);
  // The pending checks (telco → duplicate → OTP), from wherever the flow stands.
  StepResult RunPending(Flow& flow);
  StepResult Fail(Flow& flow, const std::string& reason, absl::Status error);
  absl::StatusOr<Flow> ReplayStart(const Flow& existing, const std::string& id_index);
  // Certificate flows: issues a challenge (USB) or starts a remote signature (SIM/SmartCA).
  StepResult RequestSignature(Flow& flow);
  // A verified certificate: subject kind check, then the duplicate check.
  StepResult AcceptCertificate(Flow& flow, CertificateInfo certificate);
  StepResult RunDuplicateCheck(Flow& flow);

  FlowStore* store_;
  captcha::CaptchaChecker* captcha_;
  IdvClient* idv_;
  AccountsClient* accounts_;
  OtpClient* otp_;
  SigverifyClient* sigverify_;
  AuthClient* auth_;
  Clock* clock_;
  crypto::Random* random_;
  Options options_;
};

}  // namespace dvc::registration
