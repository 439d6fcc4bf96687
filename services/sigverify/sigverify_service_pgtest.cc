// Service test: the real gRPC server in-process on port 0, real PostgreSQL (own database),
// the real Vietnamese root certificates from the shared PKI folder.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/clock/clock.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/status/grpc_status.h"
#include "libs/status/errors.h"
#include "libs/server/grpc_server.h"
#include "libs/crypto/random.h"
#include "services/sigverify/adapters/pg_signature_stores.h"
#include "services/sigverify/adapters/pg_trust_anchor_store.h"
#include "services/sigverify/testing/test_pki.h"
#include "services/sigverify/api/sigverify_grpc.h"
#include "services/sigverify/migrations.h"
#include "services/sigverify/testing/shared_pki.h"

namespace dvc::sigverify {
namespace {

namespace pb = ::dvc::sigverify::v1;

constexpr char kNationalRoot[] =
    "CN=Vietnam National Root CA,OU=National Centre of Digital Signature Authentication,"
    "O=Ministry of Information and Communications,C=VN";
constexpr char kGovRoot[] = "CN=RootCA chuyên dùng Chính phủ G2,O=Ban Cơ yếu Chính phủ,C=VN";

// Revocation is covered by revocation_test and the end-to-end tests (real OCSP responder).
class AlwaysGood final : public RevocationChecker {
 public:
  absl::StatusOr<RevocationStatus> CheckPath(const ValidatedPath&, absl::Time,
                                             RevocationPolicy) override {
    RevocationStatus s;
    s.state = RevocationStatus::State::kGood;
    s.source = "crl";
    return s;
  }
};

TEST(SigverifyService, LoadsRealRootsRecordsThemAndServesInfo) {
  auto db = pg::testing::TestDatabase::Create("sigverify");
  ASSERT_TRUE(db.ok()) << db.status();
  auto pki = testing::SharedPkiRealDir();
  ASSERT_TRUE(pki.ok()) << pki.status().message();

  pg::Pool pool({.url = (*db)->url(), .size = 2});
  ASSERT_TRUE(pg::Migrate(pool, migrations::Files()).ok());
  // Migrating again is a no-op (replicas starting together).
  pg::MigrationReport again;
  ASSERT_TRUE(pg::Migrate(pool, migrations::Files(), &again).ok());
  EXPECT_TRUE(again.applied.empty());

  auto anchors = LoadTrustStore(*pki);
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  FakeClock clock;
  PgTrustAnchorStore anchor_store(&pool);
  ASSERT_TRUE(anchor_store.RecordLoaded(*anchors, clock.Now()).ok());
  // A restart refreshes loaded_at instead of failing on the primary key.
  clock.Advance(absl::Hours(1));
  ASSERT_TRUE(anchor_store.RecordLoaded(*anchors, clock.Now()).ok());
  const size_t loaded = anchors->size();
  auto shared = std::make_shared<const TrustStore>(*std::move(anchors));
  const TrustStore& store = *shared;
  TrustStoreHolder holder(*pki, shared);
  AlwaysGood revocation;
  PgChallengeStore challenges(&pool);
  PgRemoteSignatureStore remote(&pool);
  crypto::OsRandom random;
  SignatureService service(&holder, &revocation, &challenges, &remote, {}, &clock, &random, {});

  metrics::Registry reg;
  SigverifyGrpc api(&holder, &service);
  server::GrpcServer srv(server::Options{.service_name = "sigverify", .host = "127.0.0.1",
                                         .grpc_port = 0, .metrics_port = -1},
                         &reg);
  srv.Register(&api);
  ASSERT_TRUE(srv.Start().ok());
  auto channel = server::Dial("127.0.0.1:" + std::to_string(srv.grpc_port()));

  auto stub = pb::SigverifyService::NewStub(channel);
  pb::TrustStoreInfo info;
  auto ctx = server::ClientContext(absl::Seconds(5));
  grpc::Status g = stub->GetTrustStoreInfo(ctx.get(), pb::GetTrustStoreInfoRequest(), &info);
  ASSERT_TRUE(g.ok()) << g.error_message();
  // Anchors are the self-signed roots; VNPT-CA SHA2 (an intermediate) only helps chain building.
  EXPECT_EQ(info.anchors(), static_cast<int>(store.anchors().size()));
  EXPECT_EQ(store.anchors().size() + store.intermediates().size(), loaded);
  EXPECT_GE(store.anchors().size(), 2u);
  std::vector<std::string> subjects(info.subjects().begin(), info.subjects().end());
  EXPECT_NE(std::find(subjects.begin(), subjects.end(), kNationalRoot), subjects.end())
      << ::testing::PrintToString(subjects);
  EXPECT_NE(std::find(subjects.begin(), subjects.end(), kGovRoot), subjects.end())
      << ::testing::PrintToString(subjects);

  // The real VNPT-CA certificate validates to the real Vietnam National Root CA through the
  // service (revocation is faked here: its CRL is on the internet).
  {
    std::ifstream in(*pki + "/vnpt-ca-sha2.pem");
    std::stringstream pem;
    pem << in.rdbuf();
    pb::CheckCertificateRequest creq;
    creq.set_certificate(pem.str());
    creq.set_purpose(pb::PURPOSE_REGISTRATION);
    pb::VerifiedCertificate vc;
    auto cctx = server::ClientContext(absl::Seconds(5));
    grpc::Status cg = stub->CheckCertificate(cctx.get(), creq, &vc);
    ASSERT_TRUE(cg.ok()) << cg.error_message();
    EXPECT_EQ(vc.common_name(), "VNPT-CA SHA2");
    EXPECT_EQ(vc.issuer_common_name(), "Vietnam National Root CA");
    EXPECT_EQ(vc.anchor_kind(), pb::ANCHOR_KIND_PUBLIC);
    EXPECT_EQ(vc.subject_kind(), pb::SUBJECT_KIND_SEAL);  // an organisation, no UID
  }

  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckResponse hr;
  auto hctx = server::ClientContext(absl::Seconds(5));
  ASSERT_TRUE(health->Check(hctx.get(), grpc::health::v1::HealthCheckRequest(), &hr).ok());
  EXPECT_EQ(hr.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // The table holds exactly what was loaded, UTF-8 intact, with the later loaded_at.
  absl::Status s = pool.WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = tx.exec("SELECT count(*) FROM trust_anchors");
    EXPECT_EQ(r[0][0].as<int64_t>(), static_cast<int64_t>(loaded));
    pqxx::result gov = tx.exec_params(
        "SELECT fingerprint_sha256, extract(epoch FROM loaded_at)::bigint, "
        "extract(year FROM not_after AT TIME ZONE 'UTC')::int FROM trust_anchors "
        "WHERE subject = $1",
        std::string(kGovRoot));
    EXPECT_EQ(gov.size(), 1u);
    if (gov.size() == 1) {
      EXPECT_EQ(gov[0][0].as<std::string>(),
                "f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8");
      EXPECT_EQ(gov[0][1].as<int64_t>(), absl::ToUnixSeconds(clock.Now()));
      EXPECT_EQ(gov[0][2].as<int>(), 2048);
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  srv.Shutdown();
}

std::string ErrorReason(const grpc::Status& g) {
  return status::ReasonOf(status::FromGrpcStatus(g));
}

// A USB-token login over gRPC: challenge → PKCS#1 signature → verified certificate; the
// replay is refused; bad requests get their precise reasons.
TEST(SigverifyService, ChallengeSignatureOverGrpc) {
  auto db = pg::testing::TestDatabase::Create("sigverify");
  ASSERT_TRUE(db.ok()) << db.status();
  pg::Pool pool({.url = (*db)->url(), .size = 2});
  ASSERT_TRUE(pg::Migrate(pool, migrations::Files()).ok());

  testing::TestPki tp;
  testing::TestCert root = tp.Root("Vietnam National Root CA (TEST)");
  testing::TestCert ca = tp.Intermediate(root, "VNPT-CA (TEST)");
  testing::TestCert user = tp.Issue(
      ca, testing::CertSpec::Leaf({{"C", "VN"}, {"CN", "Phạm Thị Dung"},
                                   {"UID", "CCCD:079199001234"}}));
  auto anchors = ParsePemCertificates(root.Pem(), "root");
  ASSERT_TRUE(anchors.ok());
  TrustStoreHolder holder("", std::make_shared<const TrustStore>(*anchors));
  AlwaysGood revocation;
  PgChallengeStore challenges(&pool);
  PgRemoteSignatureStore remote(&pool);
  crypto::OsRandom random;
  SystemClock clock;
  SignatureService service(&holder, &revocation, &challenges, &remote, {}, &clock, &random, {});
  metrics::Registry reg;
  SigverifyGrpc api(&holder, &service);
  server::GrpcServer srv(server::Options{.service_name = "sigverify", .host = "127.0.0.1",
                                         .grpc_port = 0, .metrics_port = -1},
                         &reg);
  srv.Register(&api);
  ASSERT_TRUE(srv.Start().ok());
  auto stub = pb::SigverifyService::NewStub(
      server::Dial("127.0.0.1:" + std::to_string(srv.grpc_port())));

  pb::IssueChallengeRequest ireq;
  ireq.set_flow_id("login-42");
  ireq.set_purpose(pb::PURPOSE_LOGIN);
  pb::Challenge challenge;
  auto ctx = server::ClientContext(absl::Seconds(5));
  ASSERT_TRUE(stub->IssueChallenge(ctx.get(), ireq, &challenge).ok());

  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, user.key.get());
  size_t len = 0;
  const std::string& data = challenge.challenge();
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  EVP_MD_CTX_free(md);

  pb::VerifyChallengeSignatureRequest vreq;
  vreq.set_challenge_id(challenge.challenge_id());
  vreq.set_flow_id("login-42");
  vreq.set_purpose(pb::PURPOSE_LOGIN);
  vreq.set_format(pb::SIGNATURE_FORMAT_UNSPECIFIED);
  vreq.set_signature(sig);
  vreq.set_certificate(user.Pem());
  vreq.add_chain(ca.Der());
  pb::VerifiedCertificate out;
  auto c1 = server::ClientContext(absl::Seconds(5));
  grpc::Status g = stub->VerifyChallengeSignature(c1.get(), vreq, &out);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorReason(g), "SIGNATURE_FORMAT_INVALID");

  vreq.set_format(pb::SIGNATURE_FORMAT_PKCS1_SHA256);
  auto c2 = server::ClientContext(absl::Seconds(5));
  g = stub->VerifyChallengeSignature(c2.get(), vreq, &out);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(out.cccd(), "079199001234");
  EXPECT_EQ(out.common_name(), "Phạm Thị Dung");
  EXPECT_EQ(out.subject_kind(), pb::SUBJECT_KIND_PERSON);
  EXPECT_EQ(out.issuer_common_name(), "VNPT-CA (TEST)");
  EXPECT_EQ(out.method(), "USB");
  EXPECT_EQ(out.anchor_kind(), pb::ANCHOR_KIND_PUBLIC);
  EXPECT_EQ(out.fingerprint_sha256().size(), 64u);

  auto c3 = server::ClientContext(absl::Seconds(5));
  g = stub->VerifyChallengeSignature(c3.get(), vreq, &out);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorReason(g), "CHALLENGE_USED");
  srv.Shutdown();
}

}  // namespace
}  // namespace dvc::sigverify
