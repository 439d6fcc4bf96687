// Field-level encryption of personal data at rest (AES-256-GCM, OpenSSL EVP) and blind indexes.
//
// Sealed format: "<kid>.<base64url(nonce[12] | ciphertext | tag[16])>". The key id and the
// caller's associated data (e.g. "accounts.cccd:<account id>") are both authenticated, so a value
// copied to another row or column fails to open. Key rotation: Seal() always uses the primary
// key; Open() accepts any key in the ring; NeedsReseal() finds values to re-encrypt.
//
// BlindIndex() is a keyed HMAC-SHA256 (hex) of a normalised value, stored beside the ciphertext
// so equality lookups ("find account by CCCD") work without storing the value in clear.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/random.h"

namespace dvc::crypto {

class FieldCipher final {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // `kid`: 1..32 characters of [A-Za-z0-9_-]; `key`: exactly 32 raw bytes. `random` supplies
  // nonces (must outlive the cipher); nullptr means the OpenSSL CSPRNG.
  static absl::StatusOr<FieldCipher> Create(absl::string_view kid, absl::string_view key,
                                            Random* random = nullptr);

  // Adds a decrypt-only key (an older or upcoming key). AlreadyExists for a duplicate kid.
  absl::Status AddKey(absl::string_view kid, absl::string_view key);
  // Makes an already added key the one used by Seal(). NotFound for an unknown kid.
  absl::Status SetPrimary(absl::string_view kid);
  const std::string& primary_kid() const { return primary_; }

  absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                   absl::string_view associated_data) const;
  // InvalidArgument: not a sealed value; FailedPrecondition: unknown key id; DataLoss: the
  // value, key id or associated data was altered (authentication failed).
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view associated_data) const;
  // True when `sealed` was not produced with the primary key.
  bool NeedsReseal(absl::string_view sealed) const;

  FieldCipher(const FieldCipher&) = default;
  FieldCipher& operator=(const FieldCipher&) = default;
  FieldCipher(FieldCipher&&) = default;
  FieldCipher& operator=(FieldCipher&&) = default;
  ~FieldCipher();

 private:
  FieldCipher(Random* random) : random_(random) {}

  std::map<std::string, std::string, std::less<>> keys_;  // kid → 32-byte key
  std::string primary_;
  Random* random_;
};

// Lower-case hex HMAC-SHA256(key, normalized_value). Normalise first (e.g. trimmed digits of a
// CCCD), and use a key distinct from the encryption keys.
std::string BlindIndex(absl::string_view key, absl::string_view normalized_value);

}  // namespace dvc::crypto
