// Verifies a signature over `data` with OpenSSL: raw RSA PKCS#1 v1.5 / RSA-PSS / ECDSA over
// SHA-256 with a given signer certificate's key, or a CMS SignedData (DER) that names its
// signer. Only the signature is checked here: the signer's certificate path is validated
// separately (PathValidator), its revocation status too.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/sigverify/domain/x509_ptr.h"

namespace dvc::sigverify {

enum class SignatureFormat {
  kPkcs1Sha256,   // RSASSA-PKCS1-v1_5, SHA-256 (RSA key)
  kPssSha256,     // RSASSA-PSS, SHA-256, MGF1-SHA256, any salt length (RSA key)
  kEcdsaSha256,   // ECDSA over SHA-256, DER ECDSA-Sig-Value (EC key)
  kCmsAttached,   // CMS SignedData (DER) carrying `data` as its content
  kCmsDetached,   // CMS SignedData (DER) without content; `data` is the content
};

struct VerifiedSignature {
  X509Ptr signer;                 // the certificate whose key made the signature
  std::vector<X509Ptr> embedded;  // every certificate carried in a CMS (none for raw formats)
};

inline constexpr size_t kMaxSignatureBytes = 64 * 1024;

// Raw formats need `supplied_signer`; for CMS it is optional: when given, the CMS signer must be
// that certificate, and it is used when the CMS does not embed its signer's certificate.
// CMS requirements: ContentInfo of type SignedData, exactly one SignerInfo, signed attributes
// with messageDigest, digest SHA-256/384/512; attached content equal to `data` byte for byte.
// Errors (INVALID_ARGUMENT):
//   CERT_MISSING (field "certificate")   no signer certificate: raw format without
//                                        supplied_signer, or a CMS whose signer is neither
//                                        embedded nor supplied
//   SIGNATURE_MALFORMED (field "signature")  empty, > 64 KiB, not DER, truncated, wrong
//                                        length for the key, key type not matching the format,
//                                        CMS not SignedData / not one signer / attached vs
//                                        detached not as `format` says / no signed attributes
//   SIGNATURE_INVALID (field "signature")    the signature does not verify over `data`, the
//                                        CMS was signed by another certificate than
//                                        supplied_signer, attached content differs from
//                                        `data`, or a weak digest (SHA-1, MD5) in the CMS
absl::StatusOr<VerifiedSignature> VerifySignature(absl::string_view data,
                                                  absl::string_view signature,
                                                  SignatureFormat format,
                                                  const X509Ptr& supplied_signer);

}  // namespace dvc::sigverify
