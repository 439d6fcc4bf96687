// The token signing keys as the domain sees them: an immutable snapshot (signer = newest key,
// verifier = every key, JWKS) behind a KeySource that may swap snapshots when keys rotate.
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
  const jwt::SigningKey* signer = nullptr;                   // keys.back()
  jwt::Verifier verifier;                                    // every key
  std::string jwks_json;                                     // every public key
  uint64_t version = 0;                                      // distinct per snapshot
};

// Builds a snapshot; InvalidArgument when `keys` is empty or holds duplicate kids.
absl::StatusOr<std::shared_ptr<const KeySet>> MakeKeySet(
    std::vector<std::shared_ptr<const jwt::SigningKey>> keys_oldest_first);

class KeySource {
 public:
  virtual ~KeySource() = default;
  // Never null once constructed successfully.
  virtual std::shared_ptr<const KeySet> Keys() = 0;
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
