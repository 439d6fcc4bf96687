// Service test: the real gRPC server in-process on port 0, the production wiring, real
// PostgreSQL (own database), providers faked by in-test HTTP servers speaking their protocols.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cctype>

#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/jwt/json.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/idv/v1/idv.grpc.pb.h"
#include "services/idv_gateway/migrations.h"
#include "services/idv_gateway/testing/fake_provider_server.h"
#include "services/idv_gateway/wiring.h"

namespace dvc::idv {
namespace {

namespace pb = ::dvc::idv::v1;
using testing::FakeProviderServer;

constexpr char kPhoneDigits[] = "912345678";
constexpr char kCccd[] = "001099012345";
constexpr char kOtherCccd[] = "079187004321";

// The telco protocol for one seeded person (phone 0912345678, CCCD kCccd, Nguyễn Văn An).
http::ServerResponse Telco(const http::ServerRequest& r) {
  auto req = jwt::ParseFlatJson(r.body);
  if (r.path != "/v1/subscribers/verify" || !req.ok()) {
    return http::ServerResponse::Json(400, R"({"error":"bad request"})");
  }
  if (req->GetString("msisdn").value_or("") != "84912345678") {
    return http::ServerResponse::Json(
        200, R"({"subscriber_found":false,"match":false,"mismatches":[],"carrier":"VIETTEL"})");
  }
  std::vector<std::string> mm;
  if (req->GetString("id_number").value_or("") != kCccd) mm.push_back("id_number");
  if (req->GetString("full_name").value_or("") != "Nguyễn Văn An") mm.push_back("full_name");
  if (req->GetString("date_of_birth").value_or("") != "1999-03-15") mm.push_back("date_of_birth");
  return http::ServerResponse::Json(200, jwt::JsonObjectBuilder()
                                             .Bool("subscriber_found", true)
                                             .Bool("match", mm.empty())
                                             .StringArray("mismatches", mm)
                                             .String("carrier", "VINAPHONE")
                                             .Build());
}

http::ServerResponse Population(const http::ServerRequest& r) {
  if (r.path == std::string("/v1/citizens/") + kCccd) {
    return http::ServerResponse::Json(
        200, R"({"cccd":"001099012345","cmnd":"012345678","full_name":"Nguyễn Văn An",)"
             R"("date_of_birth":"1999-03-15","gender":"male","place_of_birth":"Hà Nội",)"
             R"("hometown":"Phú Xuyên, Hà Nội","permanent_address":"Số 12 phố Huế, Hà Nội"})");
  }
  return http::ServerResponse::Json(404, R"({"error":"citizen not found"})");
}

class IdvServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("idv");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 4});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    ASSERT_TRUE(telco_.started().ok());
    ASSERT_TRUE(population_.started().ok());
    telco_.SetHandler(Telco);
    population_.SetHandler(Population);

    WiringOptions opts{.telco_url = telco_.url(), .population_url = population_.url()};
    opts.retry.attempt_timeout = absl::Seconds(3);
    opts.retry.max_retries = 2;
    opts.retry.budget = absl::Seconds(8);
    opts.retry.initial_backoff = absl::Milliseconds(20);
    opts.breaker.failure_threshold = 3;
    opts.breaker.open_for = absl::Seconds(30);
    wiring_ = std::make_unique<Wiring>(opts, pool_.get(), &registry_, &clock_, &sleeper_,
                                       &random_);
    server_ = std::make_unique<server::GrpcServer>(
        server::Options{.service_name = "idv_gateway", .host = "127.0.0.1", .grpc_port = 0,
                        .metrics_port = -1},
        &registry_);
    server_->Register(&wiring_->api());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = pb::IdvGatewayService::NewStub(
        server::Dial("127.0.0.1:" + std::to_string(server_->grpc_port())));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  pb::CheckSubscriberRequest Req(const std::string& request_id) {
    pb::CheckSubscriberRequest r;
    r.set_request_id(request_id);
    r.set_phone("+84 912 345 678");
    r.set_id_number(kCccd);
    r.set_full_name("Nguyễn  Văn An");
    r.set_date_of_birth("1999-03-15");
    return r;
  }
  grpc::Status Check(const pb::CheckSubscriberRequest& req, pb::CheckSubscriberResponse* out,
                     absl::Duration deadline = absl::Seconds(10)) {
    auto ctx = server::ClientContext(deadline);
    return stub_->CheckSubscriber(ctx.get(), req, out);
  }
  grpc::Status Lookup(const std::string& cccd, pb::LookupCitizenResponse* out) {
    pb::LookupCitizenRequest req;
    req.set_cccd(cccd);
    // A fixed request id: random ones may hold long digit runs, which the audit check below
    // would mistake for an ID number.
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata(server::kRequestIdHeader, "lookup-" + std::to_string(++lookups_));
    return stub_->LookupCitizen(&ctx, req, out);
  }
  struct Row {
    std::string request_id, provider, operation, outcome;
    int attempt;
    int64_t latency_ms;
  };
  std::vector<Row> AuditRows() {
    std::vector<Row> rows;
    absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
      for (const auto& r : tx.exec("SELECT request_id, provider, operation, outcome, attempt, "
                                   "latency_ms FROM lookup_audit ORDER BY id")) {
        rows.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), r[4].as<int>(), r[5].as<int64_t>()});
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  }

  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  FakeProviderServer telco_, population_;
  metrics::Registry registry_;
  SystemClock clock_;
  RealSleeper sleeper_;
  crypto::OsRandom random_;
  std::unique_ptr<Wiring> wiring_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<pb::IdvGatewayService::Stub> stub_;
  int lookups_ = 0;
};

TEST_F(IdvServiceTest, ChecksLooksUpFailsOverAndAuditsWithoutPersonalData) {
  // Match.
  pb::CheckSubscriberResponse resp;
  grpc::Status g = Check(Req("reg-flow-1"), &resp);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_TRUE(resp.subscriber_found());
  EXPECT_TRUE(resp.match());
  EXPECT_EQ(resp.mismatches_size(), 0);
  EXPECT_EQ(resp.carrier(), "VINAPHONE");

  // Mismatch on the date of birth.
  pb::CheckSubscriberRequest wrong = Req("reg-flow-2");
  wrong.set_date_of_birth("1999-03-16");
  g = Check(wrong, &resp);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_TRUE(resp.subscriber_found());
  EXPECT_FALSE(resp.match());
  ASSERT_EQ(resp.mismatches_size(), 1);
  EXPECT_EQ(resp.mismatches(0), "date_of_birth");

  // Bad input never reaches the provider.
  pb::CheckSubscriberRequest bad = Req("reg-flow-3");
  bad.set_phone("0912");
  const int telco_hits = telco_.hits();
  g = Check(bad, &resp);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  absl::Status s = status::FromGrpcStatus(g);
  EXPECT_EQ(status::ReasonOf(s), "PHONE_MALFORMED");
  EXPECT_EQ(status::GetErrorInfo(s)->field, "phone");
  EXPECT_FALSE(status::GetErrorInfo(s)->message_vi.empty());
  EXPECT_EQ(telco_.hits(), telco_hits);

  // Population database: found, not found, malformed CCCD.
  pb::LookupCitizenResponse citizen;
  g = Lookup(kCccd, &citizen);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_TRUE(citizen.found());
  EXPECT_EQ(citizen.full_name(), "Nguyễn Văn An");
  EXPECT_EQ(citizen.gender(), "MALE");
  EXPECT_EQ(citizen.cmnd(), "012345678");
  EXPECT_EQ(citizen.permanent_address(), "Số 12 phố Huế, Hà Nội");
  g = Lookup(kOtherCccd, &citizen);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_FALSE(citizen.found());
  EXPECT_EQ(citizen.full_name(), "");
  g = Lookup("12345", &citizen);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "CCCD_MALFORMED");

  // Telco down: three attempts, then UNAVAILABLE; the breaker (3 failures) is now open and the
  // next call fails at once without reaching the telco.
  telco_.FailNext(1000, 503);
  g = Check(Req("reg-flow-4"), &resp);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  s = status::FromGrpcStatus(g);
  EXPECT_EQ(status::ReasonOf(s), "IDV_PROVIDER_UNAVAILABLE");
  EXPECT_NE(status::GetErrorInfo(s)->message_en.find("try again"), std::string::npos);
  const int hits_when_open = telco_.hits();
  g = Check(Req("reg-flow-5"), &resp);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "IDV_PROVIDER_UNAVAILABLE");
  EXPECT_EQ(telco_.hits(), hits_when_open);
  // The population breaker is independent.
  ASSERT_TRUE(Lookup(kCccd, &citizen).ok());

  // The audit: one row per attempt, in order.
  std::vector<Row> rows = AuditRows();
  std::vector<std::string> got;
  for (const Row& r : rows) {
    got.push_back(r.provider + "/" + r.operation + "/" + r.outcome + "/" + std::to_string(r.attempt));
    EXPECT_GE(r.latency_ms, 0);
    EXPECT_FALSE(r.request_id.empty());
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "telco/verify_subscriber/ok/1",
                     "telco/verify_subscriber/ok/1",
                     "population/get_citizen/ok/1",
                     "population/get_citizen/ok/1",
                     "telco/verify_subscriber/unavailable/1",
                     "telco/verify_subscriber/unavailable/2",
                     "telco/verify_subscriber/unavailable/3",
                     "telco/verify_subscriber/breaker_open/1",
                     "population/get_citizen/ok/1",
                 }));
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[0].request_id, "reg-flow-1");
  EXPECT_EQ(rows[2].request_id, "lookup-1");
  EXPECT_EQ(rows[6].request_id, "reg-flow-4");

  // No personal data: no phone or ID digits, names or birth dates anywhere in the table.
  std::string dump;
  ASSERT_TRUE(pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    dump = tx.exec("SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') "
                   "FROM lookup_audit t")[0][0].as<std::string>();
    return absl::OkStatus();
  }).ok());
  ASSERT_FALSE(dump.empty());
  for (const char* pii : {kPhoneDigits, kCccd, kOtherCccd, "012345678", "1999-03-15",
                          "1999-03-16", "Nguy", "VINAPHONE"}) {
    EXPECT_EQ(dump.find(pii), std::string::npos) << pii << " in " << dump;
  }
  int run = 0, longest = 0;
  for (char c : dump) {
    run = std::isdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LT(longest, 9) << dump;

  // Metrics.
  const std::string m = registry_.Render();
  for (const char* line : {
           "idv_provider_calls_total{provider=\"telco\",outcome=\"ok\"} 2",
           "idv_provider_calls_total{provider=\"telco\",outcome=\"unavailable\"} 3",
           "idv_provider_calls_total{provider=\"telco\",outcome=\"breaker_open\"} 1",
           "idv_provider_calls_total{provider=\"population\",outcome=\"ok\"} 3",
           "idv_breaker_state{provider=\"telco\"} 1",
           "idv_breaker_state{provider=\"population\"} 0",
           "idv_provider_latency_seconds_count{provider=\"telco\"} 5",
       }) {
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  }
}

TEST_F(IdvServiceTest, SlowProviderAnswersUnavailableBeforeTheCallersDeadline) {
  telco_.SetHandler(nullptr);
  telco_.Reply(200, "{}", /*delay=*/absl::Seconds(20));
  pb::CheckSubscriberResponse resp;
  const absl::Time start = absl::Now();
  grpc::Status g = Check(Req("reg-slow"), &resp, /*deadline=*/absl::Seconds(2));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE) << g.error_message();
  EXPECT_EQ(status::ReasonOf(status::FromGrpcStatus(g)), "IDV_PROVIDER_UNAVAILABLE");
  EXPECT_LT(took, absl::Seconds(2));
  std::vector<Row> rows = AuditRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, "timeout");
  EXPECT_GE(rows[0].latency_ms, 1500);
}

}  // namespace
}  // namespace dvc::idv
