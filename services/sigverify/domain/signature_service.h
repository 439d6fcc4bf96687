// The signature service: issues one-time challenges, verifies what the user's USB token, SIM or
// SmartCA signed, and verifies the signer's certificate (path, validity, key usage, algorithms,
// revocation, identity). The flows that use it (registration, auth) live in other services.
//
// Every verification runs the same pipeline (VerifyCertificate):
//   parse → path to a trust anchor at `now` → revocation of every certificate below the anchor
//   (policy per purpose: fail closed by default) → identity (UID values well formed).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "services/sigverify/domain/certificate.h"
#include "services/sigverify/domain/path_validator.h"
#include "services/sigverify/domain/ports.h"
#include "services/sigverify/domain/remote_signer.h"
#include "services/sigverify/domain/revocation.h"
#include "services/sigverify/domain/signature.h"
#include "services/sigverify/domain/trust_store.h"

namespace dvc::sigverify {

enum class AnchorKind { kPublic = 1, kGovernment = 2 };

struct VerifiedCertificate {
  ParsedCertificate certificate;
  AnchorKind anchor_kind = AnchorKind::kPublic;
  std::string revocation_source;  // "ocsp" | "crl" | "" (not established, fail-open only)
  std::string method;             // "USB" | "SIM" | "SMARTCA" | ""
};

struct SignatureServiceOptions {
  absl::Duration challenge_ttl = absl::Minutes(5);
  // How long the user has to confirm on the phone (sent to the provider as its time-out).
  absl::Duration remote_timeout = absl::Minutes(2);
  // SHA-256 fingerprints (lower-case hex) of the anchors that make a certificate a government
  // one (RootCA chuyên dùng Chính phủ).
  std::set<std::string> government_anchors;
  RevocationPolicy registration_policy = RevocationPolicy::kFailClosed;
  RevocationPolicy login_policy = RevocationPolicy::kFailClosed;
  PathPolicy path_policy;
  size_t max_chain = 8;
};

struct IssuedChallenge {
  std::string challenge_id;
  std::string challenge;
  absl::Time expires_at;
};

struct StartedRemoteSignature {
  std::string transaction_id;
  std::string verification_code;
  absl::Time expires_at;
};

struct RemoteSignatureResult {
  bool pending = true;
  VerifiedCertificate certificate;  // when !pending
};

class SignatureService final {
 public:
  SignatureService(TrustStoreHolder* trust, RevocationChecker* revocation,
                   ChallengeStore* challenges, RemoteSignatureStore* remote,
                   absl::flat_hash_map<RemoteProvider, RemoteSigner*> signers, Clock* clock,
                   crypto::Random* random, SignatureServiceOptions options);

  absl::StatusOr<IssuedChallenge> IssueChallenge(const std::string& flow_id, Purpose purpose);

  // `certificate` and each of `chain`: DER or PEM; `certificate` may be empty for CMS.
  absl::StatusOr<VerifiedCertificate> VerifyChallengeSignature(
      const std::string& challenge_id, const std::string& flow_id, Purpose purpose,
      SignatureFormat format, const std::string& signature, const std::string& certificate,
      const std::vector<std::string>& chain);

  absl::StatusOr<StartedRemoteSignature> StartRemoteSignature(const std::string& flow_id,
                                                              Purpose purpose,
                                                              RemoteProvider provider,
                                                              const std::string& subscriber,
                                                              const std::string& display_text);

  absl::StatusOr<RemoteSignatureResult> GetRemoteSignatureResult(
      const std::string& transaction_id, const std::string& flow_id, Purpose purpose);

  absl::StatusOr<VerifiedCertificate> CheckCertificate(const std::string& certificate,
                                                       const std::vector<std::string>& chain,
                                                       Purpose purpose);

  // The shared pipeline: path, revocation and identity of `leaf` at the clock's now.
  absl::StatusOr<VerifiedCertificate> VerifyCertificate(ParsedCertificate leaf,
                                                        const std::vector<X509Ptr>& untrusted,
                                                        Purpose purpose);

 private:
  absl::StatusOr<std::vector<X509Ptr>> ParseChain(const std::vector<std::string>& chain);
  std::string NewChallengeText(const std::string& challenge_id, const std::string& flow_id,
                               Purpose purpose, absl::Time expires_at);
  // A remote signature's signer: `chain_der` (leaf first) through the pipeline; when
  // `signature` is given, it must also verify over `tx.challenge` with the leaf.
  absl::StatusOr<VerifiedCertificate> VerifyRemoteSigner(const RemoteSignature& tx,
                                                         const std::vector<std::string>& chain_der,
                                                         const std::string* signature);

  TrustStoreHolder* const trust_;
  RevocationChecker* const revocation_;
  ChallengeStore* const challenges_;
  RemoteSignatureStore* const remote_;
  const absl::flat_hash_map<RemoteProvider, RemoteSigner*> signers_;
  Clock* const clock_;
  crypto::Random* const random_;
  const SignatureServiceOptions options_;
};

// Validates a caller-supplied flow id and purpose (INVALID_ARGUMENT FLOW_ID_INVALID /
// PURPOSE_INVALID): 1–128 characters of [A-Za-z0-9_.:-].
absl::Status ValidateFlow(const std::string& flow_id, int purpose);

// Subscriber of a remote signature: a Vietnamese mobile number (any form) normalised to
// "84…" for the MSSP, or a SmartCA user id (1–64 of [A-Za-z0-9_.@-]).
absl::StatusOr<std::string> NormalizeSubscriber(RemoteProvider provider,
                                                const std::string& subscriber);

}  // namespace dvc::sigverify
