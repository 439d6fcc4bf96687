#include "services/otp/adapters/http_sms_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "libs/http/http_server.h"
#include "libs/jwt/json.h"
#include "libs/status/errors.h"

namespace dvc::otp {
namespace {

class HttpSmsSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Handle("POST", "/v1/sms", [this](const http::ServerRequest& r) {
      {
        std::lock_guard<std::mutex> l(mu_);
        body_ = r.body;
        content_type_ = r.Header("Content-Type").value_or("");
        ++calls_;
      }
      if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
      return http::ServerResponse::Json(status_, R"({"message_id":"x","duplicate":false})");
    });
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).ok());
  }

  HttpSmsSender Sender(absl::Duration timeout = absl::Seconds(2)) {
    return HttpSmsSender({absl::StrCat("http://127.0.0.1:", server_.port(), "/"), "DVCQG",
                          timeout, absl::Seconds(1)});
  }

  SmsMessage Msg() {
    return {"84912345678", "DVCQG: Ma xac thuc cua ban la 123456.", "3f2b.1"};
  }

  http::HttpServer server_;
  std::mutex mu_;
  std::string body_, content_type_;
  int calls_ = 0;
  std::atomic<int> status_{202};
  absl::Duration delay_ = absl::ZeroDuration();
};

TEST_F(HttpSmsSenderTest, PostsTheSimulatorProtocol) {
  ASSERT_TRUE(Sender().Send(Msg()).ok());
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(content_type_, "application/json");
  auto json = jwt::ParseFlatJson(body_);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->GetString("to"), "84912345678");
  EXPECT_EQ(json->GetString("text"), "DVCQG: Ma xac thuc cua ban la 123456.");
  EXPECT_EQ(json->GetString("sender"), "DVCQG");
  EXPECT_EQ(json->GetString("message_id"), "3f2b.1");
}

TEST_F(HttpSmsSenderTest, EscapesTheText) {
  SmsMessage m = Msg();
  m.text = "a \"quoted\" \\ line\nnext";
  auto json = jwt::ParseFlatJson(Sender().Body(m));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->GetString("text"), m.text);
}

TEST_F(HttpSmsSenderTest, GatewayErrorIsUnavailable) {
  status_ = 503;
  absl::Status s = Sender().Send(Msg());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), "SMS_GATEWAY_ERROR");
  EXPECT_EQ(status::GetErrorInfo(s)->metadata.at("http_status"), "503");
  status_ = 400;
  EXPECT_EQ(status::ReasonOf(Sender().Send(Msg())), "SMS_GATEWAY_ERROR");
}

TEST_F(HttpSmsSenderTest, TimeoutIsDeadlineExceeded) {
  delay_ = absl::Milliseconds(800);
  absl::Status s = Sender(absl::Milliseconds(200)).Send(Msg());
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status::ReasonOf(s), "UPSTREAM_TIMEOUT");
}

TEST(HttpSmsSenderNoServer, ConnectionRefusedIsUnavailable) {
  http::HttpServer probe;
  ASSERT_TRUE(probe.Start("127.0.0.1", 0).ok());
  const int port = probe.port();
  probe.Stop();
  HttpSmsSender sender({absl::StrCat("http://127.0.0.1:", port), "DVCQG", absl::Seconds(1),
                        absl::Seconds(1)});
  absl::Status s = sender.Send({"84912345678", "x", "id.1"});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), "UPSTREAM_UNAVAILABLE");
}

// Against the real SMS simulator (tools/sim/simulators.py) when the stack exports SIM_SMS_URL
// (tools/test does); skipped otherwise.
TEST(HttpSmsSenderSimulator, SimulatorReceivesTheCode) {
  const char* url = std::getenv("SIM_SMS_URL");
  if (url == nullptr || *url == '\0') GTEST_SKIP() << "SIM_SMS_URL not set";
  HttpSmsSender sender({url, "DVCQG", absl::Seconds(5), absl::Seconds(2)});
  const std::string id = absl::StrCat("otp-sim-test.", absl::ToUnixNanos(absl::Now()));
  const std::string text =
      "DVCQG: Ma xac thuc cua ban la 482913. Ma co hieu luc trong 5 phut. Tuyet doi khong cung "
      "cap ma nay cho nguoi khac.";
  ASSERT_TRUE(sender.Send({"84399990001", text, id}).ok());
  ASSERT_TRUE(sender.Send({"84399990001", text, id}).ok());  // deduplicated by message_id
  http::HttpClient client;
  auto resp = client.Do({.method = "GET",
                         .url = absl::StrCat(url, "/v1/otp/last?to=0399990001")});
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->status, 200) << resp->body;
  auto json = jwt::ParseFlatJson(resp->body);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->GetString("otp"), "482913");
  EXPECT_EQ(json->GetString("message_id"), id);
  // A malformed number is refused by the gateway (400) and reported as unavailable.
  absl::Status bad = sender.Send({"8412", "x", id + ".bad"});
  EXPECT_EQ(status::ReasonOf(bad), "SMS_GATEWAY_ERROR");
}

}  // namespace
}  // namespace dvc::otp
