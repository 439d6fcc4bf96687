// ES256 (ECDSA P-256 + SHA-256) JWS compact tokens with OpenSSL 3.
//
// Issuers hold a SigningKey (PKCS#8 PEM on disk, identified by a kid) and publish its public half
// as a JWK / JWKS. Verifiers hold the public keys by kid and accept only alg "ES256" with a known
// kid and a valid signature: "none", HS256 (the classic key-confusion attack), RS256 and every
// other alg are rejected. Claim checks (exp, nbf, aud, iss …) are the caller's job; use
// libs/jwt/json.h to build and read the claims.
//
// Verify() errors are dvc::status::Unauthenticated with reasons TOKEN_MALFORMED,
// TOKEN_ALG_UNSUPPORTED, TOKEN_KID_UNKNOWN or TOKEN_SIGNATURE_INVALID.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::jwt {

class SigningKey final {
 public:
  // A fresh P-256 key. `kid`: 1..64 characters of [A-Za-z0-9._-].
  static absl::StatusOr<SigningKey> Generate(absl::string_view kid);
  // From an unencrypted PKCS#8 ("BEGIN PRIVATE KEY") or SEC1 ("BEGIN EC PRIVATE KEY") PEM
  // holding a P-256 key. Encrypted PEMs are rejected (no passphrase prompt).
  static absl::StatusOr<SigningKey> FromPem(absl::string_view kid, absl::string_view pem);

  // Unencrypted PKCS#8 PEM of the private key: store it as a secret.
  absl::StatusOr<std::string> PrivatePem() const;
  // SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), for Verifier::AddKey.
  absl::StatusOr<std::string> PublicPem() const;
  // {"kty":"EC","crv":"P-256","x":…,"y":…,"kid":…,"use":"sig","alg":"ES256"}
  std::string PublicJwk() const;

  const std::string& kid() const { return kid_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

 private:
  SigningKey(std::string kid, std::shared_ptr<EVP_PKEY> pkey)
      : kid_(std::move(kid)), pkey_(std::move(pkey)) {}
  std::string kid_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// header.payload.signature with header {"alg":"ES256","typ":"JWT","kid":<kid>}; the signature
// is the raw 64-byte r||s (RFC 7518 §3.4). InvalidArgument unless `claims_json` is a JSON object.
absl::StatusOr<std::string> Sign(const SigningKey& key, absl::string_view claims_json);

// {"keys":[<PublicJwk>, …]} (null entries are skipped).
std::string Jwks(const std::vector<const SigningKey*>& keys);

// Build the key set at start-up; Verify() is const and safe to call from many threads at once
// (AddKey/AddJwk must not run concurrently with it).
class Verifier final {
 public:
  // SubjectPublicKeyInfo PEM of a P-256 key. AlreadyExists for a duplicate kid.
  absl::Status AddKey(absl::string_view kid, absl::string_view public_key_pem);
  absl::Status AddKey(const SigningKey& key);
  // A single EC P-256 JWK object as produced by SigningKey::PublicJwk() (kid required; when
  // present, "alg" must be ES256 and "use" must be "sig").
  absl::Status AddJwk(absl::string_view jwk_json);

  // The claims JSON (decoded payload, a JSON object) of a valid token.
  absl::StatusOr<std::string> Verify(absl::string_view token) const;

 private:
  absl::Status Insert(absl::string_view kid, std::shared_ptr<EVP_PKEY> pkey);
  std::map<std::string, std::shared_ptr<EVP_PKEY>, std::less<>> keys_;
};

}  // namespace dvc::jwt
