#include "services/sigverify/adapters/http_revocation_fetcher.h"

#include <atomic>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/http/http_server.h"
#include "libs/status/errors.h"
#include "services/sigverify/domain/revocation.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using testing::CertSpec;
using testing::SerialOf;
using testing::TestCert;
using testing::TestPki;

class HttpRevocationFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Handle("POST", "/ocsp", [this](const http::ServerRequest& r) {
      std::lock_guard<std::mutex> l(mu_);
      last_content_type_ = r.Header("Content-Type").value_or("");
      last_body_ = r.body;
      http::ServerResponse resp;
      resp.content_type = "application/ocsp-response";
      resp.body = "ocsp:" + r.body;
      return resp;
    });
    server_.Handle("GET", "/crl/ca.crl", [this](const http::ServerRequest&) {
      std::lock_guard<std::mutex> l(mu_);
      http::ServerResponse resp;
      resp.content_type = "application/pkix-crl";
      resp.body = crl_body_;
      return resp;
    });
    server_.Handle("GET", "/big", [](const http::ServerRequest&) {
      return http::ServerResponse::Text(200, std::string(100 << 10, 'x'));
    });
    server_.Handle("GET", "/empty",
                   [](const http::ServerRequest&) { return http::ServerResponse::Text(200, ""); });
    server_.Handle("", "/error", [](const http::ServerRequest&) {
      return http::ServerResponse::Text(500, "oops");
    });
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).ok());
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }

  http::HttpServer server_;
  std::mutex mu_;
  std::string last_content_type_, last_body_, crl_body_ = "crl-bytes";
  http::HttpClient client_;
  HttpRevocationFetcher fetcher_{&client_};
};

TEST_F(HttpRevocationFetcherTest, PostsOcspRequest) {
  const std::string req("\x30\x05\x00\x01\xff", 5);
  absl::StatusOr<std::string> r = fetcher_.PostOcsp(Url("/ocsp"), req, absl::Seconds(3));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "ocsp:" + req);
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_EQ(last_content_type_, "application/ocsp-request");
  EXPECT_EQ(last_body_, req);
}

TEST_F(HttpRevocationFetcherTest, GetsCrl) {
  absl::StatusOr<std::string> r = fetcher_.GetCrl(Url("/crl/ca.crl"), absl::Seconds(3));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "crl-bytes");
}

TEST_F(HttpRevocationFetcherTest, UpperCaseSchemeIsHttpToo) {
  std::string url = Url("/crl/ca.crl");
  url.replace(0, 4, "HTTP");
  EXPECT_TRUE(fetcher_.GetCrl(url, absl::Seconds(3)).ok());
}

TEST_F(HttpRevocationFetcherTest, NonOkHttpStatusIsUnavailable) {
  absl::StatusOr<std::string> r = fetcher_.GetCrl(Url("/error"), absl::Seconds(3));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  r = fetcher_.PostOcsp(Url("/error"), "x", absl::Seconds(3));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  r = fetcher_.GetCrl(Url("/missing"), absl::Seconds(3));  // 404
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  r = fetcher_.GetCrl(Url("/empty"), absl::Seconds(3));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(HttpRevocationFetcherTest, OnlyPlainHttpUrls) {
  for (const char* url : {"https://127.0.0.1:1/ocsp", "ldap://ldap.ca.test/cn=CA",
                          "file:///etc/passwd", "http://", "127.0.0.1/ocsp", ""}) {
    EXPECT_EQ(fetcher_.GetCrl(url, absl::Seconds(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
    EXPECT_EQ(fetcher_.PostOcsp(url, "x", absl::Seconds(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
}

TEST_F(HttpRevocationFetcherTest, ResponseSizeIsCapped) {
  HttpRevocationFetcherOptions options;
  options.max_crl_bytes = 10 << 10;
  HttpRevocationFetcher small(&client_, options);
  absl::StatusOr<std::string> r = small.GetCrl(Url("/big"), absl::Seconds(3));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(r.status()), "UPSTREAM_RESPONSE_TOO_LARGE");
  EXPECT_TRUE(fetcher_.GetCrl(Url("/big"), absl::Seconds(3)).ok());  // default cap: 32 MiB
}

TEST_F(HttpRevocationFetcherTest, ConnectionRefusedIsUnavailable) {
  http::HttpServer other;
  ASSERT_TRUE(other.Start("127.0.0.1", 0).ok());
  const int port = other.port();
  other.Stop();
  absl::StatusOr<std::string> r =
      fetcher_.GetCrl("http://127.0.0.1:" + std::to_string(port) + "/x.crl", absl::Seconds(2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

// The checker end to end over HTTP with a CRL source (OCSP is covered by revocation_openssl_test).
TEST_F(HttpRevocationFetcherTest, CheckerUsesCrlOverHttp) {
  TestPki pki;
  TestCert root = pki.Root("HTTP Fetcher Test Root");
  CertSpec good_spec = CertSpec::Leaf({{"C", "VN"}, {"CN", "Good"}});
  good_spec.crl_url = Url("/crl/ca.crl");
  CertSpec revoked_spec = good_spec;
  revoked_spec.subject = {{"C", "VN"}, {"CN", "Revoked"}};
  TestCert good = pki.Issue(root, good_spec);
  TestCert revoked = pki.Issue(root, revoked_spec);
  auto crl = pki.Crl(root, {SerialOf(revoked.get())}, absl::Now() - absl::Hours(1),
                     absl::Now() + absl::Hours(1));
  {
    std::lock_guard<std::mutex> l(mu_);
    crl_body_ = TestPki::CrlDer(crl.get());
  }
  SystemClock clock;
  OcspCrlRevocationChecker checker(&fetcher_, &clock);
  absl::StatusOr<RevocationStatus> r = checker.CheckPath(
      ValidatedPath{{good.cert, root.cert}}, clock.Now(), RevocationPolicy::kFailClosed);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, RevocationStatus::State::kGood);
  EXPECT_EQ(r->source, "crl");
  r = checker.CheckPath(ValidatedPath{{revoked.cert, root.cert}}, clock.Now(),
                        RevocationPolicy::kFailClosed);
  EXPECT_EQ(status::ReasonOf(r.status()), "CERT_REVOKED");
}

}  // namespace
}  // namespace dvc::sigverify
