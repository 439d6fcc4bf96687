// Hashing and MACs (OpenSSL): SHA-256, HMAC-SHA256 (raw 32-byte outputs; hex-encode with
// encoding.h when needed) and a constant-time comparison for secrets, MACs and OTP hashes.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace dvc::crypto {

// Raw 32-byte SHA-256 digest.
std::string Sha256(absl::string_view data);
// Raw 32-byte HMAC-SHA256 tag. Any key length (including empty) is accepted.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// True iff a == b. The content comparison does not stop at the first difference
// (CRYPTO_memcmp); only the lengths are compared early, and unequal lengths return false
// without comparing content.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace dvc::crypto
