// REG-1 registration flow: the persisted, expiring state machine (in the style of ORY Kratos's
// self-service flows). No gRPC or SQL types here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace dvc::registration {

// Internal states. kOtpSendPending is shown to clients as SUBSCRIBER_CHECK_PENDING (the pending
// checks are not finished); it records that the telco check already passed, so ResumeFlow
// retries exactly the step that failed (duplicate check + OTP send) and not the telco check.
enum class FlowState {
  kSubscriberCheckPending = 1,  // telco subscriber check to (re)run
  kOtpSendPending = 2,          // telco ok; duplicate check + OTP send to (re)run
  kOtpSent = 3,                 // waiting for the OTP
  kPasswordRequired = 4,        // OTP verified; waiting for the password
  kCompleted = 5,
  kFailed = 6,
};

// Stable names, as stored in the database ("SUBSCRIBER_CHECK_PENDING", ...).
const char* StateName(FlowState s);
std::optional<FlowState> ParseState(const std::string& name);
bool IsTerminal(FlowState s);
// The state clients see (dvc.registration.v1.FlowState name without prefix): kOtpSendPending
// shows as "SUBSCRIBER_CHECK_PENDING".
const char* PublicStateName(FlowState s);

// What the applicant typed (normalised). Personal data: sealed at rest by the store, cleared
// once the flow reaches a terminal state, never logged.
struct Applicant {
  std::string id_number;      // CCCD (12 digits) or CMND (9 digits)
  std::string full_name;      // NFC, single spaces
  std::string date_of_birth;  // YYYY-MM-DD
  std::string phone;          // domestic 0xxxxxxxxx
  std::string email;          // optional
};

struct Flow {
  std::string flow_id;  // UUIDv4: also the capability the client holds
  std::string method = "MOBILE";
  FlowState state = FlowState::kSubscriberCheckPending;
  Applicant applicant;
  std::string id_index;      // keyed blind index of the id number (OTP subject, replay check)
  std::string masked_phone;  // 082****088
  std::string consent_version;
  absl::Time consent_at;     // when the information-sharing policy was accepted
  std::string start_request_id;  // optional idempotency key of StartMobileRegistration
  std::string otp_challenge_id;
  std::optional<absl::Time> otp_expires_at;
  std::optional<absl::Time> resend_after;
  std::string account_id;  // when completed
  int ial = 0;             // when completed
  std::string failure_reason;  // when failed
  absl::Time created_at;
  absl::Time updated_at;
  absl::Time expires_at;
  int64_t version = 0;  // incremented by the store on every save
};

}  // namespace dvc::registration
