#include "libs/crypto/password.h"

#include <argon2.h>
#include <openssl/crypto.h>

#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"

namespace dvc::crypto {
namespace {

constexpr uint32_t kMaxMemoryKib = 4u * 1024 * 1024;  // 4 GiB

absl::Status CheckParams(const Argon2Params& p) {
  if (p.p < 1 || p.p > 64) return absl::InvalidArgumentError("argon2: p out of range 1..64");
  if (p.t < 1 || p.t > 64) return absl::InvalidArgumentError("argon2: t out of range 1..64");
  if (p.m_kib < 8 * p.p || p.m_kib > kMaxMemoryKib) {
    return absl::InvalidArgumentError("argon2: m out of range 8*p..4GiB");
  }
  if (p.salt_len < 8 || p.salt_len > 64) {
    return absl::InvalidArgumentError("argon2: salt length out of range 8..64");
  }
  if (p.hash_len < 16 || p.hash_len > 64) {
    return absl::InvalidArgumentError("argon2: hash length out of range 16..64");
  }
  return absl::OkStatus();
}

struct Parsed {
  Argon2Params params;
  std::string salt;
  std::string hash;
};

// Parses a decimal uint32 without sign, leading zeros or overflow.
std::optional<uint32_t> ParseU32(absl::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

absl::StatusOr<Parsed> Parse(absl::string_view phc) {
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("malformed PHC string: ", why));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(phc, '$');
  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  if (parts.size() != 6 || !parts[0].empty()) return bad("expected 5 '$'-separated fields");
  if (parts[1] != "argon2id") return bad("algorithm is not argon2id");
  if (parts[2] != "v=19") return bad("version is not 19");
  Parsed out;
  std::vector<absl::string_view> kv = absl::StrSplit(parts[3], ',');
  if (kv.size() != 3) return bad("expected m, t and p parameters");
  const char* names[] = {"m=", "t=", "p="};
  uint32_t* slots[] = {&out.params.m_kib, &out.params.t, &out.params.p};
  for (int i = 0; i < 3; ++i) {
    if (kv[i].substr(0, 2) != names[i]) return bad("parameters must be m, t, p in order");
    std::optional<uint32_t> v = ParseU32(kv[i].substr(2));
    if (!v) return bad("parameter is not a number");
    *slots[i] = *v;
  }
  std::optional<std::string> salt = Base64Decode(parts[4]);
  std::optional<std::string> hash = Base64Decode(parts[5]);
  // PHC strings never carry padding.
  if (!salt || !hash || parts[4].find('=') != absl::string_view::npos ||
      parts[5].find('=') != absl::string_view::npos) {
    return bad("salt or hash is not unpadded base64");
  }
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  out.params.salt_len = static_cast<uint32_t>(out.salt.size());
  out.params.hash_len = static_cast<uint32_t>(out.hash.size());
  if (absl::Status s = CheckParams(out.params); !s.ok()) return bad(s.message());
  return out;
}

absl::StatusOr<std::string> RawHash(absl::string_view password, absl::string_view salt,
                                    const Argon2Params& p) {
  std::string out(p.hash_len, '\0');
  int rc = argon2_hash(p.t, p.m_kib, p.p, password.data(), password.size(), salt.data(),
                       salt.size(), out.data(), out.size(), nullptr, 0, Argon2_id,
                       ARGON2_VERSION_13);
  if (rc != ARGON2_OK) {
    return absl::InternalError(absl::StrCat("argon2id failed: ", argon2_error_message(rc)));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password, const Argon2Params& params,
                                         Random& random) {
  if (absl::Status s = CheckParams(params); !s.ok()) return s;
  std::string salt = random.Bytes(params.salt_len);
  absl::StatusOr<std::string> hash = RawHash(password, salt, params);
  if (!hash.ok()) return hash.status();
  std::string phc = absl::StrCat("$argon2id$v=19$m=", params.m_kib, ",t=", params.t,
                                 ",p=", params.p, "$", Base64Encode(salt, /*pad=*/false), "$",
                                 Base64Encode(*hash, /*pad=*/false));
  OPENSSL_cleanse(hash->data(), hash->size());
  return phc;
}

absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view phc) {
  absl::StatusOr<Parsed> parsed = Parse(phc);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::string> hash = RawHash(password, parsed->salt, parsed->params);
  if (!hash.ok()) return hash.status();
  bool ok = ConstantTimeEquals(*hash, parsed->hash);
  OPENSSL_cleanse(hash->data(), hash->size());
  return ok;
}

bool NeedsRehash(absl::string_view phc, const Argon2Params& params) {
  absl::StatusOr<Parsed> parsed = Parse(phc);
  if (!parsed.ok()) return true;
  const Argon2Params& p = parsed->params;
  return p.m_kib != params.m_kib || p.t != params.t || p.p != params.p ||
         p.salt_len != params.salt_len || p.hash_len != params.hash_len;
}

}  // namespace dvc::crypto
