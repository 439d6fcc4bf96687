// The auth gRPC service end to end in one process: real PostgreSQL (DATABASE_URL), real
// captcha store, real signing-key directory, and fake accounts/otp gRPC servers on port 0.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/ascii.h"
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
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
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
constexpr char kLockedAccountId[] = "6f1c2a3b-0000-4000-8000-000000000003";
// Certificate fingerprints (hex SHA-256): registered to kAccountId, to a locked account, none.
constexpr char kUsbFp[] = "0a0b0c0d0e0f00112233445566778899aabbccddeeff00112233445566778899";
constexpr char kSimFp[] = "1a0b0c0d0e0f00112233445566778899aabbccddeeff00112233445566778899";
constexpr char kLockedFp[] = "2a0b0c0d0e0f00112233445566778899aabbccddeeff00112233445566778899";
constexpr char kUnknownFp[] = "3a0b0c0d0e0f00112233445566778899aabbccddeeff00112233445566778899";

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
  grpc::Status FindByCertificate(grpc::ServerContext*,
                                 const accounts::v1::FindByCertificateRequest* req,
                                 accounts::v1::FindByCertificateResponse* out) override {
    const std::string& fp = req->fingerprint_sha256();
    if (fp == kUsbFp || fp == kSimFp) {
      out->set_found(true);
      out->set_account_id(kAccountId);
      out->set_status(accounts::v1::ACCOUNT_STATUS_ACTIVE);
      out->set_ial(3);
      out->set_method(fp == kUsbFp ? "USB" : "SIM");
    } else if (fp == kLockedFp) {
      out->set_found(true);
      out->set_account_id(kLockedAccountId);
      out->set_status(accounts::v1::ACCOUNT_STATUS_LOCKED);
      out->set_ial(3);
      out->set_method("USB");
    }
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

// sigverify, purpose LOGIN only. A challenge signature "sig:<fp>" is valid and names the signer
// by fingerprint (upper case, as auth must lower-case it); "revoked" answers CERT_REVOKED; each
// challenge allows one attempt. A remote transaction is pending until Confirm().
class FakeSigverifyService final : public sigverify::v1::SigverifyService::Service {
 public:
  grpc::Status IssueChallenge(grpc::ServerContext*, const sigverify::v1::IssueChallengeRequest* req,
                              sigverify::v1::Challenge* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_LOGIN) return Bad("PURPOSE_INVALID");
    std::lock_guard<std::mutex> l(mu_);
    std::string id = absl::StrCat("chal-", ++n_);
    challenges_[id] = {req->flow_id(), false};
    out->set_challenge_id(id);
    out->set_challenge(absl::StrCat("DVC LOGIN ", req->flow_id()));
    SetNow(out->mutable_expires_at(), absl::Minutes(5));
    return grpc::Status::OK;
  }
  grpc::Status VerifyChallengeSignature(grpc::ServerContext*,
                                        const sigverify::v1::VerifyChallengeSignatureRequest* req,
                                        sigverify::v1::VerifiedCertificate* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_LOGIN) return Bad("PURPOSE_INVALID");
    if (req->format() != sigverify::v1::SIGNATURE_FORMAT_CMS_DETACHED) return Bad("FORMAT");
    std::lock_guard<std::mutex> l(mu_);
    auto it = challenges_.find(req->challenge_id());
    if (it == challenges_.end() || it->second.first != req->flow_id()) {
      return status::ToGrpcStatus(status::NotFound("CHALLENGE_NOT_FOUND", "challenge_id", "x", "x"));
    }
    if (it->second.second) {
      return status::ToGrpcStatus(status::FailedPrecondition(
          "CHALLENGE_USED", "challenge_id", "Thử thách đã được dùng.", "The challenge was used."));
    }
    it->second.second = true;
    if (req->signature() == "revoked") {
      return status::ToGrpcStatus(status::InvalidArgument(
          "CERT_REVOKED", "certificate", "Chứng thư số đã bị thu hồi.",
          "The certificate has been revoked."));
    }
    if (!absl::StartsWith(req->signature(), "sig:")) {
      return status::ToGrpcStatus(status::InvalidArgument(
          "SIGNATURE_INVALID", "signature", "Chữ ký không hợp lệ.", "The signature is invalid."));
    }
    out->set_fingerprint_sha256(absl::AsciiStrToUpper(req->signature().substr(4)));
    out->set_method("USB");
    return grpc::Status::OK;
  }
  grpc::Status StartRemoteSignature(grpc::ServerContext*,
                                    const sigverify::v1::StartRemoteSignatureRequest* req,
                                    sigverify::v1::RemoteSignatureTransaction* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_LOGIN) return Bad("PURPOSE_INVALID");
    std::lock_guard<std::mutex> l(mu_);
    std::string id = absl::StrCat("tx-", ++n_);
    transactions_[id] = {req->flow_id(), ""};
    last_subscriber_ = req->subscriber();
    last_provider_ = req->provider();
    ++starts_;
    out->set_transaction_id(id);
    out->set_verification_code("4821");
    SetNow(out->mutable_expires_at(), absl::Minutes(2));
    return grpc::Status::OK;
  }
  grpc::Status GetRemoteSignatureResult(grpc::ServerContext*,
                                        const sigverify::v1::GetRemoteSignatureResultRequest* req,
                                        sigverify::v1::RemoteSignatureResult* out) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = transactions_.find(req->transaction_id());
    if (it == transactions_.end() || it->second.first != req->flow_id() ||
        req->purpose() != sigverify::v1::PURPOSE_LOGIN) {
      return Bad("TRANSACTION_NOT_FOUND");
    }
    if (it->second.second.empty()) {
      out->set_state(sigverify::v1::RemoteSignatureResult::STATE_PENDING);
    } else if (it->second.second == "cancel") {
      return status::ToGrpcStatus(status::FailedPrecondition(
          "SIGNER_USER_CANCELLED", "", "Bạn đã từ chối ký.", "You declined the signature."));
    } else {
      out->set_state(sigverify::v1::RemoteSignatureResult::STATE_DONE);
      out->mutable_certificate()->set_fingerprint_sha256(it->second.second);
      out->mutable_certificate()->set_method("SIM");
    }
    return grpc::Status::OK;
  }

  // `fingerprint`, or "cancel" for the user declining.
  void Confirm(const std::string& transaction_id, const std::string& fingerprint) {
    std::lock_guard<std::mutex> l(mu_);
    transactions_[transaction_id].second = fingerprint;
  }
  std::string last_subscriber() {
    std::lock_guard<std::mutex> l(mu_);
    return last_subscriber_;
  }
  sigverify::v1::RemoteProvider last_provider() {
    std::lock_guard<std::mutex> l(mu_);
    return last_provider_;
  }
  int starts() {
    std::lock_guard<std::mutex> l(mu_);
    return starts_;
  }

 private:
  static grpc::Status Bad(const char* reason) {
    return status::ToGrpcStatus(status::InvalidArgument(reason, "", "x", "x"));
  }
  std::mutex mu_;
  int n_ = 0;
  int starts_ = 0;
  std::map<std::string, std::pair<std::string, bool>> challenges_;  // id → (flow, used)
  std::map<std::string, std::pair<std::string, std::string>> transactions_;  // id → (flow, fp)
  std::string last_subscriber_;
  sigverify::v1::RemoteProvider last_provider_ = sigverify::v1::REMOTE_PROVIDER_UNSPECIFIED;
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
    fb.RegisterService(&sigverify_service_);
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

    store_ = std::make_unique<PgAuthStore>(pool_.get(), "captcha-test-key-0123456789");
    accounts_ = std::make_unique<GrpcAccountsClient>(server::Dial(fakes_addr), absl::Seconds(3));
    otp_ = std::make_unique<GrpcOtpClient>(server::Dial(fakes_addr), absl::Seconds(3));
    sigverify_ = std::make_unique<GrpcSigverifyClient>(server::Dial(fakes_addr), absl::Seconds(3));
    captcha_ =
        captcha::NewPgCaptchaChecker(pool_.get(), &clock_, &random_, "captcha-test-key-0123456789",
                                     captcha::IssuerOptions{.expose_answer = true});
    domain_ = std::make_unique<AuthDomain>(
        AuthDomain::Deps{store_.get(), accounts_.get(), otp_.get(), captcha_.get(), keys_.get(),
                         &clock_, &random_, nullptr, sigverify_.get()},
        DeriveSecrets("token-test-key-0123456789"), Options());
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

  static AuthOptions Options() {
    AuthOptions o;
    // A window so long no test run crosses its (real-clock) boundary.
    o.throttle.subscriber_window = absl::Hours(24 * 3650);
    return o;
  }

  grpc::Status StartCert(v1::CertificateLoginMethod method, const std::string& subscriber,
                         v1::CertificateLoginFlow* out, const std::string& ip = "203.0.113.7") {
    v1::StartCertificateLoginRequest req;
    req.set_method(method);
    if (method == v1::CERTIFICATE_LOGIN_METHOD_SIM) req.set_phone(subscriber);
    if (method == v1::CERTIFICATE_LOGIN_METHOD_SMARTCA) req.set_smartca_user_id(subscriber);
    req.mutable_client()->set_ip(ip);
    req.mutable_client()->set_user_agent("Mozilla/5.0");
    req.mutable_client()->set_device("web");
    grpc::ClientContext c;
    return stub_->StartCertificateLogin(&c, req, out);
  }

  grpc::Status CompleteCert(const std::string& flow_id, const std::string& signature,
                            v1::TokenResponse* out) {
    v1::CompleteCertificateLoginRequest req;
    req.set_login_flow_id(flow_id);
    req.set_format(v1::SIGNATURE_FORMAT_CMS_DETACHED);
    req.set_signature(signature);
    req.add_chain("intermediate");
    grpc::ClientContext c;
    return stub_->CompleteCertificateLogin(&c, req, out);
  }

  grpc::Status Poll(const std::string& flow_id, v1::PollCertificateLoginResponse* out) {
    v1::LoginFlowRef req;
    req.set_login_flow_id(flow_id);
    grpc::ClientContext c;
    return stub_->PollCertificateLogin(&c, req, out);
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
  FakeSigverifyService sigverify_service_;
  int fakes_port_ = 0;
  std::unique_ptr<grpc::Server> fakes_;
  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<KeyDirectory> keys_;
  std::unique_ptr<PgAuthStore> store_;
  std::unique_ptr<GrpcAccountsClient> accounts_;
  std::unique_ptr<GrpcOtpClient> otp_;
  std::unique_ptr<GrpcSigverifyClient> sigverify_;
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

  // Rotation; the rotated token again at once (a retry after a lost answer, within
  // --refresh_reuse_grace) gets a new successor and supersedes the first one; presenting the
  // superseded successor is a reuse that revokes the family.
  v1::TokenResponse t2;
  ASSERT_TRUE(Refresh(t1.refresh_token(), &t2).ok());
  EXPECT_NE(t2.refresh_token(), t1.refresh_token());
  EXPECT_EQ(t2.session_id(), t1.session_id());
  EXPECT_TRUE(Introspect(t2.access_token()).active());
  v1::TokenResponse retry;
  ASSERT_TRUE(Refresh(t1.refresh_token(), &retry).ok());
  EXPECT_NE(retry.refresh_token(), t2.refresh_token());
  EXPECT_EQ(retry.session_id(), t1.session_id());
  EXPECT_EQ(retry.expires_in(), 300);
  EXPECT_TRUE(Introspect(retry.access_token()).active());
  v1::TokenResponse ignored;
  grpc::Status reuse = Refresh(t2.refresh_token(), &ignored);
  EXPECT_EQ(reuse.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(reuse), "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(Introspect(retry.access_token()).active());
  EXPECT_EQ(Reason(Refresh(retry.refresh_token(), &ignored)), "SESSION_REVOKED");
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

TEST_F(AuthServiceTest, UsbCertificateLogin) {
  v1::CertificateLoginFlow flow;
  grpc::Status s = StartCert(v1::CERTIFICATE_LOGIN_METHOD_USB, "", &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.method(), v1::CERTIFICATE_LOGIN_METHOD_USB);
  EXPECT_EQ(flow.challenge(), "DVC LOGIN " + flow.login_flow_id());
  EXPECT_GT(flow.challenge_expires_at().seconds(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_TRUE(flow.transaction_id().empty());

  // A revoked certificate: sigverify's reason, code and field as they are.
  v1::TokenResponse t;
  grpc::Status revoked = CompleteCert(flow.login_flow_id(), "revoked", &t);
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(revoked), "CERT_REVOKED");
  EXPECT_EQ(status::GetErrorInfo(status::FromGrpcStatus(revoked))->field, "certificate");
  // The challenge was used up by that attempt.
  EXPECT_EQ(Reason(CompleteCert(flow.login_flow_id(), absl::StrCat("sig:", kUsbFp), &t)),
            "CHALLENGE_USED");

  // An unregistered certificate: one generic answer.
  ASSERT_TRUE(StartCert(v1::CERTIFICATE_LOGIN_METHOD_USB, "", &flow).ok());
  grpc::Status unknown = CompleteCert(flow.login_flow_id(), absl::StrCat("sig:", kUnknownFp), &t);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(unknown), "CERTIFICATE_NOT_REGISTERED");

  // A locked account is told after the certificate was verified.
  ASSERT_TRUE(StartCert(v1::CERTIFICATE_LOGIN_METHOD_USB, "", &flow).ok());
  grpc::Status locked = CompleteCert(flow.login_flow_id(), absl::StrCat("sig:", kLockedFp), &t);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(locked), "ACCOUNT_LOCKED");

  // Success (sigverify's upper-case fingerprint is looked up lower-cased).
  ASSERT_TRUE(StartCert(v1::CERTIFICATE_LOGIN_METHOD_USB, "", &flow).ok());
  s = CompleteCert(flow.login_flow_id(), absl::StrCat("sig:", kUsbFp), &t);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(t.acr(), "urn:dvc:ial:3");
  EXPECT_EQ(t.amr(), "hwk+pin");
  EXPECT_EQ(t.token_type(), "Bearer");
  v1::IntrospectResponse i = Introspect(t.access_token());
  EXPECT_TRUE(i.active());
  EXPECT_EQ(i.sub(), kAccountId);
  EXPECT_EQ(i.acr(), "urn:dvc:ial:3");
  EXPECT_EQ(i.amr(), "hwk+pin");

  // Replay: the flow is finished.
  grpc::Status replay = CompleteCert(flow.login_flow_id(), absl::StrCat("sig:", kUsbFp), &t);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(replay), "LOGIN_FLOW_COMPLETED");

  // Missing signature format.
  v1::CompleteCertificateLoginRequest bad;
  bad.set_login_flow_id(flow.login_flow_id());
  grpc::ClientContext c;
  grpc::Status no_format = stub_->CompleteCertificateLogin(&c, bad, &t);
  EXPECT_EQ(no_format.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(no_format), "SIGNATURE_FORMAT_INVALID");

  v1::ListLoginHistoryRequest hreq;
  hreq.set_account_id(kAccountId);
  v1::ListLoginHistoryResponse history;
  grpc::ClientContext hc;
  ASSERT_TRUE(stub_->ListLoginHistory(&hc, hreq, &history).ok());
  ASSERT_EQ(history.records_size(), 1);
  EXPECT_EQ(history.records(0).method(), "USB");
  EXPECT_TRUE(history.records(0).success());
}

TEST_F(AuthServiceTest, SimCertificateLoginPendingThenDone) {
  v1::CertificateLoginFlow flow;
  v1::CertificateLoginMethod sim = v1::CERTIFICATE_LOGIN_METHOD_SIM;
  grpc::Status s = StartCert(sim, "+84987654321", &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(flow.method(), sim);
  EXPECT_EQ(flow.verification_code(), "4821");
  EXPECT_EQ(flow.masked_phone(), "098****321");
  EXPECT_EQ(flow.poll_interval_ms(), 2000);
  EXPECT_TRUE(flow.challenge().empty());
  EXPECT_EQ(sigverify_service_.last_subscriber(), "0987654321");
  EXPECT_EQ(sigverify_service_.last_provider(), sigverify::v1::REMOTE_PROVIDER_SIM);

  v1::PollCertificateLoginResponse poll;
  ASSERT_TRUE(Poll(flow.login_flow_id(), &poll).ok());
  EXPECT_EQ(poll.state(), v1::PollCertificateLoginResponse::STATE_PENDING);
  EXPECT_FALSE(poll.has_tokens());

  sigverify_service_.Confirm(flow.transaction_id(), kSimFp);
  s = Poll(flow.login_flow_id(), &poll);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(poll.state(), v1::PollCertificateLoginResponse::STATE_DONE);
  EXPECT_EQ(poll.tokens().acr(), "urn:dvc:ial:3");
  EXPECT_EQ(poll.tokens().amr(), "sc+pin+mca");
  EXPECT_EQ(Introspect(poll.tokens().access_token()).amr(), "sc+pin+mca");
  EXPECT_EQ(Reason(Poll(flow.login_flow_id(), &poll)), "LOGIN_FLOW_COMPLETED");

  // The user declines on the phone: sigverify's reason as is.
  ASSERT_TRUE(StartCert(sim, "0987654321", &flow).ok());
  sigverify_service_.Confirm(flow.transaction_id(), "cancel");
  grpc::Status cancelled = Poll(flow.login_flow_id(), &poll);
  EXPECT_EQ(cancelled.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(cancelled), "SIGNER_USER_CANCELLED");

  // Since the success this address has its own window for this phone: the decline above and two
  // more pushes fill it (3), whatever the phone's form; the next is refused.
  ASSERT_TRUE(StartCert(sim, "84987654321", &flow).ok());
  ASSERT_TRUE(StartCert(sim, "+84 987.654.321", &flow).ok());
  grpc::Status limited = StartCert(sim, "0987 654 321", &flow);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Reason(limited), "LOGIN_SUBSCRIBER_LIMITED");
  EXPECT_FALSE(Meta(limited, "retry_after_s").empty());
  EXPECT_EQ(sigverify_service_.starts(), 4);
  // Elsewhere the phone's shared window still has room (1 of 3 used, before the success).
  EXPECT_TRUE(StartCert(sim, "0987654321", &flow, "198.51.100.20").ok());

  // SmartCA goes to the SmartCA provider.
  s = StartCert(v1::CERTIFICATE_LOGIN_METHOD_SMARTCA, "citizen01", &flow);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(sigverify_service_.last_provider(), sigverify::v1::REMOTE_PROVIDER_SMARTCA);
  EXPECT_EQ(flow.masked_phone(), "");

  grpc::Status no_method = StartCert(v1::CERTIFICATE_LOGIN_METHOD_UNSPECIFIED, "", &flow);
  EXPECT_EQ(no_method.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(no_method), "LOGIN_METHOD_INVALID");
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
