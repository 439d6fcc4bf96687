// Password hashing with Argon2id (libargon2), stored as a PHC string:
//   $argon2id$v=19$m=19456,t=2,p=1$<salt, base64 no padding>$<hash, base64 no padding>
// Defaults are the OWASP minimum (m = 19 456 KiB, t = 2, p = 1). Verification takes the
// parameters from the stored string, so old hashes keep verifying after the defaults change;
// NeedsRehash() tells the caller to re-hash at the next successful login.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/random.h"

namespace dvc::crypto {

struct Argon2Params {
  uint32_t m_kib = 19456;  // memory cost in KiB
  uint32_t t = 2;          // iterations
  uint32_t p = 1;          // lanes / parallelism
  uint32_t salt_len = 16;  // bytes
  uint32_t hash_len = 32;  // bytes
};

// Hashes `password` with a fresh salt from `random`. InvalidArgument for parameters outside the
// accepted ranges (m 8·p..4 GiB, t 1..64, p 1..64, salt 8..64 bytes, hash 16..64 bytes).
absl::StatusOr<std::string> HashPassword(absl::string_view password, const Argon2Params& params,
                                         Random& random);

// true when `password` matches; false when it does not. InvalidArgument when `phc` is not a
// well-formed argon2id v=19 PHC string with parameters in the accepted ranges. The tag
// comparison is constant-time.
absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view phc);

// True when `phc` was produced with parameters other than `params` (or cannot be parsed).
bool NeedsRehash(absl::string_view phc, const Argon2Params& params);

}  // namespace dvc::crypto
