#include "services/sigverify/domain/signature.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <string>

#include "libs/status/errors.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using ::dvc::sigverify::testing::CertSpec;
using ::dvc::sigverify::testing::KeyType;
using ::dvc::sigverify::testing::TestCert;
using ::dvc::sigverify::testing::TestPki;

constexpr char kData[] = "dvc-login-challenge:8f14e45fceea167a5a36dedd4bea2543";

// ---- signing helpers (the test key does what a token or a remote signer would) ----

std::string SignRaw(const TestCert& who, absl::string_view data, int padding = 0,
                    int salt_len = 32) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, who.key.get()), 1);
  if (padding != 0) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 1);
    if (padding == RSA_PKCS1_PSS_PADDING) {
      EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len), 1);
      EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
    }
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                           data.size()),
            1);
  sig.resize(len);
  return sig;
}

struct CmsOptions {
  bool detached = true;
  bool embed_signer = true;
  bool signed_attributes = true;
  const EVP_MD* md = nullptr;  // default SHA-256
  const TestCert* second_signer = nullptr;
  std::vector<const TestCert*> extra_certs;
};

std::string SignCms(const TestCert& who, absl::string_view data, const CmsOptions& o = {}) {
  unsigned int flags = CMS_BINARY | CMS_PARTIAL;
  if (o.detached) flags |= CMS_DETACHED;
  BIO* in = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  CMS_ContentInfo* cms = CMS_sign(nullptr, nullptr, nullptr, in, flags);
  EXPECT_NE(cms, nullptr);
  unsigned int signer_flags = CMS_BINARY;
  if (!o.embed_signer) signer_flags |= CMS_NOCERTS;
  if (!o.signed_attributes) signer_flags |= CMS_NOATTR;
  EXPECT_NE(CMS_add1_signer(cms, who.get(), who.key.get(), o.md != nullptr ? o.md : EVP_sha256(),
                            signer_flags),
            nullptr);
  if (o.second_signer != nullptr) {
    EXPECT_NE(CMS_add1_signer(cms, o.second_signer->get(), o.second_signer->key.get(),
                              EVP_sha256(), signer_flags),
              nullptr);
  }
  for (const TestCert* c : o.extra_certs) EXPECT_EQ(CMS_add1_cert(cms, c->get()), 1);
  EXPECT_EQ(BIO_reset(in), 1);
  EXPECT_EQ(CMS_final(cms, in, nullptr, flags), 1);
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(cms, &der);
  EXPECT_GT(n, 0);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  CMS_ContentInfo_free(cms);
  BIO_free(in);
  return out;
}

class SignatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    root_ = new TestCert(pki_->Root("Root"));
    ca_ = new TestCert(pki_->Intermediate(*root_, "CA"));
    rsa_ = new TestCert(pki_->Issue(*ca_, CertSpec::Leaf({{"CN", "Nguyễn Văn An"}})));
    rsa2_ = new TestCert(pki_->Issue(*ca_, CertSpec::Leaf({{"CN", "Trần Thị Bình"}})));
    CertSpec ec = CertSpec::Leaf({{"CN", "Lê Văn Cường"}});
    ec.key_type = KeyType::kEcP256;
    ec_ = new TestCert(pki_->Issue(*ca_, ec));
  }

  static void ExpectReason(const absl::StatusOr<VerifiedSignature>& r, absl::string_view reason,
                           absl::string_view field = "signature") {
    ASSERT_FALSE(r.ok()) << "expected " << reason;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_EQ(status::ReasonOf(r.status()), reason) << r.status();
    auto info = status::GetErrorInfo(r.status());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->field, field);
    EXPECT_FALSE(info->message_vi.empty());
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
  }

  static bool Contains(const absl::StatusOr<VerifiedSignature>& r, absl::string_view what) {
    return std::string(r.status().message()).find(std::string(what)) != std::string::npos;
  }

  static TestPki* pki_;
  static TestCert *root_, *ca_, *rsa_, *rsa2_, *ec_;
};

TestPki* SignatureTest::pki_;
TestCert *SignatureTest::root_, *SignatureTest::ca_, *SignatureTest::rsa_, *SignatureTest::rsa2_,
    *SignatureTest::ec_;

// ---- raw formats ----

TEST_F(SignatureTest, Pkcs1HappyPathAndOtherData) {
  const std::string sig = SignRaw(*rsa_, kData, RSA_PKCS1_PADDING);
  auto ok = VerifySignature(kData, sig, SignatureFormat::kPkcs1Sha256, rsa_->cert);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->signer, rsa_->cert);
  EXPECT_TRUE(ok->embedded.empty());
  ExpectReason(VerifySignature("other data", sig, SignatureFormat::kPkcs1Sha256, rsa_->cert),
               "SIGNATURE_INVALID");
  // Someone else's certificate.
  ExpectReason(VerifySignature(kData, sig, SignatureFormat::kPkcs1Sha256, rsa2_->cert),
               "SIGNATURE_INVALID");
  // A PKCS#1 signature is not a PSS signature.
  ExpectReason(VerifySignature(kData, sig, SignatureFormat::kPssSha256, rsa_->cert),
               "SIGNATURE_INVALID");
}

TEST_F(SignatureTest, PssAcceptsAnySaltLength) {
  for (int salt : {32, 0, 20, RSA_PSS_SALTLEN_MAX}) {
    const std::string sig = SignRaw(*rsa_, kData, RSA_PKCS1_PSS_PADDING, salt);
    auto ok = VerifySignature(kData, sig, SignatureFormat::kPssSha256, rsa_->cert);
    EXPECT_TRUE(ok.ok()) << "salt " << salt << ": " << ok.status();
    ExpectReason(VerifySignature("x", sig, SignatureFormat::kPssSha256, rsa_->cert),
                 "SIGNATURE_INVALID");
    ExpectReason(VerifySignature(kData, sig, SignatureFormat::kPkcs1Sha256, rsa_->cert),
                 "SIGNATURE_INVALID");
  }
}

TEST_F(SignatureTest, EcdsaHappyPathAndStrictDer) {
  const std::string sig = SignRaw(*ec_, kData);
  auto ok = VerifySignature(kData, sig, SignatureFormat::kEcdsaSha256, ec_->cert);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ExpectReason(VerifySignature("other", sig, SignatureFormat::kEcdsaSha256, ec_->cert),
               "SIGNATURE_INVALID");
  // Trailing byte, truncation, raw r||s: not DER.
  ExpectReason(VerifySignature(kData, sig + '\0', SignatureFormat::kEcdsaSha256, ec_->cert),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, sig.substr(0, sig.size() - 1),
                               SignatureFormat::kEcdsaSha256, ec_->cert),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, std::string(64, '\x11'), SignatureFormat::kEcdsaSha256,
                               ec_->cert),
               "SIGNATURE_MALFORMED");
}

TEST_F(SignatureTest, KeyTypeMustMatchTheFormat) {
  const std::string rsa_sig = SignRaw(*rsa_, kData, RSA_PKCS1_PADDING);
  const std::string ec_sig = SignRaw(*ec_, kData);
  auto r = VerifySignature(kData, rsa_sig, SignatureFormat::kEcdsaSha256, rsa_->cert);
  ExpectReason(r, "SIGNATURE_MALFORMED");
  EXPECT_TRUE(Contains(r, "RSA")) << r.status();
  ExpectReason(VerifySignature(kData, ec_sig, SignatureFormat::kPkcs1Sha256, ec_->cert),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, ec_sig, SignatureFormat::kPssSha256, ec_->cert),
               "SIGNATURE_MALFORMED");
}

TEST_F(SignatureTest, TruncatedOrPaddedRsaSignatureIsMalformed) {
  const std::string sig = SignRaw(*rsa_, kData, RSA_PKCS1_PADDING);
  ExpectReason(VerifySignature(kData, sig.substr(0, sig.size() - 1),
                               SignatureFormat::kPkcs1Sha256, rsa_->cert),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, sig + "x", SignatureFormat::kPkcs1Sha256, rsa_->cert),
               "SIGNATURE_MALFORMED");
  // Right length, wrong bytes.
  std::string flipped = sig;
  flipped[10] ^= 0x40;
  ExpectReason(VerifySignature(kData, flipped, SignatureFormat::kPkcs1Sha256, rsa_->cert),
               "SIGNATURE_INVALID");
}

TEST_F(SignatureTest, RawFormatsNeedTheSignerCertificate) {
  const std::string sig = SignRaw(*rsa_, kData, RSA_PKCS1_PADDING);
  for (auto f : {SignatureFormat::kPkcs1Sha256, SignatureFormat::kPssSha256,
                 SignatureFormat::kEcdsaSha256}) {
    ExpectReason(VerifySignature(kData, sig, f, nullptr), "CERT_MISSING", "certificate");
  }
}

TEST_F(SignatureTest, EmptyAndOversizedSignatures) {
  for (auto f : {SignatureFormat::kPkcs1Sha256, SignatureFormat::kPssSha256,
                 SignatureFormat::kEcdsaSha256, SignatureFormat::kCmsAttached,
                 SignatureFormat::kCmsDetached}) {
    ExpectReason(VerifySignature(kData, "", f, rsa_->cert), "SIGNATURE_MALFORMED");
    auto r = VerifySignature(kData, std::string(kMaxSignatureBytes + 1, '\x30'), f, rsa_->cert);
    ExpectReason(r, "SIGNATURE_MALFORMED");
    EXPECT_TRUE(Contains(r, "64 KiB")) << r.status();
  }
  // Empty data is still data: a signature over "" verifies, and not over anything else.
  const std::string sig = SignRaw(*rsa_, "", RSA_PKCS1_PADDING);
  EXPECT_TRUE(VerifySignature("", sig, SignatureFormat::kPkcs1Sha256, rsa_->cert).ok());
  ExpectReason(VerifySignature(kData, sig, SignatureFormat::kPkcs1Sha256, rsa_->cert),
               "SIGNATURE_INVALID");
}

// ---- CMS ----

TEST_F(SignatureTest, CmsDetachedHappyPathFindsTheEmbeddedSigner) {
  const std::string cms = SignCms(*rsa_, kData, {.extra_certs = {ca_}});
  auto ok = VerifySignature(kData, cms, SignatureFormat::kCmsDetached, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_NE(ok->signer, nullptr);
  EXPECT_EQ(X509_cmp(ok->signer.get(), rsa_->get()), 0);
  EXPECT_EQ(ok->embedded.size(), 2u);  // signer + CA
  // With the same certificate supplied.
  EXPECT_TRUE(VerifySignature(kData, cms, SignatureFormat::kCmsDetached, rsa_->cert).ok());
  // Over other data.
  auto bad = VerifySignature("other data", cms, SignatureFormat::kCmsDetached, nullptr);
  ExpectReason(bad, "SIGNATURE_INVALID");
}

TEST_F(SignatureTest, CmsAttachedHappyPathAndContentMismatch) {
  const std::string cms = SignCms(*rsa_, kData, {.detached = false});
  auto ok = VerifySignature(kData, cms, SignatureFormat::kCmsAttached, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(X509_cmp(ok->signer.get(), rsa_->get()), 0);
  // The embedded content is signed validly, but is not what we asked to be signed.
  auto r = VerifySignature("another challenge", cms, SignatureFormat::kCmsAttached, nullptr);
  ExpectReason(r, "SIGNATURE_INVALID");
  EXPECT_TRUE(Contains(r, "content")) << r.status();
  // A prefix of the content is not the content.
  ExpectReason(VerifySignature(std::string(kData).substr(0, 10), cms,
                               SignatureFormat::kCmsAttached, nullptr),
               "SIGNATURE_INVALID");
}

TEST_F(SignatureTest, CmsWithEcdsaSigner) {
  const std::string cms = SignCms(*ec_, kData);
  auto ok = VerifySignature(kData, cms, SignatureFormat::kCmsDetached, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(X509_cmp(ok->signer.get(), ec_->get()), 0);
}

TEST_F(SignatureTest, CmsFormatMustMatchAttachedOrDetached) {
  ExpectReason(VerifySignature(kData, SignCms(*rsa_, kData, {.detached = false}),
                               SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, SignCms(*rsa_, kData), SignatureFormat::kCmsAttached,
                               nullptr),
               "SIGNATURE_MALFORMED");
}

TEST_F(SignatureTest, CmsSignerNotEmbeddedUsesTheSuppliedCertificate) {
  const std::string cms = SignCms(*rsa_, kData, {.embed_signer = false});
  auto ok = VerifySignature(kData, cms, SignatureFormat::kCmsDetached, rsa_->cert);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->embedded.empty());
  EXPECT_EQ(ok->signer, rsa_->cert);
  ExpectReason(VerifySignature(kData, cms, SignatureFormat::kCmsDetached, nullptr),
               "CERT_MISSING", "certificate");
}

TEST_F(SignatureTest, CmsSignedByAnotherCertificateThanSupplied) {
  // Embedded signer rsa_, but the caller says the signer is rsa2_.
  auto r = VerifySignature(kData, SignCms(*rsa_, kData), SignatureFormat::kCmsDetached,
                           rsa2_->cert);
  ExpectReason(r, "SIGNATURE_INVALID");
  EXPECT_TRUE(Contains(r, "another certificate")) << r.status();
  // Not embedded, wrong certificate supplied.
  ExpectReason(VerifySignature(kData, SignCms(*rsa_, kData, {.embed_signer = false}),
                               SignatureFormat::kCmsDetached, rsa2_->cert),
               "SIGNATURE_INVALID");
  // A CMS that carries the supplied certificate, but signed by someone else.
  ExpectReason(VerifySignature(kData, SignCms(*rsa_, kData, {.extra_certs = {rsa2_}}),
                               SignatureFormat::kCmsDetached, rsa2_->cert),
               "SIGNATURE_INVALID");
}

TEST_F(SignatureTest, CmsWeakDigestIsInvalid) {
  auto r = VerifySignature(kData, SignCms(*rsa_, kData, {.md = EVP_sha1()}),
                           SignatureFormat::kCmsDetached, nullptr);
  ExpectReason(r, "SIGNATURE_INVALID");
  EXPECT_TRUE(Contains(r, "SHA-1")) << r.status();
  // SHA-384/512 are fine.
  EXPECT_TRUE(VerifySignature(kData, SignCms(*rsa_, kData, {.md = EVP_sha512()}),
                              SignatureFormat::kCmsDetached, nullptr)
                  .ok());
}

TEST_F(SignatureTest, CmsStructureRequirements) {
  // No signed attributes (no messageDigest).
  ExpectReason(VerifySignature(kData, SignCms(*rsa_, kData, {.signed_attributes = false}),
                               SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_MALFORMED");
  // Two signers.
  auto r = VerifySignature(kData, SignCms(*rsa_, kData, {.second_signer = rsa2_}),
                           SignatureFormat::kCmsDetached, nullptr);
  ExpectReason(r, "SIGNATURE_MALFORMED");
  EXPECT_TRUE(Contains(r, "exactly one signer")) << r.status();
  // Not SignedData: a plain id-data ContentInfo.
  BIO* in = BIO_new_mem_buf(kData, sizeof(kData) - 1);
  CMS_ContentInfo* plain = CMS_data_create(in, CMS_BINARY);
  ASSERT_NE(plain, nullptr);
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(plain, &der);
  const std::string plain_der(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  CMS_ContentInfo_free(plain);
  BIO_free(in);
  ExpectReason(VerifySignature(kData, plain_der, SignatureFormat::kCmsAttached, nullptr),
               "SIGNATURE_MALFORMED");
}

TEST_F(SignatureTest, GarbageAndTruncatedCmsAreMalformedNeverACrash) {
  const std::string cms = SignCms(*rsa_, kData, {.extra_certs = {ca_}});
  ExpectReason(VerifySignature(kData, "not a cms at all", SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_MALFORMED");
  ExpectReason(VerifySignature(kData, cms + "trailing", SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_MALFORMED");
  // PEM is not accepted (DER only).
  ExpectReason(VerifySignature(kData, "-----BEGIN CMS-----\nMIIB\n-----END CMS-----\n",
                               SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_MALFORMED");
  for (size_t len = 1; len < cms.size(); len += 7) {
    auto r = VerifySignature(kData, cms.substr(0, len), SignatureFormat::kCmsDetached, nullptr);
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(status::ReasonOf(r.status()), "SIGNATURE_MALFORMED") << len << " " << r.status();
  }
  // Single-byte corruptions anywhere: never a crash, and never OK inside the signed parts.
  int rejected = 0;
  for (size_t i = 0; i < cms.size(); i += 3) {
    std::string bad = cms;
    bad[i] ^= 0x5a;
    auto r = VerifySignature(kData, bad, SignatureFormat::kCmsDetached, nullptr);
    if (!r.ok()) ++rejected;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
  EXPECT_GT(rejected, static_cast<int>(cms.size() / 3 / 2));
  // The last bytes are the signature value: flipping one must fail verification.
  std::string bad = cms;
  bad[bad.size() - 3] ^= 0x01;
  ExpectReason(VerifySignature(kData, bad, SignatureFormat::kCmsDetached, nullptr),
               "SIGNATURE_INVALID");
}

}  // namespace
}  // namespace dvc::sigverify
