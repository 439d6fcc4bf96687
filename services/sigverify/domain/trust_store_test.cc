#include "services/sigverify/domain/trust_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "libs/status/errors.h"
#include "services/sigverify/testing/shared_pki.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

constexpr char kTestdata[] = "services/sigverify/testdata";
constexpr char kTestRoot1[] = "CN=Gốc thử nghiệm Một,O=Bộ Thử nghiệm,C=VN";
constexpr char kTestRoot2[] = "CN=Root Two+serialNumber=42,O=Test\\, Inc.,C=VN";

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ParsePemTest, SkipsNonCertificateBlocksAndKeepsUtf8) {
  auto certs = ParsePemCertificates(Read(std::string(kTestdata) + "/store/mixed.pem"), "mixed");
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0].subject, kTestRoot1);
  EXPECT_EQ((*certs)[1].subject, kTestRoot2);
  EXPECT_EQ((*certs)[0].fingerprint_sha256.size(), 64u);
  EXPECT_NE((*certs)[0].fingerprint_sha256, (*certs)[1].fingerprint_sha256);
  EXPECT_GT((*certs)[0].not_after, absl::FromUnixSeconds(1700000000));
  EXPECT_TRUE((*certs)[0].self_signed);
  ASSERT_NE((*certs)[0].x509, nullptr);
  EXPECT_FALSE((*certs)[0].der.empty());
  EXPECT_EQ((*certs)[0].der[0], '\x30');  // DER SEQUENCE
}

TEST(ParsePemTest, EmptyOrNonPemInputHasNoCertificates) {
  for (const char* text : {"", "hello\n", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"}) {
    auto certs = ParsePemCertificates(text, "x");
    ASSERT_TRUE(certs.ok()) << text;
    EXPECT_TRUE(certs->empty());
  }
}

TEST(ParsePemTest, CorruptCertificateIsAnError) {
  auto certs = ParsePemCertificates(Read(std::string(kTestdata) + "/corrupt.pem"), "corrupt.pem");
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(certs.status()), "TRUST_STORE_INVALID");
  // Truncated block: BEGIN without END.
  std::string good = Read(std::string(kTestdata) + "/store/single.pem");
  auto truncated = ParsePemCertificates(good.substr(0, good.size() / 2), "t");
  EXPECT_EQ(status::ReasonOf(truncated.status()), "TRUST_STORE_INVALID");
}

TEST(LoadTrustStoreTest, DirectoryIsReadInNameOrderWithDuplicatesDropped) {
  // store/: mixed.pem (root 1, root 2), notes.txt (no PEM), single.pem (root 1 again).
  auto anchors = LoadTrustStore(std::string(kTestdata) + "/store");
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  ASSERT_EQ(anchors->size(), 2u);
  EXPECT_EQ((*anchors)[0].subject, kTestRoot1);
  EXPECT_EQ((*anchors)[1].subject, kTestRoot2);
  TrustStore store(*std::move(anchors));
  TrustStoreInfo info = store.Info();
  EXPECT_EQ(info.anchors, 2);
  EXPECT_EQ(info.subjects, (std::vector<std::string>{kTestRoot1, kTestRoot2}));
}

TEST(LoadTrustStoreTest, CommaSeparatedFilesAndEmptySpec) {
  auto anchors = LoadTrustStore(std::string(kTestdata) + "/store/single.pem , " + kTestdata +
                                "/store/notes.txt");
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  ASSERT_EQ(anchors->size(), 1u);
  EXPECT_EQ((*anchors)[0].subject, kTestRoot1);
  EXPECT_EQ((*anchors)[0].source, std::string(kTestdata) + "/store/single.pem");
  auto none = LoadTrustStore("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(LoadTrustStoreTest, MissingPathAndCorruptFileFail) {
  auto missing = LoadTrustStore(std::string(kTestdata) + "/store/single.pem,/nonexistent/x.pem");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(missing.status()), "TRUST_STORE_INVALID");
  EXPECT_NE(std::string(missing.status().message()).find("/nonexistent/x.pem"), std::string::npos);
  auto corrupt = LoadTrustStore(std::string(kTestdata) + "/corrupt.pem");
  EXPECT_EQ(status::ReasonOf(corrupt.status()), "TRUST_STORE_INVALID");
}

// ---- roots vs intermediates, the OpenSSL store, reloads ----

using ::dvc::sigverify::testing::TestCert;
using ::dvc::sigverify::testing::TestPki;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::string> Subjects(const std::vector<TrustAnchor>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.subject);
  return out;
}

class TrustStorePkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = pki_.Root("Root A");
    other_root_ = pki_.Root("Root B");
    ca_ = pki_.Intermediate(root_, "CA A1");
  }
  TestPki pki_;
  TestCert root_, other_root_, ca_;
};

TEST_F(TrustStorePkiTest, SelfSignedCertificatesAreAnchorsOthersThePool) {
  auto certs = ParsePemCertificates(ca_.Pem() + root_.Pem(), "mixed");
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_FALSE((*certs)[0].self_signed);
  EXPECT_TRUE((*certs)[1].self_signed);
  TrustStore store(*certs);
  EXPECT_EQ(Subjects(store.anchors()), (std::vector<std::string>{"CN=Root A,O=DVC Test PKI,C=VN"}));
  EXPECT_EQ(Subjects(store.intermediates()),
            (std::vector<std::string>{"CN=CA A1,O=DVC Test PKI,C=VN"}));
  EXPECT_EQ(Subjects(store.all()), Subjects(*certs));  // load order
  ASSERT_EQ(store.intermediate_pool().size(), 1u);
  EXPECT_EQ(X509_cmp(store.intermediate_pool()[0].get(), ca_.get()), 0);
  TrustStoreInfo info = store.Info();
  EXPECT_EQ(info.anchors, 1);
  EXPECT_EQ(info.intermediates, 1);
  EXPECT_EQ(info.intermediate_subjects, (std::vector<std::string>{"CN=CA A1,O=DVC Test PKI,C=VN"}));

  // IsAnchor compares certificates, not names: a root with the same name and another key is not.
  EXPECT_TRUE(store.IsAnchor(root_.get()));
  EXPECT_FALSE(store.IsAnchor(ca_.get()));
  TestCert impostor = pki_.Root("Root A");
  EXPECT_FALSE(store.IsAnchor(impostor.get()));
  EXPECT_FALSE(store.IsAnchor(nullptr));

  // The X509_STORE holds the anchor only.
  STACK_OF(X509)* in_store = X509_STORE_get1_all_certs(store.x509_store());
  ASSERT_NE(in_store, nullptr);
  EXPECT_EQ(sk_X509_num(in_store), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(in_store, 0), root_.get()), 0);
  sk_X509_pop_free(in_store, X509_free);
}

TEST_F(TrustStorePkiTest, SelfSignedIsDecidedFromTheCertificateNotTheCaller) {
  auto certs = ParsePemCertificates(ca_.Pem(), "ca");
  ASSERT_TRUE(certs.ok());
  (*certs)[0].self_signed = true;  // a lie
  (*certs)[0].x509 = nullptr;      // and only the DER
  TrustStore store(*certs);
  EXPECT_TRUE(store.anchors().empty());
  EXPECT_EQ(store.intermediates().size(), 1u);
  EXPECT_FALSE(store.IsAnchor(ca_.get()));
}

TEST_F(TrustStorePkiTest, HolderReloadsAndKeepsTheOldStoreOnFailure) {
  const std::string dir = FreshDir("reload");
  WriteFile(dir + "/a.pem", root_.Pem());
  auto holder = TrustStoreHolder::Create(dir);
  ASSERT_TRUE(holder.ok()) << holder.status();
  std::shared_ptr<const TrustStore> first = (*holder)->Get();
  EXPECT_EQ(first->anchors().size(), 1u);
  EXPECT_FALSE(first->source_digest().empty());
  auto changed = (*holder)->Changed();
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  auto reloaded = (*holder)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(*reloaded);
  EXPECT_EQ((*holder)->Get(), first);  // same object: nothing changed

  // A new root and an intermediate appear.
  WriteFile(dir + "/b.pem", other_root_.Pem() + ca_.Pem());
  changed = (*holder)->Changed();
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ((*holder)->Get(), first);  // Changed() does not swap
  reloaded = (*holder)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  std::shared_ptr<const TrustStore> second = (*holder)->Get();
  EXPECT_EQ(second->anchors().size(), 2u);
  EXPECT_EQ(second->intermediates().size(), 1u);
  // The snapshot taken before is untouched (verifications in flight keep their store).
  EXPECT_EQ(first->anchors().size(), 1u);

  // A corrupt file: the reload fails, the current store stays.
  WriteFile(dir + "/c.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  absl::Status s = (*holder)->Reload();
  EXPECT_EQ(status::ReasonOf(s), "TRUST_STORE_INVALID") << s;
  EXPECT_EQ((*holder)->Get(), second);
  reloaded = (*holder)->ReloadIfChanged();
  EXPECT_EQ(status::ReasonOf(reloaded.status()), "TRUST_STORE_INVALID");
  EXPECT_EQ((*holder)->Get(), second);

  // Files without any root: refused, the current store stays.
  std::filesystem::remove(dir + "/c.pem");
  std::filesystem::remove(dir + "/a.pem");
  WriteFile(dir + "/b.pem", ca_.Pem());
  s = (*holder)->Reload();
  EXPECT_EQ(status::ReasonOf(s), "TRUST_STORE_INVALID") << s;
  EXPECT_NE(std::string(s.message()).find("no root"), std::string::npos) << s;
  EXPECT_EQ((*holder)->Get(), second);

  // The spec's path vanishes: error, the store stays.
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status::ReasonOf((*holder)->Reload()), "TRUST_STORE_INVALID");
  EXPECT_EQ(status::ReasonOf((*holder)->Changed().status()), "TRUST_STORE_INVALID");
  EXPECT_EQ((*holder)->Get(), second);

  // Back, with only root B: the forced reload swaps it in.
  std::filesystem::create_directories(dir);
  WriteFile(dir + "/b.pem", other_root_.Pem());
  ASSERT_TRUE((*holder)->Reload().ok());
  EXPECT_EQ(Subjects((*holder)->Get()->anchors()),
            (std::vector<std::string>{"CN=Root B,O=DVC Test PKI,C=VN"}));
}

TEST_F(TrustStorePkiTest, DigestFollowsContentNotOnlyNames) {
  const std::string dir = FreshDir("digest");
  WriteFile(dir + "/a.pem", root_.Pem());
  auto d1 = TrustStoreSpecDigest(dir);
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(d1->size(), 64u);
  WriteFile(dir + "/a.pem", other_root_.Pem());  // same name, same size class, new content
  auto d2 = TrustStoreSpecDigest(dir);
  ASSERT_TRUE(d2.ok());
  EXPECT_NE(*d1, *d2);
  std::filesystem::rename(dir + "/a.pem", dir + "/z.pem");  // same content, another name
  auto d3 = TrustStoreSpecDigest(dir);
  ASSERT_TRUE(d3.ok());
  EXPECT_NE(*d2, *d3);
  EXPECT_EQ(*TrustStoreSpecDigest(dir), *d3);
}

TEST_F(TrustStorePkiTest, ConcurrentReadersDuringReloads) {
  const std::string dir = FreshDir("concurrent");
  WriteFile(dir + "/a.pem", root_.Pem());
  auto holder = TrustStoreHolder::Create(dir);
  ASSERT_TRUE(holder.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        std::shared_ptr<const TrustStore> s = (*holder)->Get();
        if (s->anchors().size() != 1u || s->x509_store() == nullptr) std::abort();
        ++reads;
      }
    });
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*holder)->Reload().ok());
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
}

TEST(TrustStoreHolderTest, CreateFailsOnABadSpecAndEmptySpecIsEmpty) {
  EXPECT_EQ(status::ReasonOf(TrustStoreHolder::Create("/nonexistent/dir").status()),
            "TRUST_STORE_INVALID");
  auto empty = TrustStoreHolder::Create("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->Get()->anchors().empty());
  EXPECT_TRUE((*empty)->Reload().ok());  // empty → empty is fine
  TrustStoreHolder null_initial("", nullptr);
  ASSERT_NE(null_initial.Get(), nullptr);
}

// The real Vietnamese roots from the shared PKI folder. Missing files are a failure, not a skip:
// this is the trust store production starts with.
TEST(RealPkiTest, VietnameseRootsLoadWithUtf8SubjectsIntact) {
  auto dir = testing::SharedPkiRealDir();
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  auto anchors = LoadTrustStore(*dir);
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  ASSERT_GE(anchors->size(), 3u);
  std::vector<std::string> subjects;
  for (const auto& a : *anchors) subjects.push_back(a.subject);
  auto has = [&](const std::string& s) {
    return std::find(subjects.begin(), subjects.end(), s) != subjects.end();
  };
  EXPECT_TRUE(has("CN=Vietnam National Root CA,OU=National Centre of Digital Signature "
                  "Authentication,O=Ministry of Information and Communications,C=VN"))
      << ::testing::PrintToString(subjects);
  // UTF-8 stays UTF-8: no \C3\B4-style escapes.
  EXPECT_TRUE(has("CN=RootCA chuyên dùng Chính phủ G2,O=Ban Cơ yếu Chính phủ,C=VN"))
      << ::testing::PrintToString(subjects);
  EXPECT_TRUE(has("C=VN,O=VIETNAM POSTS AND TELECOMMUNICATIONS GROUP,CN=VNPT-CA SHA2"));
  // VNPT-CA is an intermediate: in the pool, not an anchor.
  auto store = TrustStore::Load(*dir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const auto& a : (*store)->anchors()) EXPECT_EQ(a.subject.find("VNPT-CA"), std::string::npos);
  ASSERT_EQ((*store)->intermediates().size(), 1u);
  EXPECT_EQ((*store)->intermediates()[0].subject,
            "C=VN,O=VIETNAM POSTS AND TELECOMMUNICATIONS GROUP,CN=VNPT-CA SHA2");
  EXPECT_EQ((*store)->anchors().size() + 1, anchors->size());
  for (const auto& a : *anchors) {
    EXPECT_EQ(a.subject.find('\\'), std::string::npos) << a.subject;
  }
  auto vn = std::find_if(anchors->begin(), anchors->end(), [](const TrustAnchor& a) {
    return a.subject.rfind("CN=Vietnam National Root CA,", 0) == 0;
  });
  ASSERT_NE(vn, anchors->end());
  EXPECT_EQ(vn->fingerprint_sha256,
            "bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7");
  EXPECT_EQ(vn->not_after,
            absl::FromCivil(absl::CivilSecond(2039, 4, 15, 16, 29, 20), absl::UTCTimeZone()));
}

}  // namespace
}  // namespace dvc::sigverify
