// Service test: the registration gRPC server in-process (port 0) on a real PostgreSQL database,
// with the real PostgreSQL captcha, talking over gRPC to in-process fake accounts, otp,
// idv_gateway, sigverify and auth servers; driven through the generated stub, asserting codes
// and reasons.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "libs/captcha_issuer/captcha_issuer.h"
#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/accounts/v1/accounts.grpc.pb.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/idv/v1/idv.grpc.pb.h"
#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "protos/dvc/registration/v1/registration.grpc.pb.h"
#include "protos/dvc/sigverify/v1/sigverify.grpc.pb.h"
#include "services/registration/adapters/grpc_clients.h"
#include "services/registration/adapters/pg_flow_store.h"
#include "services/registration/api/registration_grpc.h"
#include "services/registration/domain/registration.h"
#include "services/registration/migrations.h"
#include "services/registration/testing/fakes.h"

namespace dvc::registration {
namespace {

namespace rv1 = ::dvc::registration::v1;

void SetTs(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}
absl::Time FromTs(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// ---- fake peers over gRPC, on top of the in-memory fakes ----

class FakeIdvServer final : public idv::v1::IdvGatewayService::Service {
 public:
  explicit FakeIdvServer(testing::FakeIdv* fake) : fake_(fake) {}
  grpc::Status CheckSubscriber(grpc::ServerContext*, const idv::v1::CheckSubscriberRequest* req,
                               idv::v1::CheckSubscriberResponse* out) override {
    if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
    SubscriberQuery q{req->request_id(), req->phone(), req->id_number(), req->full_name(),
                      req->date_of_birth()};
    auto a = fake_->CheckSubscriber(q);
    if (!a.ok()) return status::ToGrpcStatus(a.status());
    out->set_subscriber_found(a->subscriber_found);
    out->set_match(a->match);
    for (const auto& m : a->mismatches) out->add_mismatches(m);
    out->set_carrier(a->carrier);
    return grpc::Status::OK;
  }
  absl::Duration delay_ = absl::ZeroDuration();

 private:
  testing::FakeIdv* fake_;
};

class FakeAccountsServer final : public accounts::v1::AccountsService::Service {
 public:
  explicit FakeAccountsServer(testing::FakeAccounts* fake) : fake_(fake) {}
  grpc::Status LookupAccountId(grpc::ServerContext*, const accounts::v1::FindAccountRequest* req,
                               accounts::v1::LookupAccountIdResponse* out) override {
    if (!req->mst().empty() || !req->unit_code().empty()) {
      AccountKey key;
      key.kind = req->mst().empty() ? SubjectKind::kAgency : SubjectKind::kBusiness;
      key.mst = req->mst();
      key.unit_code = req->unit_code();
      key.official_cccd = req->official_cccd();
      auto id = fake_->LookupAccountId(key);
      if (!id.ok()) return status::ToGrpcStatus(id.status());
      out->set_found(id->has_value());
      if (id->has_value()) out->set_account_id(**id);
      return grpc::Status::OK;
    }
    auto e = fake_->Exists(req->id_number());
    if (!e.ok()) return status::ToGrpcStatus(e.status());
    out->set_found(*e);
    if (*e) out->set_account_id(fake_->AccountIdOf(req->id_number()));
    return grpc::Status::OK;
  }
  grpc::Status CreateCitizenAccount(grpc::ServerContext*,
                                    const accounts::v1::CreateCitizenAccountRequest* req,
                                    accounts::v1::Account* out) override {
    NewCitizenAccount a;
    a.request_id = req->request_id();
    a.identity.id_number =
        req->identity().cccd().empty() ? req->identity().cmnd() : req->identity().cccd();
    a.identity.full_name = req->identity().full_name();
    a.identity.date_of_birth = req->identity().date_of_birth();
    a.identity.phone = req->identity().phone();
    a.identity.email = req->identity().email();
    a.ial = req->ial();
    a.verification_source = req->verification_source();
    a.registration_method = req->registration_method();
    a.password = req->password();
    a.consent_version = req->consent_version();
    auto c = fake_->CreateCitizen(a);
    if (!c.ok()) {
      if (c.status().code() == absl::StatusCode::kDeadlineExceeded) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
      }
      return status::ToGrpcStatus(c.status());
    }
    out->set_account_id(c->account_id);
    out->set_ial(c->ial);
    return grpc::Status::OK;
  }
  grpc::Status CreateCertificateAccount(grpc::ServerContext*,
                                        const accounts::v1::CreateCertificateAccountRequest* req,
                                        accounts::v1::Account* out) override {
    NewCertificateAccount a;
    a.request_id = req->request_id();
    a.kind = static_cast<SubjectKind>(req->subject_kind());
    a.citizen = {req->citizen().cccd(), req->citizen().cmnd(), req->citizen().passport(),
                 req->citizen().full_name(), req->citizen().phone(), req->citizen().email()};
    a.business = {req->business().mst(), req->business().name(), req->business().email(),
                  req->business().phone(), req->business().address(),
                  req->business().representative_cccd()};
    a.agency = {req->agency().unit_code(), req->agency().organization_name(),
                req->agency().official_cccd(), req->agency().official_full_name(),
                req->agency().email(), req->agency().phone()};
    a.credential = Credential(req->certificate());
    a.consent_version = req->consent_version();
    auto c = fake_->CreateCertificateAccount(a);
    if (!c.ok()) return status::ToGrpcStatus(c.status());
    out->set_account_id(c->account_id);
    out->set_ial(c->ial);
    out->set_subject_kind(req->subject_kind());
    return grpc::Status::OK;
  }
  grpc::Status AddCertificate(grpc::ServerContext*, const accounts::v1::AddCertificateRequest* req,
                              accounts::v1::Account* out) override {
    CertificateLink l{req->request_id(), req->account_id(), Credential(req->certificate()),
                      req->identity_number()};
    auto c = fake_->AddCertificate(l);
    if (!c.ok()) return status::ToGrpcStatus(c.status());
    out->set_account_id(c->account_id);
    out->set_ial(c->ial);
    return grpc::Status::OK;
  }

 private:
  static CertificateCredential Credential(const accounts::v1::CertificateCredential& c) {
    return {c.fingerprint_sha256(), c.method(), c.issuer_cn(), c.serial_hex(),
            FromTs(c.not_after()), c.subscriber()};
  }
  testing::FakeAccounts* fake_;
};

void CertToProto(const CertificateInfo& c, sigverify::v1::VerifiedCertificate* out) {
  out->set_fingerprint_sha256(c.fingerprint_sha256);
  out->set_serial_hex(c.serial_hex);
  out->set_subject(c.subject);
  out->set_issuer_common_name(c.issuer_common_name);
  SetTs(c.not_before, out->mutable_not_before());
  SetTs(c.not_after, out->mutable_not_after());
  out->set_subject_kind(c.kind == "BUSINESS" ? sigverify::v1::SUBJECT_KIND_BUSINESS
                        : c.kind == "SEAL"   ? sigverify::v1::SUBJECT_KIND_SEAL
                                             : sigverify::v1::SUBJECT_KIND_PERSON);
  out->set_anchor_kind(c.government_anchor ? sigverify::v1::ANCHOR_KIND_GOVERNMENT
                                           : sigverify::v1::ANCHOR_KIND_PUBLIC);
  out->set_common_name(c.common_name);
  out->set_organization(c.organization);
  out->set_organizational_unit(c.organizational_unit);
  out->set_locality(c.locality);
  out->set_state(c.state);
  out->set_email(c.email);
  out->set_cccd(c.cccd);
  out->set_cmnd(c.cmnd);
  out->set_passport(c.passport);
  out->set_mst(c.mst);
  out->set_method(c.method);
}

class FakeSigverifyServer final : public sigverify::v1::SigverifyService::Service {
 public:
  explicit FakeSigverifyServer(testing::FakeSigverify* fake) : fake_(fake) {}
  grpc::Status IssueChallenge(grpc::ServerContext*, const sigverify::v1::IssueChallengeRequest* req,
                              sigverify::v1::Challenge* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_REGISTRATION) return BadPurpose();
    auto c = fake_->IssueChallenge(kPurpose, req->flow_id());
    if (!c.ok()) return status::ToGrpcStatus(c.status());
    out->set_challenge_id(c->challenge_id);
    out->set_challenge(c->challenge);
    SetTs(c->expires_at, out->mutable_expires_at());
    return grpc::Status::OK;
  }
  grpc::Status VerifyChallengeSignature(grpc::ServerContext*,
                                        const sigverify::v1::VerifyChallengeSignatureRequest* req,
                                        sigverify::v1::VerifiedCertificate* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_REGISTRATION ||
        req->format() != sigverify::v1::SIGNATURE_FORMAT_PKCS1_SHA256) {
      return BadPurpose();
    }
    ChallengeSignature sig;
    sig.challenge_id = req->challenge_id();
    sig.flow_id = req->flow_id();
    sig.signature = req->signature();
    sig.certificate = req->certificate();
    sig.chain.assign(req->chain().begin(), req->chain().end());
    auto c = fake_->VerifyChallengeSignature(kPurpose, sig);
    if (!c.ok()) return status::ToGrpcStatus(c.status());
    CertToProto(*c, out);
    return grpc::Status::OK;
  }
  grpc::Status StartRemoteSignature(grpc::ServerContext*,
                                    const sigverify::v1::StartRemoteSignatureRequest* req,
                                    sigverify::v1::RemoteSignatureTransaction* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_REGISTRATION) return BadPurpose();
    RemoteSignatureRequest r;
    r.flow_id = req->flow_id();
    r.provider = req->provider() == sigverify::v1::REMOTE_PROVIDER_SMARTCA
                     ? RemoteProvider::kSmartCa
                     : RemoteProvider::kSim;
    r.subscriber = req->subscriber();
    r.display_text = req->display_text();
    auto t = fake_->StartRemoteSignature(kPurpose, r);
    if (!t.ok()) return status::ToGrpcStatus(t.status());
    out->set_transaction_id(t->transaction_id);
    out->set_verification_code(t->verification_code);
    SetTs(t->expires_at, out->mutable_expires_at());
    return grpc::Status::OK;
  }
  grpc::Status GetRemoteSignatureResult(grpc::ServerContext*,
                                        const sigverify::v1::GetRemoteSignatureResultRequest* req,
                                        sigverify::v1::RemoteSignatureResult* out) override {
    if (req->purpose() != sigverify::v1::PURPOSE_REGISTRATION) return BadPurpose();
    auto r = fake_->GetRemoteSignatureResult(kPurpose, req->transaction_id(), req->flow_id());
    if (!r.ok()) return status::ToGrpcStatus(r.status());
    out->set_state(r->pending ? sigverify::v1::RemoteSignatureResult::STATE_PENDING
                              : sigverify::v1::RemoteSignatureResult::STATE_DONE);
    if (!r->pending) CertToProto(r->signer, out->mutable_certificate());
    return grpc::Status::OK;
  }

 private:
  static constexpr sigverify::client::Purpose kPurpose = sigverify::client::Purpose::kRegistration;
  static grpc::Status BadPurpose() {
    return grpc::Status(grpc::StatusCode::INTERNAL, "test: unexpected purpose or format");
  }
  testing::FakeSigverify* fake_;
};

class FakeAuthServer final : public auth::v1::AuthService::Service {
 public:
  explicit FakeAuthServer(testing::FakeAuth* fake) : fake_(fake) {}
  grpc::Status Introspect(grpc::ServerContext*, const auth::v1::IntrospectRequest* req,
                          auth::v1::IntrospectResponse* out) override {
    auto t = fake_->Introspect(req->token());
    if (!t.ok()) return status::ToGrpcStatus(t.status());
    out->set_active(t->active);
    out->set_sub(t->account_id);
    return grpc::Status::OK;
  }

 private:
  testing::FakeAuth* fake_;
};

class FakeOtpServer final : public otp::v1::OtpService::Service {
 public:
  explicit FakeOtpServer(testing::FakeOtp* fake) : fake_(fake) {}
  grpc::Status SendOtp(grpc::ServerContext*, const otp::v1::SendOtpRequest* req,
                       otp::v1::OtpChallenge* out) override {
    return Reply(fake_->Send(req->request_id(), req->phone(), req->purpose(), req->subject()),
                 out);
  }
  grpc::Status ResendOtp(grpc::ServerContext*, const otp::v1::ResendOtpRequest* req,
                         otp::v1::OtpChallenge* out) override {
    return Reply(fake_->Resend(req->challenge_id()), out);
  }
  grpc::Status VerifyOtp(grpc::ServerContext*, const otp::v1::VerifyOtpRequest* req,
                         otp::v1::VerifyOtpResponse* out) override {
    auto p = fake_->Verify(req->challenge_id(), req->code(), req->purpose(),
                            req->idempotency_key());
    if (!p.ok()) return status::ToGrpcStatus(p.status());
    out->set_phone(*p);
    return grpc::Status::OK;
  }

 private:
  static grpc::Status Reply(const absl::StatusOr<OtpChallenge>& c, otp::v1::OtpChallenge* out) {
    if (!c.ok()) return status::ToGrpcStatus(c.status());
    out->set_challenge_id(c->challenge_id);
    out->set_masked_phone(c->masked_phone);
    SetTs(c->expires_at, out->mutable_expires_at());
    SetTs(c->resend_after, out->mutable_resend_after());
    out->set_attempts_left(c->attempts_left);
    return grpc::Status::OK;
  }
  testing::FakeOtp* fake_;
};

// ---- the fixture ----

class RegistrationServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = pg::testing::TestDatabase::Create("reg_svc");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
  }
  static void TearDownTestSuite() { delete db_; }

  RegistrationServiceTest()
      : otp_(&clock_, testing::OtpOptions()), sigverify_(&clock_), idv_server_(&idv_), accounts_server_(&accounts_),
        otp_server_(&otp_), sigverify_server_(&sigverify_), auth_server_(&auth_) {}

  void SetUp() override {
    ASSERT_NE(db_, nullptr);
    clock_.Set(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())));
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.url = db_->url(), .size = 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());

    // Peers.
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &peer_port_);
    b.RegisterService(&idv_server_);
    b.RegisterService(&accounts_server_);
    b.RegisterService(&otp_server_);
    b.RegisterService(&sigverify_server_);
    b.RegisterService(&auth_server_);
    peers_ = b.BuildAndStart();
    ASSERT_NE(peers_, nullptr);
    auto peer = grpc::CreateChannel("127.0.0.1:" + std::to_string(peer_port_),
                                    grpc::InsecureChannelCredentials());

    // The service, wired as main.cc does.
    auto cipher = crypto::FieldCipher::Create("r1", std::string(32, 's'), &random_);
    ASSERT_TRUE(cipher.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*cipher));
    store_ = std::make_unique<PgFlowStore>(pool_.get(), cipher_.get());
    captcha::IssuerOptions co;
    co.expose_answer = true;
    captcha_ = captcha::NewPgCaptchaChecker(pool_.get(), &clock_, &random_, "captcha-key", co);
    idv_client_ = std::make_unique<GrpcIdvClient>(peer, absl::Milliseconds(500));
    accounts_client_ = std::make_unique<GrpcAccountsClient>(peer);
    otp_client_ = std::make_unique<GrpcOtpClient>(peer);
    sigverify_client_ = std::make_unique<GrpcSigverifyClient>(peer);
    auth_client_ = std::make_unique<GrpcAuthClient>(peer);
    domain_ = std::make_unique<Registration>(
        store_.get(), captcha_.get(), idv_client_.get(), accounts_client_.get(), otp_client_.get(),
        sigverify_client_.get(), auth_client_.get(), &clock_, &random_,
        Options{absl::Minutes(30), "index-key"});
    api_ = std::make_unique<RegistrationGrpc>(domain_.get());
    server::Options so;
    so.service_name = "registration";
    so.host = "127.0.0.1";
    so.grpc_port = 0;
    so.metrics_port = -1;
    server_ = std::make_unique<server::GrpcServer>(so, &registry_);
    server_->Register(api_.get());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = rv1::RegistrationService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (peers_) peers_->Shutdown();
  }

  // Calls and returns the status as a domain status (reason, field, metadata).
  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method m, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = (stub_.get()->*m)(&ctx, req, resp);
    last_grpc_code_ = s.error_code();
    return status::FromGrpcStatus(s);
  }

  rv1::StartMobileRegistrationRequest Form() {
    rv1::Captcha c;
    EXPECT_TRUE(Call(&rv1::RegistrationService::Stub::CreateCaptcha,
                     rv1::CreateCaptchaRequest(), &c).ok());
    rv1::StartMobileRegistrationRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_id_number("001090012345");
    r.set_full_name("Nguyễn Văn An");
    r.set_date_of_birth("1990-05-17");
    r.set_phone("0912345678");
    r.set_consent_version("2024-01");
    return r;
  }

  absl::Status Start(const rv1::StartMobileRegistrationRequest& r, rv1::Flow* out) {
    return Call(&rv1::RegistrationService::Stub::StartMobileRegistration, r, out);
  }
  absl::Status Ref(decltype(&rv1::RegistrationService::Stub::GetFlow) m, const std::string& id,
                   rv1::Flow* out) {
    rv1::FlowRef ref;
    ref.set_flow_id(id);
    return Call(m, ref, out);
  }
  absl::Status Verify(const std::string& id, const std::string& code, rv1::Flow* out) {
    rv1::VerifyOtpRequest r;
    r.set_flow_id(id);
    r.set_otp(code);
    return Call(&rv1::RegistrationService::Stub::VerifyOtp, r, out);
  }
  absl::Status SetPw(const std::string& id, rv1::Flow* out) {
    rv1::SetPasswordRequest r;
    r.set_flow_id(id);
    r.set_password("Quy!Nhon-7391");
    r.set_password_confirmation("Quy!Nhon-7391");
    return Call(&rv1::RegistrationService::Stub::SetPassword, r, out);
  }
  rv1::StartCertificateRegistrationRequest CertForm(rv1::CertificateMethod method,
                                                    rv1::SubjectKind kind) {
    rv1::Captcha c;
    EXPECT_TRUE(Call(&rv1::RegistrationService::Stub::CreateCaptcha,
                     rv1::CreateCaptchaRequest(), &c).ok());
    rv1::StartCertificateRegistrationRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_method(method);
    r.set_subject_kind(kind);
    if (method == rv1::CERTIFICATE_METHOD_SIM) r.set_phone("0912345678");
    if (method == rv1::CERTIFICATE_METHOD_SMARTCA) r.set_smartca_user_id("anbinh.smartca");
    if (kind == rv1::SUBJECT_KIND_AGENCY) r.set_unit_code("000.00.00.G22");
    r.set_consent_version("2024-01");
    return r;
  }
  absl::Status StartCert(const rv1::StartCertificateRegistrationRequest& r, rv1::Flow* out) {
    return Call(&rv1::RegistrationService::Stub::StartCertificateRegistration, r, out);
  }
  absl::Status Submit(const rv1::Flow& f, const std::string& der, rv1::Flow* out) {
    rv1::SubmitCertificateSignatureRequest r;
    r.set_flow_id(f.flow_id());
    r.set_format(rv1::SIGNATURE_FORMAT_PKCS1_SHA256);
    r.set_signature("signed:" + f.challenge().challenge());
    r.set_certificate(der);
    r.add_chain("DER:vnpt-ca");
    return Call(&rv1::RegistrationService::Stub::SubmitCertificateSignature, r, out);
  }
  absl::Status Complete(const std::string& id, const std::string& email, rv1::Flow* out) {
    rv1::CompleteCertificateRegistrationRequest r;
    r.set_flow_id(id);
    r.set_email(email);
    return Call(&rv1::RegistrationService::Stub::CompleteCertificateRegistration, r, out);
  }
  absl::Status Link(const std::string& id, const std::string& token, rv1::Flow* out) {
    rv1::LinkCertificateRequest r;
    r.set_flow_id(id);
    r.set_access_token(token);
    return Call(&rv1::RegistrationService::Stub::LinkCertificate, r, out);
  }

  static std::string Meta(const absl::Status& s, const std::string& key) {
    auto info = status::GetErrorInfo(s);
    if (!info) return "";
    auto it = info->metadata.find(key);
    return it == info->metadata.end() ? "" : it->second;
  }

  static pg::testing::TestDatabase* db_;
  FakeClock clock_;
  crypto::OsRandom random_;
  testing::FakeIdv idv_;
  testing::FakeAccounts accounts_;
  testing::FakeOtp otp_;
  testing::FakeSigverify sigverify_;
  testing::FakeAuth auth_;
  FakeIdvServer idv_server_;
  FakeAccountsServer accounts_server_;
  FakeOtpServer otp_server_;
  FakeSigverifyServer sigverify_server_;
  FakeAuthServer auth_server_;
  int peer_port_ = 0;
  std::unique_ptr<grpc::Server> peers_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  std::unique_ptr<PgFlowStore> store_;
  std::unique_ptr<captcha::CaptchaChecker> captcha_;
  std::unique_ptr<GrpcIdvClient> idv_client_;
  std::unique_ptr<GrpcAccountsClient> accounts_client_;
  std::unique_ptr<GrpcOtpClient> otp_client_;
  std::unique_ptr<GrpcSigverifyClient> sigverify_client_;
  std::unique_ptr<GrpcAuthClient> auth_client_;
  std::unique_ptr<Registration> domain_;
  std::unique_ptr<RegistrationGrpc> api_;
  metrics::Registry registry_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<rv1::RegistrationService::Stub> stub_;
  grpc::StatusCode last_grpc_code_ = grpc::StatusCode::OK;
};

pg::testing::TestDatabase* RegistrationServiceTest::db_ = nullptr;

TEST_F(RegistrationServiceTest, WholeFlowOverGrpcThenReplayIsRefused) {
  rv1::Flow f;
  absl::Status s = Start(Form(), &f);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(f.state(), rv1::FLOW_STATE_OTP_SENT);
  EXPECT_EQ(f.method(), "MOBILE");
  EXPECT_EQ(f.masked_phone(), "091****678");
  EXPECT_EQ(FromTs(f.expires_at()), clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(FromTs(f.otp_expires_at()), clock_.Now() + absl::Minutes(5));
  EXPECT_EQ(FromTs(f.resend_after()), clock_.Now() + absl::Seconds(60));

  rv1::Flow got;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::GetFlow, f.flow_id(), &got).ok());
  EXPECT_EQ(got.state(), rv1::FLOW_STATE_OTP_SENT);
  const std::string wire = got.SerializeAsString() + got.DebugString();
  EXPECT_EQ(wire.find("001090012345"), std::string::npos);  // never the ID number
  EXPECT_EQ(wire.find("0912345678"), std::string::npos);    // only the masked phone

  // Resend too soon: the otp service's answer passes through.
  rv1::Flow r;
  s = Ref(&rv1::RegistrationService::Stub::ResendOtp, f.flow_id(), &r);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status::ReasonOf(s), "OTP_RESEND_TOO_SOON");
  EXPECT_FALSE(Meta(s, "retry_after_s").empty());

  rv1::Flow v;
  s = Verify(f.flow_id(), "000000", &v);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "OTP_INVALID");
  ASSERT_TRUE(Verify(f.flow_id(), "246810", &v).ok());
  EXPECT_EQ(v.state(), rv1::FLOW_STATE_PASSWORD_REQUIRED);

  rv1::Flow done;
  s = SetPw(f.flow_id(), &done);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(done.state(), rv1::FLOW_STATE_COMPLETED);
  EXPECT_EQ(done.ial(), 2);
  EXPECT_FALSE(done.account_id().empty());
  EXPECT_EQ(accounts_.accounts_created(), 1);

  rv1::Flow replay;
  s = SetPw(f.flow_id(), &replay);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "FLOW_COMPLETED");
  EXPECT_EQ(accounts_.create_calls(), 1);
}

TEST_F(RegistrationServiceTest, SlowTelcoIsUnavailableWithFlowIdThenResumeSucceeds) {
  idv_server_.delay_ = absl::Seconds(1);  // beyond the 500 ms client deadline
  rv1::Flow f;
  absl::Status s = Start(Form(), &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status::ReasonOf(s), "IDV_PROVIDER_UNAVAILABLE");
  auto info = status::GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_NE(info->message_vi.find("thử lại"), std::string::npos);
  const std::string flow_id = Meta(s, "flow_id");
  ASSERT_EQ(flow_id.size(), 36u);

  rv1::Flow pending;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::GetFlow, flow_id, &pending).ok());
  EXPECT_EQ(pending.state(), rv1::FLOW_STATE_SUBSCRIBER_CHECK_PENDING);
  EXPECT_EQ(pending.masked_phone(), "091****678");

  idv_server_.delay_ = absl::ZeroDuration();
  rv1::Flow resumed;
  s = Ref(&rv1::RegistrationService::Stub::ResumeFlow, flow_id, &resumed);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(resumed.state(), rv1::FLOW_STATE_OTP_SENT);
  EXPECT_EQ(otp_.sms_sent(), 1);
}

TEST_F(RegistrationServiceTest, RefusalsCarryReasonAndField) {
  // Wrong captcha.
  auto form = Form();
  form.set_captcha_answer("wrong!");
  rv1::Flow f;
  absl::Status s = Start(form, &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "CAPTCHA_INVALID");

  // Birth year encoded in the CCCD differs from the date of birth.
  form = Form();
  form.set_date_of_birth("1991-05-17");
  s = Start(form, &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "CCCD_BIRTH_YEAR_MISMATCH");
  EXPECT_EQ(status::GetErrorInfo(s)->field, "date_of_birth");

  // Not the subscriber's owner.
  idv_.Push(SubscriberAnswer{true, false, {"full_name"}, "Viettel"});
  s = Start(Form(), &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "PHONE_NOT_OWNED");
  EXPECT_EQ(status::GetErrorInfo(s)->field, "phone");

  // Duplicate account.
  accounts_.AddExisting("001090012345");
  s = Start(Form(), &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status::ReasonOf(s), "ACCOUNT_EXISTS");
  EXPECT_NE(status::GetErrorInfo(s)->message_vi.find("Quên mật khẩu"), std::string::npos);
  EXPECT_EQ(otp_.sms_sent(), 0);

  // Unknown flow.
  s = Ref(&rv1::RegistrationService::Stub::GetFlow, "3f0c9a52-8a5e-4b1e-9c41-5d7d0e2f6a10", &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status::ReasonOf(s), "FLOW_NOT_FOUND");
}

TEST_F(RegistrationServiceTest, LostCreateResponseRetriedGivesTheSameAccount) {
  rv1::Flow f, v, lost, retry;
  ASSERT_TRUE(Start(Form(), &f).ok());
  ASSERT_TRUE(Verify(f.flow_id(), "246810", &v).ok());
  accounts_.LoseNextCreateResponse();
  absl::Status s = SetPw(f.flow_id(), &lost);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status::ReasonOf(s), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(Meta(s, "flow_id"), f.flow_id());
  s = SetPw(f.flow_id(), &retry);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(retry.state(), rv1::FLOW_STATE_COMPLETED);
  EXPECT_EQ(accounts_.accounts_created(), 1);
  auto req = accounts_.Request(retry.account_id());
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->request_id, f.flow_id());
  EXPECT_EQ(req->verification_source, "TELCO");
  EXPECT_EQ(req->registration_method, "MOBILE");
  EXPECT_EQ(req->ial, 2);
  EXPECT_EQ(req->consent_version, "2024-01");
}

TEST_F(RegistrationServiceTest, ExpiredFlowIsRefused) {
  rv1::Flow f, v;
  ASSERT_TRUE(Start(Form(), &f).ok());
  clock_.Advance(absl::Minutes(31));
  absl::Status s = Verify(f.flow_id(), "246810", &v);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "FLOW_EXPIRED");
}

// ---- certificate flows ----

TEST_F(RegistrationServiceTest, UsbCitizenOverGrpcShowsTheCertificateAndCreatesOneAccount) {
  sigverify_.AddCertificate("DER:citizen", testing::certs::Citizen());
  rv1::Flow f;
  absl::Status s =
      StartCert(CertForm(rv1::CERTIFICATE_METHOD_USB, rv1::SUBJECT_KIND_CITIZEN), &f);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(f.state(), rv1::FLOW_STATE_SIGNATURE_REQUIRED);
  EXPECT_EQ(f.method(), "USB");
  EXPECT_EQ(f.subject_kind(), rv1::SUBJECT_KIND_CITIZEN);
  EXPECT_FALSE(f.challenge().challenge_id().empty());
  EXPECT_NE(f.challenge().challenge().find(f.flow_id()), std::string::npos);
  EXPECT_EQ(FromTs(f.challenge().expires_at()), clock_.Now() + absl::Minutes(5));
  EXPECT_EQ(f.signature_requests_left(), 4);
  EXPECT_EQ(FromTs(f.expires_at()), clock_.Now() + absl::Minutes(30));

  // GetFlow shows the same challenge (read back from PostgreSQL).
  rv1::Flow got;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::GetFlow, f.flow_id(), &got).ok());
  EXPECT_EQ(got.challenge().challenge(), f.challenge().challenge());

  rv1::Flow v;
  s = Submit(f, "DER:citizen", &v);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(v.state(), rv1::FLOW_STATE_REVIEW);
  EXPECT_FALSE(v.has_challenge());
  const rv1::CertificateView& c = v.certificate();
  EXPECT_EQ(c.full_name(), "Nguyễn Văn An");
  EXPECT_EQ(c.issuer_name(), "VNPT Certification Authority (TEST)");
  EXPECT_EQ(FromTs(c.valid_from()), absl::FromUnixSeconds(1790000000));
  EXPECT_EQ(FromTs(c.valid_to()), absl::FromUnixSeconds(1850000000));
  EXPECT_EQ(c.subject_kind(), rv1::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(c.identity_type(), "CCCD");
  EXPECT_EQ(c.masked_identity_number(), "0010*****345");
  const std::string wire = v.SerializeAsString() + v.DebugString();
  EXPECT_EQ(wire.find("001090012345"), std::string::npos);  // never the full number
  EXPECT_EQ(wire.find(std::string(64, 'a')), std::string::npos);

  rv1::Flow done;
  s = Complete(f.flow_id(), "", &done);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(done.state(), rv1::FLOW_STATE_COMPLETED);
  EXPECT_EQ(done.ial(), 3);
  EXPECT_FALSE(done.account_id().empty());
  rv1::Flow replay;
  s = Complete(f.flow_id(), "", &replay);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(replay.account_id(), done.account_id());
  EXPECT_EQ(accounts_.create_calls(), 1);
  auto req = accounts_.CertRequest(done.account_id());
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->request_id, f.flow_id());
  EXPECT_EQ(req->kind, SubjectKind::kCitizen);
  EXPECT_EQ(req->citizen.cccd, "001090012345");
  EXPECT_EQ(req->credential.method, "USB");
  EXPECT_EQ(req->credential.not_after, absl::FromUnixSeconds(1850000000));
  EXPECT_EQ(sigverify_.last_signature().chain, std::vector<std::string>{"DER:vnpt-ca"});
}

TEST_F(RegistrationServiceTest, CertificateRefusalsCarryCodeReasonAndField) {
  rv1::Flow f;
  auto form = CertForm(rv1::CERTIFICATE_METHOD_SMARTCA, rv1::SUBJECT_KIND_AGENCY);
  absl::Status s = StartCert(form, &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "METHOD_NOT_ALLOWED_FOR_SUBJECT");
  EXPECT_EQ(status::GetErrorInfo(s)->field, "method");

  form = CertForm(rv1::CERTIFICATE_METHOD_USB, rv1::SUBJECT_KIND_AGENCY);
  form.set_unit_code("G22");
  s = StartCert(form, &f);
  EXPECT_EQ(status::ReasonOf(s), "UNIT_CODE_MALFORMED");
  EXPECT_EQ(status::GetErrorInfo(s)->field, "unit_code");

  form = CertForm(rv1::CERTIFICATE_METHOD_UNSPECIFIED, rv1::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(status::ReasonOf(StartCert(form, &f)), "METHOD_REQUIRED");

  // Revoked certificate: sigverify's reason and messages pass through.
  sigverify_.AddCertificate("DER:revoked",
                            status::InvalidArgument("CERT_REVOKED", "certificate",
                                                    "Chứng thư số đã bị thu hồi.", "Revoked."));
  ASSERT_TRUE(
      StartCert(CertForm(rv1::CERTIFICATE_METHOD_USB, rv1::SUBJECT_KIND_CITIZEN), &f).ok());
  rv1::Flow v;
  s = Submit(f, "DER:revoked", &v);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "CERT_REVOKED");
  EXPECT_EQ(status::GetErrorInfo(s)->message_vi, "Chứng thư số đã bị thu hồi.");
  EXPECT_EQ(Meta(s, "flow_id"), f.flow_id());
  s = Submit(f, "DER:revoked", &v);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "CHALLENGE_RENEWAL_REQUIRED");

  // A new challenge, the wrong kind of certificate for a business.
  sigverify_.AddCertificate("DER:citizen", testing::certs::Citizen());
  ASSERT_TRUE(
      StartCert(CertForm(rv1::CERTIFICATE_METHOD_USB, rv1::SUBJECT_KIND_BUSINESS), &f).ok());
  s = Submit(f, "DER:citizen", &v);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "CERTIFICATE_NOT_BUSINESS");
  rv1::Flow renewed;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::RenewChallenge, f.flow_id(), &renewed).ok());
  EXPECT_EQ(renewed.state(), rv1::FLOW_STATE_SIGNATURE_REQUIRED);
  EXPECT_NE(renewed.challenge().challenge_id(), f.challenge().challenge_id());
  EXPECT_EQ(renewed.signature_requests_left(), 3);

  // A business must give an email.
  sigverify_.AddCertificate("DER:business", testing::certs::Business());
  ASSERT_TRUE(Submit(renewed, "DER:business", &v).ok());
  EXPECT_EQ(v.certificate().identity_type(), "MST");
  EXPECT_EQ(v.certificate().masked_identity_number(), "0100***209");
  EXPECT_EQ(v.certificate().email(), "ketoan@anbinh.vn");
  rv1::Flow done;
  s = Complete(f.flow_id(), "", &done);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status::ReasonOf(s), "EMAIL_REQUIRED");
  ASSERT_TRUE(Complete(f.flow_id(), "ketoan@anbinh.vn", &done).ok());
  EXPECT_EQ(done.state(), rv1::FLOW_STATE_COMPLETED);
}

TEST_F(RegistrationServiceTest, SimExistingAccountIsLinkedOnlyWithTheHoldersToken) {
  sigverify_.AddRemote("0912345678", testing::certs::Citizen());
  accounts_.AddExisting("001090012345", "acc-existing");
  auth_.AddToken("holder-token", "acc-existing");
  auth_.AddToken("other-token", "acc-other");
  rv1::Flow f;
  absl::Status s =
      StartCert(CertForm(rv1::CERTIFICATE_METHOD_SIM, rv1::SUBJECT_KIND_CITIZEN), &f);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(f.state(), rv1::FLOW_STATE_SIGNATURE_PENDING);
  EXPECT_EQ(f.masked_phone(), "091****678");
  EXPECT_FALSE(f.remote_signature().verification_code().empty());
  EXPECT_EQ(sigverify_.starts()[0].subscriber, "0912345678");

  rv1::Flow p;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::PollCertificateSignature, f.flow_id(), &p).ok());
  EXPECT_EQ(p.state(), rv1::FLOW_STATE_SIGNATURE_PENDING);
  sigverify_.ConfirmLast();
  s = Ref(&rv1::RegistrationService::Stub::PollCertificateSignature, f.flow_id(), &p);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(p.state(), rv1::FLOW_STATE_EXISTING_ACCOUNT);
  EXPECT_EQ(p.notice().reason(), "ACCOUNT_EXISTS");
  EXPECT_NE(p.notice().message_vi().find("Quên mật khẩu"), std::string::npos);
  EXPECT_EQ(p.certificate().masked_identity_number(), "0010*****345");
  EXPECT_TRUE(p.account_id().empty());  // the existing account's id is never shown

  rv1::Flow l;
  s = Link(f.flow_id(), "", &l);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status::ReasonOf(s), "ACCESS_TOKEN_REQUIRED");
  s = Link(f.flow_id(), "other-token", &l);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status::ReasonOf(s), "ACCOUNT_MISMATCH");
  EXPECT_EQ(accounts_.add_calls(), 0);
  s = Link(f.flow_id(), "holder-token", &l);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(l.state(), rv1::FLOW_STATE_COMPLETED);
  EXPECT_EQ(l.account_id(), "acc-existing");
  EXPECT_EQ(l.ial(), 3);
  auto links = accounts_.links();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links.begin()->second.credential.subscriber, "84912345678");
  EXPECT_EQ(links.begin()->second.credential.method, "SIM");
  EXPECT_EQ(accounts_.create_calls(), 0);
}

TEST_F(RegistrationServiceTest, SimCancelledPassesThroughAndSigverifyDownIsRetryable) {
  sigverify_.AddRemote("0912345678", testing::certs::Citizen());
  sigverify_.PushStartError(absl::UnavailableError("down"));
  rv1::Flow f;
  absl::Status s =
      StartCert(CertForm(rv1::CERTIFICATE_METHOD_SIM, rv1::SUBJECT_KIND_CITIZEN), &f);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status::ReasonOf(s), "TEMPORARILY_UNAVAILABLE");
  const std::string id = Meta(s, "flow_id");
  ASSERT_EQ(id.size(), 36u);
  rv1::Flow pending;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::GetFlow, id, &pending).ok());
  EXPECT_EQ(pending.state(), rv1::FLOW_STATE_SIGNATURE_START_PENDING);
  rv1::Flow resumed;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::ResumeFlow, id, &resumed).ok());
  EXPECT_EQ(resumed.state(), rv1::FLOW_STATE_SIGNATURE_PENDING);

  sigverify_.EndLast(status::FailedPrecondition("SIGNER_USER_CANCELLED", "",
                                                "Bạn đã từ chối ký.", "You declined."));
  rv1::Flow p;
  s = Ref(&rv1::RegistrationService::Stub::PollCertificateSignature, id, &p);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "SIGNER_USER_CANCELLED");
  rv1::Flow renewed;
  ASSERT_TRUE(Ref(&rv1::RegistrationService::Stub::RenewChallenge, id, &renewed).ok());
  EXPECT_NE(renewed.remote_signature().verification_code(),
            resumed.remote_signature().verification_code());

  clock_.Advance(absl::Minutes(31));
  s = Ref(&rv1::RegistrationService::Stub::PollCertificateSignature, id, &p);
  EXPECT_EQ(last_grpc_code_, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status::ReasonOf(s), "FLOW_EXPIRED");
}

}  // namespace
}  // namespace dvc::registration
