// Byte/text encodings: lower-case hex, standard base64 (RFC 4648 §4) and base64url without
// padding (RFC 4648 §5, as used by JWS, PHC strings and tokens). Decoders are strict: they reject
// characters outside the alphabet, impossible lengths and non-canonical trailing bits, so every
// byte string has exactly one accepted encoding (no token malleability).
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace dvc::crypto {

// Lower-case hex.
std::string HexEncode(absl::string_view bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<std::string> HexDecode(absl::string_view hex);

// Standard alphabet (+/). With `pad`, output length is a multiple of 4 ('=' padding).
std::string Base64Encode(absl::string_view bytes, bool pad = true);
// Standard alphabet; accepts padded or unpadded input (padding, if present, must be exact).
std::optional<std::string> Base64Decode(absl::string_view text);

// URL-safe alphabet (-_), never padded.
std::string Base64UrlEncode(absl::string_view bytes);
// URL-safe alphabet; rejects '=' padding, whitespace and every other character.
std::optional<std::string> Base64UrlDecode(absl::string_view text);

}  // namespace dvc::crypto
