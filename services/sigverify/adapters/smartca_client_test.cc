#include "services/sigverify/adapters/smartca_client.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/crypto/encoding.h"
#include "libs/http/http_client.h"
#include "libs/http/http_server.h"
#include "libs/jwt/json.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "services/sigverify/testing/test_pki.h"

namespace dvc::sigverify {
namespace {

using testing::CertSpec;
using testing::TestCert;
using testing::TestPki;

constexpr char kPassword[] = "sp-s3cr3t-Pwd";
constexpr char kCertPath[] = "/v1/credentials/get_certificate";
constexpr char kSignPath[] = "/v1/signatures/sign";

// ---- a scripted SmartCA ----

class FakeSmartCa final {
 public:
  struct Canned {
    int status = 200;
    std::string body;
    absl::Duration delay;
  };

  FakeSmartCa() {
    server_.Handle("", "/", [this](const http::ServerRequest& r) { return Serve(r); });
    started_ = server_.Start("127.0.0.1", 0);
  }
  ~FakeSmartCa() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_.Stop();
  }
  bool ok() const { return started_.ok(); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_.port(), "/"); }

  // Replies for requests whose path starts with `path_prefix` (longest prefix wins).
  void Reply(const std::string& path_prefix, int status, std::string body,
             absl::Duration delay = absl::ZeroDuration()) {
    std::lock_guard<std::mutex> l(mu_);
    canned_[path_prefix] = Canned{status, std::move(body), delay};
  }
  std::vector<http::ServerRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  http::ServerResponse Serve(const http::ServerRequest& r) {
    std::unique_lock<std::mutex> l(mu_);
    requests_.push_back(r);
    const Canned* best = nullptr;
    size_t best_len = 0;
    for (const auto& [prefix, c] : canned_) {
      if (r.path.rfind(prefix, 0) == 0 && prefix.size() >= best_len) {
        best = &c;
        best_len = prefix.size();
      }
    }
    if (best == nullptr) return http::ServerResponse::Json(404, R"({"status_code":404})");
    const Canned c = *best;
    if (c.delay > absl::ZeroDuration()) {
      cv_.wait_for(l, absl::ToChronoMilliseconds(c.delay), [this] { return stopping_; });
    }
    return http::ServerResponse::Json(c.status, c.body);
  }

  http::HttpServer server_;
  absl::Status started_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, Canned> canned_;
  std::vector<http::ServerRequest> requests_;
};

// ---- canned bodies ----

std::string Ok(const std::string& data_json) {
  return absl::StrCat(R"({"status_code":200,"message":"success","data":)", data_json, "}");
}

std::string CertEntry(const TestCert& leaf, const std::string& serial,
                      const std::vector<const TestCert*>& issuers) {
  std::vector<std::string> chain;
  for (const TestCert* c : issuers) chain.push_back(crypto::Base64Encode(c->Der()));
  jwt::JsonObjectBuilder b;
  b.String("cert_id", "id-" + serial)
      .String("serial_number", serial)
      .String("cert_subject", "CN=Test")
      .String("cert_valid_from", "2020-01-01T00:00:00Z")
      .String("cert_valid_to", "2099-01-01T00:00:00Z")
      .String("cert_data", crypto::Base64Encode(leaf.Der()))
      .StringArray("chain_data", chain);
  return b.Build();
}

std::string CertList(const std::vector<std::string>& entries) {
  return Ok(absl::StrCat(R"({"user_certificates":[)", absl::StrJoin(entries, ","), "]}"));
}

std::string SignOk(const std::string& tran_id) {
  return Ok(absl::StrCat(R"({"transaction_id":")", tran_id, R"(","tran_code":"AB12CD"})"));
}

std::string StatusBody(int st, const std::string& signatures_json = "") {
  return Ok(absl::StrCat(R"({"transaction_id":"t-1","tran_code":"AB12CD","status":)", st,
                         signatures_json.empty() ? "" : ",\"signatures\":" + signatures_json,
                         "}"));
}

std::vector<std::string>* g_log = nullptr;
void CaptureLog(const std::string& line) {
  if (g_log != nullptr) g_log->push_back(line);
}

std::string Digest() {
  std::string d;
  for (int i = 0; i < 32; ++i) d += static_cast<char>(255 - i * 3);
  return d;
}

// Certificates shared by the suite (RSA keygen is slow).
struct Pki {
  Pki() {
    root = pki.Root("SmartCA Test Root");
    ca = pki.Intermediate(root, "VNPT SmartCA Test CA");
    CertSpec spec = CertSpec::Leaf({{"CN", "Nguyễn Văn An"}, {"UID", "CCCD:001099012345"}});
    valid = pki.Issue(ca, spec);
    spec.not_before = absl::Now() - absl::Hours(24 * 800);
    spec.not_after = absl::Now() - absl::Hours(24 * 30);
    expired = pki.Issue(ca, spec);
    spec.not_before = absl::Now() + absl::Hours(24 * 30);
    spec.not_after = absl::Now() + absl::Hours(24 * 800);
    future = pki.Issue(ca, spec);
  }
  TestPki pki;
  TestCert root, ca, valid, expired, future;
};

const Pki& P() {
  static const Pki* p = new Pki();
  return *p;
}

class SmartCaClientTest : public ::testing::Test {
 protected:
  SmartCaClientTest() {
    g_log = &log_lines_;
    log::SetSink(&CaptureLog);
  }
  ~SmartCaClientTest() override {
    log::SetSink(nullptr);
    g_log = nullptr;
  }

  SmartCaConfig Config() {
    SmartCaConfig c;
    c.base_url = server_.url();
    c.sp_id = "dvc-sp";
    c.sp_password = kPassword;
    c.request_timeout = absl::Seconds(5);
    return c;
  }
  RemoteSignRequest Request() {
    RemoteSignRequest r;
    r.subscriber = "079123456789";
    r.digest_sha256 = Digest();
    r.display_text = "Dịch vụ công - Mã xác nhận: 0042";
    r.transaction_id = "2a1f6b0c-7d3e-4f5a-9b8c-1d2e3f4a5b6c";
    r.timeout = absl::Minutes(2);
    return r;
  }
  std::string AllLogs() const { return absl::StrJoin(log_lines_, "\n"); }

  std::vector<std::string> log_lines_;
  FakeSmartCa server_;
  http::HttpClient http_;
  SystemClock clock_;  // certificate validity is checked against real certificates
};

TEST_F(SmartCaClientTest, StartPicksTheFirstValidCertificateAndSignsTheHash) {
  ASSERT_TRUE(server_.ok());
  const Pki& p = P();
  server_.Reply(kCertPath, 200,
                CertList({CertEntry(p.expired, "01EXPIRED", {&p.ca}),
                          CertEntry(p.future, "02FUTURE", {&p.ca}),
                          CertEntry(p.valid, "03VALID", {&p.ca, &p.root})}));
  server_.Reply(kSignPath, 200, SignOk("tran-42"));
  SmartCaClient client(Config(), &http_, &clock_);

  const RemoteSignRequest req = Request();
  absl::StatusOr<RemoteSignStarted> started = client.Start(req);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->provider_transaction_id, "tran-42");
  ASSERT_EQ(started->chain_der.size(), 3u);
  EXPECT_EQ(started->chain_der[0], p.valid.Der());
  EXPECT_EQ(started->chain_der[1], p.ca.Der());
  EXPECT_EQ(started->chain_der[2], p.root.Der());

  const std::vector<http::ServerRequest> sent = server_.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].path, kCertPath);  // base URL's trailing slash dropped
  absl::StatusOr<jwt::FlatJson> gc = jwt::ParseFlatJson(sent[0].body);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->GetString("sp_id").value_or(""), "dvc-sp");
  EXPECT_EQ(gc->GetString("sp_password").value_or(""), kPassword);
  EXPECT_EQ(gc->GetString("user_id").value_or(""), req.subscriber);
  EXPECT_EQ(gc->GetString("transaction_id").value_or(""), req.transaction_id);

  EXPECT_EQ(sent[1].path, kSignPath);
  absl::StatusOr<jwt::FlatJson> sign = jwt::ParseFlatJson(sent[1].body);
  ASSERT_TRUE(sign.ok());
  EXPECT_EQ(sign->GetString("sp_password").value_or(""), kPassword);
  EXPECT_EQ(sign->GetString("user_id").value_or(""), req.subscriber);
  EXPECT_EQ(sign->GetString("transaction_id").value_or(""), req.transaction_id);
  EXPECT_EQ(sign->GetString("transaction_desc").value_or(""), req.display_text);
  EXPECT_EQ(sign->GetString("serial_number").value_or(""), "03VALID");
  EXPECT_EQ(sign->GetString("time_stamp").value_or("").size(), 14u);
  const std::string files = sign->GetRaw("sign_files").value_or("");
  EXPECT_NE(files.find(absl::StrCat("\"data_to_be_signed\":\"", crypto::HexEncode(Digest()), "\"")),
            std::string::npos)
      << files;
  EXPECT_NE(files.find("\"sign_type\":\"hash\""), std::string::npos) << files;
  EXPECT_NE(files.find(absl::StrCat("\"doc_id\":\"", req.transaction_id, "\"")),
            std::string::npos);
}

TEST_F(SmartCaClientTest, ChainWithoutIssuersOrWithTheLeafRepeatedOrAsOneString) {
  const Pki& p = P();
  server_.Reply(kSignPath, 200, SignOk("t"));
  SmartCaClient client(Config(), &http_, &clock_);

  server_.Reply(kCertPath, 200, CertList({CertEntry(p.valid, "01", {})}));
  absl::StatusOr<RemoteSignStarted> s = client.Start(Request());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->chain_der, std::vector<std::string>{p.valid.Der()});

  server_.Reply(kCertPath, 200, CertList({CertEntry(p.valid, "01", {&p.valid, &p.ca})}));
  s = client.Start(Request());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->chain_der, (std::vector<std::string>{p.valid.Der(), p.ca.Der()}));

  const std::string one = absl::StrCat(
      R"({"serial_number":"01","cert_data":")", crypto::Base64Encode(p.valid.Der()),
      R"(","chain_data":")", crypto::Base64Encode(p.ca.Der()), "\"}");
  server_.Reply(kCertPath, 200, CertList({one}));
  s = client.Start(Request());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->chain_der, (std::vector<std::string>{p.valid.Der(), p.ca.Der()}));
}

TEST_F(SmartCaClientTest, NoUsableCertificateIsSignerNoCertificate) {
  const Pki& p = P();
  SmartCaClient client(Config(), &http_, &clock_);
  const std::vector<std::pair<int, std::string>> replies = {
      {404, R"({"status_code":404,"message":"user_not_found","data":null})"},
      {200, CertList({})},
      {200, Ok("{}")},
      {200, CertList({CertEntry(p.expired, "01", {&p.ca}), CertEntry(p.future, "02", {})})},
      // Some deployments answer HTTP 200 with the error in the body.
      {200, R"({"status_code":404,"message":"user_not_found","data":null})"},
  };
  for (const auto& [st, body] : replies) {
    server_.Reply(kCertPath, st, body);
    absl::Status s = client.Start(Request()).status();
    EXPECT_EQ(status::ReasonOf(s), "SIGNER_NO_CERTIFICATE") << body;
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  }
  // The sign call never happened.
  for (const http::ServerRequest& r : server_.requests()) EXPECT_EQ(r.path, kCertPath);

  // The certificate disappeared between the two calls.
  server_.Reply(kCertPath, 200, CertList({CertEntry(p.valid, "01", {&p.ca})}));
  server_.Reply(kSignPath, 404, R"({"status_code":404,"message":"certificate_not_found"})");
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_NO_CERTIFICATE");
}

TEST_F(SmartCaClientTest, BrokenCertificateDataIsAProviderError) {
  const Pki& p = P();
  SmartCaClient client(Config(), &http_, &clock_);
  const std::string not_a_cert = absl::StrCat(R"({"serial_number":"01","cert_data":")",
                                              crypto::Base64Encode("garbage"), "\"}");
  const std::string not_base64 = R"({"serial_number":"01","cert_data":"***"})";
  const std::string no_serial = absl::StrCat(R"({"cert_data":")",
                                             crypto::Base64Encode(p.valid.Der()), "\"}");
  const std::string bad_chain = absl::StrCat(R"({"serial_number":"01","cert_data":")",
                                             crypto::Base64Encode(p.valid.Der()),
                                             R"(","chain_data":["@@"]})");
  const std::string trailing = absl::StrCat(R"({"serial_number":"01","cert_data":")",
                                            crypto::Base64Encode(p.valid.Der() + "x"), "\"}");
  for (const std::string& entry : {not_a_cert, not_base64, no_serial, bad_chain, trailing}) {
    server_.Reply(kCertPath, 200, CertList({entry}));
    EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR")
        << entry;
  }
  // A broken entry before a good one: the good one is used.
  server_.Reply(kCertPath, 200, CertList({not_a_cert, CertEntry(p.valid, "07", {&p.ca})}));
  server_.Reply(kSignPath, 200, SignOk("t-7"));
  absl::StatusOr<RemoteSignStarted> s = client.Start(Request());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->provider_transaction_id, "t-7");
  // user_certificates not an array of objects.
  server_.Reply(kCertPath, 200, Ok(R"({"user_certificates":"nope"})"));
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");
  server_.Reply(kCertPath, 200, Ok(R"({"user_certificates":[1,2]})"));
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");
}

TEST_F(SmartCaClientTest, StartHttpAndReplyErrors) {
  const Pki& p = P();
  SmartCaClient client(Config(), &http_, &clock_);
  server_.Reply(kCertPath, 401, R"({"status_code":401,"message":"invalid_sp_credentials"})");
  absl::Status s = client.Start(Request()).status();
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(AllLogs().find("sp_credentials_refused_check_configuration"), std::string::npos);

  // 404 that is not about the user: a wrong base URL.
  server_.Reply(kCertPath, 404, R"({"status_code":404,"message":"no such endpoint"})");
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");
  server_.Reply(kCertPath, 404, "<html>not found</html>");
  EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");

  server_.Reply(kCertPath, 200, CertList({CertEntry(p.valid, "01", {&p.ca})}));
  for (const auto& [st, body] : std::vector<std::pair<int, std::string>>{
           {503, R"({"error":"simulated provider failure"})"},
           {400, R"({"status_code":400,"message":"bad"})"},
           {200, "{not json"},
           {200, R"({"status_code":200,"data":{}})"},                      // no transaction_id
           {200, R"({"status_code":200,"data":{"transaction_id":""}})"},
           {200, R"({"status_code":200,"data":{"transaction_id":"a b"}})"},
           {200, R"({"status_code":200,"data":null})"},
           {200, R"({"status_code":"200","data":{"transaction_id":"x"}})"},
           {200, R"({"status_code":500,"data":{"transaction_id":"x"}})"},
       }) {
    server_.Reply(kSignPath, st, body);
    EXPECT_EQ(status::ReasonOf(client.Start(Request()).status()), "SIGNER_PROVIDER_ERROR")
        << st << " " << body;
  }
}

TEST_F(SmartCaClientTest, StartValidatesItsInput) {
  SmartCaClient client(Config(), &http_, &clock_);
  RemoteSignRequest req = Request();
  req.subscriber = "";
  EXPECT_EQ(status::ReasonOf(client.Start(req).status()), "SUBSCRIBER_INVALID");
  req = Request();
  req.digest_sha256 = "short";
  EXPECT_EQ(client.Start(req).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(server_.requests().empty());
}

struct StatusCase {
  int status;
  const char* reason;
  absl::StatusCode code;
};

TEST_F(SmartCaClientTest, PollMapsTransactionStates) {
  SmartCaClient client(Config(), &http_, &clock_);
  server_.Reply("/v1/signatures/sign/", 200, StatusBody(4000));
  absl::StatusOr<RemoteSignOutcome> out = client.Poll("tran-42");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->pending);
  const http::ServerRequest sent = server_.requests().back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/signatures/sign/tran-42/status");
  absl::StatusOr<jwt::FlatJson> body = jwt::ParseFlatJson(sent.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->GetString("sp_id").value_or(""), "dvc-sp");
  EXPECT_EQ(body->GetString("sp_password").value_or(""), kPassword);

  server_.Reply("/v1/signatures/sign/", 200,
                StatusBody(1, absl::StrCat(R"([{"doc_id":"d","signature_value":")",
                                           crypto::Base64Encode("the-signature"), "\"}]")));
  out = client.Poll("tran-42");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->pending);
  EXPECT_EQ(out->signature, "the-signature");
  EXPECT_TRUE(out->chain_der.empty());  // known from Start

  const StatusCase cases[] = {
      {4001, "SIGNER_TIMEOUT", absl::StatusCode::kFailedPrecondition},
      {4002, "SIGNER_USER_CANCELLED", absl::StatusCode::kFailedPrecondition},
      {4004, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {0, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {2, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
      {4003, "SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable},
  };
  for (const StatusCase& c : cases) {
    server_.Reply("/v1/signatures/sign/", 200, StatusBody(c.status));
    absl::Status s = client.Poll("tran-42").status();
    EXPECT_EQ(status::ReasonOf(s), c.reason) << c.status;
    EXPECT_EQ(s.code(), c.code) << c.status;
  }
}

TEST_F(SmartCaClientTest, PollRejectsBrokenReplies) {
  SmartCaClient client(Config(), &http_, &clock_);
  for (const auto& [st, body] : std::vector<std::pair<int, std::string>>{
           {200, StatusBody(1)},                                          // no signatures
           {200, StatusBody(1, "[]")},
           {200, StatusBody(1, R"([{"doc_id":"d"}])")},
           {200, StatusBody(1, R"([{"doc_id":"d","signature_value":"!!"}])")},
           {200, StatusBody(1, R"([{"doc_id":"d","signature_value":""}])")},
           {200, StatusBody(1, R"(["c2ln"])")},
           {200, Ok(R"({"status":"1"})")},
           {200, Ok("{}")},
           {200, "[]"},
           {200, ""},
           {404, R"({"status_code":404,"message":"transaction_not_found"})"},
           {401, R"({"status_code":401,"message":"invalid_sp_credentials"})"},
           {500, R"({"status_code":500})"},
       }) {
    server_.Reply("/v1/signatures/sign/", st, body);
    absl::Status s = client.Poll("tran-42").status();
    EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR") << st << " " << body;
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  }
}

TEST_F(SmartCaClientTest, PollEncodesTheTransactionIdInThePath) {
  SmartCaClient client(Config(), &http_, &clock_);
  server_.Reply("/v1/signatures/", 200, StatusBody(4000));
  ASSERT_TRUE(client.Poll("a/b?c#d%e").ok());
  EXPECT_EQ(server_.requests().back().target, "/v1/signatures/sign/a%2Fb%3Fc%23d%25e/status");
  // Control characters, spaces and over-long ids are refused without a request.
  const size_t before = server_.requests().size();
  EXPECT_EQ(client.Poll("a b").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(client.Poll("").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(client.Poll(std::string(300, 'a')).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(server_.requests().size(), before);
}

TEST_F(SmartCaClientTest, NestedJsonWithTrickyStringsIsSplitCorrectly) {
  const Pki& p = P();
  // Commas, brackets and escaped quotes inside strings must not split array elements.
  const std::string tricky = absl::StrCat(
      R"({"serial_number":"01","cert_subject":"CN=A\", [B], {C}, D","cert_data":")",
      crypto::Base64Encode(p.valid.Der()), R"(","chain_data":[]})");
  server_.Reply(kCertPath, 200,
                Ok(absl::StrCat(R"({"user_certificates":[ )", tricky, R"( , )",
                                CertEntry(p.expired, "02", {}), " ]}")));
  server_.Reply(kSignPath, 200, SignOk("t"));
  SmartCaClient client(Config(), &http_, &clock_);
  absl::StatusOr<RemoteSignStarted> s = client.Start(Request());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->chain_der, std::vector<std::string>{p.valid.Der()});
}

TEST_F(SmartCaClientTest, OversizedTimeoutAndRefusedAreProviderErrors) {
  SmartCaConfig cfg = Config();
  cfg.max_response_bytes = 32 * 1024;
  cfg.request_timeout = absl::Milliseconds(300);
  SmartCaClient client(cfg, &http_, &clock_);
  server_.Reply("/v1/signatures/sign/", 200,
                StatusBody(1, absl::StrCat(R"([{"doc_id":"d","signature_value":")",
                                           crypto::Base64Encode(std::string(40000, 's')),
                                           "\"}]")));
  EXPECT_EQ(status::ReasonOf(client.Poll("t").status()), "SIGNER_PROVIDER_ERROR");
  EXPECT_NE(AllLogs().find("UPSTREAM_RESPONSE_TOO_LARGE"), std::string::npos);

  server_.Reply("/v1/signatures/sign/", 200, StatusBody(4000), absl::Seconds(5));
  const absl::Time t0 = absl::Now();
  absl::Status s = client.Poll("t").status();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(3));
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_PROVIDER_ERROR");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);

  cfg.base_url = "http://127.0.0.1:1";
  SmartCaClient refused(cfg, &http_, &clock_);
  EXPECT_EQ(status::ReasonOf(refused.Start(Request()).status()), "SIGNER_PROVIDER_ERROR");
}

TEST_F(SmartCaClientTest, SecretsAreNeverLogged) {
  SmartCaClient client(Config(), &http_, &clock_);
  server_.Reply(kCertPath, 401, absl::StrCat(R"({"message":")", kPassword, "\"}"));
  (void)client.Start(Request());
  server_.Reply(kCertPath, 200, absl::StrCat("garbage ", kPassword));
  (void)client.Start(Request());
  ASSERT_FALSE(log_lines_.empty());
  EXPECT_EQ(AllLogs().find(kPassword), std::string::npos) << AllLogs();
  EXPECT_EQ(AllLogs().find("079123456789"), std::string::npos) << AllLogs();
}

}  // namespace
}  // namespace dvc::sigverify
