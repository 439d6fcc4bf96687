#include "services/registration/adapters/keys.h"

#include "absl/strings/ascii.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"

namespace dvc::registration {

absl::StatusOr<PiiKeys> DerivePiiKeys(absl::string_view secret) {
  const absl::string_view text = absl::StripAsciiWhitespace(secret);
  std::string master;
  if (text.size() == 64) {
    if (auto hex = crypto::HexDecode(text)) master = *hex;
  }
  if (master.empty()) {
    if (auto b64 = crypto::Base64Decode(text); b64 && b64->size() >= 32) master = *b64;
  }
  if (master.empty() && secret.size() == 32) master = std::string(secret);
  if (master.size() < 32) {
    return absl::InvalidArgumentError(
        "pii_key must be base64 or hex of at least 32 bytes (or 32 raw bytes)");
  }
  PiiKeys keys;
  keys.seal_key = crypto::HmacSha256(master, "dvc.registration.flow-seal.v1");
  keys.blind_index_key = crypto::HmacSha256(master, "dvc.registration.id-index.v1");
  return keys;
}

}  // namespace dvc::registration
