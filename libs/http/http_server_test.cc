#include "libs/http/http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/http_client.h"
#include "libs/status/errors.h"

namespace dvc::http {
namespace {

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `data` (ignoring failures: the server may close early) and returns everything the
// server answers until it closes the connection (or 5 s pass).
std::string RawExchange(int port, const std::string& data, bool half_close = false) {
  int fd = Connect(port);
  if (fd < 0) return "<connect failed>";
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string StatusLine(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(options_);
    server_->Handle("GET", "/metrics", [](const ServerRequest&) {
      return ServerResponse::Text(200, "up 1\n", "text/plain; version=0.0.4; charset=utf-8");
    });
    server_->Handle("GET", "/health", [](const ServerRequest& r) {
      return ServerResponse::Text(200, "health:" + r.path);
    });
    server_->Handle("GET", "/health/ready",
                    [](const ServerRequest&) { return ServerResponse::Text(503, "not ready"); });
    server_->Handle("POST", "/echo", [](const ServerRequest& r) {
      ServerResponse resp =
          ServerResponse::Json(201, absl::StrCat(r.method, "|", r.path, "|", r.query, "|", r.body,
                                                 "|", r.Header("x-token").value_or("-"), "|",
                                                 r.QueryParam("to").value_or("-")));
      resp.headers = {{"X-Ok", "1"}, {"X-Bad", "a\r\nInjected: yes"}, {"Content-Length", "999"}};
      return resp;
    });
    server_->Handle("", "/any/",
                    [](const ServerRequest& r) { return ServerResponse::Text(200, r.method); });
    server_->Handle("GET", "/throw", [](const ServerRequest&) -> ServerResponse {
      throw std::runtime_error("boom");
    });
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override { server_->Stop(); }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), path);
  }

  absl::StatusOr<HttpResponse> Get(absl::string_view path, std::string method = "GET") {
    HttpRequest req;
    req.method = std::move(method);
    req.url = Url(path);
    req.timeout = absl::Seconds(5);
    return client_.Do(req);
  }

  HttpServer::Options options_;
  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
};

TEST_F(HttpServerTest, ServesMetrics) {
  auto resp = Get("/metrics");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "up 1\n");
  EXPECT_EQ(resp->Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(resp->Header("Connection"), "close");
}

TEST_F(HttpServerTest, RoutesByLongestPrefixOnPathBoundaries) {
  EXPECT_EQ(Get("/health")->body, "health:/health");
  EXPECT_EQ(Get("/health/live")->body, "health:/health/live");
  EXPECT_EQ(Get("/health/ready")->status, 503);
  EXPECT_EQ(Get("/health/ready/x")->status, 503);
  EXPECT_EQ(Get("/healthz")->status, 404);
  EXPECT_EQ(Get("/")->status, 404);
  EXPECT_EQ(Get("/metrics", "POST")->status, 405);
  EXPECT_EQ(Get("/any/thing", "DELETE")->body, "DELETE");
  EXPECT_EQ(Get("/any", "GET")->status, 404);  // "/any/" matches only below it
}

TEST_F(HttpServerTest, HeadIsServedByGetWithoutBody) {
  std::string raw = RawExchange(server_->port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusLine(raw), "HTTP/1.1 200 OK");
  EXPECT_TRUE(absl::StrContains(raw, "Content-Length: 5\r\n"));
  EXPECT_TRUE(absl::EndsWith(raw, "\r\n\r\n"));
}

TEST_F(HttpServerTest, PassesBodyHeadersAndQuery) {
  HttpRequest req;
  req.method = "POST";
  req.url = Url("/echo/sub?to=%2B84%20912&x=1&to=second");
  req.headers = {{"X-Token", "t0k"}};
  req.body = "{\"a\":\"Nguyễn\"}";
  auto resp = client_.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
  EXPECT_EQ(resp->body,
            "POST|/echo/sub|to=%2B84%20912&x=1&to=second|{\"a\":\"Nguyễn\"}|t0k|+84 912");
  EXPECT_EQ(resp->Header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(resp->Header("X-Ok"), "1");
  EXPECT_FALSE(resp->Header("X-Bad").has_value());
  EXPECT_FALSE(resp->Header("Injected").has_value());
  EXPECT_EQ(resp->Header("Content-Length"), std::to_string(resp->body.size()));
}

TEST_F(HttpServerTest, QueryParamDecoding) {
  ServerRequest r;
  r.query = "a=1&b=x+y&c=%41%zz&d&e=%4";
  EXPECT_EQ(r.QueryParam("a"), "1");
  EXPECT_EQ(r.QueryParam("b"), "x y");
  EXPECT_EQ(r.QueryParam("c"), "A%zz");
  EXPECT_EQ(r.QueryParam("d"), "");
  EXPECT_EQ(r.QueryParam("e"), "%4");
  EXPECT_FALSE(r.QueryParam("f").has_value());
}

TEST_F(HttpServerTest, ThrowingHandlerGives500) {
  EXPECT_EQ(Get("/throw")->status, 500);
  EXPECT_EQ(Get("/metrics")->status, 200);
}

TEST_F(HttpServerTest, GarbageGets400AndServerSurvives) {
  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),  // TLS hello-ish
      "GET\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GET metrics HTTP/1.1\r\n\r\n",
      "get /metrics HTTP/1.1\r\n\r\n",
      "GET /metrics HTTP/2.0\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
      "GET /a\x01 HTTP/1.1\r\n\r\n",
  };
  for (const std::string& g : garbage) {
    EXPECT_EQ(StatusLine(RawExchange(server_->port(), g)), "HTTP/1.1 400 Bad Request") << g;
  }
  EXPECT_EQ(
      StatusLine(RawExchange(server_->port(),
                             "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
      "HTTP/1.1 501 Not Implemented");
  EXPECT_EQ(Get("/metrics")->status, 200);
}

TEST_F(HttpServerTest, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng() % 256);
    if (i % 2 == 0) data += "\r\n\r\n";
    std::string out = RawExchange(server_->port(), data, /*half_close=*/true);
    if (!out.empty()) {
      EXPECT_TRUE(absl::StartsWith(out, "HTTP/1.1 4")) << out;
    }
  }
  EXPECT_EQ(Get("/metrics")->status, 200);
}

TEST_F(HttpServerTest, OversizeHeadersGet431) {
  std::string req = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusLine(RawExchange(server_->port(), req)),
            "HTTP/1.1 431 Request Header Fields Too Large");
  // Just under the limit is fine.
  std::string ok = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(16000, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusLine(RawExchange(server_->port(), ok)), "HTTP/1.1 200 OK");
  // An endless header line without CRLF is cut off too.
  EXPECT_EQ(StatusLine(RawExchange(server_->port(), "GET /" + std::string(100000, 'a'))),
            "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(HttpServerTest, OversizeBodyGets413EvenWhileClientSends) {
  HttpRequest req;
  req.method = "POST";
  req.url = Url("/echo");
  req.body = std::string(2 * 1024 * 1024, 'x');
  auto resp = client_.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 413);
  req.body = std::string(1024 * 1024, 'x');  // exactly the limit
  resp = client_.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
}

TEST_F(HttpServerTest, EarlyCloseIsHarmless) {
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    if (i % 2) send(fd, "GET /met", 8, MSG_NOSIGNAL);
    close(fd);
  }
  EXPECT_EQ(RawExchange(server_->port(), "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
                        /*half_close=*/true),
            "");  // body cut short: no response, no handler call
  EXPECT_EQ(Get("/metrics")->status, 200);
}

TEST_F(HttpServerTest, ConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      HttpClient client;
      for (int i = 0; i < 10; ++i) {
        HttpRequest req;
        req.url = Url("/health/x");
        auto r = client.Do(req);
        if (r.ok() && r->status == 200 && r->body == "health:/health/x") ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST(HttpServerStandaloneTest, SlowRequestGets408AndStopIsPrompt) {
  HttpServer::Options options;
  options.read_timeout = absl::Milliseconds(300);
  HttpServer server(options);
  server.Handle("GET", "/", [](const ServerRequest&) { return ServerResponse::Text(200, "ok"); });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  absl::Time start = absl::Now();
  // Slowloris: a partial head, never finished.
  EXPECT_EQ(StatusLine(RawExchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n")),
            "HTTP/1.1 408 Request Timeout");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  // An idle connection (no bytes at all) does not hold up Stop().
  int idle = Connect(server.port());
  ASSERT_GE(idle, 0);
  absl::SleepFor(absl::Milliseconds(50));
  start = absl::Now();
  server.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  server.Stop();  // idempotent
  close(idle);
  EXPECT_LT(Connect(server.port()), 0);  // no longer listening
}

TEST(HttpServerStandaloneTest, ConnectionLimit) {
  HttpServer::Options options;
  options.max_connections = 2;
  options.read_timeout = absl::Seconds(3);
  HttpServer server(options);
  server.Handle("GET", "/", [](const ServerRequest&) { return ServerResponse::Text(200, "ok"); });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  int a = Connect(server.port());
  int b = Connect(server.port());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(StatusLine(RawExchange(server.port(), "GET / HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 503 Service Unavailable");
  close(a);
  close(b);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(StatusLine(RawExchange(server.port(), "GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 200 OK");
}

TEST(HttpServerStandaloneTest, StartErrors) {
  HttpServer first;
  ASSERT_TRUE(first.Start("127.0.0.1", 0).ok());
  HttpServer second;
  absl::Status s = second.Start("127.0.0.1", first.port());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), "HTTP_LISTEN_FAILED");
  HttpServer third;
  EXPECT_EQ(status::ReasonOf(third.Start("not-an-ip", 0)), "HTTP_BAD_LISTEN_ADDRESS");
  EXPECT_EQ(status::ReasonOf(third.Start("127.0.0.1", 70000)), "HTTP_BAD_LISTEN_ADDRESS");
  HttpServer fourth;
  ASSERT_TRUE(fourth.Start("localhost", 0).ok());
  EXPECT_EQ(status::ReasonOf(fourth.Start("localhost", 0)), "HTTP_SERVER_STATE");
}

TEST(HttpServerStandaloneTest, StopWaitsForRunningHandler) {
  std::atomic<bool> entered{false};
  HttpServer server;
  server.Handle("GET", "/slow", [&](const ServerRequest&) {
    entered = true;
    absl::SleepFor(absl::Milliseconds(300));
    return ServerResponse::Text(200, "done");
  });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  std::string out;
  std::thread client([&] { out = RawExchange(server.port(), "GET /slow HTTP/1.1\r\n\r\n"); });
  while (!entered) absl::SleepFor(absl::Milliseconds(5));
  server.Stop();
  client.join();
  EXPECT_EQ(StatusLine(out), "HTTP/1.1 200 OK");
  EXPECT_TRUE(absl::EndsWith(out, "done"));
}

}  // namespace
}  // namespace dvc::http
