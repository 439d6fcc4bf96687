#include "services/sigverify/testing/test_pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dvc::sigverify::testing {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test_pki: %s: %s\n", what.c_str(),
               ERR_error_string(ERR_get_error(), nullptr));
  std::abort();
}

void Check(bool ok, const std::string& what) {
  if (!ok) Die(what);
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void AddExt(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  Check(ext != nullptr, "extension " + value);
  Check(X509_add_ext(cert, ext, -1) == 1, "add extension");
  X509_EXTENSION_free(ext);
}

std::string KeyUsageText(int bits) {
  std::vector<std::string> parts = {"critical"};
  if (bits & kDigitalSignature) parts.push_back("digitalSignature");
  if (bits & kNonRepudiation) parts.push_back("nonRepudiation");
  if (bits & kKeyEncipherment) parts.push_back("keyEncipherment");
  if (bits & kKeyCertSign) parts.push_back("keyCertSign");
  if (bits & kCrlSign) parts.push_back("cRLSign");
  return absl::StrJoin(parts, ",");
}

std::atomic<uint64_t> g_serial{0x1000};

TestCert Build(const CertSpec& spec, PkeyPtr key, const TestCert* issuer) {
  X509* x = X509_new();
  Check(x != nullptr, "X509_new");
  X509_set_version(x, 2);
  const uint64_t serial = spec.serial != 0 ? spec.serial : g_serial.fetch_add(1);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);

  X509_NAME* name = X509_NAME_new();
  for (const auto& [field, value] : spec.subject) {
    Check(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.data()),
                                     static_cast<int>(value.size()), -1, 0) == 1,
          "subject " + field);
  }
  X509_set_subject_name(x, name);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer->get()) : name);
  X509_NAME_free(name);

  ASN1_TIME_set(X509_getm_notBefore(x), absl::ToTimeT(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x), absl::ToTimeT(spec.not_after));
  Check(X509_set_pubkey(x, key.get()) == 1, "set pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->get() : x, x, nullptr, nullptr, 0);
  if (spec.basic_constraints) {
    std::string bc = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
    if (spec.is_ca && spec.path_len >= 0) absl::StrAppend(&bc, ",pathlen:", spec.path_len);
    AddExt(x, &ctx, NID_basic_constraints, bc);
  }
  if (spec.key_usage != 0) AddExt(x, &ctx, NID_key_usage, KeyUsageText(spec.key_usage));
  if (!spec.extended_key_usage.empty()) {
    AddExt(x, &ctx, NID_ext_key_usage, absl::StrJoin(spec.extended_key_usage, ","));
  }
  AddExt(x, &ctx, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExt(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (spec.ocsp_no_check) AddExt(x, &ctx, NID_id_pkix_OCSP_noCheck, "ignored");
  if (!spec.ocsp_url.empty()) {
    AddExt(x, &ctx, NID_info_access, "OCSP;URI:" + spec.ocsp_url);
  }
  if (!spec.crl_url.empty()) {
    AddExt(x, &ctx, NID_crl_distribution_points, "URI:" + spec.crl_url);
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : key.get();
  Check(X509_sign(x, signer, spec.digest()) > 0, "X509_sign");
  return TestCert{X509Ptr(x, X509Free()), std::move(key)};
}

}  // namespace

CertSpec CertSpec::Leaf(std::vector<std::pair<std::string, std::string>> subject) {
  CertSpec spec;
  spec.subject = std::move(subject);
  return spec;
}

CertSpec CertSpec::Ca(std::vector<std::pair<std::string, std::string>> subject, int path_len) {
  CertSpec spec;
  spec.subject = std::move(subject);
  spec.is_ca = true;
  spec.path_len = path_len;
  spec.key_usage = kKeyCertSign | kCrlSign;
  spec.not_before = absl::Now() - absl::Hours(24 * 365);
  spec.not_after = absl::Now() + absl::Hours(24 * 365 * 10);
  return spec;
}

std::string TestCert::Der() const {
  unsigned char* buf = nullptr;
  int n = i2d_X509(cert.get(), &buf);
  Check(n > 0, "i2d_X509");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

std::string TestCert::Pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, cert.get()) == 1, "PEM_write_bio_X509");
  return BioToString(bio);
}

std::string TestCert::KeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return BioToString(bio);
}

PkeyPtr TestPki::FreshKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kRsa1024: key = EVP_RSA_gen(1024); break;
    case KeyType::kRsa2048: key = EVP_RSA_gen(2048); break;
    case KeyType::kRsa4096: key = EVP_RSA_gen(4096); break;
    case KeyType::kEcP256: key = EVP_EC_gen("P-256"); break;
  }
  Check(key != nullptr, "key generation");
  return PkeyPtr(key, EvpPkeyFree());
}

PkeyPtr TestPki::Key(KeyType type, int index) {
  static std::mutex mu;
  static auto* cache = new std::map<std::pair<int, int>, PkeyPtr>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*cache)[{static_cast<int>(type), index}];
  if (slot == nullptr) slot = FreshKey(type);
  return slot;
}

TestCert TestPki::Root(const std::string& cn, KeyType key_type) {
  CertSpec spec = CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", cn}}, -1);
  spec.key_type = key_type;
  return Root(spec);
}

TestCert TestPki::Root(const CertSpec& spec) {
  return Build(spec, Key(spec.key_type, next_key_index_++), nullptr);
}

TestCert TestPki::Intermediate(const TestCert& issuer, const std::string& cn) {
  return Issue(issuer, CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", cn}}, 0));
}

TestCert TestPki::Issue(const TestCert& issuer, const CertSpec& spec) {
  return Build(spec, Key(spec.key_type, next_key_index_++), &issuer);
}

TestCert TestPki::IssueWithKey(const TestCert& issuer, const CertSpec& spec, PkeyPtr key) {
  return Build(spec, std::move(key), &issuer);
}

std::shared_ptr<X509_CRL> TestPki::Crl(const TestCert& issuer,
                                       const std::vector<uint64_t>& revoked_serials,
                                       absl::Time this_update, absl::Time next_update,
                                       const EVP_MD* (*digest)()) {
  X509_CRL* crl = X509_CRL_new();
  Check(crl != nullptr, "X509_CRL_new");
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.get()));
  ASN1_TIME* t = ASN1_TIME_set(nullptr, absl::ToTimeT(this_update));
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_set(t, absl::ToTimeT(next_update));
  X509_CRL_set1_nextUpdate(crl, t);
  for (uint64_t serial : revoked_serials) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set_uint64(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    ASN1_TIME_set(t, absl::ToTimeT(this_update));
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl, r);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  Check(X509_CRL_sign(crl, issuer.key.get(), digest()) > 0, "X509_CRL_sign");
  return std::shared_ptr<X509_CRL>(crl, X509CrlFree());
}

std::string TestPki::CrlDer(const X509_CRL* crl) {
  unsigned char* buf = nullptr;
  int n = i2d_X509_CRL(const_cast<X509_CRL*>(crl), &buf);
  Check(n > 0, "i2d_X509_CRL");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

uint64_t SerialOf(const X509* cert) {
  uint64_t v = 0;
  ASN1_INTEGER_get_uint64(&v, X509_get0_serialNumber(cert));
  return v;
}

}  // namespace dvc::sigverify::testing
