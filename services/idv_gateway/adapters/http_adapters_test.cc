// The HTTP provider adapters against an in-test HTTP server speaking the providers' protocols,
// alone and under the real resilience policy (real clock, real sockets).
#include <gtest/gtest.h>


#include "libs/crypto/random.h"
#include "libs/http/http_client.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"
#include "services/idv_gateway/adapters/http_population.h"
#include "services/idv_gateway/adapters/http_telco.h"
#include "services/idv_gateway/domain/idv.h"
#include "services/idv_gateway/domain/resilient_call.h"
#include "services/idv_gateway/testing/fake_provider_server.h"

namespace dvc::idv {
namespace {

using testing::FakeProviderServer;

constexpr char kFoundMatch[] =
    R"({"request_id":"r1","msisdn":"84912345678","carrier":"VINAPHONE",)"
    R"("subscriber_found":true,"match":true,"mismatches":[]})";

SubscriberQuery Query() {
  return {.request_id = "r1", .msisdn = "84912345678", .id_number = "001099012345",
          .full_name = "Nguyễn Văn An", .date_of_birth = "1999-03-15"};
}

TEST(HttpTelcoTest, SendsTheProtocolRequestAndParsesTheAnswer) {
  FakeProviderServer srv;
  srv.Reply(200, kFoundMatch);
  http::HttpClient client;
  HttpTelcoProvider telco(&client, srv.url() + "/");  // trailing slash tolerated
  auto r = telco.VerifySubscriber(Query(), absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->subscriber_found);
  EXPECT_TRUE(r->match);
  EXPECT_TRUE(r->mismatches.empty());
  EXPECT_EQ(r->carrier, "VINAPHONE");

  http::ServerRequest req = srv.last();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v1/subscribers/verify");
  EXPECT_EQ(req.Header("x-request-id").value_or(""), "r1");
  auto body = jwt::ParseFlatJson(req.body);
  ASSERT_TRUE(body.ok()) << req.body;
  EXPECT_EQ(body->GetString("msisdn").value_or(""), "84912345678");
  EXPECT_EQ(body->GetString("id_number").value_or(""), "001099012345");
  EXPECT_EQ(body->GetString("full_name").value_or(""), "Nguyễn Văn An");
  EXPECT_EQ(body->GetString("date_of_birth").value_or(""), "1999-03-15");
  EXPECT_EQ(body->GetString("request_id").value_or(""), "r1");
}

TEST(HttpTelcoTest, MismatchesAndNullCarrier) {
  FakeProviderServer srv;
  srv.Reply(200, R"({"subscriber_found":true,"match":false,"carrier":null,)"
                 R"("mismatches":["full_name","date_of_birth"]})");
  http::HttpClient client;
  HttpTelcoProvider telco(&client, srv.url());
  auto r = telco.VerifySubscriber(Query(), absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->match);
  EXPECT_EQ(r->mismatches, (std::vector<std::string>{"full_name", "date_of_birth"}));
  EXPECT_EQ(r->carrier, "");
}

TEST(HttpTelcoTest, StatusMapping) {
  FakeProviderServer srv;
  http::HttpClient client;
  HttpTelcoProvider telco(&client, srv.url());
  struct Case {
    int http_status;
    std::string body;
    absl::StatusCode code;
    std::string reason;
  };
  std::vector<Case> cases = {
      {400, R"({"error":"msisdn must be 84 followed by 9 digits"})",
       absl::StatusCode::kInvalidArgument, "IDV_INPUT_REJECTED"},
      {404, R"({"error":"no such endpoint"})", absl::StatusCode::kInternal, ""},
      {401, "{}", absl::StatusCode::kInternal, ""},
      {500, "{}", absl::StatusCode::kUnavailable, ""},
      {503, "{}", absl::StatusCode::kUnavailable, ""},
      {429, "{}", absl::StatusCode::kUnavailable, ""},
      {200, "not json", absl::StatusCode::kInternal, ""},
      {200, R"({"match":true})", absl::StatusCode::kInternal, ""},
      {200, R"({"subscriber_found":"yes","match":true})", absl::StatusCode::kInternal, ""},
      {200, R"({"subscriber_found":true,"match":false,"mismatches":["email"]})",
       absl::StatusCode::kInternal, ""},
  };
  for (const Case& c : cases) {
    srv.Reply(c.http_status, c.body);
    auto r = telco.VerifySubscriber(Query(), absl::Seconds(2));
    EXPECT_EQ(r.status().code(), c.code) << c.http_status << " " << c.body;
    if (!c.reason.empty()) {
      EXPECT_EQ(status::ReasonOf(r.status()), c.reason);
    }
  }
}

TEST(HttpTelcoTest, ConnectionRefusedIsUnavailable) {
  int port;
  {
    FakeProviderServer gone;
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  http::HttpClient client;
  HttpTelcoProvider telco(&client, "http://127.0.0.1:" + std::to_string(port));
  auto r = telco.VerifySubscriber(Query(), absl::Seconds(2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST(HttpPopulationTest, FoundNotFoundAndRejected) {
  FakeProviderServer srv;
  http::HttpClient client;
  HttpPopulationProvider pop(&client, srv.url());
  srv.Reply(200, R"({"cccd":"001099012345","cmnd":"012345678","full_name":"Nguyễn Văn An",)"
                 R"("date_of_birth":"1999-03-15","gender":"male","place_of_birth":"Hà Nội",)"
                 R"("hometown":"Xã Văn Hoàng","permanent_address":"Số 12 phố Huế",)"
                 R"("bhxh_code":"0199012345"})");
  auto r = pop.GetCitizen("001099012345", "rid-7", absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->full_name, "Nguyễn Văn An");
  EXPECT_EQ((*r)->gender, "MALE");
  EXPECT_EQ((*r)->cmnd, "012345678");
  EXPECT_EQ((*r)->place_of_birth, "Hà Nội");
  EXPECT_EQ((*r)->hometown, "Xã Văn Hoàng");
  EXPECT_EQ((*r)->permanent_address, "Số 12 phố Huế");
  EXPECT_EQ(srv.last().method, "GET");
  EXPECT_EQ(srv.last().path, "/v1/citizens/001099012345");
  EXPECT_EQ(srv.last().Header("x-request-id").value_or(""), "rid-7");

  srv.Reply(404, R"({"error":"citizen not found"})");
  auto nf = pop.GetCitizen("001099012345", "rid", absl::Seconds(2));
  ASSERT_TRUE(nf.ok()) << nf.status();
  EXPECT_FALSE(nf->has_value());

  srv.Reply(400, R"({"error":"cccd province code must be 001-096"})");
  auto bad = pop.GetCitizen("001099012345", "rid", absl::Seconds(2));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(bad.status()), "IDV_INPUT_REJECTED");
  EXPECT_EQ(status::GetErrorInfo(bad.status())->field, "cccd");

  // A record for another citizen is a provider fault, never shown to the user.
  srv.Reply(200, R"({"cccd":"079187004321","full_name":"X","date_of_birth":"1987-11-02"})");
  EXPECT_EQ(pop.GetCitizen("001099012345", "rid", absl::Seconds(2)).status().code(),
            absl::StatusCode::kInternal);
  srv.Reply(502, "{}");
  EXPECT_EQ(pop.GetCitizen("001099012345", "rid", absl::Seconds(2)).status().code(),
            absl::StatusCode::kUnavailable);
}

// ---- under the resilience policy ----

class ResilientAdapterTest : public ::testing::Test {
 protected:
  ResilientCaller Caller(RetryOptions r, BreakerOptions b = {}) {
    return ResilientCaller({"telco", "nhà mạng", "the mobile carrier"}, r, b, &clock_, &sleeper_,
                           &random_);
  }
  SystemClock clock_;
  RealSleeper sleeper_;
  crypto::OsRandom random_;
  http::HttpClient client_;
};

TEST_F(ResilientAdapterTest, SlowProviderGivesUnavailableWithinTheBudget) {
  FakeProviderServer srv;
  srv.Reply(200, kFoundMatch, /*delay=*/absl::Seconds(5));
  HttpTelcoProvider telco(&client_, srv.url());
  RetryOptions r;
  r.attempt_timeout = absl::Milliseconds(300);
  r.max_retries = 2;
  r.budget = absl::Milliseconds(800);
  r.initial_backoff = absl::Milliseconds(20);
  ResilientCaller caller = Caller(r);
  std::vector<Attempt> attempts;
  const absl::Time start = absl::Now();
  auto res = caller.Call<SubscriberCheck>(
      CallSpec{.idempotent = true},
      [&](absl::Duration t) { return telco.VerifySubscriber(Query(), t); }, &attempts);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(res.status()), kReasonProviderUnavailable);
  EXPECT_LT(took, absl::Milliseconds(800) + absl::Milliseconds(250)) << took;
  EXPECT_GE(took, absl::Milliseconds(550)) << took;  // it did retry, not give up at once
  ASSERT_GE(attempts.size(), 2u);
  for (const Attempt& a : attempts) EXPECT_EQ(a.outcome, Outcome::kTimeout);
}

TEST_F(ResilientAdapterTest, TransientFailuresAreRetriedToSuccess) {
  FakeProviderServer srv;
  srv.Reply(200, kFoundMatch);
  srv.FailNext(2, 503);
  HttpTelcoProvider telco(&client_, srv.url());
  RetryOptions r;
  r.initial_backoff = absl::Milliseconds(10);
  ResilientCaller caller = Caller(r);
  auto res = caller.Call<SubscriberCheck>(
      CallSpec{.idempotent = true},
      [&](absl::Duration t) { return telco.VerifySubscriber(Query(), t); });
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_TRUE(res->match);
  EXPECT_EQ(srv.hits(), 3);
}

TEST_F(ResilientAdapterTest, RejectionIsNotRetried) {
  FakeProviderServer srv;
  srv.Reply(400, R"({"error":"bad"})");
  HttpTelcoProvider telco(&client_, srv.url());
  ResilientCaller caller = Caller(RetryOptions{});
  auto res = caller.Call<SubscriberCheck>(
      CallSpec{.idempotent = true},
      [&](absl::Duration t) { return telco.VerifySubscriber(Query(), t); });
  EXPECT_EQ(status::ReasonOf(res.status()), "IDV_INPUT_REJECTED");
  EXPECT_EQ(srv.hits(), 1);
}

TEST_F(ResilientAdapterTest, BreakerOpensOnADeadProviderAndFailsFast) {
  int port;
  {
    FakeProviderServer gone;
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  HttpTelcoProvider telco(&client_, "http://127.0.0.1:" + std::to_string(port));
  RetryOptions r;
  r.max_retries = 0;
  ResilientCaller caller = Caller(r, BreakerOptions{.failure_threshold = 2});
  for (int i = 0; i < 2; ++i) {
    auto res = caller.Call<SubscriberCheck>(
        CallSpec{.idempotent = true},
        [&](absl::Duration t) { return telco.VerifySubscriber(Query(), t); });
    EXPECT_EQ(status::ReasonOf(res.status()), kReasonProviderUnavailable);
  }
  EXPECT_EQ(caller.breaker().state(), BreakerState::kOpen);
  bool called = false;
  auto res = caller.Call<SubscriberCheck>(CallSpec{.idempotent = true}, [&](absl::Duration t) {
    called = true;
    return telco.VerifySubscriber(Query(), t);
  });
  EXPECT_EQ(status::ReasonOf(res.status()), kReasonProviderUnavailable);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace dvc::idv
