// Service test: the real gRPC server in-process on port 0, real PostgreSQL (own database),
// the real Vietnamese root certificates from the shared PKI folder.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/clock/clock.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "services/sigverify/adapters/pg_trust_anchor_store.h"
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
  TrustStore store(*std::move(anchors));

  metrics::Registry reg;
  SigverifyGrpc api(&store);
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
  EXPECT_EQ(info.anchors(), static_cast<int>(loaded));
  std::vector<std::string> subjects(info.subjects().begin(), info.subjects().end());
  EXPECT_NE(std::find(subjects.begin(), subjects.end(), kNationalRoot), subjects.end())
      << ::testing::PrintToString(subjects);
  EXPECT_NE(std::find(subjects.begin(), subjects.end(), kGovRoot), subjects.end())
      << ::testing::PrintToString(subjects);

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

}  // namespace
}  // namespace dvc::sigverify
