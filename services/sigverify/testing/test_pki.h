// An in-process certificate factory for sigverify's unit tests: keys, CA and end-user
// certificates with exactly the subject, validity, extensions and digest a test needs (including
// the broken ones: SHA-1, RSA-1024, wrong key usage, expired), and CRLs. Built on OpenSSL's own
// X509 API, so what the tests verify is real DER. The end-to-end tests use tools/pki instead.
//
//   TestPki pki;
//   TestCert root = pki.Root("Vietnam National Root CA (TEST)");
//   TestCert ca = pki.Intermediate(root, "VNPT Certification Authority (TEST)");
//   CertSpec spec = CertSpec::Leaf({{"CN", "Nguyễn Văn An"}, {"UID", "CCCD:001099012345"}});
//   TestCert user = pki.Issue(ca, spec);
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dvc::sigverify::testing {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
using PkeyPtr = std::shared_ptr<EVP_PKEY>;
using X509Ptr = std::shared_ptr<X509>;

enum class KeyType { kRsa2048, kRsa1024, kRsa4096, kEcP256 };

// Key usage bits (keyUsage extension); 0 = no keyUsage extension at all.
enum KeyUsageBits : int {
  kDigitalSignature = 1 << 0,
  kNonRepudiation = 1 << 1,
  kKeyEncipherment = 1 << 2,
  kKeyCertSign = 1 << 3,
  kCrlSign = 1 << 4,
};

struct CertSpec {
  // Subject attributes in order, (short name or OID, UTF-8 value): "C", "ST", "L", "O", "OU",
  // "CN", "UID", "emailAddress", "telephoneNumber", … A name may repeat (several UIDs).
  std::vector<std::pair<std::string, std::string>> subject;
  KeyType key_type = KeyType::kRsa2048;
  bool is_ca = false;
  int path_len = -1;  // CA only; -1 = no pathLenConstraint
  bool basic_constraints = true;  // false: omit the extension entirely
  int key_usage = kDigitalSignature | kNonRepudiation;
  std::vector<std::string> extended_key_usage;  // e.g. "OCSPSigning", "clientAuth"
  bool ocsp_no_check = false;
  absl::Time not_before = absl::Now() - absl::Hours(24);
  absl::Time not_after = absl::Now() + absl::Hours(24 * 365);
  const EVP_MD* (*digest)() = EVP_sha256;  // the issuer's signature digest
  std::string ocsp_url;  // AIA id-ad-ocsp, when non-empty
  std::string crl_url;   // CRL distribution point, when non-empty
  uint64_t serial = 0;   // 0 = a fresh unique serial

  static CertSpec Leaf(std::vector<std::pair<std::string, std::string>> subject);
  static CertSpec Ca(std::vector<std::pair<std::string, std::string>> subject, int path_len);
};

struct TestCert {
  X509Ptr cert;
  PkeyPtr key;
  std::string Der() const;
  std::string Pem() const;
  std::string KeyPem() const;  // PKCS#8, unencrypted
  X509* get() const { return cert.get(); }
};

class TestPki final {
 public:
  // A self-signed root (RSA-4096 unless `key_type` says otherwise; RSA-4096 keygen is slow, so
  // tests may pass kRsa2048).
  TestCert Root(const std::string& cn, KeyType key_type = KeyType::kRsa2048);
  TestCert Root(const CertSpec& spec);
  // An intermediate CA (pathLen 0) signed by `issuer`.
  TestCert Intermediate(const TestCert& issuer, const std::string& cn);
  // Any certificate signed by `issuer` with a fresh key of spec.key_type.
  TestCert Issue(const TestCert& issuer, const CertSpec& spec);
  // The same, with a given key (e.g. a rogue CA re-using a name but not a key).
  TestCert IssueWithKey(const TestCert& issuer, const CertSpec& spec, PkeyPtr key);

  // A CRL by `issuer` listing `revoked_serials` (revoked at `this_update`).
  std::shared_ptr<X509_CRL> Crl(const TestCert& issuer, const std::vector<uint64_t>& revoked_serials,
                                absl::Time this_update, absl::Time next_update,
                                const EVP_MD* (*digest)() = EVP_sha256);
  static std::string CrlDer(const X509_CRL* crl);

  // Keys are cached per type and index, so a test suite generates each RSA key once.
  static PkeyPtr Key(KeyType type, int index);
  static PkeyPtr FreshKey(KeyType type);

 private:
  int next_key_index_ = 0;
};

uint64_t SerialOf(const X509* cert);

}  // namespace dvc::sigverify::testing
