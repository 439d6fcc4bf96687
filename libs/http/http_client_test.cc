#include "libs/http/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/raw_test_server.h"
#include "libs/status/errors.h"

namespace dvc::http {
namespace {

using testing::RawTestServer;

// Echoes the request line's target in the body, with a custom response header.
void Echo(RawTestServer&, const std::string& req, int fd) {
  std::string line = req.substr(0, req.find("\r\n"));
  RawTestServer::Write(fd, RawTestServer::Response(200, line, "X-Sim: yes\r\n"));
}

TEST(HttpClientTest, GetReturnsStatusBodyAndHeaders) {
  RawTestServer server(Echo);
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/v1/citizens/001099012345?x=1");
  req.headers = {{"X-Request-Id", "abc-123"}};
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "GET /v1/citizens/001099012345?x=1 HTTP/1.1");
  EXPECT_EQ(resp->Header("x-sim"), "yes");
  EXPECT_EQ(resp->Header("Content-Length"), "42");
  EXPECT_FALSE(resp->Header("X-Missing").has_value());
  EXPECT_TRUE(absl::StrContains(server.last_request(), "\r\nX-Request-Id: abc-123\r\n"));
}

TEST(HttpClientTest, PostSendsBodyWithoutExpectContinue) {
  RawTestServer server(Echo);
  HttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/v1/sms");
  req.headers = {{"Content-Type", "application/json"}};
  req.body = std::string(5000, 'a');  // large enough for curl to consider Expect: 100-continue
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "POST /v1/sms HTTP/1.1");
  std::string raw = server.last_request();
  EXPECT_TRUE(absl::StrContains(raw, "Content-Length: 5000\r\n"));
  EXPECT_FALSE(absl::StrContains(raw, "Expect:"));
  EXPECT_TRUE(absl::EndsWith(raw, "\r\n\r\n" + req.body));
}

TEST(HttpClientTest, EmptyPostAndCustomMethods) {
  RawTestServer server(Echo);
  HttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/admin/reset");
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "POST /admin/reset HTTP/1.1");
  EXPECT_TRUE(absl::StrContains(server.last_request(), "Content-Length: 0\r\n"));

  req.method = "DELETE";
  req.url = server.Url("/x");
  resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "DELETE /x HTTP/1.1");

  req.method = "PUT";
  req.body = "{}";
  resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "PUT /x HTTP/1.1");
  EXPECT_TRUE(absl::EndsWith(server.last_request(), "\r\n\r\n{}"));
}

TEST(HttpClientTest, ServerErrorIsAResponseNotAnError) {
  RawTestServer server([](RawTestServer&, const std::string&, int fd) {
    RawTestServer::Write(fd, RawTestServer::Response(503, R"({"error":"down"})"));
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/");
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 503);
  EXPECT_EQ(resp->body, R"({"error":"down"})");
}

TEST(HttpClientTest, SlowServerTimesOut) {
  RawTestServer server([](RawTestServer& s, const std::string&, int fd) {
    if (s.Sleep(absl::Seconds(5))) RawTestServer::Write(fd, RawTestServer::Response(200, "late"));
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/slow");
  req.timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  auto resp = client.Do(req);
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_TIMEOUT");
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
}

TEST(HttpClientTest, HeadersThenStallTimesOut) {
  // Headers arrive, the body never does: still a timeout, not a partial success.
  RawTestServer server([](RawTestServer& s, const std::string&, int fd) {
    RawTestServer::Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    s.Sleep(absl::Seconds(5));
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/");
  req.timeout = absl::Milliseconds(300);
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_TIMEOUT");
}

int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);  // nothing listens there now
  return ntohs(addr.sin_port);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  HttpClient client;
  HttpRequest req;
  req.url = absl::StrCat("http://127.0.0.1:", UnusedPort(), "/v1/subscribers/verify");
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_UNAVAILABLE");
  auto info = status::GetErrorInfo(resp.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->metadata["cause"].empty());
  EXPECT_FALSE(absl::StrContains(info->metadata["cause"], "127.0.0.1"));
  EXPECT_FALSE(info->message_vi.empty());
}

TEST(HttpClientTest, ClosedWithoutReplyIsUnavailable) {
  RawTestServer server([](RawTestServer&, const std::string&, int) {});
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/");
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_UNAVAILABLE");
}

TEST(HttpClientTest, GarbageReplyIsUnavailable) {
  RawTestServer server([](RawTestServer&, const std::string&, int fd) {
    RawTestServer::Write(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/");
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_UNAVAILABLE");
}

TEST(HttpClientTest, OversizeResponseIsRejected) {
  RawTestServer server([](RawTestServer&, const std::string&, int fd) {
    RawTestServer::Write(fd, RawTestServer::Response(200, std::string(10000, 'x')));
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.Url("/");
  req.max_response_bytes = 9999;
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(status::ReasonOf(resp.status()), "UPSTREAM_RESPONSE_TOO_LARGE");
  req.max_response_bytes = 10000;
  resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body.size(), 10000u);
}

TEST(HttpClientTest, BadUrlAndMethod) {
  HttpClient client;
  HttpRequest req;
  req.url = "file:///etc/passwd";
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(resp.status()), "HTTP_BAD_URL");
  req.url = "http://";
  EXPECT_EQ(status::ReasonOf(client.Do(req).status()), "HTTP_BAD_URL");
  req.url = "http://127.0.0.1:1/";
  req.method = "GET\r\nX: y";
  EXPECT_EQ(status::ReasonOf(client.Do(req).status()), "HTTP_BAD_METHOD");
  req.method = "";
  EXPECT_EQ(status::ReasonOf(client.Do(req).status()), "HTTP_BAD_METHOD");
}

TEST(HttpClientTest, ConcurrentCallsFromManyThreads) {
  RawTestServer server(Echo);
  HttpClient client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        HttpRequest req;
        std::string path = absl::StrCat("/t", t, "/", i);
        req.url = server.Url(path);
        auto resp = client.Do(req);
        if (resp.ok() && resp->body == absl::StrCat("GET ", path, " HTTP/1.1")) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 80);
}

TEST(HttpClientTest, HandleIsReusableAfterFailure) {
  // The per-thread handle is reset between calls: options of a failed call do not leak.
  HttpClient client;
  HttpRequest bad;
  bad.url = absl::StrCat("http://127.0.0.1:", UnusedPort(), "/");
  bad.method = "POST";
  bad.body = "x";
  ASSERT_FALSE(client.Do(bad).ok());
  RawTestServer server(Echo);
  HttpRequest req;
  req.url = server.Url("/after");
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "GET /after HTTP/1.1");
}

}  // namespace
}  // namespace dvc::http
