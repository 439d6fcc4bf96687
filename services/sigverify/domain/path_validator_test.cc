#include "services/sigverify/domain/path_validator.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <fstream>
#include <sstream>

#include "libs/status/errors.h"
#include "services/sigverify/testing/shared_pki.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using ::dvc::sigverify::testing::CertSpec;
using ::dvc::sigverify::testing::KeyType;
using ::dvc::sigverify::testing::TestCert;
using ::dvc::sigverify::testing::TestPki;
namespace tp = ::dvc::sigverify::testing;

constexpr char kRootCn[] = "Vietnam National Root CA (TEST)";
constexpr char kCaCn[] = "VNPT Certification Authority (TEST)";

std::shared_ptr<const TrustStore> StoreOf(const std::vector<const TestCert*>& certs) {
  std::string pem;
  for (const TestCert* c : certs) pem += c->Pem();
  auto parsed = ParsePemCertificates(pem, "test");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return std::make_shared<const TrustStore>(*std::move(parsed));
}

CertSpec LeafSpec() {
  return CertSpec::Leaf({{"C", "VN"}, {"CN", "Nguyễn Văn An"}, {"UID", "CCCD:001099012345"}});
}

CertSpec CaSpec(const std::string& cn, int path_len) {
  return CertSpec::Ca({{"C", "VN"}, {"O", "DVC Test PKI"}, {"CN", cn}}, path_len);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

bool Contains(const absl::Status& s, absl::string_view what) {
  return Message(s).find(std::string(what)) != std::string::npos;
}

class PathValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = pki_.Root(kRootCn);
    ca_ = pki_.Intermediate(root_, kCaCn);
    leaf_ = pki_.Issue(ca_, LeafSpec());
    store_ = StoreOf({&root_});
  }

  absl::StatusOr<ValidatedPath> Validate(const TestCert& leaf, std::vector<X509Ptr> untrusted,
                                         absl::Time at = absl::Now(), PathPolicy policy = {}) {
    return PathValidator(store_, policy).Validate(leaf.cert, untrusted, at);
  }

  void ExpectReason(const absl::StatusOr<ValidatedPath>& r, absl::string_view reason) {
    ASSERT_FALSE(r.ok()) << "expected " << reason;
    EXPECT_EQ(status::ReasonOf(r.status()), reason) << r.status();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    auto info = status::GetErrorInfo(r.status());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->field, "certificate");
    EXPECT_FALSE(info->message_vi.empty());
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
  }

  TestPki pki_;
  TestCert root_, ca_, leaf_;
  std::shared_ptr<const TrustStore> store_;
};

TEST_F(PathValidatorTest, RootIntermediateLeafValidatesLeafFirstAnchorLast) {
  auto path = Validate(leaf_, {ca_.cert});
  ASSERT_TRUE(path.ok()) << path.status();
  ASSERT_EQ(path->chain.size(), 3u);
  EXPECT_EQ(X509_cmp(path->chain[0].get(), leaf_.get()), 0);
  EXPECT_EQ(X509_cmp(path->chain[1].get(), ca_.get()), 0);
  EXPECT_EQ(X509_cmp(path->chain[2].get(), root_.get()), 0);
  // The chain outlives the validator and the inputs (own references).
  X509Ptr first = path->chain[0];
  path = absl::InternalError("drop");
  EXPECT_NE(X509_get_subject_name(first.get()), nullptr);
}

TEST_F(PathValidatorTest, EcdsaP256LeafValidates) {
  CertSpec spec = LeafSpec();
  spec.key_type = KeyType::kEcP256;
  TestCert ec = pki_.Issue(ca_, spec);
  auto path = Validate(ec, {ca_.cert});
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->chain.size(), 3u);
}

TEST_F(PathValidatorTest, UntrustedOrderAndNullsDoNotMatter) {
  TestCert other_ca = pki_.Intermediate(root_, "Viettel-CA (TEST)");
  auto path = Validate(leaf_, {nullptr, other_ca.cert, ca_.cert, root_.cert});
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->chain.size(), 3u);
}

TEST_F(PathValidatorTest, ConfiguredIntermediateCompletesTheChainButIsNoAnchor) {
  store_ = StoreOf({&root_, &ca_});
  EXPECT_EQ(store_->anchors().size(), 1u);
  EXPECT_EQ(store_->intermediate_pool().size(), 1u);
  auto path = Validate(leaf_, {});
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->chain.size(), 3u);
  // Without the root, the intermediate does not anchor anything (no partial chains).
  store_ = StoreOf({&ca_});
  EXPECT_TRUE(store_->anchors().empty());
  ExpectReason(Validate(leaf_, {}), "CERT_CHAIN_INCOMPLETE");
}

TEST_F(PathValidatorTest, MissingIntermediateIsChainIncomplete) {
  auto r = Validate(leaf_, {});
  ExpectReason(r, "CERT_CHAIN_INCOMPLETE");
  // An unrelated CA does not help.
  TestPki other;
  TestCert other_root = other.Root("Some Other Root");
  TestCert other_ca = other.Intermediate(other_root, "Some Other CA");
  TestCert stranger = other.Issue(other_ca, LeafSpec());
  ExpectReason(Validate(stranger, {other_ca.cert}), "CERT_CHAIN_INCOMPLETE");
}

TEST_F(PathValidatorTest, SelfSignedLeafIsUntrusted) {
  CertSpec spec = LeafSpec();
  TestCert self = pki_.Root(spec);
  auto r = Validate(self, {});
  ExpectReason(r, "CERT_UNTRUSTED");
  EXPECT_TRUE(Contains(r.status(), "self-signed")) << r.status();
}

TEST_F(PathValidatorTest, RogueRootWithTheNationalRootsNameIsUntrusted) {
  // Same subject names as the real root and CA, other keys.
  TestCert rogue_root = pki_.Root(kRootCn);
  ASSERT_EQ(X509_NAME_cmp(X509_get_subject_name(rogue_root.get()),
                          X509_get_subject_name(root_.get())),
            0);
  TestCert rogue_ca = pki_.Intermediate(rogue_root, kCaCn);
  TestCert victim = pki_.Issue(rogue_ca, LeafSpec());

  // Whole rogue chain supplied.
  auto r = Validate(victim, {rogue_ca.cert, rogue_root.cert});
  ExpectReason(r, "CERT_UNTRUSTED");
  EXPECT_TRUE(Contains(r.status(), "another key")) << r.status();
  // Chain without its root: the CA claims the trusted root as issuer, which did not sign it.
  ExpectReason(Validate(victim, {rogue_ca.cert}), "CERT_UNTRUSTED");
  // Even with the genuine CA around, the rogue leaf does not validate.
  ExpectReason(Validate(victim, {ca_.cert, rogue_ca.cert}), "CERT_UNTRUSTED");
  // The rogue root itself.
  ExpectReason(PathValidator(store_, {}).ValidateCa(rogue_root.cert, {}, absl::Now()),
               "CERT_UNTRUSTED");
  // A leaf from the genuine CA still validates with the rogue certificates in the pool.
  EXPECT_TRUE(Validate(leaf_, {rogue_ca.cert, rogue_root.cert, ca_.cert}).ok());
}

TEST_F(PathValidatorTest, LeafInTheNameOfAConfiguredCaButOtherKeyIsUntrusted) {
  store_ = StoreOf({&root_, &ca_});
  TestCert rogue_root = pki_.Root("Rogue");
  TestCert rogue_ca = pki_.Intermediate(rogue_root, kCaCn);
  TestCert victim = pki_.Issue(rogue_ca, LeafSpec());
  ExpectReason(Validate(victim, {}), "CERT_UNTRUSTED");
}

TEST_F(PathValidatorTest, ExpiredAndNotYetValidCertificates) {
  CertSpec expired = LeafSpec();
  expired.not_before = absl::Now() - absl::Hours(24 * 400);
  expired.not_after = absl::Now() - absl::Hours(24);
  auto r = Validate(pki_.Issue(ca_, expired), {ca_.cert});
  ExpectReason(r, "CERT_EXPIRED");
  EXPECT_TRUE(Contains(r.status(), "The certificate expired at")) << r.status();

  CertSpec future = LeafSpec();
  future.not_before = absl::Now() + absl::Hours(24);
  ExpectReason(Validate(pki_.Issue(ca_, future), {ca_.cert}), "CERT_NOT_YET_VALID");

  // An expired intermediate fails the path even though the leaf is within its validity.
  CertSpec old_ca = CaSpec("Old CA", 0);
  old_ca.not_before = absl::Now() - absl::Hours(24 * 400);
  old_ca.not_after = absl::Now() - absl::Hours(1);
  TestCert ca = pki_.Issue(root_, old_ca);
  r = Validate(pki_.Issue(ca, LeafSpec()), {ca.cert});
  ExpectReason(r, "CERT_EXPIRED");
  EXPECT_TRUE(Contains(r.status(), "«Old CA»")) << r.status();

  // An expired root as well.
  CertSpec old_root = CaSpec("Old Root", -1);
  old_root.not_after = absl::Now() - absl::Hours(1);
  TestCert root = pki_.Root(old_root);
  store_ = StoreOf({&root});
  TestCert ca2 = pki_.Intermediate(root, "CA under old root");
  ExpectReason(Validate(pki_.Issue(ca2, LeafSpec()), {ca2.cert}), "CERT_EXPIRED");
}

TEST_F(PathValidatorTest, ValidatesAtAPastTime) {
  const absl::Time now = absl::Now();
  CertSpec root_spec = CaSpec("Long Root", -1);
  root_spec.not_before = now - absl::Hours(24 * 365 * 5);
  TestCert root = pki_.Root(root_spec);
  CertSpec ca_spec = CaSpec("Long CA", 0);
  ca_spec.not_before = now - absl::Hours(24 * 365 * 4);
  TestCert ca = pki_.Issue(root, ca_spec);
  CertSpec leaf_spec = LeafSpec();
  leaf_spec.not_before = now - absl::Hours(24 * 365 * 3);
  leaf_spec.not_after = now - absl::Hours(24 * 365);
  TestCert leaf = pki_.Issue(ca, leaf_spec);
  store_ = StoreOf({&root});

  ExpectReason(Validate(leaf, {ca.cert}, now), "CERT_EXPIRED");
  auto then = Validate(leaf, {ca.cert}, now - absl::Hours(24 * 365 * 2));
  EXPECT_TRUE(then.ok()) << then.status();
  ExpectReason(Validate(leaf, {ca.cert}, now - absl::Hours(24 * 365 * 3 + 24)),
               "CERT_NOT_YET_VALID");
}

TEST_F(PathValidatorTest, TamperedSignatureIsMalformed) {
  std::string der = leaf_.Der();
  der[der.size() - 5] ^= 0x01;  // inside the signature value
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr tampered = AdoptX509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(tampered, nullptr);
  auto r = PathValidator(store_, {}).Validate(tampered, {ca_.cert}, absl::Now());
  ExpectReason(r, "CERT_MALFORMED");
  EXPECT_TRUE(Contains(r.status(), "does not verify")) << r.status();
}

TEST_F(PathValidatorTest, PathDeeperThanMaxDepthIsTooLong) {
  TestCert ca1 = pki_.Issue(root_, CaSpec("Level 1", -1));
  TestCert ca2 = pki_.Issue(ca1, CaSpec("Level 2", -1));
  TestCert ca3 = pki_.Issue(ca2, CaSpec("Level 3", -1));
  TestCert leaf = pki_.Issue(ca3, LeafSpec());
  const std::vector<X509Ptr> chain = {ca1.cert, ca2.cert, ca3.cert};
  EXPECT_TRUE(Validate(leaf, chain, absl::Now(), PathPolicy{.max_depth = 3}).ok());
  ExpectReason(Validate(leaf, chain, absl::Now(), PathPolicy{.max_depth = 2}),
               "CERT_CHAIN_TOO_LONG");
  ExpectReason(Validate(leaf, chain, absl::Now(), PathPolicy{.max_depth = 1}),
               "CERT_CHAIN_TOO_LONG");
}

TEST_F(PathValidatorTest, PathLengthConstraintViolationIsMalformed) {
  // ca_ has pathLen 0: a CA below it may not issue.
  TestCert sub = pki_.Issue(ca_, CaSpec("Sub CA", -1));
  auto r = Validate(pki_.Issue(sub, LeafSpec()), {ca_.cert, sub.cert});
  ExpectReason(r, "CERT_MALFORMED");
  EXPECT_TRUE(Contains(r.status(), "path length")) << r.status();
}

TEST_F(PathValidatorTest, IntermediateWithoutCaTrueIsMalformed) {
  // basicConstraints CA:FALSE, but keyCertSign.
  CertSpec not_ca = CaSpec("Not a CA", -1);
  not_ca.is_ca = false;
  TestCert fake = pki_.Issue(root_, not_ca);
  auto r = Validate(pki_.Issue(fake, LeafSpec()), {fake.cert});
  ExpectReason(r, "CERT_MALFORMED");
  // An ordinary end-user certificate (CA:FALSE, signing key usage) used to issue.
  TestCert user = pki_.Issue(ca_, LeafSpec());
  r = Validate(pki_.Issue(user, LeafSpec()), {user.cert, ca_.cert});
  ExpectReason(r, "CERT_MALFORMED");
  EXPECT_TRUE(Contains(r.status(), "not allowed to issue")) << r.status();
  // No basicConstraints at all.
  CertSpec no_bc = CaSpec("No BC", -1);
  no_bc.basic_constraints = false;
  TestCert nobc = pki_.Issue(root_, no_bc);
  ExpectReason(Validate(pki_.Issue(nobc, LeafSpec()), {nobc.cert}), "CERT_MALFORMED");
}

TEST_F(PathValidatorTest, CaWithoutKeyCertSignIsMalformed) {
  CertSpec spec = CaSpec("CRL-only CA", 0);
  spec.key_usage = tp::kCrlSign | tp::kDigitalSignature;
  TestCert ca = pki_.Issue(root_, spec);
  ExpectReason(Validate(pki_.Issue(ca, LeafSpec()), {ca.cert}), "CERT_MALFORMED");
}

TEST_F(PathValidatorTest, LeafKeyUsageMustAllowSigning) {
  CertSpec enc = LeafSpec();
  enc.key_usage = tp::kKeyEncipherment;
  auto r = Validate(pki_.Issue(ca_, enc), {ca_.cert});
  ExpectReason(r, "CERT_KEY_USAGE");
  EXPECT_TRUE(Contains(r.status(), "digitalSignature")) << r.status();

  CertSpec nr = LeafSpec();
  nr.key_usage = tp::kNonRepudiation;
  EXPECT_TRUE(Validate(pki_.Issue(ca_, nr), {ca_.cert}).ok());
  CertSpec ds = LeafSpec();
  ds.key_usage = tp::kDigitalSignature | tp::kKeyEncipherment;
  EXPECT_TRUE(Validate(pki_.Issue(ca_, ds), {ca_.cert}).ok());
}

TEST_F(PathValidatorTest, WeakSignatureAlgorithmsBelowTheAnchorAreRejected) {
  CertSpec sha1 = LeafSpec();
  sha1.digest = EVP_sha1;
  auto r = Validate(pki_.Issue(ca_, sha1), {ca_.cert});
  ExpectReason(r, "CERT_WEAK_ALGORITHM");
  EXPECT_TRUE(Contains(r.status(), "SHA-1")) << r.status();

  CertSpec md5 = LeafSpec();
  md5.digest = EVP_md5;
  r = Validate(pki_.Issue(ca_, md5), {ca_.cert});
  ExpectReason(r, "CERT_WEAK_ALGORITHM");
  EXPECT_TRUE(Contains(r.status(), "MD5")) << r.status();

  // A SHA-1 intermediate taints the path; the message names it.
  CertSpec ca_spec = CaSpec("SHA1 CA", 0);
  ca_spec.digest = EVP_sha1;
  TestCert sha1_ca = pki_.Issue(root_, ca_spec);
  r = Validate(pki_.Issue(sha1_ca, LeafSpec()), {sha1_ca.cert});
  ExpectReason(r, "CERT_WEAK_ALGORITHM");
  EXPECT_TRUE(Contains(r.status(), "«SHA1 CA»")) << r.status();

  // The anchor's own (self-)signature does not matter.
  CertSpec root_spec = CaSpec("SHA1-self-signed Root", -1);
  root_spec.digest = EVP_sha1;
  TestCert old_root = pki_.Root(root_spec);
  store_ = StoreOf({&old_root});
  TestCert ca = pki_.Intermediate(old_root, "CA under SHA1 root");
  auto ok = Validate(pki_.Issue(ca, LeafSpec()), {ca.cert});
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST_F(PathValidatorTest, WeakKeysAnywhereAreRejected) {
  CertSpec small = LeafSpec();
  small.key_type = KeyType::kRsa1024;
  auto r = Validate(pki_.Issue(ca_, small), {ca_.cert});
  ExpectReason(r, "CERT_WEAK_KEY");
  EXPECT_TRUE(Contains(r.status(), "1024")) << r.status();
  // The policy is configurable.
  EXPECT_TRUE(Validate(pki_.Issue(ca_, small), {ca_.cert}, absl::Now(),
                       PathPolicy{.min_rsa_bits = 1024})
                  .ok());

  TestCert weak_root = pki_.Root("Weak Root", KeyType::kRsa1024);
  store_ = StoreOf({&weak_root});
  TestCert ca = pki_.Intermediate(weak_root, "CA under weak root");
  r = Validate(pki_.Issue(ca, LeafSpec()), {ca.cert});
  ExpectReason(r, "CERT_WEAK_KEY");
  EXPECT_TRUE(Contains(r.status(), "«Weak Root»")) << r.status();
}

TEST_F(PathValidatorTest, BadArguments) {
  auto r = PathValidator(store_, {}).Validate(nullptr, {}, absl::Now());
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_MISSING");
  std::vector<X509Ptr> many(17, ca_.cert);
  ExpectReason(Validate(leaf_, many), "CERT_CHAIN_TOO_LONG");
  // An empty store trusts nothing.
  store_ = std::make_shared<const TrustStore>(std::vector<TrustAnchor>{});
  ExpectReason(Validate(leaf_, {ca_.cert, root_.cert}), "CERT_UNTRUSTED");
}

TEST_F(PathValidatorTest, ValidateCaRequiresACaTarget) {
  auto path = PathValidator(store_, {}).ValidateCa(ca_.cert, {}, absl::Now());
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->chain.size(), 2u);
  // The root alone is a valid path of one.
  path = PathValidator(store_, {}).ValidateCa(root_.cert, {}, absl::Now());
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->chain.size(), 1u);
  // A CA has no document-signing key usage: Validate refuses it as a signer.
  ExpectReason(PathValidator(store_, {}).Validate(ca_.cert, {}, absl::Now()), "CERT_KEY_USAGE");
  ExpectReason(PathValidator(store_, {}).ValidateCa(leaf_.cert, {ca_.cert}, absl::Now()),
               "CERT_KEY_USAGE");
}

TEST_F(PathValidatorTest, FollowsTheHoldersCurrentStore) {
  TrustStoreHolder holder("", store_);
  PathValidator v(&holder, {});
  EXPECT_TRUE(v.Validate(leaf_.cert, {ca_.cert}, absl::Now()).ok());
}

// ---- the real Vietnamese certificates ----

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RealPkiPathTest, VnptCaChainsToTheVietnamNationalRoot) {
  auto dir = tp::SharedPkiRealDir();
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  auto root = TrustStore::Load(*dir + "/vietnam-national-root-ca.pem");
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_EQ((*root)->anchors().size(), 1u);
  auto vnpt = ParsePemCertificates(ReadFile(*dir + "/vnpt-ca-sha2.pem"), "vnpt");
  ASSERT_TRUE(vnpt.ok() && vnpt->size() == 1u);
  const X509Ptr ca = (*vnpt)[0].x509;
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time mid_2025 = absl::FromCivil(absl::CivilDay(2025, 6, 1), utc);

  PathValidator v(*root, {});
  auto path = v.ValidateCa(ca, {}, mid_2025);
  ASSERT_TRUE(path.ok()) << path.status();
  ASSERT_EQ(path->chain.size(), 2u);
  EXPECT_TRUE((*root)->IsAnchor(path->chain[1].get()));
  EXPECT_EQ((*root)->anchors()[0].fingerprint_sha256,
            "bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7");

  // Outside VNPT-CA's validity (2024-08-30 … 2029-08-30).
  auto r = v.ValidateCa(ca, {}, absl::FromCivil(absl::CivilDay(2030, 1, 1), utc));
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_EXPIRED") << r.status();
  r = v.ValidateCa(ca, {}, absl::FromCivil(absl::CivilDay(2020, 1, 1), utc));
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_NOT_YET_VALID") << r.status();

  // The government root does not anchor VNPT-CA.
  auto gov = TrustStore::Load(*dir + "/gov-rootca-g2.pem");
  ASSERT_TRUE(gov.ok()) << gov.status();
  r = PathValidator(*gov, {}).ValidateCa(ca, {}, mid_2025);
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_CHAIN_INCOMPLETE") << r.status();

  // The whole folder: two roots, VNPT-CA as a configured intermediate.
  auto all = TrustStore::Load(*dir);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->anchors().size(), 2u);
  EXPECT_EQ((*all)->intermediates().size(), 1u);
  EXPECT_TRUE(PathValidator(*all, {}).ValidateCa(ca, {}, mid_2025).ok());
}

}  // namespace
}  // namespace dvc::sigverify
