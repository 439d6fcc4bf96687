// The remote-signing port: a provider that asks the user to sign a SHA-256 hash on their phone
// (SIM signature through an MSSP, ETSI TS 102 204) or in their remote signing account (VNPT
// SmartCA), implemented by adapters/mssp_client and adapters/smartca_client.
//
// Start() sends the request; the user then confirms (or not) on their device, and Poll() reports
// pending until the provider has a final outcome. Failures are statuses with the SIGNER_*
// reasons (RemoteSignerError below):
//   SIGNER_USER_CANCELLED, SIGNER_TIMEOUT, SIGNER_PIN_BLOCKED, SIGNER_NO_CERTIFICATE
//                          → FailedPrecondition (field "subscriber"): final, the user must act
//   SIGNER_UNREACHABLE     → Unavailable (field "subscriber"): the user's phone is out of reach
//   SIGNER_PROVIDER_ERROR  → Unavailable: the provider failed, answered nonsense or is misconfigured
// plus the provider's own verdicts SIGNATURE_INVALID (InvalidArgument, "signature") and
// CERT_REVOKED (InvalidArgument, "certificate").
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/logging/log.h"

namespace dvc::sigverify {

struct RemoteSignRequest {
  std::string subscriber;     // MSISDN "84…" (SIM) or SmartCA user_id
  std::string digest_sha256;  // 32 raw bytes
  std::string display_text;   // shown on the phone / in the SmartCA app
  std::string transaction_id; // ours (UUID): AP_TransID / SmartCA transaction_id
  absl::Duration timeout;     // how long the user has to confirm
};

struct RemoteSignStarted {
  std::string provider_transaction_id;
  std::vector<std::string> chain_der;  // if known at start (SmartCA), DER, leaf first
};

struct RemoteSignOutcome {
  bool pending = true;
  std::string signature;               // PKCS#1 v1.5 over DigestInfo(SHA-256)
  std::vector<std::string> chain_der;  // leaf first, if the provider returned it
};

class RemoteSigner {
 public:
  virtual ~RemoteSigner() = default;
  virtual absl::StatusOr<RemoteSignStarted> Start(const RemoteSignRequest&) = 0;
  virtual absl::StatusOr<RemoteSignOutcome> Poll(const std::string& provider_transaction_id) = 0;
};

// The DER DigestInfo (RFC 8017 §9.2) of a SHA-256 hash: the 19-byte prefix
// 30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 followed by `digest32`.
// What a PKCS#1 v1.5 signer signs and what the MSSP's DataToBeSigned carries. Empty when
// `digest32` is not 32 bytes.
std::string Sha256DigestInfo(absl::string_view digest32);

// A 4-digit verification code shown both on our screen and on the phone, so the user can tell
// that the request on the phone is the one they started (Estonia's Mobile-ID algorithm): the
// 6 most significant bits of the hash's first byte followed by the 7 least significant bits of
// its last byte, a 13-bit number 0…8191, written as 4 decimal digits with leading zeros.
// Empty when `digest32` is not 32 bytes.
std::string VerificationCode(absl::string_view digest32);

// The status for a SIGNER_* reason (also SIGNATURE_INVALID and CERT_REVOKED), with the code,
// field and vi/en messages listed above. `detail_en`/`detail_vi`, when non-empty, replace the
// default messages (e.g. "This phone number has no SIM signature service."). Unknown reasons
// give SIGNER_PROVIDER_ERROR.
absl::Status RemoteSignerError(absl::string_view reason, absl::string_view detail_vi = "",
                               absl::string_view detail_en = "");

// Logs what went wrong with a provider (never document content, phone numbers or credentials:
// `what` is a fixed description, `key`/`value` one optional extra field) and returns
// SIGNER_PROVIDER_ERROR. `provider`: "mssp" | "smartca".
absl::Status RemoteProviderError(absl::string_view provider, absl::string_view op,
                                 absl::string_view what, absl::string_view key = "",
                                 std::string value = "", log::Level level = log::Level::kWarn);

}  // namespace dvc::sigverify
