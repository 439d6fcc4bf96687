#include "libs/jwt/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"

namespace dvc::jwt {
namespace {

using ::dvc::crypto::Base64UrlDecode;
using ::dvc::crypto::Base64UrlEncode;

constexpr size_t kMaxTokenSize = 16 * 1024;
constexpr size_t kCoordSize = 32;

// Leaves the thread's OpenSSL error queue empty whatever path a function takes, so failures
// here never surface later in unrelated TLS code.
struct ClearErrorsOnExit {
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* p) {
  return std::shared_ptr<EVP_PKEY>(p, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

bool ValidKid(absl::string_view kid) {
  if (kid.empty() || kid.size() > 64) return false;
  for (char c : kid) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status BadKid() {
  return absl::InvalidArgumentError("jwt: kid must be 1..64 characters of [A-Za-z0-9._-]");
}

bool IsP256(EVP_PKEY* pkey) {
  if (pkey == nullptr || !EVP_PKEY_is_a(pkey, "EC")) return false;
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1) return false;
  return absl::string_view(group, len) == "prime256v1";
}

int NoPassphrase(char*, int, int, void*) { return 0; }

std::optional<std::string> Coordinate(EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return std::nullopt;
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  std::string out(kCoordSize, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), kCoordSize) !=
      static_cast<int>(kCoordSize)) {
    return std::nullopt;
  }
  return out;
}

absl::Status TokenError(absl::string_view reason) {
  return dvc::status::Unauthenticated(
      reason, "Mã truy cập không hợp lệ. Vui lòng đăng nhập lại.",
      "The access token is invalid. Please sign in again.");
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> PublicKeyFromPoint(absl::string_view x,
                                                             absl::string_view y) {
  ClearErrorsOnExit clear;
  unsigned char point[1 + 2 * kCoordSize];
  point[0] = 0x04;  // uncompressed
  std::memcpy(point + 1, x.data(), kCoordSize);
  std::memcpy(point + 1 + kCoordSize, y.data(), kCoordSize);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
      OSSL_PARAM_construct_end(),
  };
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return absl::InvalidArgumentError("jwt: JWK is not a valid P-256 public key");
  }
  std::shared_ptr<EVP_PKEY> pkey = Own(raw);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return absl::InvalidArgumentError("jwt: JWK point is not on the P-256 curve");
  }
  return pkey;
}

JsonObjectBuilder JwkBuilder(const SigningKey& key) {
  std::optional<std::string> x = Coordinate(key.pkey(), OSSL_PKEY_PARAM_EC_PUB_X);
  std::optional<std::string> y = Coordinate(key.pkey(), OSSL_PKEY_PARAM_EC_PUB_Y);
  JsonObjectBuilder b;
  b.String("kty", "EC")
      .String("crv", "P-256")
      .String("x", x ? Base64UrlEncode(*x) : "")
      .String("y", y ? Base64UrlEncode(*y) : "")
      .String("kid", key.kid())
      .String("use", "sig")
      .String("alg", "ES256");
  return b;
}

}  // namespace

absl::StatusOr<SigningKey> SigningKey::Generate(absl::string_view kid) {
  ClearErrorsOnExit clear;
  if (!ValidKid(kid)) return BadKid();
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) return absl::InternalError("jwt: P-256 key generation failed");
  return SigningKey(std::string(kid), Own(raw));
}

absl::StatusOr<SigningKey> SigningKey::FromPem(absl::string_view kid, absl::string_view pem) {
  ClearErrorsOnExit clear;
  if (!ValidKid(kid)) return BadKid();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("jwt: BIO allocation failed");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr);
  if (raw == nullptr) {
    return absl::InvalidArgumentError("jwt: not an unencrypted private key PEM");
  }
  std::shared_ptr<EVP_PKEY> pkey = Own(raw);
  if (!IsP256(pkey.get())) return absl::InvalidArgumentError("jwt: key is not EC P-256");
  return SigningKey(std::string(kid), std::move(pkey));
}

absl::StatusOr<std::string> SigningKey::PrivatePem() const {
  ClearErrorsOnExit clear;
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return absl::InternalError("jwt: writing the private key failed");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> SigningKey::PublicPem() const {
  ClearErrorsOnExit clear;
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    return absl::InternalError("jwt: writing the public key failed");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SigningKey::PublicJwk() const { return JwkBuilder(*this).Build(); }

std::string Jwks(const std::vector<const SigningKey*>& keys) {
  std::vector<JsonObjectBuilder> jwks;
  for (const SigningKey* k : keys) {
    if (k != nullptr) jwks.push_back(JwkBuilder(*k));
  }
  return JsonObjectBuilder().ObjectArray("keys", jwks).Build();
}

absl::StatusOr<std::string> Sign(const SigningKey& key, absl::string_view claims_json) {
  ClearErrorsOnExit clear;
  if (!ParseFlatJson(claims_json).ok()) {
    return absl::InvalidArgumentError("jwt: claims are not a JSON object");
  }
  std::string header =
      JsonObjectBuilder().String("alg", "ES256").String("typ", "JWT").String("kid", key.kid())
          .Build();
  std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(claims_json));

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t der_len = 0;
  const auto* tbs = reinterpret_cast<const unsigned char*>(input.data());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.pkey()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, tbs, input.size()) != 1) {
    return absl::InternalError("jwt: signing failed");
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len, tbs,
                     input.size()) != 1) {
    return absl::InternalError("jwt: signing failed");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return absl::InternalError("jwt: bad ECDSA signature encoding");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kCoordSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordSize) != static_cast<int>(kCoordSize) ||
      BN_bn2binpad(s, out + kCoordSize, kCoordSize) != static_cast<int>(kCoordSize)) {
    return absl::InternalError("jwt: bad ECDSA signature size");
  }
  return absl::StrCat(input, ".", Base64UrlEncode(raw));
}

absl::Status Verifier::Insert(absl::string_view kid, std::shared_ptr<EVP_PKEY> pkey) {
  if (!ValidKid(kid)) return BadKid();
  if (keys_.find(kid) != keys_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("jwt: duplicate kid ", kid));
  }
  keys_.emplace(std::string(kid), std::move(pkey));
  return absl::OkStatus();
}

absl::Status Verifier::AddKey(absl::string_view kid, absl::string_view public_key_pem) {
  ClearErrorsOnExit clear;
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  if (!bio) return absl::InternalError("jwt: BIO allocation failed");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, &NoPassphrase, nullptr);
  if (raw == nullptr) return absl::InvalidArgumentError("jwt: not a public key PEM");
  std::shared_ptr<EVP_PKEY> pkey = Own(raw);
  if (!IsP256(pkey.get())) return absl::InvalidArgumentError("jwt: key is not EC P-256");
  return Insert(kid, std::move(pkey));
}

absl::Status Verifier::AddKey(const SigningKey& key) {
  absl::StatusOr<std::string> pem = key.PublicPem();
  if (!pem.ok()) return pem.status();
  return AddKey(key.kid(), *pem);  // only the public half is kept
}

absl::Status Verifier::AddJwk(absl::string_view jwk_json) {
  absl::StatusOr<FlatJson> jwk = ParseFlatJson(jwk_json);
  if (!jwk.ok()) return absl::InvalidArgumentError("jwt: JWK is not a JSON object");
  if (jwk->GetString("kty") != "EC" || jwk->GetString("crv") != "P-256") {
    return absl::InvalidArgumentError("jwt: JWK is not an EC P-256 key");
  }
  if (jwk->Has("alg") && jwk->GetString("alg") != "ES256") {
    return absl::InvalidArgumentError("jwt: JWK alg is not ES256");
  }
  if (jwk->Has("use") && jwk->GetString("use") != "sig") {
    return absl::InvalidArgumentError("jwt: JWK use is not sig");
  }
  std::optional<std::string> kid = jwk->GetString("kid");
  if (!kid) return absl::InvalidArgumentError("jwt: JWK has no kid");
  std::optional<std::string> xs = jwk->GetString("x"), ys = jwk->GetString("y");
  std::optional<std::string> x, y;
  if (xs) x = Base64UrlDecode(*xs);
  if (ys) y = Base64UrlDecode(*ys);
  if (!x || !y || x->size() != kCoordSize || y->size() != kCoordSize) {
    return absl::InvalidArgumentError("jwt: JWK x/y must be 32-byte base64url values");
  }
  absl::StatusOr<std::shared_ptr<EVP_PKEY>> pkey = PublicKeyFromPoint(*x, *y);
  if (!pkey.ok()) return pkey.status();
  return Insert(*kid, *std::move(pkey));
}

absl::StatusOr<std::string> Verifier::Verify(absl::string_view token) const {
  ClearErrorsOnExit clear;
  if (token.size() > kMaxTokenSize) return TokenError("TOKEN_MALFORMED");
  size_t d1 = token.find('.');
  size_t d2 = d1 == absl::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == absl::string_view::npos || token.find('.', d2 + 1) != absl::string_view::npos) {
    return TokenError("TOKEN_MALFORMED");
  }
  absl::string_view header_b64 = token.substr(0, d1);
  absl::string_view payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  absl::string_view sig_b64 = token.substr(d2 + 1);

  std::optional<std::string> header_json = Base64UrlDecode(header_b64);
  if (!header_json) return TokenError("TOKEN_MALFORMED");
  absl::StatusOr<FlatJson> header = ParseFlatJson(*header_json);
  if (!header.ok()) return TokenError("TOKEN_MALFORMED");
  std::optional<std::string> alg = header->GetString("alg");
  if (!alg) return TokenError("TOKEN_MALFORMED");
  if (*alg != "ES256") return TokenError("TOKEN_ALG_UNSUPPORTED");
  // No header extension is understood, so a "crit" list can never be honoured (RFC 7515 §4.1.11).
  if (header->Has("crit")) return TokenError("TOKEN_MALFORMED");
  std::optional<std::string> kid = header->GetString("kid");
  if (!kid) return TokenError("TOKEN_KID_UNKNOWN");
  auto key = keys_.find(*kid);
  if (key == keys_.end()) return TokenError("TOKEN_KID_UNKNOWN");

  std::optional<std::string> payload = Base64UrlDecode(payload_b64);
  std::optional<std::string> raw_sig = Base64UrlDecode(sig_b64);
  if (!payload || !raw_sig || raw_sig->size() != 2 * kCoordSize) {
    return TokenError("TOKEN_MALFORMED");
  }

  // Raw r||s → DER ECDSA-Sig-Value for EVP_DigestVerify.
  const auto* rs = reinterpret_cast<const unsigned char*>(raw_sig->data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(rs, kCoordSize, nullptr);
  BIGNUM* s = BN_bin2bn(rs + kCoordSize, kCoordSize, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::InternalError("jwt: signature conversion failed");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return absl::InternalError("jwt: signature conversion failed");
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
      der, [](unsigned char* p) { OPENSSL_free(p); });

  size_t signed_len = d2;  // header.payload
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md ||
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key->second.get()) != 1) {
    return absl::InternalError("jwt: verifier initialisation failed");
  }
  if (EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(token.data()), signed_len) != 1) {
    return TokenError("TOKEN_SIGNATURE_INVALID");
  }
  if (!ParseFlatJson(*payload).ok()) return TokenError("TOKEN_MALFORMED");
  return *std::move(payload);
}

}  // namespace dvc::jwt
