#include "services/sigverify/domain/certificate.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "services/sigverify/testing/shared_pki.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using ::dvc::status::ReasonOf;
using testing::CertSpec;
using testing::KeyType;
using testing::TestCert;
using testing::TestPki;

std::string Sha256Hex(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectReason(const absl::Status& s, const std::string& reason) {
  EXPECT_EQ(ReasonOf(s), reason) << s;
  std::optional<status::ErrorInfo> info = status::GetErrorInfo(s);
  ASSERT_TRUE(info.has_value()) << s;
  EXPECT_EQ(info->field, "certificate");
  EXPECT_FALSE(info->message_vi.empty());
  EXPECT_FALSE(info->message_en.empty());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

class CertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    root_ = new TestCert(pki_->Root("Vietnam National Root CA (TEST)"));
    ca_ = new TestCert(pki_->Intermediate(*root_, "VNPT Certification Authority (TEST)"));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete root_;
    delete pki_;
  }

  static TestCert Issue(std::vector<std::pair<std::string, std::string>> subject) {
    return pki_->Issue(*ca_, CertSpec::Leaf(std::move(subject)));
  }

  // A copy of `cert` changed by `edit`, re-signed by the test CA.
  static TestCert Edited(const TestCert& cert, const std::function<void(X509*)>& edit) {
    X509* copy = X509_dup(cert.get());
    edit(copy);
    EXPECT_GT(X509_sign(copy, ca_->key.get(), EVP_sha256()), 0);
    return TestCert{testing::X509Ptr(copy, X509_free), cert.key};
  }

  static TestPki* pki_;
  static TestCert* root_;
  static TestCert* ca_;
};

TestPki* CertificateTest::pki_ = nullptr;
TestCert* CertificateTest::root_ = nullptr;
TestCert* CertificateTest::ca_ = nullptr;

TEST_F(CertificateTest, ParsesACitizenCertificateFromDerAndPem) {
  TestCert cert = Issue({{"C", "VN"},
                         {"ST", "Hà Nội"},
                         {"L", "Quận Ba Đình"},
                         {"CN", "Nguyễn Văn An"},
                         {"UID", "CCCD:001099012345"}});
  absl::StatusOr<ParsedCertificate> der = ParseCertificate(cert.Der());
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_EQ(der->der, cert.Der());
  EXPECT_EQ(der->fingerprint_sha256, Sha256Hex(cert.Der()));
  EXPECT_EQ(der->subject, "UID=CCCD:001099012345,CN=Nguyễn Văn An,L=Quận Ba Đình,ST=Hà Nội,C=VN");
  EXPECT_EQ(der->issuer, "CN=VNPT Certification Authority (TEST),O=DVC Test PKI,C=VN");
  EXPECT_EQ(der->issuer_common_name, "VNPT Certification Authority (TEST)");
  EXPECT_EQ(der->key_algorithm, "RSA");
  EXPECT_EQ(der->key_bits, 2048);
  EXPECT_EQ(der->signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_EQ(X509_cmp(der->x509.get(), cert.get()), 0);

  const CertificateIdentity& id = der->identity;
  EXPECT_EQ(id.common_name, "Nguyễn Văn An");
  EXPECT_EQ(id.locality, "Quận Ba Đình");
  EXPECT_EQ(id.state, "Hà Nội");
  EXPECT_EQ(id.country, "VN");
  ASSERT_EQ(id.uids.size(), 1u);
  EXPECT_EQ(id.uids[0].prefix, "CCCD");
  EXPECT_EQ(id.uids[0].value, "001099012345");
  EXPECT_EQ(id.uids[0].raw, "CCCD:001099012345");
  EXPECT_EQ(id.kind, SubjectKind::kPerson);
  EXPECT_EQ(id.cccd, "001099012345");
  EXPECT_FALSE(id.mst.has_value());
  EXPECT_TRUE(ValidateIdentity(id).ok());

  absl::StatusOr<ParsedCertificate> pem = ParseCertificate(cert.Pem());
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_EQ(pem->der, cert.Der());
  EXPECT_EQ(pem->fingerprint_sha256, der->fingerprint_sha256);
  EXPECT_EQ(pem->subject, der->subject);
}

TEST_F(CertificateTest, ValidityAndSerial) {
  CertSpec spec = CertSpec::Leaf({{"CN", "A"}});
  spec.not_before = absl::FromUnixSeconds(1700000000);
  spec.not_after = absl::FromUnixSeconds(1800000000);
  spec.serial = 0x0ABC;
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(pki_->Issue(*ca_, spec).Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->not_before, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(p->not_after, absl::FromUnixSeconds(1800000000));
  EXPECT_EQ(p->serial_hex, "ABC");

  spec.serial = 0xFF00000000000001ULL;  // high bit set: DER adds a leading zero byte
  p = ParseCertificate(pki_->Issue(*ca_, spec).Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->serial_hex, "FF00000000000001");
}

TEST_F(CertificateTest, BusinessBranchWithCommaInCnAndTwoUids) {
  TestCert cert = Issue({{"C", "VN"},
                         {"O", "Công ty Cổ phần Thương mại, Dịch vụ ABC"},
                         {"CN", "Chi nhánh Hà Nội, Công ty ABC"},
                         {"UID", "MST:0100686209-199"},
                         {"UID", "CCCD:025199009534"},
                         {"emailAddress", "ketoan@abc.com.vn"}});
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  const CertificateIdentity& id = p->identity;
  // Raw attribute values, not split from the printed subject.
  EXPECT_EQ(id.common_name, "Chi nhánh Hà Nội, Công ty ABC");
  EXPECT_EQ(id.organization, "Công ty Cổ phần Thương mại, Dịch vụ ABC");
  EXPECT_TRUE(absl::StrContains(p->subject, "CN=Chi nhánh Hà Nội\\, Công ty ABC")) << p->subject;
  ASSERT_EQ(id.uids.size(), 2u);
  EXPECT_EQ(id.uids[0].prefix, "MST");
  EXPECT_EQ(id.uids[0].value, "0100686209-199");
  EXPECT_EQ(id.uids[1].prefix, "CCCD");
  EXPECT_EQ(id.kind, SubjectKind::kBusiness);
  EXPECT_EQ(id.mst, "0100686209-199");
  EXPECT_EQ(id.cccd, "025199009534");
  EXPECT_EQ(id.email, "ketoan@abc.com.vn");
  EXPECT_TRUE(ValidateIdentity(id).ok());
}

TEST_F(CertificateTest, AnIdentifierInsideTheCnIsNotAUid) {
  TestCert cert = Issue({{"O", "Evil"}, {"CN", "Mallory, UID=CCCD:001099012345"}});
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->identity.uids.empty());
  EXPECT_FALSE(p->identity.cccd.has_value());
  EXPECT_EQ(p->identity.kind, SubjectKind::kSeal);
  EXPECT_EQ(p->identity.common_name, "Mallory, UID=CCCD:001099012345");
}

TEST_F(CertificateTest, EveryKind) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> subject;
    SubjectKind kind;
  } cases[] = {
      {{{"CN", "Trần Thị Bình"}, {"UID", "CMND:012345678"}}, SubjectKind::kPerson},
      {{{"CN", "John Smith"}, {"UID", "HC:E00851967"}}, SubjectKind::kPerson},
      {{{"CN", "Lê Văn C"}, {"UID", "PID:079099001122"}}, SubjectKind::kPerson},
      {{{"CN", "Lê Văn D"}, {"UID", "PPID:B1234567"}}, SubjectKind::kPerson},
      {{{"CN", "Công ty ABC"}, {"UID", "MST:0100109106"}}, SubjectKind::kBusiness},
      // MST wins over everything else; MNS over personal prefixes.
      {{{"UID", "CCCD:001099012345"}, {"UID", "MNS:1234567"}, {"UID", "MST:0104359717"}},
       SubjectKind::kBusiness},
      {{{"O", "Sở Tài chính Nghệ An"}, {"CN", "Sở Tài chính"}, {"UID", "MNS:1034567"}},
       SubjectKind::kAgency},
      {{{"UID", "CCCD:001099012345"}, {"UID", "MNS:1234567"}}, SubjectKind::kAgency},
      {{{"O", "Công ty ABC"}, {"CN", "Con dấu Công ty ABC"}}, SubjectKind::kSeal},
      // Only unrecognised prefixes: an organisation seal.
      {{{"CN", "X"}, {"UID", "BHXH:0123456789"}}, SubjectKind::kSeal},
      {{{"CN", "X"}, {"UID", "some-id-without-prefix"}}, SubjectKind::kSeal},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ParsedCertificate> p = ParseCertificate(Issue(c.subject).Der());
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->identity.kind, c.kind) << p->subject;
    EXPECT_TRUE(ValidateIdentity(p->identity).ok()) << p->subject;
  }
}

TEST_F(CertificateTest, SummaryFieldsTakeTheFirstValueOfEachKind) {
  TestCert cert = Issue({{"UID", "HC:E00851967"},
                         {"UID", "PPID:B1234567"},
                         {"UID", "CMND:012345678"},
                         {"UID", "MNS:1234567"}});
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->identity.passport, "E00851967");
  EXPECT_EQ(p->identity.cmnd, "012345678");
  EXPECT_EQ(p->identity.mns, "1234567");
  EXPECT_FALSE(p->identity.cccd.has_value());

  p = ParseCertificate(Issue({{"UID", "PPID:B1234567"}}).Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->identity.passport, "B1234567");
}

TEST_F(CertificateTest, UidPrefixIsTrimmedAndUpperCased) {
  TestCert cert = Issue({{"UID", "  cccd : 001099012345 "},
                         {"UID", "no colon here"},
                         {"UID", "MST:0100109106:extra"}});
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  const auto& uids = p->identity.uids;
  ASSERT_EQ(uids.size(), 3u);
  EXPECT_EQ(uids[0].prefix, "CCCD");
  EXPECT_EQ(uids[0].value, "001099012345");
  EXPECT_EQ(uids[0].raw, "cccd : 001099012345");
  EXPECT_EQ(uids[1].prefix, "");
  EXPECT_EQ(uids[1].raw, "no colon here");
  EXPECT_EQ(uids[1].value, "no colon here");
  EXPECT_EQ(uids[2].prefix, "MST");  // split at the first ':' only
  EXPECT_EQ(uids[2].value, "0100109106:extra");
  EXPECT_EQ(p->identity.cccd, "001099012345");
  ExpectReason(ValidateIdentity(p->identity), "CERT_IDENTITY_INVALID");  // the MST
}

TEST_F(CertificateTest, SimCertificateWithTelephoneNumber) {
  TestCert cert = Issue({{"CN", "Phạm Thu Hà"},
                         {"UID", "CCCD:079199001234"},
                         {"telephoneNumber", "84912345678"}});
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Pem());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->identity.telephone, "84912345678");
  EXPECT_EQ(p->identity.kind, SubjectKind::kPerson);
}

TEST_F(CertificateTest, EmailFromSubjectAltNameWhenNoEmailAttribute) {
  TestCert base = Issue({{"CN", "Nguyễn B"}, {"UID", "CCCD:001099012345"}});
  TestCert cert = Edited(base, [](X509* x) {
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME* dns = GENERAL_NAME_new();
    ASN1_IA5STRING* d = ASN1_IA5STRING_new();
    ASN1_STRING_set(d, "example.vn", -1);
    GENERAL_NAME_set0_value(dns, GEN_DNS, d);
    sk_GENERAL_NAME_push(names, dns);
    GENERAL_NAME* email = GENERAL_NAME_new();
    ASN1_IA5STRING* e = ASN1_IA5STRING_new();
    ASN1_STRING_set(e, "b.nguyen@example.vn", -1);
    GENERAL_NAME_set0_value(email, GEN_EMAIL, e);
    sk_GENERAL_NAME_push(names, email);
    X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
    GENERAL_NAMES_free(names);
  });
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->identity.email, "b.nguyen@example.vn");
}

TEST_F(CertificateTest, BmpT61AndPrintableStringsBecomeUtf8) {
  TestCert base = Issue({{"CN", "placeholder"}});
  TestCert cert = Edited(base, [](X509* x) {
    X509_NAME* name = X509_NAME_new();
    X509_NAME_add_entry_by_NID(name, NID_countryName, V_ASN1_PRINTABLESTRING,
                               reinterpret_cast<const unsigned char*>("VN"), 2, -1, 0);
    // "Trần" in UCS-2 big-endian.
    const unsigned char bmp[] = {0x00, 'T', 0x00, 'r', 0x1E, 0xA7, 0x00, 'n'};
    X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_BMPSTRING, bmp, sizeof(bmp), -1, 0);
    // T61String is read as Latin-1: "Nguy\xEAn" → "Nguyên".
    X509_NAME_add_entry_by_NID(name, NID_organizationName, V_ASN1_T61STRING,
                               reinterpret_cast<const unsigned char*>("Nguy\xEAn"), 6, -1, 0);
    const unsigned char uid[] = {0x00, 'C', 0x00, 'C', 0x00, 'C', 0x00, 'D', 0x00, ':',
                                 0x00, '0', 0x00, '0', 0x00, '1', 0x00, '0', 0x00, '9',
                                 0x00, '9', 0x00, '0', 0x00, '1', 0x00, '2', 0x00, '3',
                                 0x00, '4', 0x00, '5'};
    X509_NAME_add_entry_by_NID(name, NID_userId, V_ASN1_BMPSTRING, uid, sizeof(uid), -1, 0);
    X509_set_subject_name(x, name);
    X509_NAME_free(name);
  });
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(cert.Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->identity.common_name, "Trần");
  EXPECT_EQ(p->identity.organization, "Nguyên");
  EXPECT_EQ(p->identity.country, "VN");
  EXPECT_EQ(p->identity.cccd, "001099012345");
  EXPECT_EQ(p->subject, "UID=CCCD:001099012345,O=Nguyên,CN=Trần,C=VN");
}

TEST_F(CertificateTest, AttributeWithEmbeddedNulIsMalformed) {
  TestCert base = Issue({{"CN", "placeholder"}});
  TestCert cert = Edited(base, [](X509* x) {
    X509_NAME* name = X509_NAME_new();
    const char uid[] = "CCCD:001099012345\0MST:0100109106";
    X509_NAME_add_entry_by_NID(name, NID_userId, V_ASN1_UTF8STRING,
                               reinterpret_cast<const unsigned char*>(uid), sizeof(uid) - 1, -1,
                               0);
    X509_set_subject_name(x, name);
    X509_NAME_free(name);
  });
  ExpectReason(ParseCertificate(cert.Der()).status(), "CERT_MALFORMED");
}

TEST_F(CertificateTest, InvalidUtf8InUtf8StringIsMalformed) {
  // OpenSSL refuses to encode such a name, so patch the DER (the signature no longer matches;
  // parsing does not check it).
  std::string der = Issue({{"CN", "Nguy#@"}}).Der();
  const size_t at = der.find("Nguy#@");
  ASSERT_NE(at, std::string::npos);
  der[at + 4] = '\xC3';  // a lead byte followed by '@': not UTF-8
  ExpectReason(ParseCertificate(der).status(), "CERT_MALFORMED");
}

TEST_F(CertificateTest, EcKeyAndWeakDigestAreReported) {
  CertSpec spec = CertSpec::Leaf({{"CN", "EC"}, {"UID", "CCCD:001099012345"}});
  spec.key_type = KeyType::kEcP256;
  spec.digest = EVP_sha1;
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(pki_->Issue(*ca_, spec).Der());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->key_algorithm, "EC");
  EXPECT_EQ(p->key_bits, 256);
  EXPECT_EQ(p->signature_algorithm, "sha1WithRSAEncryption");
}

TEST_F(CertificateTest, PemWithOtherBlocksAndTextFirst) {
  TestCert cert = Issue({{"CN", "A"}, {"UID", "CCCD:001099012345"}});
  TestCert other = Issue({{"CN", "B"}});
  const std::string text =
      absl::StrCat("Subject: whatever\n", cert.KeyPem(), cert.Pem(), other.Pem());
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(text);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->der, cert.Der());  // the first CERTIFICATE block
}

TEST_F(CertificateTest, RejectsGarbage) {
  TestCert cert = Issue({{"CN", "A"}, {"UID", "CCCD:001099012345"}});
  const std::string der = cert.Der();
  const std::string pem = cert.Pem();
  const std::string crl = TestPki::CrlDer(
      pki_->Crl(*ca_, {}, absl::Now(), absl::Now() + absl::Hours(1)).get());
  const std::string too_big = std::string(kMaxCertificateBytes + 1 - pem.size(), '\n') + pem;
  std::string bad_base64 = pem;
  bad_base64[40] = '*';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"text", "hello world"},
      {"one byte", "0"},
      {"sequence tag only", std::string("\x30", 1)},
      {"truncated DER", der.substr(0, der.size() - 1)},
      {"half DER", der.substr(0, der.size() / 2)},
      {"trailing byte", der + "x"},
      {"trailing zero", der + std::string(1, '\0')},
      {"two DER", der + der},
      {"truncated PEM", pem.substr(0, pem.size() / 2)},
      {"PEM without END", pem.substr(0, pem.find("-----END"))},
      {"bad base64", bad_base64},
      {"key only", cert.KeyPem()},
      {"a CRL", crl},
      {"too big", too_big},
      {"corrupt testdata", "-----BEGIN CERTIFICATE-----\nMIIBzzCCAXWgAwIBAgIU\n"
                           "-----END CERTIFICATE-----\n"},
  };
  for (const auto& [name, input] : cases) {
    SCOPED_TRACE(name);
    ExpectReason(ParseCertificate(input).status(), "CERT_MALFORMED");
  }
  // Just under the limit is fine.
  const std::string fits = std::string(kMaxCertificateBytes - pem.size(), '\n') + pem;
  EXPECT_TRUE(ParseCertificate(fits).ok());
}

TEST_F(CertificateTest, RejectsDuplicatedExtensions) {
  TestCert base = Issue({{"CN", "A"}});
  TestCert cert = Edited(base, [](X509* x) {
    const int i = X509_get_ext_by_NID(x, NID_key_usage, -1);
    ASSERT_GE(i, 0);
    X509_EXTENSION* dup = X509_EXTENSION_dup(X509_get_ext(x, i));
    X509_add_ext(x, dup, -1);
    X509_EXTENSION_free(dup);
  });
  ExpectReason(ParseCertificate(cert.Der()).status(), "CERT_MALFORMED");
}

TEST_F(CertificateTest, ParsesChains) {
  TestCert leaf = Issue({{"CN", "Leaf"}, {"UID", "CCCD:001099012345"}});
  const std::string bundle =
      absl::StrCat(leaf.Pem(), leaf.KeyPem(), "comment\n", ca_->Pem(), root_->Pem());
  absl::StatusOr<std::vector<ParsedCertificate>> chain = ParseCertificateChain(bundle);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0].der, leaf.Der());
  EXPECT_EQ((*chain)[1].der, ca_->Der());
  EXPECT_EQ((*chain)[2].der, root_->Der());
  EXPECT_EQ((*chain)[2].identity.kind, SubjectKind::kSeal);

  chain = ParseCertificateChain(leaf.Der());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 1u);
  EXPECT_EQ((*chain)[0].identity.cccd, "001099012345");

  chain = ParseCertificateChain(leaf.Der() + ca_->Der());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[1].der, ca_->Der());

  ExpectReason(ParseCertificateChain(bundle, 2).status(), "CERT_CHAIN_TOO_LONG");
  ExpectReason(ParseCertificateChain(leaf.Der() + ca_->Der(), 1).status(),
               "CERT_CHAIN_TOO_LONG");
  EXPECT_TRUE(ParseCertificateChain(bundle, 3).ok());
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += leaf.Pem();
  ExpectReason(ParseCertificateChain(nine).status(), "CERT_CHAIN_TOO_LONG");
  EXPECT_TRUE(ParseCertificateChain(nine, 9).ok());
  const std::string huge = std::string(kMaxChainBytes, '\n') + leaf.Pem();
  ExpectReason(ParseCertificateChain(huge, 100).status(), "CERT_CHAIN_TOO_LONG");
}

TEST_F(CertificateTest, RejectsMalformedChains) {
  TestCert leaf = Issue({{"CN", "Leaf"}});
  const std::string der = leaf.Der();
  std::string corrupt = ca_->Pem();
  corrupt[50] = '!';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"text", "no certificates here"},
      {"key only", leaf.KeyPem()},
      {"DER then garbage", der + "garbage"},
      {"DER then truncated DER", der + der.substr(0, 100)},
      {"one corrupt block", leaf.Pem() + corrupt},
      {"truncated last block", leaf.Pem() + ca_->Pem().substr(0, 200)},
  };
  for (const auto& [name, input] : cases) {
    SCOPED_TRACE(name);
    ExpectReason(ParseCertificateChain(input).status(), "CERT_MALFORMED");
  }
}

CertificateIdentity WithUids(std::vector<std::string> raws) {
  CertificateIdentity id;
  for (const std::string& raw : raws) {
    SubjectUid u;
    u.raw = raw;
    const size_t colon = raw.find(':');
    u.prefix = raw.substr(0, colon);
    u.value = raw.substr(colon + 1);
    id.uids.push_back(u);
  }
  return id;
}

TEST(ValidateIdentityTest, AcceptsWellFormedIdentifiers) {
  for (const auto& uids : std::vector<std::vector<std::string>>{
           {},
           {"CCCD:001099012345"},
           {"CCCD:079303001234"},  // century digit 3: born in the 2000s
           {"CMND:012345678"},
           {"CMND:012345678901"},
           {"MST:0100109106"},
           {"MST:0100686209-199", "CCCD:025199009534"},
           {"MST:0319303270", "MST:0319303270"},  // repeated, same value
           {"BHXH:0123456789"},
           {"HC:E00851967"},
           {"MNS:1234567"},
           {"XYZ:anything at all"},
       }) {
    EXPECT_TRUE(ValidateIdentity(WithUids(uids)).ok()) << (uids.empty() ? "" : uids[0]);
  }
}

TEST(ValidateIdentityTest, RejectsMalformedIdentifiersNamingOnlyThePrefix) {
  for (const auto& [uids, prefix] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"CCCD:12345"}, "CCCD"},
           {{"CCCD:"}, "CCCD"},
           {{"CCCD:00109901234X"}, "CCCD"},
           {{"CCCD:003099012345"}, "CCCD"},  // 003 is not a province code
           {{"CCCD:001499012345"}, "CCCD"},  // century digit 4
           {{"CCCD:0010990123456"}, "CCCD"},
           {{"CMND:01234567"}, "CMND"},
           {{"CMND:0123456789"}, "CMND"},
           {{"MST:0100109107"}, "MST"},  // wrong check digit
           {{"MST:0100686209-000"}, "MST"},
           {{"MST:0100686209199"}, "MST"},
           {{"CCCD:001099012345", "MST:123"}, "MST"},
           {{"BHXH:12345"}, "BHXH"},
           {{"HC:"}, "HC"},
           {{"MNS:12 34"}, "MNS"},
       }) {
    const absl::Status s = ValidateIdentity(WithUids(uids));
    ExpectReason(s, "CERT_IDENTITY_INVALID");
    std::optional<status::ErrorInfo> info = status::GetErrorInfo(s);
    ASSERT_TRUE(info.has_value());
    EXPECT_TRUE(absl::StrContains(info->message_en, prefix)) << info->message_en;
    EXPECT_TRUE(absl::StrContains(info->message_vi, prefix)) << info->message_vi;
    const std::string value = uids.back().substr(uids.back().find(':') + 1);
    if (!value.empty()) {
      EXPECT_FALSE(absl::StrContains(info->message_en, value)) << info->message_en;
      EXPECT_FALSE(absl::StrContains(std::string(s.message()), value));
    }
  }
}

TEST(ValidateIdentityTest, RejectsConflictingIdentifiers) {
  ExpectReason(ValidateIdentity(WithUids({"CCCD:001099012345", "CCCD:079199001234"})),
               "CERT_IDENTITY_INVALID");
  ExpectReason(ValidateIdentity(WithUids({"MST:0100109106", "MST:0104359717"})),
               "CERT_IDENTITY_INVALID");
}

TEST(ValidateIdentityTest, ChecksSummaryFieldsToo) {
  CertificateIdentity id;
  id.cccd = "12345";
  ExpectReason(ValidateIdentity(id), "CERT_IDENTITY_INVALID");
  id.cccd.reset();
  id.mst = "0100109107";
  ExpectReason(ValidateIdentity(id), "CERT_IDENTITY_INVALID");
}

TEST(RealCertificatesTest, VnptCaChainsToTheNationalRoot) {
  absl::StatusOr<std::string> dir = testing::SharedPkiRealDir();
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string pem = ReadFile(*dir + "/vnpt-ca-sha2.pem");
  ASSERT_FALSE(pem.empty());
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(pem);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->issuer,
            "CN=Vietnam National Root CA,OU=National Centre of Digital Signature "
            "Authentication,O=Ministry of Information and Communications,C=VN");
  EXPECT_EQ(p->issuer_common_name, "Vietnam National Root CA");
  EXPECT_EQ(p->subject, "C=VN,O=VIETNAM POSTS AND TELECOMMUNICATIONS GROUP,CN=VNPT-CA SHA2");
  EXPECT_EQ(p->identity.common_name, "VNPT-CA SHA2");
  EXPECT_EQ(p->identity.organization, "VIETNAM POSTS AND TELECOMMUNICATIONS GROUP");
  EXPECT_EQ(p->identity.kind, SubjectKind::kSeal);
  EXPECT_EQ(p->serial_hex, "FC4F741B4BC0896CAC601BA22E9ABF04");
  EXPECT_EQ(p->fingerprint_sha256,
            "7d6ba5245317f9ed5d8bc765a4634d26ac6340d36b9f584df3b52d9c4a81a306");
  EXPECT_EQ(p->key_algorithm, "RSA");
  EXPECT_EQ(p->key_bits, 4096);
  EXPECT_EQ(p->signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_EQ(p->not_before, absl::FromCivil(absl::CivilSecond(2024, 8, 30, 3, 22, 57),
                                           absl::UTCTimeZone()));
  EXPECT_EQ(p->not_after, absl::FromCivil(absl::CivilSecond(2029, 8, 30, 3, 22, 57),
                                          absl::UTCTimeZone()));
}

TEST(RealCertificatesTest, GovernmentRootKeepsVietnameseText) {
  absl::StatusOr<std::string> dir = testing::SharedPkiRealDir();
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<ParsedCertificate> p = ParseCertificate(ReadFile(*dir + "/gov-rootca-g2.pem"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject, "CN=RootCA chuyên dùng Chính phủ G2,O=Ban Cơ yếu Chính phủ,C=VN");
  EXPECT_EQ(p->issuer, p->subject);
  EXPECT_EQ(p->identity.organization, "Ban Cơ yếu Chính phủ");

  // All three real certificates as one bundle.
  const std::string bundle = ReadFile(*dir + "/vnpt-ca-sha2.pem") +
                             ReadFile(*dir + "/vietnam-national-root-ca.pem") +
                             ReadFile(*dir + "/gov-rootca-g2.pem");
  absl::StatusOr<std::vector<ParsedCertificate>> chain = ParseCertificateChain(bundle);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[1].subject, (*chain)[0].issuer);
}

}  // namespace
}  // namespace dvc::sigverify
