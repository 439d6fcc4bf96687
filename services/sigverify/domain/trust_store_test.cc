#include "services/sigverify/domain/trust_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "libs/status/errors.h"
#include "services/sigverify/testing/shared_pki.h"

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
