// Drives a real SoftHSM2 token through the PKCS#11 module. The fixture builds, under
// $TEST_TMPDIR, a SoftHSM2 configuration with its own token directory and two tokens:
//   "Signer Token 1"  — RSA-2048 key+cert (id a1b2), EC P-256 key+cert (id 0e0c), and a
//                       certificate without a private key (id c0ffee);
//   "Other Signer Token" — RSA-2048 key+cert (id b0).
// Keys are imported with softhsm2-util (non-extractable), certificates with pkcs11-tool.
#include "tools/usb_signer/pkcs11_token.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace dvc::usb_signer {
namespace {

constexpr char kToken1[] = "Signer Token 1";
// Not "Signer Token 12": pkcs11-tool --token-label matches by prefix and could write token 1's
// objects to it.
constexpr char kToken2[] = "Other Signer Token";
constexpr char kPin[] = "123456";
constexpr char kSoPin[] = "12345678";
constexpr char kRsaId[] = "a1b2";
constexpr char kEcId[] = "0e0c";
constexpr char kOrphanId[] = "c0ffee";
constexpr char kToken2Id[] = "b0";
// openssl -subj order is CN, O, C; RFC 2253 prints the last RDN first.
constexpr char kRsaSubject[] = "C=VN,O=Công ty Cổ phần A\\, B,CN=Nguyễn Văn An";
constexpr char kEcSubject[] = "C=VN,CN=Trần Thị Bình";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FindSoftHsmModule() {
  if (const char* env = std::getenv("SOFTHSM2_MODULE"); env != nullptr && *env != '\0') {
    return env;
  }
  for (const char* p :
       {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib64/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"}) {
    struct stat st;
    if (stat(p, &st) == 0) return p;
  }
  return "";
}

class Pkcs11TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    error_ = new std::string();
    module_ = new std::string(FindSoftHsmModule());
    dir_ = new std::string();
    if (module_->empty()) {
      *error_ = "libsofthsm2.so not found (apt-get install softhsm2)";
      return;
    }
    const char* tmp = std::getenv("TEST_TMPDIR");
    if (tmp == nullptr) {
      *error_ = "TEST_TMPDIR is not set (run under bazel test)";
      return;
    }
    *dir_ = absl::StrCat(tmp, "/hsm");
    *error_ = Build();
  }

  // Returns "" on success, else what failed.
  static std::string Build() {
    const std::string& d = *dir_;
    if (std::system(absl::StrCat("rm -rf '", d, "' && mkdir -p '", d, "/tokens'").c_str()) != 0) {
      return "mkdir failed";
    }
    {
      std::ofstream conf(d + "/softhsm2.conf");
      conf << "directories.tokendir = " << d << "/tokens\n"
           << "objectstore.backend = file\n"
           << "log.level = ERROR\n"
           << "slots.removable = false\n";
    }
    setenv("SOFTHSM2_CONF", (d + "/softhsm2.conf").c_str(), 1);
    const std::string log = d + "/setup.log";
    auto run = [&](const std::string& cmd) -> bool {
      std::string full =
          absl::StrCat("cd '", d, "' && OPENSSL_CONF=/dev/null ", cmd, " >>'", log, "' 2>&1");
      return std::system(full.c_str()) == 0;
    };
    const std::string p11 = absl::StrCat("pkcs11-tool --module '", *module_, "' --login --pin ",
                                         kPin, " --token-label ");
    std::vector<std::string> steps = {
        absl::StrCat("softhsm2-util --init-token --free --label '", kToken1, "' --pin ", kPin,
                     " --so-pin ", kSoPin),
        absl::StrCat("softhsm2-util --init-token --free --label '", kToken2, "' --pin ", kPin,
                     " --so-pin ", kSoPin),
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem",
        "openssl req -x509 -new -utf8 -key rsa.pem -days 30 -outform DER -out rsa.der "
        "-subj '/CN=Nguyễn Văn An/O=Công ty Cổ phần A, B/C=VN'",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem",
        "openssl req -x509 -new -utf8 -key ec.pem -days 30 -outform DER -out ec.der "
        "-subj '/CN=Trần Thị Bình/C=VN'",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem",
        "openssl req -x509 -new -key rsa2.pem -days 60 -outform DER -out rsa2.der "
        "-subj '/CN=Second Token/C=VN'",
        absl::StrCat("softhsm2-util --import rsa.pem --token '", kToken1, "' --id ", kRsaId,
                     " --label rsa-key --pin ", kPin),
        absl::StrCat("softhsm2-util --import ec.pem --token '", kToken1, "' --id ", kEcId,
                     " --label ec-key --pin ", kPin),
        absl::StrCat("softhsm2-util --import rsa2.pem --token '", kToken2, "' --id ", kToken2Id,
                     " --label other-key --pin ", kPin),
        absl::StrCat(p11, "'", kToken1, "' --write-object rsa.der --type cert --id ", kRsaId,
                     " --label rsa-cert"),
        absl::StrCat(p11, "'", kToken1, "' --write-object ec.der --type cert --id ", kEcId,
                     " --label ec-cert"),
        absl::StrCat(p11, "'", kToken1, "' --write-object rsa2.der --type cert --id ", kOrphanId,
                     " --label orphan-cert"),
        absl::StrCat(p11, "'", kToken2, "' --write-object rsa2.der --type cert --id ", kToken2Id,
                     " --label other-cert"),
    };
    for (const std::string& step : steps) {
      if (!run(step)) return absl::StrCat("setup step failed: ", step, "\n", ReadFile(log));
    }
    return "";
  }

  void SetUp() override { ASSERT_TRUE(error_->empty()) << *error_; }

  static std::unique_ptr<Pkcs11Token> OpenOrDie(const std::string& label) {
    auto token = Pkcs11Token::Open(*module_, label, kPin);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *std::move(token) : nullptr;
  }

  static std::string CertDer(const std::string& name) { return ReadFile(*dir_ + "/" + name); }

  static std::string* error_;
  static std::string* module_;
  static std::string* dir_;
};

std::string* Pkcs11TokenTest::error_ = nullptr;
std::string* Pkcs11TokenTest::module_ = nullptr;
std::string* Pkcs11TokenTest::dir_ = nullptr;

// --- OpenSSL verification helpers -----------------------------------------------------------

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr ParseDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, der.size()));
}

enum class Padding { kNone, kPkcs1, kPss };

// EVP_DigestVerify with SHA-256; for PSS the salt length must be exactly 32 and MGF1-SHA256.
bool VerifyRaw(const std::string& cert_der, const std::string& data, const std::string& sig,
               Padding padding) {
  X509Ptr x = ParseDer(cert_der);
  if (x == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, X509_get0_pubkey(x.get())) == 1;
  if (ok && padding == Padding::kPss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1;
  } else if (ok && padding == Padding::kPkcs1) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  ok =
      ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

struct CmsCheck {
  bool verified = false;
  std::string content;        // what CMS_verify output
  bool has_econtent = false;  // content embedded
  int certificates = 0;       // certificates carried
  bool signer_cert_matches = false;
  bool has_content_type = false, has_signing_time = false, has_message_digest = false;
  bool sha256 = false;
  long version = -1;
};

// CMS_verify with the signer certificate as the only candidate (no chain building: the test
// certificates are self-signed; chain validation is sigverify's job).
CmsCheck VerifyCms(const std::string& der, const std::string& cert_der,
                   const std::string* detached_content, unsigned int extra_flags = 0) {
  CmsCheck out;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, der.size());
  if (cms == nullptr) return out;
  X509Ptr cert = ParseDer(cert_der);
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, cert.get());
  X509_STORE* store = X509_STORE_new();
  BIO* in = detached_content == nullptr
                ? nullptr
                : BIO_new_mem_buf(detached_content->data(), detached_content->size());
  BIO* bout = BIO_new(BIO_s_mem());
  out.verified =
      CMS_verify(cms, certs, store, in, bout, CMS_NOVERIFY | CMS_BINARY | extra_flags) == 1;
  char* data = nullptr;
  long n = BIO_get_mem_data(bout, &data);
  if (n > 0) out.content.assign(data, n);
  ASN1_OCTET_STRING** econtent = CMS_get0_content(cms);
  out.has_econtent = econtent != nullptr && *econtent != nullptr;
  STACK_OF(X509)* carried = CMS_get1_certs(cms);
  out.certificates = carried == nullptr ? 0 : sk_X509_num(carried);
  if (out.certificates == 1) {
    out.signer_cert_matches = X509_cmp(sk_X509_value(carried, 0), cert.get()) == 0;
  }
  sk_X509_pop_free(carried, X509_free);
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms);
  if (sk_CMS_SignerInfo_num(sis) == 1) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
    out.has_content_type = CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1) >= 0;
    out.has_signing_time = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0;
    out.has_message_digest = CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) >= 0;
    X509_ALGOR* digest = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, nullptr);
    const ASN1_OBJECT* oid = nullptr;
    if (digest != nullptr) X509_ALGOR_get0(&oid, nullptr, nullptr, digest);
    out.sha256 = oid != nullptr && OBJ_obj2nid(oid) == NID_sha256;
  }
  BIO_free(bout);
  BIO_free(in);
  X509_STORE_free(store);
  sk_X509_free(certs);
  CMS_ContentInfo_free(cms);
  return out;
}

// --- Tests ----------------------------------------------------------------------------------

TEST_F(Pkcs11TokenTest, ListsEveryCertificateWithItsIdSubjectAndKeyType) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  std::vector<TokenCertificate> certs = token->ListCertificates();
  ASSERT_EQ(certs.size(), 3u);
  std::map<std::string, TokenCertificate> by_id;
  for (const auto& c : certs) by_id[c.id] = c;
  ASSERT_EQ(by_id.count(kRsaId), 1u);
  ASSERT_EQ(by_id.count(kEcId), 1u);
  ASSERT_EQ(by_id.count(kOrphanId), 1u);

  const TokenCertificate& rsa = by_id[kRsaId];
  EXPECT_EQ(rsa.label, "rsa-cert");
  EXPECT_EQ(rsa.key_type, KeyType::kRsa);
  EXPECT_EQ(rsa.subject, kRsaSubject);
  EXPECT_EQ(rsa.issuer, kRsaSubject);  // self-signed
  EXPECT_EQ(rsa.der, CertDer("rsa.der"));
  EXPECT_GT(rsa.not_after, absl::Now() + absl::Hours(24 * 29));
  EXPECT_LT(rsa.not_after, absl::Now() + absl::Hours(24 * 31));

  const TokenCertificate& ec = by_id[kEcId];
  EXPECT_EQ(ec.label, "ec-cert");
  EXPECT_EQ(ec.key_type, KeyType::kEc);
  EXPECT_EQ(ec.subject, kEcSubject);
  EXPECT_EQ(ec.der, CertDer("ec.der"));

  EXPECT_EQ(by_id[kOrphanId].subject, "C=VN,CN=Second Token");
}

TEST_F(Pkcs11TokenTest, TokenLabelMatchesExactlyNotByPrefix) {
  auto token = OpenOrDie(kToken2);
  ASSERT_NE(token, nullptr);
  std::vector<TokenCertificate> certs = token->ListCertificates();
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].id, kToken2Id);
  EXPECT_EQ(token->token_label(), kToken2);

  auto prefix = Pkcs11Token::Open(*module_, "Signer Token", kPin);
  EXPECT_EQ(prefix.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dvc::status::ReasonOf(prefix.status()), "TOKEN_NOT_FOUND");
}

TEST_F(Pkcs11TokenTest, Pkcs1SignatureVerifies) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data = "challenge-nonce-0123456789";
  auto sig = token->Sign(kRsaId, data, SignatureFormat::kPkcs1Sha256);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 256u);
  EXPECT_TRUE(VerifyRaw(CertDer("rsa.der"), data, *sig, Padding::kPkcs1));
  EXPECT_FALSE(VerifyRaw(CertDer("rsa.der"), data + "x", *sig, Padding::kPkcs1));
  // Deterministic scheme: same input, same signature.
  auto again = token->Sign(kRsaId, data, SignatureFormat::kPkcs1Sha256);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sig);
}

TEST_F(Pkcs11TokenTest, CertIdIsCaseInsensitiveHex) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  auto sig = token->Sign("A1B2", "x", SignatureFormat::kPkcs1Sha256);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifyRaw(CertDer("rsa.der"), "x", *sig, Padding::kPkcs1));
}

TEST_F(Pkcs11TokenTest, PssSignatureVerifiesWithSalt32) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data = "pss challenge";
  auto sig = token->Sign(kRsaId, data, SignatureFormat::kPssSha256);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifyRaw(CertDer("rsa.der"), data, *sig, Padding::kPss));
  EXPECT_FALSE(VerifyRaw(CertDer("rsa.der"), data, *sig, Padding::kPkcs1));
  auto again = token->Sign(kRsaId, data, SignatureFormat::kPssSha256);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *sig);  // randomised salt
}

TEST_F(Pkcs11TokenTest, EcdsaSignatureIsDerAndVerifies) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data(1000, 'z');
  auto sig = token->Sign(kEcId, data, SignatureFormat::kEcdsaSha256);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_FALSE(sig->empty());
  EXPECT_EQ(static_cast<unsigned char>((*sig)[0]), 0x30);  // SEQUENCE, not raw r||s
  EXPECT_TRUE(VerifyRaw(CertDer("ec.der"), data, *sig, Padding::kNone));
  EXPECT_FALSE(VerifyRaw(CertDer("ec.der"), data.substr(1), *sig, Padding::kNone));
}

TEST_F(Pkcs11TokenTest, CmsDetachedVerifiesAgainstTheContent) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data = "{\"challenge\":\"abc\",\"rp\":\"dichvucong.gov.vn\"}";
  for (const char* id : {kRsaId, kEcId}) {
    SCOPED_TRACE(id);
    auto sig = token->Sign(id, data, SignatureFormat::kCmsDetached);
    ASSERT_TRUE(sig.ok()) << sig.status();
    const std::string cert = CertDer(std::string(id) == kRsaId ? "rsa.der" : "ec.der");
    CmsCheck c = VerifyCms(*sig, cert, &data);
    EXPECT_TRUE(c.verified);
    EXPECT_FALSE(c.has_econtent);
    EXPECT_EQ(c.certificates, 1);
    EXPECT_TRUE(c.signer_cert_matches);
    EXPECT_TRUE(c.has_content_type);
    EXPECT_TRUE(c.has_signing_time);
    EXPECT_TRUE(c.has_message_digest);
    EXPECT_TRUE(c.sha256);
    const std::string other = data + " ";
    EXPECT_FALSE(VerifyCms(*sig, cert, &other).verified);
  }
}

TEST_F(Pkcs11TokenTest, CmsAttachedCarriesTheContent) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data("binary\0challenge\xff", 17);
  for (const char* id : {kRsaId, kEcId}) {
    SCOPED_TRACE(id);
    auto sig = token->Sign(id, data, SignatureFormat::kCmsAttached);
    ASSERT_TRUE(sig.ok()) << sig.status();
    const std::string cert = CertDer(std::string(id) == kRsaId ? "rsa.der" : "ec.der");
    CmsCheck c = VerifyCms(*sig, cert, nullptr);
    EXPECT_TRUE(c.verified);
    EXPECT_TRUE(c.has_econtent);
    EXPECT_EQ(c.content, data);
    EXPECT_TRUE(c.signer_cert_matches);
    EXPECT_TRUE(c.has_signing_time);
  }
}

TEST_F(Pkcs11TokenTest, CmsSignedByTheWrongCertificateDoesNotVerify) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data = "x";
  auto sig = token->Sign(kRsaId, data, SignatureFormat::kCmsDetached);
  ASSERT_TRUE(sig.ok());
  // Ignoring the embedded certificate: verifies with the right one, not with another.
  EXPECT_TRUE(VerifyCms(*sig, CertDer("rsa.der"), &data, CMS_NOINTERN).verified);
  EXPECT_FALSE(VerifyCms(*sig, CertDer("rsa2.der"), &data, CMS_NOINTERN).verified);
}

TEST_F(Pkcs11TokenTest, CmsCarriesExtraChainCertificatesOnce) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  const std::string data = "x";
  // The signer's own certificate and a repeated one are not added twice.
  auto sig = token->Sign(kRsaId, data, SignatureFormat::kCmsDetached,
                         {CertDer("rsa2.der"), CertDer("rsa.der"), CertDer("rsa2.der")});
  ASSERT_TRUE(sig.ok()) << sig.status();
  CmsCheck c = VerifyCms(*sig, CertDer("rsa.der"), &data);
  EXPECT_TRUE(c.verified);
  EXPECT_EQ(c.certificates, 2);

  auto bad = token->Sign(kRsaId, data, SignatureFormat::kCmsDetached, {"not a certificate"});
  EXPECT_EQ(dvc::status::ReasonOf(bad.status()), "CHAIN_CERT_MALFORMED");
  // Raw formats ignore the chain.
  EXPECT_TRUE(token->Sign(kRsaId, data, SignatureFormat::kPkcs1Sha256, {"junk"}).ok());
}

TEST_F(Pkcs11TokenTest, WrongPinIsRejected) {
  auto token = Pkcs11Token::Open(*module_, kToken1, "000000");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dvc::status::ReasonOf(token.status()), "TOKEN_PIN_INCORRECT");
  // The good PIN still works afterwards.
  EXPECT_NE(OpenOrDie(kToken1), nullptr);
}

TEST_F(Pkcs11TokenTest, WrongPinIsRejectedWhileTheTokenIsAlreadyLoggedIn) {
  auto first = OpenOrDie(kToken1);
  ASSERT_NE(first, nullptr);
  auto second = Pkcs11Token::Open(*module_, kToken1, "654321");
  EXPECT_EQ(dvc::status::ReasonOf(second.status()), "TOKEN_PIN_INCORRECT");
  // The failed attempt did not log the first instance out.
  EXPECT_TRUE(first->Sign(kRsaId, "x", SignatureFormat::kPkcs1Sha256).ok());
}

TEST_F(Pkcs11TokenTest, UnknownAndMalformedCertIds) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  auto unknown = token->Sign("deadbeef", "x", SignatureFormat::kPkcs1Sha256);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dvc::status::ReasonOf(unknown.status()), "TOKEN_CERT_NOT_FOUND");
  // An id of the other token is unknown on this one.
  EXPECT_EQ(
      dvc::status::ReasonOf(token->Sign(kToken2Id, "x", SignatureFormat::kCmsDetached).status()),
      "TOKEN_CERT_NOT_FOUND");
  for (const char* bad : {"", "xyz", "abc", "a1 b2"}) {
    auto s = token->Sign(bad, "x", SignatureFormat::kPkcs1Sha256);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(dvc::status::ReasonOf(s.status()), "CERT_ID_MALFORMED") << bad;
  }
}

TEST_F(Pkcs11TokenTest, CertificateWithoutPrivateKey) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  auto s = token->Sign(kOrphanId, "x", SignatureFormat::kPkcs1Sha256);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dvc::status::ReasonOf(s.status()), "TOKEN_KEY_NOT_FOUND");
}

TEST_F(Pkcs11TokenTest, FormatMustMatchTheKeyType) {
  auto token = OpenOrDie(kToken1);
  ASSERT_NE(token, nullptr);
  for (auto [id, format] :
       std::vector<std::pair<const char*, SignatureFormat>>{{kRsaId, SignatureFormat::kEcdsaSha256},
                                                            {kEcId, SignatureFormat::kPkcs1Sha256},
                                                            {kEcId, SignatureFormat::kPssSha256}}) {
    auto s = token->Sign(id, "x", format);
    EXPECT_EQ(dvc::status::ReasonOf(s.status()), "SIGNATURE_FORMAT_MISMATCH")
        << id << " " << SignatureFormatName(format);
  }
}

TEST_F(Pkcs11TokenTest, UnknownTokenAndMissingModule) {
  auto none = Pkcs11Token::Open(*module_, "No Such Token", kPin);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dvc::status::ReasonOf(none.status()), "TOKEN_NOT_FOUND");

  auto missing = Pkcs11Token::Open(*dir_ + "/no-such-module.so", kToken1, kPin);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dvc::status::ReasonOf(missing.status()), "PKCS11_MODULE_MISSING");

  // A loadable library that is not a PKCS#11 module.
  auto not_p11 = Pkcs11Token::Open("libz.so.1", kToken1, kPin);
  EXPECT_EQ(dvc::status::ReasonOf(not_p11.status()), "PKCS11_MODULE_MISSING");
}

TEST_F(Pkcs11TokenTest, SeveralInstancesShareTheModule) {
  auto a1 = OpenOrDie(kToken1);
  auto a2 = OpenOrDie(kToken1);
  auto b = OpenOrDie(kToken2);
  ASSERT_TRUE(a1 && a2 && b);
  EXPECT_TRUE(a1->Sign(kRsaId, "1", SignatureFormat::kPkcs1Sha256).ok());
  EXPECT_TRUE(b->Sign(kToken2Id, "1", SignatureFormat::kPkcs1Sha256).ok());
  a1.reset();  // must neither finalise the module nor log a2 out
  auto s = a2->Sign(kRsaId, "2", SignatureFormat::kPkcs1Sha256);
  EXPECT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(b->Sign(kToken2Id, "2", SignatureFormat::kCmsDetached).ok());
  a2.reset();
  b.reset();  // last one: C_Finalize
  // The module can be initialised again afterwards.
  auto again = OpenOrDie(kToken1);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->Sign(kEcId, "3", SignatureFormat::kEcdsaSha256).ok());
}

TEST_F(Pkcs11TokenTest, PrivateKeysAreSensitiveAndNotExtractable) {
  // The premise of "the key never leaves the token": pkcs11-tool lists the access flags of each
  // private key ("sensitive", "extractable", ...). Both keys of token 1 must be sensitive and
  // must not be extractable.
  std::string cmd = absl::StrCat("pkcs11-tool --module '", *module_, "' --login --pin ", kPin,
                                 " --token-label '", kToken1, "' -O --type privkey 2>/dev/null");
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), f) != nullptr) out += buf;
  ASSERT_EQ(pclose(f), 0) << out;
  int keys = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    size_t pos = line.find("Access:");
    if (pos == std::string::npos) continue;
    ++keys;
    std::vector<std::string> flags;
    std::istringstream parts(line.substr(pos + 7));
    for (std::string part; std::getline(parts, part, ',');) {
      part.erase(0, part.find_first_not_of(' '));
      flags.push_back(part);
    }
    EXPECT_NE(std::find(flags.begin(), flags.end(), "sensitive"), flags.end()) << line;
    EXPECT_EQ(std::find(flags.begin(), flags.end(), "extractable"), flags.end()) << line;
  }
  EXPECT_EQ(keys, 2) << out;
}

// --- Pure helpers -----------------------------------------------------------------------------

TEST(EcdsaRawToDer, ConvertsRAndSIncludingHighBitAndLeadingZeros) {
  std::string raw(64, '\0');
  raw[0] = static_cast<char>(0xff);  // r has its high bit set → DER needs a 0x00 pad
  raw[31] = 0x01;
  raw[32] = 0x00;  // s has leading zero bytes → DER drops them
  raw[33] = 0x00;
  raw[63] = 0x7f;
  auto der = internal::EcdsaRawToDer(raw);
  ASSERT_TRUE(der.ok()) << der.status();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, der->size());
  ASSERT_NE(sig, nullptr);
  unsigned char r[32], s[32];
  ASSERT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, 32), 32);
  ASSERT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, 32), 32);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(r), 32), raw.substr(0, 32));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(s), 32), raw.substr(32));
  ECDSA_SIG_free(sig);
}

TEST(EcdsaRawToDer, RejectsImpossibleLengths) {
  EXPECT_FALSE(internal::EcdsaRawToDer("").ok());
  EXPECT_FALSE(internal::EcdsaRawToDer(std::string(63, 'a')).ok());
  EXPECT_FALSE(internal::EcdsaRawToDer(std::string(200, 'a')).ok());
  EXPECT_TRUE(internal::EcdsaRawToDer(std::string(132, 'a')).ok());  // P-521
}

TEST(LoginResultToStatus, MapsPinErrors) {
  EXPECT_TRUE(internal::LoginResultToStatus(0x0 /*CKR_OK*/).ok());
  absl::Status incorrect = internal::LoginResultToStatus(0xA0 /*CKR_PIN_INCORRECT*/);
  EXPECT_EQ(incorrect.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dvc::status::ReasonOf(incorrect), "TOKEN_PIN_INCORRECT");
  absl::Status locked = internal::LoginResultToStatus(0xA4 /*CKR_PIN_LOCKED*/);
  EXPECT_EQ(locked.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dvc::status::ReasonOf(locked), "TOKEN_PIN_LOCKED");
  absl::Status device = internal::LoginResultToStatus(0x30 /*CKR_DEVICE_ERROR*/);
  EXPECT_EQ(dvc::status::ReasonOf(device), "PKCS11_ERROR");
  EXPECT_NE(device.message().find("CKR_DEVICE_ERROR"), absl::string_view::npos);
  EXPECT_EQ(internal::CkrName(0x80001234), "CKR_0x80001234");
}

TEST(SignatureFormat, ParsesTheCliNames) {
  for (SignatureFormat f :
       {SignatureFormat::kPkcs1Sha256, SignatureFormat::kPssSha256, SignatureFormat::kEcdsaSha256,
        SignatureFormat::kCmsDetached, SignatureFormat::kCmsAttached}) {
    auto parsed = ParseSignatureFormat(SignatureFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(dvc::status::ReasonOf(ParseSignatureFormat("PKCS1").status()),
            "SIGNATURE_FORMAT_UNKNOWN");
  EXPECT_FALSE(ParseSignatureFormat("").ok());
}

}  // namespace
}  // namespace dvc::usb_signer
