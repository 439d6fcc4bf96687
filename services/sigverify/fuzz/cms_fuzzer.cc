// libFuzzer target: VerifySignature, mainly the CMS formats, on arbitrary bytes.
// Input layout (see tools/fuzz, which builds seeds in this layout):
//   byte 0      flags: bits 0-2 = format (value mod 5: PKCS#1, PSS, ECDSA, CMS attached,
//               CMS detached); bit 7 = a supplied signer certificate follows
//   bytes 1-2   length of `data` (big-endian)
//   bytes 3-4   length of the supplied certificate (big-endian; ignored unless bit 7)
//   then data, the certificate (DER) and the rest is the signature.
// Checks memory/UB errors and that failures carry only the documented reasons.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/status/errors.h"
#include "services/sigverify/domain/certificate.h"
#include "services/sigverify/domain/signature.h"

namespace {

using dvc::sigverify::SignatureFormat;

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cms_fuzzer: contract violated: %s\n", what);
    std::abort();
  }
}

constexpr SignatureFormat kFormats[] = {
    SignatureFormat::kPkcs1Sha256, SignatureFormat::kPssSha256, SignatureFormat::kEcdsaSha256,
    SignatureFormat::kCmsAttached, SignatureFormat::kCmsDetached};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 5) return 0;
  const uint8_t flags = bytes[0];
  const size_t data_len = (static_cast<size_t>(bytes[1]) << 8) | bytes[2];
  const size_t cert_len = (flags & 0x80) ? ((static_cast<size_t>(bytes[3]) << 8) | bytes[4]) : 0;
  absl::string_view rest(reinterpret_cast<const char*>(bytes) + 5, size - 5);
  if (data_len + cert_len > rest.size()) return 0;
  const absl::string_view data = rest.substr(0, data_len);
  const absl::string_view cert = rest.substr(data_len, cert_len);
  const absl::string_view signature = rest.substr(data_len + cert_len);
  const SignatureFormat format = kFormats[(flags & 0x07) % 5];

  dvc::sigverify::X509Ptr signer;
  if (flags & 0x80) {
    absl::StatusOr<dvc::sigverify::ParsedCertificate> parsed =
        dvc::sigverify::ParseCertificate(cert);
    if (parsed.ok()) signer = parsed->x509;
  }

  absl::StatusOr<dvc::sigverify::VerifiedSignature> v =
      dvc::sigverify::VerifySignature(data, signature, format, signer);
  if (v.ok()) {
    Require(v->signer != nullptr, "a verified signature has a signer");
    if (signer != nullptr) {
      Require(X509_cmp(v->signer.get(), signer.get()) == 0, "signer is the supplied one");
    }
  } else {
    const std::string reason = dvc::status::ReasonOf(v.status());
    Require(reason == "SIGNATURE_MALFORMED" || reason == "SIGNATURE_INVALID" ||
                reason == "CERT_MISSING",
            "documented reason");
  }
  return 0;
}
