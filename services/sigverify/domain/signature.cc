#include "services/sigverify/domain/signature.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
struct X509StackFree {  // the stack only: the certificates belong to X509Ptrs
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

// Clears OpenSSL's thread-local error queue when leaving VerifySignature, whatever the path.
struct ErrorQueueGuard {
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

absl::Status Malformed(absl::string_view vi, absl::string_view en) {
  return status::InvalidArgument("SIGNATURE_MALFORMED", "signature",
                                 absl::StrCat("Chữ ký số không đúng định dạng: ", vi, "."),
                                 absl::StrCat("The signature is malformed: ", en, "."));
}

absl::Status Invalid(absl::string_view vi, absl::string_view en) {
  return status::InvalidArgument("SIGNATURE_INVALID", "signature",
                                 absl::StrCat("Chữ ký số không hợp lệ: ", vi, "."),
                                 absl::StrCat("The signature is invalid: ", en, "."));
}

absl::Status CertMissing(absl::string_view vi, absl::string_view en) {
  return status::InvalidArgument("CERT_MISSING", "certificate", vi, en);
}

const char* FormatName(SignatureFormat f) {
  switch (f) {
    case SignatureFormat::kPkcs1Sha256: return "PKCS#1 v1.5";
    case SignatureFormat::kPssSha256: return "RSA-PSS";
    case SignatureFormat::kEcdsaSha256: return "ECDSA";
    case SignatureFormat::kCmsAttached: return "CMS (attached)";
    case SignatureFormat::kCmsDetached: return "CMS (detached)";
  }
  return "?";
}

const char* KeyName(int id) {
  switch (id) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_ED25519: return "Ed25519";
    default: return "other";
  }
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// "SHA-1", "MD5" … for digests too weak to accept; "" otherwise.
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

absl::StatusOr<VerifiedSignature> VerifyRaw(absl::string_view data, absl::string_view sig,
                                            SignatureFormat format, const X509Ptr& signer) {
  if (signer == nullptr) {
    return CertMissing(
        absl::StrCat("Cần chứng thư số của người ký để kiểm tra chữ ký ", FormatName(format), "."),
        absl::StrCat("The signer's certificate is needed to verify a ", FormatName(format),
                     " signature."));
  }
  EVP_PKEY* key = X509_get0_pubkey(signer.get());
  if (key == nullptr) {
    return status::InvalidArgument("CERT_MALFORMED", "certificate",
                                   "Không đọc được khóa công khai của chứng thư số.",
                                   "The certificate's public key cannot be decoded.");
  }
  const int id = EVP_PKEY_get_base_id(key);
  const bool key_fits = format == SignatureFormat::kPkcs1Sha256 ? id == EVP_PKEY_RSA
                        : format == SignatureFormat::kPssSha256
                            ? (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
                            : id == EVP_PKEY_EC;
  if (!key_fits) {
    return Malformed(
        absl::StrCat("định dạng ", FormatName(format), " không dùng được với khóa ", KeyName(id),
                     " của chứng thư"),
        absl::StrCat("the ", FormatName(format), " format does not fit the certificate's ",
                     KeyName(id), " key"));
  }
  if (id == EVP_PKEY_EC) {
    // Strict DER ECDSA-Sig-Value: parses whole and re-encodes to the same bytes.
    const unsigned char* p = Bytes(sig);
    EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    bool ok = parsed != nullptr && p == Bytes(sig) + sig.size();
    if (ok) {
      unsigned char* der = nullptr;
      const int n = i2d_ECDSA_SIG(parsed.get(), &der);
      ok = n > 0 && static_cast<size_t>(n) == sig.size() && std::equal(der, der + n, Bytes(sig));
      OPENSSL_free(der);
    }
    if (!ok) {
      return Malformed("chữ ký ECDSA phải là ECDSA-Sig-Value mã hóa DER",
                       "an ECDSA signature must be a DER-encoded ECDSA-Sig-Value");
    }
  } else if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) {
    return Malformed(
        absl::StrCat("độ dài ", sig.size(), " byte không khớp khóa RSA ", EVP_PKEY_get_bits(key),
                     " bit"),
        absl::StrCat("its length (", sig.size(), " bytes) does not match the ",
                     EVP_PKEY_get_bits(key), "-bit RSA key"));
  }

  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) {
    return status::Internal();
  }
  if (format == SignatureFormat::kPssSha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
      // An RSA-PSS key restricted to other parameters.
      return Malformed("khóa RSA-PSS của chứng thư không cho phép SHA-256/MGF1-SHA256",
                       "the certificate's RSA-PSS key does not allow SHA-256/MGF1-SHA256");
    }
  } else if (format == SignatureFormat::kPkcs1Sha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return status::Internal();
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(sig), sig.size(), Bytes(data), data.size()) != 1) {
    return Invalid("chữ ký không khớp dữ liệu và khóa công khai của chứng thư",
                   "it does not verify over the data with the certificate's public key");
  }
  VerifiedSignature out;
  out.signer = signer;
  return out;
}

absl::StatusOr<VerifiedSignature> VerifyCms(absl::string_view data, absl::string_view sig,
                                            SignatureFormat format,
                                            const X509Ptr& supplied_signer) {
  const unsigned char* p = Bytes(sig);
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(sig.size())));
  if (cms == nullptr || p != Bytes(sig) + sig.size()) {
    return Malformed("không phải cấu trúc CMS mã hóa DER", "not a DER-encoded CMS structure");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return Malformed("CMS không phải kiểu SignedData", "the CMS is not SignedData");
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  if (infos == nullptr || sk_CMS_SignerInfo_num(infos) != 1) {
    return Malformed("CMS phải có đúng một người ký", "the CMS must have exactly one signer");
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
  const bool detached = CMS_is_detached(cms.get()) == 1;
  if (format == SignatureFormat::kCmsAttached && detached) {
    return Malformed("CMS không mang nội dung (detached) trong khi định dạng là attached",
                     "the CMS carries no content (detached) but the format says attached");
  }
  if (format == SignatureFormat::kCmsDetached && !detached) {
    return Malformed("CMS mang nội dung (attached) trong khi định dạng là detached",
                     "the CMS carries its content (attached) but the format says detached");
  }

  VerifiedSignature out;
  if (STACK_OF(X509)* certs = CMS_get1_certs(cms.get()); certs != nullptr) {
    for (int i = 0; i < sk_X509_num(certs); ++i) {
      out.embedded.push_back(AdoptX509(sk_X509_value(certs, i)));  // get1: one reference each
    }
    sk_X509_free(certs);
  }

  // Algorithms: the digest, and the digest inside the signature algorithm (e.g. sha1WithRSA).
  X509_ALGOR* digest_alg = nullptr;
  X509_ALGOR* sig_alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest_alg, &sig_alg);
  const int md_nid = digest_alg != nullptr ? OBJ_obj2nid(digest_alg->algorithm) : NID_undef;
  int sig_md_nid = NID_undef;
  int pk_nid = NID_undef;
  if (sig_alg != nullptr) OBJ_find_sigid_algs(OBJ_obj2nid(sig_alg->algorithm), &sig_md_nid, &pk_nid);
  for (int nid : {md_nid, sig_md_nid}) {
    if (const std::string weak = WeakDigestName(nid); !weak.empty()) {
      return Invalid(absl::StrCat("CMS dùng thuật toán băm ", weak,
                                  " không còn an toàn (yêu cầu SHA-256 trở lên)"),
                     absl::StrCat("the CMS uses the weak digest algorithm ", weak,
                                  " (SHA-256 or stronger is required)"));
    }
  }
  if (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512) {
    return Malformed("thuật toán băm của CMS không được hỗ trợ (chỉ SHA-256/384/512)",
                     "the CMS digest algorithm is not supported (SHA-256/384/512 only)");
  }
  if (CMS_signed_get_attr_count(si) <= 0 ||
      CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) < 0) {
    return Malformed("CMS thiếu thuộc tính ký messageDigest",
                     "the CMS has no signed messageDigest attribute");
  }

  // The signer: the certificate the SignerInfo identifies.
  X509Ptr signer;
  for (const X509Ptr& c : out.embedded) {
    if (c != nullptr && CMS_SignerInfo_cert_cmp(si, c.get()) == 0) {
      signer = c;
      break;
    }
  }
  if (supplied_signer != nullptr) {
    if (CMS_SignerInfo_cert_cmp(si, supplied_signer.get()) != 0 ||
        (signer != nullptr && X509_cmp(signer.get(), supplied_signer.get()) != 0)) {
      return Invalid("CMS được ký bởi một chứng thư khác với chứng thư đã cung cấp",
                     "the CMS was signed with another certificate than the one supplied");
    }
    signer = supplied_signer;
  }
  if (signer == nullptr) {
    return CertMissing("CMS không kèm chứng thư số của người ký; hãy gửi kèm chứng thư.",
                       "The CMS does not carry its signer's certificate; supply it.");
  }

  std::unique_ptr<STACK_OF(X509), X509StackFree> signer_only(sk_X509_new_null());
  if (signer_only == nullptr || sk_X509_push(signer_only.get(), signer.get()) <= 0) {
    return status::Internal();
  }
  BioPtr content;
  if (detached) {
    if (data.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return Invalid("dữ liệu quá lớn", "the data is too large");
    }
    // Behind a buffering filter, not a bare memory BIO: OpenSSL 3.0's CMS_verify copies a memory
    // BIO into a temporary one that it leaks when the CMS digestAlgorithms are unusable
    // (openssl/openssl#30471), which an attacker could repeat at will.
    BIO* mem = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    BIO* buffered = mem != nullptr ? BIO_new(BIO_f_buffer()) : nullptr;
    if (buffered == nullptr) {
      BIO_free(mem);
      return status::Internal();
    }
    content.reset(BIO_push(buffered, mem));
  }
  // The signer's path is validated separately; CMS_NOINTERN makes sure the signature is checked
  // with exactly `signer`, not some other embedded certificate.
  const unsigned int flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY | CMS_NOINTERN;
  if (CMS_verify(cms.get(), signer_only.get(), nullptr, content.get(), nullptr, flags) != 1) {
    return Invalid("chữ ký CMS không khớp dữ liệu và khóa công khai của chứng thư",
                   "the CMS signature does not verify over the data with the signer's key");
  }
  if (!detached) {
    ASN1_OCTET_STRING** embedded = CMS_get0_content(cms.get());
    if (embedded == nullptr || *embedded == nullptr) {
      return Malformed("CMS không mang nội dung", "the CMS carries no content");
    }
    const absl::string_view carried(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*embedded)),
                                    static_cast<size_t>(ASN1_STRING_length(*embedded)));
    if (carried != data) {
      return Invalid("nội dung được ký trong CMS khác với dữ liệu cần ký",
                     "the content signed in the CMS differs from the expected data");
    }
  }
  out.signer = std::move(signer);
  return out;
}

}  // namespace

absl::StatusOr<VerifiedSignature> VerifySignature(absl::string_view data,
                                                  absl::string_view signature,
                                                  SignatureFormat format,
                                                  const X509Ptr& supplied_signer) {
  ErrorQueueGuard clear_errors;
  ERR_clear_error();
  if (signature.empty()) return Malformed("chữ ký rỗng", "it is empty");
  if (signature.size() > kMaxSignatureBytes) {
    return Malformed(absl::StrCat("chữ ký vượt quá ", kMaxSignatureBytes / 1024, " KiB"),
                     absl::StrCat("it exceeds ", kMaxSignatureBytes / 1024, " KiB"));
  }
  switch (format) {
    case SignatureFormat::kPkcs1Sha256:
    case SignatureFormat::kPssSha256:
    case SignatureFormat::kEcdsaSha256:
      return VerifyRaw(data, signature, format, supplied_signer);
    case SignatureFormat::kCmsAttached:
    case SignatureFormat::kCmsDetached:
      return VerifyCms(data, signature, format, supplied_signer);
  }
  return Malformed("định dạng chữ ký không được hỗ trợ", "the signature format is not supported");
}

}  // namespace dvc::sigverify
