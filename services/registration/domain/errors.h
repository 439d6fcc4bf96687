// Every error reason the registration service produces itself (see README.md for the full list,
// including the reasons passed through from captcha, validators, otp and accounts).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace dvc::registration::errors {

absl::Status FlowIdRequired();
absl::Status FlowNotFound();
absl::Status FlowExpired();
absl::Status FlowCompleted();
// Metadata failure_reason = why the flow failed.
absl::Status FlowFailed(const std::string& failure_reason);
// Metadata state = the current (public) state.
absl::Status FlowWrongState(const std::string& state);
absl::Status ConsentRequired();
absl::Status PhoneNotOwned();
absl::Status AccountExists();
absl::Status OtpRequired();
absl::Status OtpMalformed();
absl::Status RequestIdReused();
// UNAVAILABLE with metadata flow_id: call ResumeFlow (or retry the step) in a moment.
absl::Status IdvUnavailable(const std::string& flow_id);
absl::Status TemporarilyUnavailable(const std::string& flow_id);

// ---- certificate flows (REG-3/4/6) ----
absl::Status MethodRequired();
absl::Status MethodInvalid();
absl::Status SubjectKindRequired();
absl::Status SubjectKindInvalid();
absl::Status MethodNotAllowedForSubject();
absl::Status PhoneRequired();
absl::Status SmartCaUserIdRequired();
absl::Status SmartCaUserIdMalformed();
absl::Status UnitCodeRequired();
absl::Status SignatureFormatRequired();
absl::Status SignatureRequired();
absl::Status CertificateRequired();
// The flow's challenge / remote request was used (or failed): call RenewChallenge.
absl::Status ChallengeRenewalRequired();
absl::Status SignatureRequestsExceeded();
absl::Status EmailRequired();
absl::Status AccessTokenRequired();
absl::Status AccessTokenInvalid();
// The signed-in account is not the one registered for the certificate's identity.
absl::Status AccountMismatch();

inline constexpr char kSignatureRequestsExceeded[] = "SIGNATURE_REQUESTS_EXCEEDED";

// The error a flow that failed for `failure_reason` answered when it failed (for replays of an
// idempotent start); FLOW_FAILED for unknown reasons.
absl::Status ForFailure(const std::string& failure_reason);

inline constexpr char kPhoneNotOwned[] = "PHONE_NOT_OWNED";
inline constexpr char kAccountExists[] = "ACCOUNT_EXISTS";
inline constexpr char kOtpAttemptsExceeded[] = "OTP_ATTEMPTS_EXCEEDED";

}  // namespace dvc::registration::errors
