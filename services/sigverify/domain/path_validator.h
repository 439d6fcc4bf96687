// X.509 certification path validation with OpenSSL's verifier against the trust store, plus the
// policy OpenSSL does not express: signer key usage, weak signature algorithms and weak keys.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/sigverify/domain/trust_store.h"
#include "services/sigverify/domain/x509_ptr.h"

namespace dvc::sigverify {

struct PathPolicy {
  int min_rsa_bits = 2048;  // RSA/DSA keys below are CERT_WEAK_KEY (EC: below 256 bits)
  // Most CA certificates allowed between the target and the anchor (OpenSSL's verify depth: a
  // path has at most max_depth + 2 certificates).
  int max_depth = 6;
};

struct ValidatedPath {
  std::vector<X509Ptr> chain;  // leaf first … trust anchor last
};

// Errors (INVALID_ARGUMENT, field "certificate"):
//   CERT_MISSING          no leaf given
//   CERT_EXPIRED          any certificate of the path expired at `at`
//   CERT_NOT_YET_VALID    any certificate of the path not yet valid at `at`
//   CERT_UNTRUSTED        the path ends at a self-signed certificate that is not an anchor (a
//                         root with a trusted root's name but another key included), or at a
//                         certificate issued in the name of a configured CA but not by its key
//   CERT_CHAIN_INCOMPLETE the path stops at a certificate whose issuer is unknown
//   CERT_CHAIN_TOO_LONG   more than max_depth CA certificates, or > 16 untrusted certificates
//   CERT_KEY_USAGE        the leaf lacks digitalSignature and nonRepudiation (a keyUsage
//                         extension that is absent restricts nothing); ValidateCa: not a CA
//   CERT_WEAK_ALGORITHM   MD5/SHA-1 (or MD2/MD4) signature on a certificate below the anchor
//   CERT_WEAK_KEY         RSA/DSA key < min_rsa_bits or EC key < 256 bits anywhere in the path
//   CERT_MALFORMED        a certificate signature does not verify, basic constraints, path
//                         length, key usage of a CA, strict-mode (RFC 5280) violations …
class PathValidator final {
 public:
  // Validates against a fixed store.
  PathValidator(std::shared_ptr<const TrustStore> store, PathPolicy policy);
  // Validates against the holder's current store (taken once per call: reload-safe).
  PathValidator(const TrustStoreHolder* holder, PathPolicy policy);

  // `untrusted`: certificates that may help build the path (e.g. the chain that came with the
  // signature); null entries are ignored. The trust store's intermediates are added.
  absl::StatusOr<ValidatedPath> Validate(const X509Ptr& leaf, const std::vector<X509Ptr>& untrusted,
                                         absl::Time at) const;
  // The same for a CA certificate as the target (e.g. checking an intermediate on its own):
  // instead of the signer key usage, the target must be a CA with keyCertSign.
  absl::StatusOr<ValidatedPath> ValidateCa(const X509Ptr& ca, const std::vector<X509Ptr>& untrusted,
                                           absl::Time at) const;

 private:
  absl::StatusOr<ValidatedPath> Run(const X509Ptr& target, const std::vector<X509Ptr>& untrusted,
                                    absl::Time at, bool target_is_ca) const;

  std::shared_ptr<const TrustStore> store_;
  const TrustStoreHolder* holder_ = nullptr;
  PathPolicy policy_;
};

}  // namespace dvc::sigverify
