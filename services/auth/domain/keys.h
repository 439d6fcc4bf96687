// The token signing keys as the domain sees them: an immutable snapshot (one signer, verifier =
// every key, JWKS) behind a KeySource that may swap snapshots when keys rotate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/jwt/jwt.h"

namespace dvc::auth {

struct KeySet {
  std::vector<std::shared_ptr<const jwt::SigningKey>> keys;  // oldest first
  const jwt::SigningKey* signer = nullptr;                   // one of `keys`
  jwt::Verifier verifier;                                    // every key
  std::string jwks_json;                                     // every public key
  // Distinct per set of verification keys: snapshots that differ only in the signer share it
  // (so caches of verified tokens survive a signer switch).
  uint64_t version = 0;
};

// Builds a snapshot whose signer is the newest key (keys.back()); InvalidArgument when `keys`
// is empty or holds duplicate kids.
absl::StatusOr<std::shared_ptr<const KeySet>> MakeKeySet(
    std::vector<std::shared_ptr<const jwt::SigningKey>> keys_oldest_first);

// The same keys, verifier, JWKS and version with keys[signer_index] as the signer (an index out
// of range is clamped to the newest key).
std::shared_ptr<const KeySet> WithSigner(const KeySet& base, size_t signer_index);

class KeySource {
 public:
  virtual ~KeySource() = default;
  // Never null once constructed successfully.
  virtual std::shared_ptr<const KeySet> Keys() = 0;
  // Called when a token names a kid that `seen` (a snapshot from Keys()) does not hold: a source
  // that can pick up new keys re-reads them now (rate-limited). True when Keys() now returns a
  // different verification set, i.e. verifying again may succeed.
  virtual bool RefreshForUnknownKid(const KeySet& seen) {
    (void)seen;
    return false;
  }
};

// A fixed key set (tests, or until the first rotation).
class StaticKeySource final : public KeySource {
 public:
  explicit StaticKeySource(std::shared_ptr<const KeySet> keys) : keys_(std::move(keys)) {}
  std::shared_ptr<const KeySet> Keys() override { return keys_; }

 private:
  std::shared_ptr<const KeySet> keys_;
};

}  // namespace dvc::auth
