// OTP domain (REG-8, LGN-1, X-2; NIST 800-63B): issues 6-digit codes by SMS, stores only a keyed
// hash of each code, verifies them once, atomically, with bounded attempts, a resend cooldown, a
// bounded number of resends and sliding-window send limits per phone and per subject.
//
// Delivery: a code is usable only once the SMS gateway accepted it. A failed delivery leaves the
// challenge unusable, does not count against the send limits nor as a resend, and answers
// UNAVAILABLE SMS_UNAVAILABLE (retry SendOtp with the same request_id, or ResendOtp).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/metrics/metrics.h"
#include "services/otp/domain/ports.h"

namespace dvc::otp {

struct OtpOptions {
  absl::Duration ttl = absl::Minutes(5);
  absl::Duration resend_cooldown = absl::Seconds(60);
  int max_attempts = 5;
  int max_resends = 3;
  int phone_limit = 5;
  absl::Duration phone_window = absl::Minutes(15);
  int subject_limit = 10;
  absl::Duration subject_window = absl::Hours(1);
  std::string sms_sender = "DVCQG";  // brand name shown as the SMS sender
};

struct OtpKeys {
  std::string code_hmac_key;  // otp_hmac_key: HMAC of the codes
  std::string index_key;      // blind indexes of phone and subject (distinct from the cipher key)
};

struct SendRequest {
  std::string request_id;
  std::string phone;    // any accepted form
  std::string purpose;  // "REGISTRATION", "LOGIN", …
  std::string subject;  // opaque per-identity key; may be empty (then only the phone limit applies)
};

struct ChallengeView {
  std::string challenge_id;
  std::string masked_phone;  // 082****088
  absl::Time expires_at;
  absl::Time resend_after;
  int attempts_left = 0;
};

// Error reasons (see services/otp/README.md).
inline constexpr char kReasonSendLimit[] = "OTP_SEND_LIMIT";
inline constexpr char kReasonResendTooSoon[] = "OTP_RESEND_TOO_SOON";
inline constexpr char kReasonResendLimit[] = "OTP_RESEND_LIMIT";
inline constexpr char kReasonNotFound[] = "OTP_CHALLENGE_NOT_FOUND";
inline constexpr char kReasonAlreadyUsed[] = "OTP_ALREADY_USED";
inline constexpr char kReasonExpired[] = "OTP_EXPIRED";
inline constexpr char kReasonAttemptsExceeded[] = "OTP_ATTEMPTS_EXCEEDED";
inline constexpr char kReasonInvalid[] = "OTP_INVALID";
inline constexpr char kReasonMalformed[] = "OTP_MALFORMED";
inline constexpr char kReasonPurposeMismatch[] = "OTP_PURPOSE_MISMATCH";
inline constexpr char kReasonNotDelivered[] = "OTP_NOT_DELIVERED";
inline constexpr char kReasonSendInProgress[] = "OTP_SEND_IN_PROGRESS";
inline constexpr char kReasonSmsUnavailable[] = "SMS_UNAVAILABLE";
inline constexpr char kReasonPurposeInvalid[] = "OTP_PURPOSE_INVALID";
inline constexpr char kReasonRequestIdInvalid[] = "REQUEST_ID_INVALID";
inline constexpr char kReasonRequestIdReused[] = "REQUEST_ID_REUSED";
inline constexpr char kReasonSubjectInvalid[] = "OTP_SUBJECT_INVALID";
inline constexpr char kReasonIdempotencyKeyInvalid[] = "OTP_IDEMPOTENCY_KEY_INVALID";

class OtpDomain final {
 public:
  // Every pointer must outlive the domain; `registry` may be null (no metrics).
  OtpDomain(OtpStore* store, SmsSender* sms, Clock* clock, crypto::Random* random,
            const crypto::FieldCipher* cipher, OtpKeys keys, OtpOptions options,
            metrics::Registry* registry = nullptr);

  // Issues a challenge and sends its code. Idempotent on request_id: a retry returns the same
  // challenge without a second SMS (or re-delivers when the first delivery failed).
  absl::StatusOr<ChallengeView> Send(const SendRequest& req);
  // A new code for the challenge (the previous one stops working) after the cooldown.
  absl::StatusOr<ChallengeView> Resend(const std::string& challenge_id);
  // Checks and consumes the code; returns the verified phone in domestic form (0xxxxxxxxx).
  // `idempotency_key` (optional, ≤ 128 chars of [A-Za-z0-9:._-]) names the consuming step and is
  // recorded with the consumption: a later Verify of the same used challenge with the same
  // non-empty key and the correct code, before the challenge expires, answers the same phone
  // again without spending an attempt ("replayed"). Anything else on a used challenge is
  // OTP_ALREADY_USED.
  absl::StatusOr<std::string> Verify(const std::string& challenge_id, const std::string& code,
                                     const std::string& purpose,
                                     const std::string& idempotency_key = "");

  // The SMS text for `code` (Vietnamese without diacritics, as gateways send it).
  std::string SmsText(const std::string& code) const;
  // Hex HMAC-SHA256(code key, challenge_id ":" code).
  std::string CodeHmac(const std::string& challenge_id, const std::string& code) const;

 private:
  struct Issued {
    Challenge challenge;
    std::string code;
    std::string phone;  // domestic
    bool is_resend = false;
  };
  absl::StatusOr<ChallengeView> Deliver(const Issued& issued);
  absl::StatusOr<ChallengeView> View(const Challenge& c, const std::string* phone = nullptr) const;
  absl::StatusOr<std::string> OpenPhone(const Challenge& c) const;
  std::vector<SendLimit> LimitsFor(const Challenge& c) const;
  // New code on `c` (seq+1 unless fresh), timers reset, delivery pending.
  std::string NewCode(Challenge* c, absl::Time now, bool fresh);
  // The same with a code already drawn (`code`, from crypto::RandomDigits).
  void SetCode(Challenge* c, const std::string& code, absl::Time now, bool fresh) const;
  void CountSent(const std::string& purpose, const std::string& outcome);
  void CountVerify(const std::string& outcome);

  OtpStore* store_;
  SmsSender* sms_;
  Clock* clock_;
  crypto::Random* random_;
  const crypto::FieldCipher* cipher_;
  OtpKeys keys_;
  OtpOptions options_;
  metrics::Family<metrics::CounterCell>* sent_ = nullptr;
  metrics::Family<metrics::CounterCell>* verify_ = nullptr;
};

// Seconds until `t` (ceil, at least 1): the retry_after_s of RESOURCE_EXHAUSTED answers.
int RetryAfterSeconds(absl::Duration d);

}  // namespace dvc::otp
