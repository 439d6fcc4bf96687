#include "libs/crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"

namespace dvc::crypto {
namespace {

bool ValidKid(absl::string_view kid) {
  if (kid.empty() || kid.size() > 32) return false;
  for (char c : kid) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckKey(absl::string_view kid, absl::string_view key) {
  if (!ValidKid(kid)) {
    return absl::InvalidArgumentError("field cipher: key id must be 1..32 of [A-Za-z0-9_-]");
  }
  if (key.size() != FieldCipher::kKeySize) {
    return absl::InvalidArgumentError("field cipher: key must be exactly 32 bytes");
  }
  return absl::OkStatus();
}

// The GCM additional data: key id and caller AD; the kid never contains '.', so this is
// unambiguous.
std::string Aad(absl::string_view kid, absl::string_view ad) { return absl::StrCat(kid, ".", ad); }

using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(absl::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

OsRandom& DefaultRandom() {
  static OsRandom* r = new OsRandom();
  return *r;
}

}  // namespace

absl::StatusOr<FieldCipher> FieldCipher::Create(absl::string_view kid, absl::string_view key,
                                                Random* random) {
  if (absl::Status s = CheckKey(kid, key); !s.ok()) return s;
  FieldCipher c(random != nullptr ? random : &DefaultRandom());
  c.keys_.emplace(std::string(kid), std::string(key));
  c.primary_ = std::string(kid);
  return c;
}

FieldCipher::~FieldCipher() {
  for (auto& [kid, key] : keys_) OPENSSL_cleanse(key.data(), key.size());
}

absl::Status FieldCipher::AddKey(absl::string_view kid, absl::string_view key) {
  if (absl::Status s = CheckKey(kid, key); !s.ok()) return s;
  if (keys_.find(kid) != keys_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("field cipher: duplicate key id ", kid));
  }
  keys_.emplace(std::string(kid), std::string(key));
  return absl::OkStatus();
}

absl::Status FieldCipher::SetPrimary(absl::string_view kid) {
  if (keys_.find(kid) == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("field cipher: unknown key id ", kid));
  }
  primary_ = std::string(kid);
  return absl::OkStatus();
}

absl::StatusOr<std::string> FieldCipher::Seal(absl::string_view plaintext,
                                              absl::string_view associated_data) const {
  auto it = keys_.find(primary_);
  if (it == keys_.end()) return absl::FailedPreconditionError("field cipher: no primary key");
  const std::string& key = it->second;
  std::string nonce = random_->Bytes(kNonceSize);
  std::string aad = Aad(primary_, associated_data);
  std::string blob = nonce;
  blob.resize(kNonceSize + plaintext.size() + kTagSize);
  unsigned char* out = reinterpret_cast<unsigned char*>(blob.data()) + kNonceSize;

  CtxPtr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0, total = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &len, U(plaintext), static_cast<int>(plaintext.size())) !=
          1) {
    return absl::InternalError("field cipher: encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out + total, &len) != 1) {
    return absl::InternalError("field cipher: encryption failed");
  }
  total += len;
  if (static_cast<size_t>(total) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, out + total) != 1) {
    return absl::InternalError("field cipher: encryption failed");
  }
  return absl::StrCat(primary_, ".", Base64UrlEncode(blob));
}

absl::StatusOr<std::string> FieldCipher::Open(absl::string_view sealed,
                                              absl::string_view associated_data) const {
  size_t dot = sealed.find('.');
  if (dot == absl::string_view::npos) {
    return absl::InvalidArgumentError("field cipher: sealed value has no key id");
  }
  absl::string_view kid = sealed.substr(0, dot);
  std::optional<std::string> blob = Base64UrlDecode(sealed.substr(dot + 1));
  if (!ValidKid(kid) || !blob || blob->size() < kNonceSize + kTagSize) {
    return absl::InvalidArgumentError("field cipher: malformed sealed value");
  }
  auto it = keys_.find(kid);
  if (it == keys_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("field cipher: unknown key id ", kid));
  }
  absl::string_view b(*blob);
  absl::string_view nonce = b.substr(0, kNonceSize);
  absl::string_view ct = b.substr(kNonceSize, b.size() - kNonceSize - kTagSize);
  std::string tag(b.substr(b.size() - kTagSize));
  std::string aad = Aad(kid, associated_data);
  std::string plain(ct.size(), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(plain.data());

  CtxPtr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0, total = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(it->second), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, U(ct), static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1) {
    return absl::InternalError("field cipher: decryption failed");
  }
  total = len;
  if (EVP_DecryptFinal_ex(ctx.get(), out + total, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return absl::DataLossError("field cipher: authentication failed");
  }
  return plain;
}

bool FieldCipher::NeedsReseal(absl::string_view sealed) const {
  size_t dot = sealed.find('.');
  return dot == absl::string_view::npos || sealed.substr(0, dot) != primary_;
}

std::string BlindIndex(absl::string_view key, absl::string_view normalized_value) {
  return HexEncode(HmacSha256(key, normalized_value));
}

}  // namespace dvc::crypto
