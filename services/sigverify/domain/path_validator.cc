#include "services/sigverify/domain/path_validator.h"

#include "services/sigverify/domain/x509_util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

constexpr size_t kMaxUntrusted = 16;

struct StackFree {  // the stack only: the certificates belong to X509Ptrs
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
struct CtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

// Clears OpenSSL's thread-local error queue when leaving Run, whatever the path.
struct ErrorQueueGuard {
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

absl::Status CertError(absl::string_view reason, absl::string_view vi, absl::string_view en) {
  return status::InvalidArgument(reason, "certificate", vi, en);
}

std::string CommonName(const X509* x) {
  const X509_NAME* name = X509_get_subject_name(x);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

bool SelfSigned(X509* x) {
  const bool ss = X509_self_signed(x, /*verify_signature=*/1) == 1;
  ERR_clear_error();
  return ss;
}

// How messages name a certificate of the path. The target is "the certificate" (its subject may
// hold ID numbers: never quoted); CA certificates are named by their CN.
struct Who {
  std::string vi, en;
};
Who Describe(X509* x, bool is_target) {
  if (x == nullptr || is_target) return {"chứng thư số", "the certificate"};
  const std::string cn = CommonName(x);
  if (SelfSigned(x)) return {absl::StrCat("chứng thư gốc «", cn, "»"),
                             absl::StrCat("the root certificate «", cn, "»")};
  return {absl::StrCat("chứng thư CA «", cn, "»"), absl::StrCat("the CA certificate «", cn, "»")};
}

// Upper-cases the first (ASCII) letter: for names placed at the start of a sentence.
std::string Capital(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}


// "SHA-1", "MD5" … for weak digests; "" otherwise.
std::string WeakDigestName(int md_nid) {
  switch (md_nid) {
    case NID_sha1: return "SHA-1";
    case NID_md5: return "MD5";
    case NID_md5_sha1: return "MD5+SHA-1";
    case NID_md4: return "MD4";
    case NID_md2: return "MD2";
    default: return "";
  }
}

int SignatureDigestNid(const X509* x) {
  int md_nid = NID_undef;
  if (X509_get_signature_info(const_cast<X509*>(x), &md_nid, nullptr, nullptr, nullptr) != 1) {
    // Unknown to OpenSSL: fall back to the OID table.
    int pk_nid = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(x), &md_nid, &pk_nid) != 1) md_nid = NID_undef;
  }
  ERR_clear_error();
  return md_nid;
}

absl::Status WeakAlgorithm(X509* x, bool is_target, const std::string& md) {
  const Who who = Describe(x, is_target);
  return CertError(
      "CERT_WEAK_ALGORITHM",
      absl::StrCat("Chữ ký trên ", who.vi, " dùng thuật toán băm ", md,
                   " không còn an toàn (yêu cầu SHA-256 trở lên)."),
      absl::StrCat("The signature on ", who.en, " uses the weak hash algorithm ", md,
                   " (SHA-256 or stronger is required)."));
}

absl::Status WeakKey(X509* x, bool is_target, const std::string& what, int required) {
  const Who who = Describe(x, is_target);
  return CertError(
      "CERT_WEAK_KEY",
      absl::StrCat("Khóa của ", who.vi, " (", what, ") quá yếu (yêu cầu tối thiểu ", required,
                   " bit)."),
      absl::StrCat("The key of ", who.en, " (", what, ") is too weak (at least ", required,
                   " bits are required)."));
}

// The key-size policy for one certificate; OK or CERT_WEAK_KEY / CERT_MALFORMED.
absl::Status CheckKey(X509* x, bool is_target, const PathPolicy& policy) {
  EVP_PKEY* key = X509_get0_pubkey(x);
  ERR_clear_error();
  if (key == nullptr) {
    const Who who = Describe(x, is_target);
    return CertError("CERT_MALFORMED",
                     absl::StrCat("Không đọc được khóa công khai của ", who.vi, "."),
                     absl::StrCat("The public key of ", who.en, " cannot be decoded."));
  }
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      if (bits < policy.min_rsa_bits) {
        return WeakKey(x, is_target, absl::StrCat("RSA ", bits, " bit"), policy.min_rsa_bits);
      }
      break;
    case EVP_PKEY_DSA:
      if (bits < policy.min_rsa_bits) {
        return WeakKey(x, is_target, absl::StrCat("DSA ", bits, " bit"), policy.min_rsa_bits);
      }
      break;
    case EVP_PKEY_EC:
      if (bits < 256) return WeakKey(x, is_target, absl::StrCat("EC ", bits, " bit"), 256);
      break;
    default:
      break;  // Ed25519/Ed448: strong by construction
  }
  return absl::OkStatus();
}

absl::Status NotIssuer(X509* ca) {
  const Who who = Describe(ca, false);
  return CertError(
      "CERT_MALFORMED",
      absl::StrCat(Capital(who.vi), " không được phép cấp chứng thư (thiếu basicConstraints CA:TRUE hoặc "
                   "keyUsage keyCertSign)."),
      absl::StrCat(Capital(who.en), " is not allowed to issue certificates (basicConstraints CA:TRUE or "
                   "keyUsage keyCertSign missing)."));
}

bool NameIs(const X509* cert, const X509_NAME* name) {
  return X509_NAME_cmp(X509_get_subject_name(cert), name) == 0;
}

bool Signs(X509* issuer, X509* subject) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  const bool ok = key != nullptr && X509_verify(subject, key) == 1;
  ERR_clear_error();
  return ok;
}

// The path stopped at `top` without reaching an anchor: why?
absl::Status ExplainNoAnchor(X509* top, bool top_is_target, const TrustStore& store,
                             const std::vector<X509Ptr>& untrusted) {
  if (SelfSigned(top)) {  // a root, but not one of ours (anchors are matched by fingerprint)
    bool named_like_anchor = false;
    for (const TrustAnchor& a : store.anchors()) {
      if (NameIs(a.x509.get(), X509_get_subject_name(top))) named_like_anchor = true;
    }
    if (top_is_target) {
      return CertError("CERT_UNTRUSTED",
                       "Chứng thư số tự ký và không thuộc kho chứng thư gốc tin cậy.",
                       "The certificate is self-signed and not a trusted root.");
    }
    const std::string cn = CommonName(top);
    return CertError(
        "CERT_UNTRUSTED",
        absl::StrCat("Chứng thư số chuyển tiếp tới chứng thư gốc «", cn,
                     "» không được tin cậy",
                     named_like_anchor ? " (trùng tên một chứng thư gốc tin cậy nhưng khác khóa)"
                                       : "",
                     "."),
        absl::StrCat("The certificate chains to the root «", cn, "», which is not trusted",
                     named_like_anchor ? " (it has the name of a trusted root but another key)"
                                       : "",
                     "."));
  }
  const X509_NAME* issuer = X509_get_issuer_name(top);
  bool configured_name = false;  // a trusted-side certificate carries the issuer's name
  auto consider = [&](X509* candidate, bool configured) -> bool {
    if (candidate == nullptr || candidate == top || !NameIs(candidate, issuer)) return false;
    if (Signs(candidate, top)) return true;  // the real issuer, which OpenSSL refused to use
    if (configured) configured_name = true;
    return false;
  };
  for (const X509Ptr& c : untrusted) {
    if (consider(c.get(), false)) return NotIssuer(c.get());
  }
  for (const X509Ptr& c : store.intermediate_pool()) {
    if (consider(c.get(), true)) return NotIssuer(c.get());
  }
  for (const TrustAnchor& a : store.anchors()) {
    if (consider(a.x509.get(), true)) return NotIssuer(a.x509.get());
  }
  const Who who = Describe(top, top_is_target);
  if (configured_name) {
    return CertError(
        "CERT_UNTRUSTED",
        absl::StrCat(Capital(who.vi), " mang tên tổ chức cấp của một CA tin cậy nhưng không do khóa của CA "
                     "đó ký."),
        absl::StrCat(Capital(who.en), " names a trusted CA as its issuer but was not signed by that CA's "
                     "key."));
  }
  return CertError(
      "CERT_CHAIN_INCOMPLETE",
      absl::StrCat("Thiếu chứng thư của tổ chức cấp cho ", who.vi,
                   ": chuỗi chứng thư không dẫn tới chứng thư gốc tin cậy."),
      absl::StrCat("The issuer of ", who.en,
                   " is missing: the chain does not lead to a trusted root."));
}

absl::Status MapVerifyError(X509_STORE_CTX* ctx, X509* target, const TrustStore& store,
                            const std::vector<X509Ptr>& untrusted) {
  const int err = X509_STORE_CTX_get_error(ctx);
  X509* cur = X509_STORE_CTX_get_current_cert(ctx);
  if (cur == nullptr) cur = target;
  const bool cur_is_target = cur == target || X509_STORE_CTX_get_error_depth(ctx) == 0;
  const Who who = Describe(cur, cur_is_target);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: {
      const std::string when = FormatUtc(Asn1TimeToAbsl(X509_get0_notAfter(cur)).value_or(absl::InfinitePast()));
      return CertError("CERT_EXPIRED",
                       absl::StrCat(Capital(who.vi), " đã hết hạn lúc ", when, "."),
                       absl::StrCat(Capital(who.en), " expired at ", when, "."));
    }
    case X509_V_ERR_CERT_NOT_YET_VALID: {
      const std::string when = FormatUtc(Asn1TimeToAbsl(X509_get0_notBefore(cur)).value_or(absl::InfinitePast()));
      return CertError("CERT_NOT_YET_VALID",
                       absl::StrCat(Capital(who.vi), " chỉ có hiệu lực từ ", when, "."),
                       absl::StrCat(Capital(who.en), " is not valid before ", when, "."));
    }
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: {
      STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
      X509* top = target;
      if (chain != nullptr && sk_X509_num(chain) > 0) top = sk_X509_value(chain, sk_X509_num(chain) - 1);
      return ExplainNoAnchor(top, top == target, store, untrusted);
    }
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return CertError("CERT_MALFORMED",
                       absl::StrCat("Chữ ký trên ", who.vi, " không hợp lệ."),
                       absl::StrCat("The signature on ", who.en, " does not verify."));
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return CertError(
          "CERT_MALFORMED",
          "Chuỗi chứng thư vi phạm ràng buộc độ dài đường dẫn (pathLenConstraint) của một CA.",
          "The chain violates a CA's path length constraint (pathLenConstraint).");
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return NotIssuer(cur);
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return CertError("CERT_CHAIN_TOO_LONG", "Chuỗi chứng thư quá dài.",
                       "The certificate chain is too long.");
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_EE_KEY_TOO_SMALL: {
      const int bits = EVP_PKEY_get_bits(X509_get0_pubkey(cur));
      return WeakKey(cur, cur_is_target, absl::StrCat(bits, " bit"), 2048);
    }
    case X509_V_ERR_CA_MD_TOO_WEAK: {
      std::string md = WeakDigestName(SignatureDigestNid(cur));
      if (md.empty()) md = OBJ_nid2sn(X509_get_signature_nid(cur));
      return WeakAlgorithm(cur, cur_is_target, md);
    }
    case X509_V_ERR_INVALID_PURPOSE:
      return CertError("CERT_KEY_USAGE",
                       absl::StrCat(Capital(who.vi), " không được phép dùng cho mục đích này."),
                       absl::StrCat(Capital(who.en), " is not allowed for this purpose."));
    default: {
      const std::string why = X509_verify_cert_error_string(err);
      return CertError("CERT_MALFORMED",
                       absl::StrCat(Capital(who.vi), " không hợp lệ (", why, ")."),
                       absl::StrCat(Capital(who.en), " is invalid (", why, ")."));
    }
  }
}

}  // namespace

PathValidator::PathValidator(std::shared_ptr<const TrustStore> store, PathPolicy policy)
    : store_(std::move(store)), policy_(policy) {}

PathValidator::PathValidator(const TrustStoreHolder* holder, PathPolicy policy)
    : holder_(holder), policy_(policy) {}

absl::StatusOr<ValidatedPath> PathValidator::Validate(const X509Ptr& leaf,
                                                      const std::vector<X509Ptr>& untrusted,
                                                      absl::Time at) const {
  return Run(leaf, untrusted, at, /*target_is_ca=*/false);
}

absl::StatusOr<ValidatedPath> PathValidator::ValidateCa(const X509Ptr& ca,
                                                        const std::vector<X509Ptr>& untrusted,
                                                        absl::Time at) const {
  return Run(ca, untrusted, at, /*target_is_ca=*/true);
}

absl::StatusOr<ValidatedPath> PathValidator::Run(const X509Ptr& target,
                                                 const std::vector<X509Ptr>& untrusted,
                                                 absl::Time at, bool target_is_ca) const {
  ErrorQueueGuard clear_errors;
  if (target == nullptr) {
    return CertError("CERT_MISSING", "Thiếu chứng thư số.", "The certificate is missing.");
  }
  if (untrusted.size() > kMaxUntrusted) {
    return CertError("CERT_CHAIN_TOO_LONG",
                     absl::StrCat("Chuỗi chứng thư quá dài (tối đa ", kMaxUntrusted, ")."),
                     absl::StrCat("The certificate chain is too long (at most ", kMaxUntrusted,
                                  ")."));
  }
  const std::shared_ptr<const TrustStore> store = holder_ != nullptr ? holder_->Get() : store_;
  if (store == nullptr || store->x509_store() == nullptr) return status::Internal();

  std::unique_ptr<STACK_OF(X509), StackFree> pool(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  if (pool == nullptr || ctx == nullptr) return status::Internal();
  for (const X509Ptr& c : untrusted) {
    if (c != nullptr && sk_X509_push(pool.get(), c.get()) <= 0) return status::Internal();
  }
  for (const X509Ptr& c : store->intermediate_pool()) {
    if (sk_X509_push(pool.get(), c.get()) <= 0) return status::Internal();
  }
  ERR_clear_error();
  if (X509_STORE_CTX_init(ctx.get(), store->x509_store(), target.get(), pool.get()) != 1) {
    ERR_clear_error();
    return status::Internal();
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  X509_VERIFY_PARAM_set_depth(param, policy_.max_depth);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);

  const int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    absl::Status s = MapVerifyError(ctx.get(), target.get(), *store, untrusted);
    ERR_clear_error();
    return s;
  }
  ERR_clear_error();

  ValidatedPath path;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  const int n = chain != nullptr ? sk_X509_num(chain) : 0;
  if (n <= 0) return status::Internal();
  for (int i = 0; i < n; ++i) {
    X509Ptr c = ShareX509(sk_X509_value(chain, i));
    if (c == nullptr) return status::Internal();
    path.chain.push_back(std::move(c));
  }

  // Weak algorithms and keys: the signature algorithm below the anchor (the anchor's own
  // self-signature proves nothing), the key size everywhere.
  for (int i = 0; i < n; ++i) {
    X509* x = path.chain[i].get();
    const bool is_target = i == 0;
    if (i + 1 < n) {
      const std::string md = WeakDigestName(SignatureDigestNid(x));
      if (!md.empty()) return WeakAlgorithm(x, is_target, md);
    }
    if (absl::Status s = CheckKey(x, is_target, policy_); !s.ok()) return s;
  }

  // Key usage: every issuer may sign certificates; the target signs documents (or, for
  // ValidateCa, certificates).
  for (int i = 1; i < n; ++i) {
    X509* ca = path.chain[i].get();
    if (X509_check_ca(ca) < 1 || (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0) {
      return NotIssuer(ca);
    }
  }
  X509* t = path.chain[0].get();
  const uint32_t ku = X509_get_key_usage(t);  // UINT32_MAX when there is no keyUsage extension
  if (target_is_ca) {
    if (X509_check_ca(t) < 1 || (ku & KU_KEY_CERT_SIGN) == 0) {
      return CertError("CERT_KEY_USAGE",
                       "Chứng thư số không phải chứng thư của tổ chức cung cấp dịch vụ chứng thực "
                       "(CA).",
                       "The certificate is not a certification authority (CA) certificate.");
    }
  } else if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    return CertError(
        "CERT_KEY_USAGE",
        "Chứng thư số không được phép dùng để ký (thiếu digitalSignature và nonRepudiation).",
        "The certificate may not be used for signing (keyUsage has neither digitalSignature nor "
        "nonRepudiation).");
  }
  ERR_clear_error();
  return path;
}

}  // namespace dvc::sigverify
