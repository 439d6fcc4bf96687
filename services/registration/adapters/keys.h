// Keys derived from the --pii_key secret (shared with other services' deployments, so every use
// here gets its own derived key: domain separation by HMAC-SHA256 with a fixed label).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::registration {

struct PiiKeys {
  std::string seal_key;         // 32 bytes: FieldCipher key of the flow's sealed columns
  std::string blind_index_key;  // 32 bytes: blind index of the id number (OTP subject)
};

// `secret`: the key material as configured: base64 (e.g. `head -c 32 /dev/urandom | base64`),
// 64 hex characters, or 32 raw bytes; at least 32 bytes once decoded. INVALID_ARGUMENT otherwise.
absl::StatusOr<PiiKeys> DerivePiiKeys(absl::string_view secret);

}  // namespace dvc::registration
