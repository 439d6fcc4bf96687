// REG-1 registration flow: the persisted, expiring state machine (in the style of ORY Kratos's
// self-service flows). No gRPC or SQL types here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/sigverify/client/sigverify_client.h"

namespace dvc::registration {

// Internal states. kOtpSendPending is shown to clients as SUBSCRIBER_CHECK_PENDING (the pending
// checks are not finished); it records that the telco check already passed, so ResumeFlow
// retries exactly the step that failed (duplicate check + OTP send) and not the telco check.
// States 7.. belong to the certificate flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA).
enum class FlowState {
  kSubscriberCheckPending = 1,  // telco subscriber check to (re)run
  kOtpSendPending = 2,          // telco ok; duplicate check + OTP send to (re)run
  kOtpSent = 3,                 // waiting for the OTP
  kPasswordRequired = 4,        // OTP verified; waiting for the password
  kCompleted = 5,
  kFailed = 6,
  kSignatureStartPending = 7,   // sigverify IssueChallenge / StartRemoteSignature to (re)run
  kSignatureRequired = 8,       // USB: challenge issued, waiting for the token's signature
  kSignaturePending = 9,        // SIM / SmartCA: waiting for the user to confirm on the phone
  kDuplicateCheckPending = 10,  // certificate verified; duplicate check to (re)run
  kReview = 11,                 // certificate shown; waiting for CompleteCertificateRegistration
  kExistingAccount = 12,        // an account exists: LinkCertificate (after logging in) or stop
};

// Stable names, as stored in the database ("SUBSCRIBER_CHECK_PENDING", ...).
const char* StateName(FlowState s);
std::optional<FlowState> ParseState(const std::string& name);
bool IsTerminal(FlowState s);
// The state clients see (dvc.registration.v1.FlowState name without prefix): kOtpSendPending
// shows as "SUBSCRIBER_CHECK_PENDING".
const char* PublicStateName(FlowState s);

// Who registers (SUB-1..3).
enum class SubjectKind { kCitizen = 1, kBusiness = 2, kAgency = 3 };
const char* SubjectKindName(SubjectKind k);  // "CITIZEN", "BUSINESS", "AGENCY"
std::optional<SubjectKind> ParseSubjectKind(const std::string& name);

// How a certificate flow signs (Flow::method).
inline constexpr char kMethodUsb[] = "USB";
inline constexpr char kMethodSim[] = "SIM";
inline constexpr char kMethodSmartCa[] = "SMARTCA";
bool IsCertificateMethod(const std::string& method);

// The verified certificate as sigverify described it (sigverify's client type). Personal data:
// sealed at rest, cleared when the flow ends, never logged.
using CertificateInfo = sigverify::client::VerifiedCertificate;

// The certificate part of a flow (REG-3/4/6).
struct CertificateFlow {
  SubjectKind subject_kind = SubjectKind::kCitizen;
  std::string subscriber;  // SIM: phone 0xxxxxxxxx; SmartCA: user id (sealed)
  std::string unit_code;   // AGENCY: the unit code typed in the form
  // The live signature request: USB challenge, or SIM/SmartCA transaction. Cleared once used
  // (a failed attempt needs RenewChallenge).
  std::string challenge_id;
  std::string challenge;  // bytes to sign (USB)
  std::string transaction_id;
  std::string verification_code;
  std::optional<absl::Time> signature_expires_at;
  int signature_requests = 0;  // challenges / remote requests issued so far (bounded)
  std::optional<CertificateInfo> certificate;  // once verified (sealed)
};

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
  CertificateFlow cert;    // certificate flows only
  // When completed; in kExistingAccount, the existing account (internal: never shown).
  std::string account_id;
  int ial = 0;             // when completed
  std::string failure_reason;  // when failed
  absl::Time created_at;
  absl::Time updated_at;
  absl::Time expires_at;
  int64_t version = 0;  // incremented by the store on every save
};

}  // namespace dvc::registration
