// The auth gRPC service end to end in one process: real PostgreSQL (DATABASE_URL), real
// captcha store, real signing-key directory, and fake accounts/otp gRPC servers on port 0.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/random.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/auth/adapters/grpc_clients.h"
#include "services/auth/adapters/key_dir.h"
#include "services/auth/adapters/pg_auth_store.h"
#include "services/auth/api/auth_grpc.h"
#include "services/auth/domain/auth.h"
#include "services/auth/migrations.h"

namespace dvc::auth {
namespace {

constexpr char kCccd[] = "001099012345";
constexpr char kLimitedCccd[] = "001099099999";  // its phone hits the OTP send limit
constexpr char kPassword[] = "Correct-Horse-9";
constexpr char kAccountId[] = "6f1c2a3b-0000-4000-8000-000000000001";
constexpr char kLimitedAccountId[] = "6f1c2a3b-0000-4000-8000-000000000002";

void SetNow(google::protobuf::Timestamp* t, absl::Duration from_now) {
  t->set_seconds(absl::ToUnixSeconds(absl::Now() + from_now));
}

class FakeAccountsService final : public accounts::v1::AccountsService::Service {
 public:
  grpc::Status VerifyPassword(grpc::ServerContext*, const accounts::v1::VerifyPasswordRequest* req,
                              accounts::v1::VerifyPasswordResponse* out) override {
    if (req->password() != kPassword) return grpc::Status::OK;
    if (req->id_number() == kCccd) {
      Fill(out, kAccountId, "0912345678");
    } else if (req->id_number() == kLimitedCccd) {
      Fill(out, kLimitedAccountId, "0999999999");
    }
    return grpc::Status::OK;
  }
  grpc::Status LookupAccountId(grpc::ServerContext*, const accounts::v1::FindAccountRequest* req,
                               accounts::v1::LookupAccountIdResponse* out) override {
    out->set_found(req->id_number() == kCccd);
    if (out->found()) out->set_account_id(kAccountId);
    return grpc::Status::OK;
  }

 private:
  static void Fill(accounts::v1::VerifyPasswordResponse* out, const char* id, const char* phone) {
    out->set_valid(true);
    out->set_account_id(id);
    out->set_ial(2);
    out->set_phone(phone);
    out->set_status(accounts::v1::ACCOUNT_STATUS_ACTIVE);
  }
};

class FakeOtpService final : public otp::v1::OtpService::Service {
 public:
  grpc::Status SendOtp(grpc::ServerContext*, const otp::v1::SendOtpRequest* req,
                       otp::v1::OtpChallenge* out) override {
    if (req->phone() == "0999999999") {
      return status::ToGrpcStatus(status::ResourceExhausted(
          "OTP_SEND_LIMITED", "Gửi OTP quá nhiều lần.", "Too many OTPs sent.", 30));
    }
    std::lock_guard<std::mutex> l(mu_);
    std::string id = absl::StrCat("ch-", ++n_);
    used_[id] = false;
    last_purpose_ = req->purpose();
    last_request_id_ = req->request_id();
    out->set_challenge_id(id);
    out->set_masked_phone("091****678");
    SetNow(out->mutable_expires_at(), absl::Minutes(5));
    SetNow(out->mutable_resend_after(), absl::Seconds(60));
    return grpc::Status::OK;
  }
  grpc::Status ResendOtp(grpc::ServerContext*, const otp::v1::ResendOtpRequest* req,
                         otp::v1::OtpChallenge* out) override {
    out->set_challenge_id(req->challenge_id());
    out->set_masked_phone("091****678");
    SetNow(out->mutable_expires_at(), absl::Minutes(5));
    SetNow(out->mutable_resend_after(), absl::Seconds(60));
    return grpc::Status::OK;
  }
  grpc::Status VerifyOtp(grpc::ServerContext*, const otp::v1::VerifyOtpRequest* req,
                         otp::v1::VerifyOtpResponse* out) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = used_.find(req->challenge_id());
    if (it == used_.end() || req->code() != "123456" || req->purpose() != "LOGIN") {
      return status::ToGrpcStatus(
          status::WithMetadata(status::InvalidArgument("OTP_INVALID", "otp", "Mã OTP không đúng.",
                                                       "The OTP is incorrect."),
                               "attempts_left", "4"));
    }
    if (it->second) {
      return status::ToGrpcStatus(status::FailedPrecondition(
          "OTP_ALREADY_USED", "otp", "Mã OTP đã được sử dụng.", "The OTP was already used."));
    }
    it->second = true;
    out->set_phone("0912345678");
    return grpc::Status::OK;
  }
  std::string last_purpose() {
    std::lock_guard<std::mutex> l(mu_);
    return last_purpose_;
  }
  std::string last_request_id() {
    std::lock_guard<std::mutex> l(mu_);
    return last_request_id_;
  }

 private:
  std::mutex mu_;
  int n_ = 0;
  std::map<std::string, bool> used_;
  std::string last_purpose_, last_request_id_;
};

std::string Reason(const grpc::Status& s) { return status::ReasonOf(status::FromGrpcStatus(s)); }

std::string Meta(const grpc::Status& s, const std::string& key) {
  auto info = status::GetErrorInfo(status::FromGrpcStatus(s));
  if (!info.has_value()) return "";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("auth_svc");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());

    grpc::ServerBuilder fb;
    fb.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &fakes_port_);
    fb.RegisterService(&accounts_service_);
    fb.RegisterService(&otp_service_);
    fakes_ = fb.BuildAndStart();
    ASSERT_NE(fakes_, nullptr);
    std::string fakes_addr = absl::StrCat("127.0.0.1:", fakes_port_);

    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string key_dir = absl::StrCat(tmp ? tmp : "/tmp", "/auth_keys_", ::getpid());
    std::filesystem::remove_all(key_dir);
    auto keys =
        KeyDirectory::Open(key_dir, KeyDirOptions{.autogenerate = true}, &clock_, &random_);
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);

    store_ = std::make_unique<PgAuthStore>(pool_.get());
    accounts_ = std::make_unique<GrpcAccountsClient>(server::Dial(fakes_addr), absl::Seconds(3));
    otp_ = std::make_unique<GrpcOtpClient>(server::Dial(fakes_addr), absl::Seconds(3));
    captcha_ =
        captcha::NewPgCaptchaChecker(pool_.get(), &clock_, &random_, "captcha-test-key-0123456789",
                                     captcha::IssuerOptions{.expose_answer = true});
    domain_ = std::make_unique<AuthDomain>(
        AuthDomain::Deps{store_.get(), accounts_.get(), otp_.get(), captcha_.get(), keys_.get(),
                         &clock_, &random_, nullptr},
        DeriveSecrets("token-test-key-0123456789"), AuthOptions{});
    // The test client plays the REST gateway: it connects from 127.0.0.1, a trusted proxy.
    api_ = std::make_unique<AuthGrpc>(domain_.get(), trusted_proxies_);
    server_ = std::make_unique<server::GrpcServer>(
        server::Options{.service_name = "auth", .grpc_port = 0, .metrics_port = -1}, &registry_);
    server_->Register(api_.get());
    ASSERT_TRUE(server_->Start().ok());
    stub_ =
        v1::AuthService::NewStub(server::Dial(absl::StrCat("127.0.0.1:", server_->grpc_port())));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (fakes_) fakes_->Shutdown();
    server_.reset();
    api_.reset();
    domain_.reset();
    captcha_.reset();
    store_.reset();
    pool_.reset();
    db_.reset();
  }

  grpc::Status Start(const std::string& id_number, const std::string& password, v1::LoginFlow* flow,
                     const std::string& ip = "203.0.113.7") {
    grpc::ClientContext c1;
    v1::Captcha captcha;
    grpc::Status s = stub_->CreateCaptcha(&c1, v1::CreateCaptchaRequest(), &captcha);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(captcha.png().empty());
    EXPECT_FALSE(captcha.dev_answer().empty());
    v1::StartPasswordLoginRequest req;
    req.set_captcha_id(captcha.captcha_id());
    req.set_captcha_answer(captcha.dev_answer());
    req.set_id_number(id_number);
    req.set_password(password);
    req.mutable_client()->set_ip(ip);
    req.mutable_client()->set_user_agent("Mozilla/5.0");
    req.mutable_client()->set_device("web");
    grpc::ClientContext c2;
    return stub_->StartPasswordLogin(&c2, req, flow);
  }

  grpc::Status Complete(const std::string& flow_id, const std::string& otp,
                        v1::TokenResponse* out) {
    v1::CompleteLoginRequest req;
    req.set_login_flow_id(flow_id);
    req.set_otp(otp);
    grpc::ClientContext c;
    return stub_->CompleteLogin(&c, req, out);
  }

  v1::TokenResponse Login() {
    v1::LoginFlow flow;
    grpc::Status s = Start(kCccd, kPassword, &flow);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::TokenResponse t;
    s = Complete(flow.login_flow_id(), "123456", &t);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return t;
  }

  grpc::Status Refresh(const std::string& token, v1::TokenResponse* out) {
    v1::RefreshRequest req;
    req.set_refresh_token(token);
    grpc::ClientContext c;
    return stub_->Refresh(&c, req, out);
  }

  v1::IntrospectResponse Introspect(const std::string& token) {
    v1::IntrospectRequest req;
    req.set_token(token);
    v1::IntrospectResponse out;
    grpc::ClientContext c;
    grpc::Status s = stub_->Introspect(&c, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  SystemClock clock_;
  crypto::OsRandom random_;
  metrics::Registry registry_;
  FakeAccountsService accounts_service_;
  FakeOtpService otp_service_;
  int fakes_port_ = 0;
  std::unique_ptr<grpc::Server> fakes_;
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<KeyDirectory> keys_;
  std::unique_ptr<PgAuthStore> store_;
  std::unique_ptr<GrpcAccountsClient> accounts_;
  std::unique_ptr<GrpcOtpClient> otp_;
  std::unique_ptr<captcha::CaptchaChecker> captcha_;
  std::unique_ptr<AuthDomain> domain_;
  std::unique_ptr<AuthGrpc> api_;
  std::vector<std::string> trusted_proxies_ = {"127.0.0.1"};
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<v1::AuthService::Stub> stub_;
};

TEST_F(AuthServiceTest, LoginRefreshReuseLogout) {
  // Unknown account and wrong password: the same answer.
  v1::LoginFlow flow;
  grpc::Status unknown = Start("079123456789", kPassword, &flow);
  grpc::Status wrong = Start(kCccd, "not-it", &flow);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(unknown), "INVALID_CREDENTIALS");
  EXPECT_EQ(Reason(wrong), "INVALID_CREDENTIALS");
  EXPECT_EQ(unknown.error_message(), wrong.error_message());
  EXPECT_EQ(unknown.error_details(), wrong.error_details());

  // Password, then OTP.
  ASSERT_TRUE(Start(kCccd, kPassword, &flow).ok());
  EXPECT_EQ(flow.masked_phone(), "091****678");
  EXPECT_GT(flow.expires_at().seconds(), absl::ToUnixSeconds(absl::Now()) + 590);
  EXPECT_EQ(otp_service_.last_purpose(), "LOGIN");
  EXPECT_EQ(otp_service_.last_request_id(), "login:" + flow.login_flow_id());
  v1::TokenResponse t1;
  grpc::Status bad_otp = Complete(flow.login_flow_id(), "000000", &t1);
  EXPECT_EQ(bad_otp.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(bad_otp), "OTP_INVALID");
  EXPECT_EQ(Meta(bad_otp, "attempts_left"), "4");
  ASSERT_TRUE(Complete(flow.login_flow_id(), "123456", &t1).ok());
  EXPECT_EQ(t1.token_type(), "Bearer");
  EXPECT_EQ(t1.expires_in(), 300);
  EXPECT_EQ(t1.acr(), "urn:dvc:ial:2");

  v1::IntrospectResponse i = Introspect(t1.access_token());
  EXPECT_TRUE(i.active());
  EXPECT_EQ(i.sub(), kAccountId);
  EXPECT_EQ(i.session_id(), t1.session_id());
  EXPECT_EQ(i.amr(), "pwd+otp");
  EXPECT_EQ(i.acr(), "urn:dvc:ial:2");
  EXPECT_EQ(i.exp() - i.iat(), 300);

  // Rotation, then reuse of the rotated token revokes the family.
  v1::TokenResponse t2;
  ASSERT_TRUE(Refresh(t1.refresh_token(), &t2).ok());
  EXPECT_NE(t2.refresh_token(), t1.refresh_token());
  EXPECT_EQ(t2.session_id(), t1.session_id());
  EXPECT_TRUE(Introspect(t2.access_token()).active());
  v1::TokenResponse ignored;
  grpc::Status reuse = Refresh(t1.refresh_token(), &ignored);
  EXPECT_EQ(reuse.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(reuse), "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(Introspect(t2.access_token()).active());
  EXPECT_EQ(Reason(Refresh(t2.refresh_token(), &ignored)), "SESSION_REVOKED");
  EXPECT_EQ(Reason(Refresh("garbage", &ignored)), "REFRESH_TOKEN_INVALID");

  // Logout.
  v1::TokenResponse t3 = Login();
  ASSERT_TRUE(Introspect(t3.access_token()).active());
  v1::LogoutRequest lreq;
  lreq.set_refresh_token(t3.refresh_token());
  v1::LogoutResponse lresp;
  grpc::ClientContext lc;
  ASSERT_TRUE(stub_->Logout(&lc, lreq, &lresp).ok());
  EXPECT_FALSE(Introspect(t3.access_token()).active());
  grpc::Status after = Refresh(t3.refresh_token(), &ignored);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(after), "SESSION_REVOKED");

  // JWKS and history.
  v1::GetJwksResponse jwks;
  grpc::ClientContext jc;
  ASSERT_TRUE(stub_->GetJwks(&jc, v1::GetJwksRequest(), &jwks).ok());
  EXPECT_TRUE(absl::StrContains(jwks.jwks_json(), keys_->Keys()->signer->kid()));
  EXPECT_TRUE(absl::StrContains(jwks.jwks_json(), "\"alg\":\"ES256\""));

  v1::ListLoginHistoryRequest hreq;
  hreq.set_account_id(kAccountId);
  v1::ListLoginHistoryResponse history;
  grpc::ClientContext hc;
  ASSERT_TRUE(stub_->ListLoginHistory(&hc, hreq, &history).ok());
  // wrong password, wrong OTP, success, success — newest first.
  ASSERT_EQ(history.records_size(), 4);
  EXPECT_TRUE(history.records(0).success());
  EXPECT_EQ(history.records(0).method(), "PASSWORD_OTP");
  EXPECT_EQ(history.records(0).ip(), "203.0.113.7");
  EXPECT_EQ(history.records(0).device(), "web");
  EXPECT_EQ(history.records(2).failure_reason(), "OTP_INVALID");
  EXPECT_EQ(history.records(3).failure_reason(), "INVALID_CREDENTIALS");
}

TEST_F(AuthServiceTest, CaptchaIsSingleUse) {
  grpc::ClientContext c1;
  v1::Captcha captcha;
  ASSERT_TRUE(stub_->CreateCaptcha(&c1, v1::CreateCaptchaRequest(), &captcha).ok());
  v1::StartPasswordLoginRequest req;
  req.set_captcha_id(captcha.captcha_id());
  req.set_captcha_answer(captcha.dev_answer());
  req.set_id_number(kCccd);
  req.set_password("wrong");
  v1::LoginFlow flow;
  grpc::ClientContext c2;
  EXPECT_EQ(Reason(stub_->StartPasswordLogin(&c2, req, &flow)), "INVALID_CREDENTIALS");
  req.set_password(kPassword);
  grpc::ClientContext c3;
  grpc::Status s = stub_->StartPasswordLogin(&c3, req, &flow);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(s), "CAPTCHA_INVALID");
}

TEST_F(AuthServiceTest, PasswordGuessingIsThrottled) {
  v1::LoginFlow flow;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Reason(Start(kCccd, "guess", &flow, "198.51.100.9")), "INVALID_CREDENTIALS") << i;
  }
  grpc::Status s = Start(kCccd, kPassword, &flow, "198.51.100.9");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Reason(s), "LOGIN_THROTTLED");
  EXPECT_EQ(Meta(s, "retry_after_s"), "1");
  // The real user elsewhere is not affected.
  EXPECT_TRUE(Start(kCccd, kPassword, &flow, "203.0.113.50").ok());
}

TEST_F(AuthServiceTest, OtpSendLimitPassesThrough) {
  v1::LoginFlow flow;
  grpc::Status s = Start(kLimitedCccd, kPassword, &flow);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Reason(s), "OTP_SEND_LIMITED");
  EXPECT_EQ(Meta(s, "retry_after_s"), "30");
}

TEST_F(AuthServiceTest, ResendAndFlowErrors) {
  v1::LoginFlow flow;
  ASSERT_TRUE(Start(kCccd, kPassword, &flow).ok());
  v1::LoginFlowRef ref;
  ref.set_login_flow_id(flow.login_flow_id());
  v1::LoginFlow resent;
  grpc::ClientContext c;
  ASSERT_TRUE(stub_->ResendLoginOtp(&c, ref, &resent).ok());
  EXPECT_EQ(resent.login_flow_id(), flow.login_flow_id());
  EXPECT_EQ(resent.expires_at().seconds(), flow.expires_at().seconds());
  v1::TokenResponse t;
  grpc::Status s = Complete("6f1c2a3b-0000-4000-8000-0000000000ff", "123456", &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Reason(s), "LOGIN_FLOW_NOT_FOUND");
  ASSERT_TRUE(Complete(flow.login_flow_id(), "123456", &t).ok());
  s = Complete(flow.login_flow_id(), "123456", &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(s), "LOGIN_FLOW_COMPLETED");
}

// A caller that is not a trusted proxy cannot choose the address its attempts are counted
// (and recorded) under: the claimed ClientInfo.ip is ignored for it.
class UntrustedCallerTest : public AuthServiceTest {
 protected:
  void SetUp() override {
    trusted_proxies_.clear();
    AuthServiceTest::SetUp();
  }
};

TEST_F(UntrustedCallerTest, ClaimedClientIpIsIgnored) {
  v1::LoginFlow flow;
  ASSERT_TRUE(Start(kCccd, kPassword, &flow, "198.51.100.99").ok());
  v1::TokenResponse tokens;
  ASSERT_TRUE(Complete(flow.login_flow_id(), "123456", &tokens).ok());
  v1::ListLoginHistoryRequest hreq;
  hreq.set_account_id(kAccountId);
  v1::ListLoginHistoryResponse history;
  grpc::ClientContext hc;
  ASSERT_TRUE(stub_->ListLoginHistory(&hc, hreq, &history).ok());
  ASSERT_EQ(history.records_size(), 1);
  EXPECT_EQ(history.records(0).ip(), "127.0.0.1");
}

}  // namespace
}  // namespace dvc::auth
