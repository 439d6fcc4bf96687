// The factory's certificates are what they claim: chains verify with OpenSSL's own verifier,
// subjects keep UTF-8 and repeated UIDs, broken specs really are broken.
#include "services/sigverify/testing/test_pki.h"

#include <openssl/x509_vfy.h>

#include <string>

#include "gtest/gtest.h"

namespace dvc::sigverify::testing {
namespace {

int VerifyError(const TestCert& root, const TestCert& ca, const TestCert& leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), untrusted);
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
  int ok = X509_verify_cert(ctx);
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return err;
}

std::string Subject(const TestCert& c) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(c.get()), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  return out;
}

TEST(TestPki, ChainVerifiesAndSubjectKeepsUtf8AndRepeatedUids) {
  TestPki pki;
  TestCert root = pki.Root("Root (TEST)");
  TestCert ca = pki.Intermediate(root, "CA (TEST)");
  TestCert leaf = pki.Issue(ca, CertSpec::Leaf({{"CN", "Nguyễn Văn An, Kế toán"},
                                                {"UID", "MST:0100686209-199"},
                                                {"UID", "CCCD:001099012345"}}));
  EXPECT_EQ(VerifyError(root, ca, leaf), X509_V_OK);
  const std::string subject = Subject(leaf);
  EXPECT_NE(subject.find("Nguyễn Văn An\\, Kế toán"), std::string::npos) << subject;
  EXPECT_NE(subject.find("UID=MST:0100686209-199"), std::string::npos) << subject;
  EXPECT_NE(subject.find("UID=CCCD:001099012345"), std::string::npos) << subject;
}

TEST(TestPki, ExpiredAndForeignRootFail) {
  TestPki pki;
  TestCert root = pki.Root("Root (TEST)");
  TestCert ca = pki.Intermediate(root, "CA (TEST)");
  CertSpec expired = CertSpec::Leaf({{"CN", "Old"}});
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.not_after = absl::Now() - absl::Hours(24);
  EXPECT_EQ(VerifyError(root, ca, pki.Issue(ca, expired)), X509_V_ERR_CERT_HAS_EXPIRED);

  TestCert rogue_root = pki.Root("Root (TEST)");  // same name, other key
  TestCert rogue_ca = pki.Intermediate(rogue_root, "CA (TEST)");
  TestCert rogue_leaf = pki.Issue(rogue_ca, CertSpec::Leaf({{"CN", "Mallory"}}));
  EXPECT_NE(VerifyError(root, ca, rogue_leaf), X509_V_OK);
}

TEST(TestPki, CrlListsRevokedSerial) {
  TestPki pki;
  TestCert root = pki.Root("Root (TEST)");
  TestCert leaf = pki.Issue(root, CertSpec::Leaf({{"CN", "Revoked"}}));
  auto crl = pki.Crl(root, {SerialOf(leaf.get())}, absl::Now() - absl::Hours(1),
                     absl::Now() + absl::Hours(1));
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl.get(), &entry, leaf.get()), 1);
  EXPECT_EQ(X509_CRL_verify(crl.get(), root.key.get()), 1);
  EXPECT_FALSE(TestPki::CrlDer(crl.get()).empty());
}

}  // namespace
}  // namespace dvc::sigverify::testing
