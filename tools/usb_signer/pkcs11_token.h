// A USB signing token reached through its PKCS#11 module: the part of the citizen's browser
// signing plug-in that lists the certificates on the token and signs a challenge with the key
// that stays on it. The end-to-end tests and the dev stack drive SoftHSM2 through this class the
// way the real plug-in drives a VNPT/Viettel/BCY token.
//
//   auto token = Pkcs11Token::Open("/usr/lib/softhsm/libsofthsm2.so", "DVC Test Token 1", pin);
//   for (const TokenCertificate& c : (*token)->ListCertificates()) { ... pick one ... }
//   auto sig = (*token)->Sign(cert.id, challenge, SignatureFormat::kCmsDetached);
//
// Every private-key operation is a C_Sign on the token: the key is never read (it is created
// non-extractable). CMS SignedData is assembled with OpenSSL and only the DER of its signed
// attributes is sent to the token.
//
// Several instances may use the same module (and the same token) in one process: the module is
// C_Initialize'd once and C_Finalize'd when its last instance goes, and a token is logged out
// when its last session in this process closes. An instance is safe to use from several threads
// (operations on it are serialised).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dvc::usb_signer {

enum class KeyType { kRsa, kEc, kOther };

enum class SignatureFormat {
  kPkcs1Sha256,  // RSASSA-PKCS1-v1_5 with SHA-256 (CKM_SHA256_RSA_PKCS)
  kPssSha256,    // RSASSA-PSS, SHA-256, MGF1-SHA256, 32-byte salt (CKM_SHA256_RSA_PKCS_PSS)
  kEcdsaSha256,  // ECDSA over SHA-256, DER ECDSA-Sig-Value (CKM_ECDSA on the digest)
  kCmsDetached,  // CMS SignedData, content not included, DER
  kCmsAttached,  // CMS SignedData, content included, DER
};

// "pkcs1" | "pss" | "ecdsa" | "cms" | "cms-attached" (the CLI's --format values).
absl::StatusOr<SignatureFormat> ParseSignatureFormat(absl::string_view name);
const char* SignatureFormatName(SignatureFormat format);
const char* KeyTypeName(KeyType type);  // "RSA" | "EC" | "OTHER"

struct TokenCertificate {
  std::string id;       // lower-case hex of CKA_ID; the private key has the same CKA_ID
  std::string label;    // CKA_LABEL
  std::string der;      // the X.509 certificate, DER
  std::string subject;  // RFC 2253, UTF-8 (not escaped to \XX)
  std::string issuer;   // RFC 2253, UTF-8
  absl::Time not_after;
  KeyType key_type = KeyType::kOther;
};

namespace internal {
struct Module;  // a loaded module shared by the instances of this process (refcounted)
}  // namespace internal

class Pkcs11Token final {
 public:
  // Loads the module, finds the token whose label is `token_label` (PKCS#11 pads labels with
  // spaces to 32 bytes; trailing spaces are ignored), opens a session and logs in as the user.
  // Errors: FAILED_PRECONDITION PKCS11_MODULE_MISSING (cannot load the module),
  // NOT_FOUND TOKEN_NOT_FOUND, INVALID_ARGUMENT TOKEN_PIN_INCORRECT, FAILED_PRECONDITION
  // TOKEN_PIN_LOCKED, INTERNAL PKCS11_ERROR (any other failure; message names the CKR code).
  static absl::StatusOr<std::unique_ptr<Pkcs11Token>> Open(const std::string& module_path,
                                                           const std::string& token_label,
                                                           const std::string& pin);
  ~Pkcs11Token();  // logs out (if last), closes the session, finalises the module (if last)
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  // X.509 certificates on the token, in the order the token returns them. Objects that are not
  // parseable certificates are skipped; a PKCS#11 failure is logged and yields what was read.
  std::vector<TokenCertificate> ListCertificates();

  // Signs `data` with the private key whose CKA_ID is `cert_id_hex` (case-insensitive).
  // Errors: INVALID_ARGUMENT CERT_ID_MALFORMED, NOT_FOUND TOKEN_CERT_NOT_FOUND (no certificate
  // with that id), NOT_FOUND TOKEN_KEY_NOT_FOUND (certificate without private key),
  // INVALID_ARGUMENT SIGNATURE_FORMAT_MISMATCH (e.g. ECDSA with an RSA key), INTERNAL PKCS11_ERROR.
  // CMS signatures carry the signed attributes content-type, signing-time (now) and
  // message-digest, the signer certificate, SHA-256, and are signed PKCS#1 v1.5 or ECDSA.
  // `extra_certs_der` (CMS formats only; ignored otherwise): further certificates to carry in
  // the SignedData, typically the issuing CA chain (leaf first is not required).
  absl::StatusOr<std::string> Sign(const std::string& cert_id_hex, absl::string_view data,
                                   SignatureFormat format,
                                   const std::vector<std::string>& extra_certs_der = {});

  const std::string& token_label() const { return token_label_; }

 private:
  Pkcs11Token(internal::Module* module, unsigned long slot, unsigned long session,
              std::string token_label);

  absl::StatusOr<TokenCertificate> FindCertificate(const std::string& id_bytes);
  absl::StatusOr<unsigned long> FindPrivateKey(const std::string& id_bytes);
  absl::StatusOr<std::string> RawSign(unsigned long key, unsigned long mechanism, void* params,
                                      unsigned long params_len, absl::string_view data);
  absl::StatusOr<std::string> SignCms(const TokenCertificate& cert, unsigned long key,
                                      absl::string_view data, bool attached,
                                      const std::vector<std::string>& extra_certs_der);

  internal::Module* module_;  // shared with other instances; released by the destructor
  unsigned long slot_;
  unsigned long session_;
  std::string token_label_;
  std::mutex mu_;
};

namespace internal {
// PKCS#11 ECDSA signatures are r||s (two equal-length big-endian integers); OpenSSL and X.509
// verifiers expect DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }.
absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw);
// Maps the return value of C_Login to a status (OK for CKR_OK).
absl::Status LoginResultToStatus(unsigned long rv);
// Name of a CKR_* value ("CKR_PIN_INCORRECT"; hex for unknown values).
std::string CkrName(unsigned long rv);
}  // namespace internal

}  // namespace dvc::usb_signer
