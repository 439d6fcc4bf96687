// The sigverify service as its callers (registration, auth) see it: one small port their domain
// logic depends on, with no gRPC types. grpc_sigverify_client.h is the adapter that calls
// dvc.sigverify.v1.
//
// Every challenge and remote transaction is bound by sigverify to the caller's flow id AND
// purpose: a challenge issued for one purpose or flow cannot be used for another. Failures carry
// sigverify's reasons (CERT_*, SIGNATURE_*, CHALLENGE_*, SIGNER_*, TRANSACTION_*) unchanged.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dvc::sigverify::client {

enum class Purpose { kRegistration, kLogin, kAddMethod };
enum class SignatureFormat { kPkcs1Sha256, kPssSha256, kEcdsaSha256, kCmsAttached, kCmsDetached };
enum class RemoteProvider { kSim, kSmartCa };

// A one-time challenge for a USB-token signature (one verification attempt).
struct Challenge {
  std::string challenge_id;
  std::string challenge;  // the exact bytes to sign
  absl::Time expires_at;
};

struct ChallengeSignature {
  std::string challenge_id;
  std::string flow_id;
  SignatureFormat format = SignatureFormat::kPkcs1Sha256;
  std::string signature;
  std::string certificate;  // DER or PEM; may be empty for CMS
  std::vector<std::string> chain;
};

// A signature asked of the user's SIM (MSSP) or SmartCA app.
struct RemoteSignatureRequest {
  std::string flow_id;
  RemoteProvider provider = RemoteProvider::kSim;
  std::string subscriber;    // SIM: phone (any Vietnamese form); SmartCA: user id
  std::string display_text;  // shown on the phone (sigverify appends the verification code)
};

struct RemoteSignatureStarted {
  std::string transaction_id;
  std::string verification_code;  // also shown on the phone
  absl::Time expires_at;
};

// A certificate sigverify verified (path, validity, key usage, revocation, identity). Personal
// data: callers must not log it.
struct VerifiedCertificate {
  std::string fingerprint_sha256;  // lower-case hex of the DER: the credential's identity
  std::string serial_hex;
  std::string subject;             // RFC 2253, UTF-8
  std::string issuer_common_name;  // the CA name shown to the user
  absl::Time not_before = absl::UnixEpoch();
  absl::Time not_after = absl::UnixEpoch();
  std::string kind;                // sigverify's classification: PERSON|BUSINESS|AGENCY|SEAL
  bool government_anchor = false;  // chains to the government root (Ban Cơ yếu Chính phủ)
  std::string common_name, organization, organizational_unit, locality, state, email, telephone;
  std::string cccd, cmnd, passport, mst, mns;
  std::string method;              // "USB" | "SIM" | "SMARTCA": how the signature was made
};

struct RemoteSignatureOutcome {
  bool pending = true;         // the user has not answered yet: poll again
  VerifiedCertificate signer;  // when !pending
};

class SigverifyClient {
 public:
  virtual ~SigverifyClient() = default;

  virtual absl::StatusOr<Challenge> IssueChallenge(Purpose purpose,
                                                   const std::string& flow_id) = 0;
  // Verifies the signature over the challenge and the signer's certificate. Consumes the
  // challenge whatever the outcome.
  virtual absl::StatusOr<VerifiedCertificate> VerifyChallengeSignature(
      Purpose purpose, const ChallengeSignature& signature) = 0;
  // Returns at once; poll GetRemoteSignatureResult.
  virtual absl::StatusOr<RemoteSignatureStarted> StartRemoteSignature(
      Purpose purpose, const RemoteSignatureRequest& request) = 0;
  // pending, or the verified signer; the user's refusal, a timeout etc. are errors (SIGNER_*).
  virtual absl::StatusOr<RemoteSignatureOutcome> GetRemoteSignatureResult(
      Purpose purpose, const std::string& transaction_id, const std::string& flow_id) = 0;
};

}  // namespace dvc::sigverify::client
