// Service test: the real gRPC server in-process (port 0) over real PostgreSQL (DATABASE_URL),
// with a fake SMS sender and a fake clock, driven through the generated stub.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/random.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/pg/testing/test_database.h"
#include "libs/server/call.h"
#include "libs/server/grpc_server.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/otp/v1/otp.grpc.pb.h"
#include "services/otp/adapters/pg_otp_store.h"
#include "services/otp/api/otp_grpc.h"
#include "services/otp/domain/otp.h"
#include "services/otp/migrations.h"
#include "services/otp/testing/fakes.h"

namespace dvc::otp {
namespace {

constexpr char kMsisdn[] = "84822345088";

struct Outcome {
  grpc::StatusCode code;
  std::string reason;
  std::string field;
  std::map<std::string, std::string> metadata;
};

Outcome Of(const grpc::Status& g) {
  absl::Status s = status::FromGrpcStatus(g);
  Outcome o{g.error_code(), status::ReasonOf(s), "", {}};
  if (auto info = status::GetErrorInfo(s)) {
    o.field = info->field;
    o.metadata = info->metadata;
  }
  return o;
}

class OtpServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::testing::TestDatabase::Create("otpsvc");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{db_->url(), 8});
    ASSERT_TRUE(pg::Migrate(*pool_, migrations::Files()).ok());
    store_ = std::make_unique<PgOtpStore>(pool_.get());
    auto cipher = crypto::FieldCipher::Create("k1", std::string(32, 'P'));
    ASSERT_TRUE(cipher.ok());
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*cipher));
    domain_ = std::make_unique<OtpDomain>(store_.get(), &sms_, &clock_, &random_, cipher_.get(),
                                          OtpKeys{std::string(32, 'H'), "index"}, OtpOptions{},
                                          &registry_);
    api_ = std::make_unique<OtpGrpc>(domain_.get());
    server_ = std::make_unique<server::GrpcServer>(
        server::Options{.service_name = "otp", .host = "127.0.0.1", .metrics_port = -1},
        &registry_);
    server_->Register(api_.get());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = v1::OtpService::NewStub(
        server::Dial("127.0.0.1:" + std::to_string(server_->grpc_port())));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    api_.reset();
    domain_.reset();
    store_.reset();
    pool_.reset();
    db_.reset();
  }

  grpc::Status Send(const std::string& rid, v1::OtpChallenge* out,
                    const std::string& phone = "+84 822 345 088",
                    const std::string& subject = "subj") {
    v1::SendOtpRequest req;
    req.set_request_id(rid);
    req.set_phone(phone);
    req.set_purpose("REGISTRATION");
    req.set_subject(subject);
    auto ctx = server::ClientContext(absl::Seconds(10));
    return stub_->SendOtp(ctx.get(), req, out);
  }
  grpc::Status Resend(const std::string& id, v1::OtpChallenge* out) {
    v1::ResendOtpRequest req;
    req.set_challenge_id(id);
    auto ctx = server::ClientContext(absl::Seconds(10));
    return stub_->ResendOtp(ctx.get(), req, out);
  }
  grpc::Status Verify(const std::string& id, const std::string& code, std::string* phone = nullptr,
                      const std::string& purpose = "REGISTRATION",
                      const std::string& idempotency_key = "") {
    v1::VerifyOtpRequest req;
    req.set_challenge_id(id);
    req.set_code(code);
    req.set_purpose(purpose);
    req.set_idempotency_key(idempotency_key);
    v1::VerifyOtpResponse resp;
    auto ctx = server::ClientContext(absl::Seconds(10));
    grpc::Status g = stub_->VerifyOtp(ctx.get(), req, &resp);
    if (phone != nullptr) *phone = resp.phone();
    return g;
  }
  std::string WrongCode(const std::string& right) { return right == "000000" ? "000001" : "000000"; }

  std::unique_ptr<pg::testing::TestDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgOtpStore> store_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  FakeClock clock_;
  crypto::OsRandom random_;
  testing::FakeSmsSender sms_;
  metrics::Registry registry_;
  std::unique_ptr<OtpDomain> domain_;
  std::unique_ptr<OtpGrpc> api_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<v1::OtpService::Stub> stub_;
};

TEST_F(OtpServiceTest, SendThenVerifyOnce) {
  const absl::Time t0 = clock_.Now();
  v1::OtpChallenge ch;
  grpc::Status g = Send("req-1", &ch);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(ch.masked_phone(), "082****088");
  EXPECT_EQ(ch.attempts_left(), 5);
  EXPECT_EQ(ch.expires_at().seconds(), absl::ToUnixSeconds(t0 + absl::Minutes(5)));
  EXPECT_EQ(ch.resend_after().seconds(), absl::ToUnixSeconds(t0 + absl::Seconds(60)));
  ASSERT_EQ(sms_.Sent().size(), 1u);
  const std::string code = sms_.LastCode(kMsisdn);
  ASSERT_EQ(code.size(), 6u);

  std::string phone;
  g = Verify(ch.challenge_id(), code, &phone);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(phone, "0822345088");

  Outcome o = Of(Verify(ch.challenge_id(), code));
  EXPECT_EQ(o.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(o.reason, "OTP_ALREADY_USED");

  const std::string metrics = registry_.Render();
  EXPECT_NE(metrics.find("otp_sent_total{purpose=\"REGISTRATION\",outcome=\"sent\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("otp_verify_total{outcome=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("otp_verify_total{outcome=\"already_used\"} 1"), std::string::npos);
}

TEST_F(OtpServiceTest, SendIsIdempotent) {
  v1::OtpChallenge a, b;
  ASSERT_TRUE(Send("req-1", &a).ok());
  ASSERT_TRUE(Send("req-1", &b, "0822345088").ok());
  EXPECT_EQ(a.challenge_id(), b.challenge_id());
  EXPECT_EQ(sms_.Sent().size(), 1u);
  Outcome o = Of(Send("req-1", &b, "0912345678"));
  EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(o.reason, "REQUEST_ID_REUSED");
}

TEST_F(OtpServiceTest, WrongMalformedAndExhaustedCodes) {
  v1::OtpChallenge ch;
  ASSERT_TRUE(Send("req-1", &ch).ok());
  const std::string code = sms_.LastCode(kMsisdn);

  Outcome o = Of(Verify(ch.challenge_id(), "12ab56"));
  EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(o.reason, "OTP_MALFORMED");
  EXPECT_EQ(o.field, "otp");

  for (int left = 4; left >= 0; --left) {
    o = Of(Verify(ch.challenge_id(), WrongCode(code)));
    EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(o.reason, "OTP_INVALID");
    EXPECT_EQ(o.field, "otp");
    EXPECT_EQ(o.metadata["attempts_left"], std::to_string(left));
  }
  o = Of(Verify(ch.challenge_id(), code));
  EXPECT_EQ(o.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(o.reason, "OTP_ATTEMPTS_EXCEEDED");
}

TEST_F(OtpServiceTest, ResendCooldownAndNewCode) {
  v1::OtpChallenge ch, re;
  ASSERT_TRUE(Send("req-1", &ch).ok());
  const std::string first = sms_.LastCode(kMsisdn);
  clock_.Advance(absl::Seconds(20));
  Outcome o = Of(Resend(ch.challenge_id(), &re));
  EXPECT_EQ(o.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(o.reason, "OTP_RESEND_TOO_SOON");
  EXPECT_EQ(o.metadata["retry_after_s"], "40");

  clock_.Advance(absl::Seconds(40));
  grpc::Status g = Resend(ch.challenge_id(), &re);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(re.challenge_id(), ch.challenge_id());
  EXPECT_EQ(sms_.Sent().size(), 2u);
  const std::string second = sms_.LastCode(kMsisdn);
  if (first != second) {
    EXPECT_EQ(Of(Verify(ch.challenge_id(), first)).reason, "OTP_INVALID");
  }
  EXPECT_TRUE(Verify(ch.challenge_id(), second).ok());
}

TEST_F(OtpServiceTest, SendLimitPerPhone) {
  v1::OtpChallenge ch;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Send("req-" + std::to_string(i), &ch, "0822345088", "s" + std::to_string(i)).ok());
  }
  clock_.Advance(absl::Minutes(5));
  Outcome o = Of(Send("req-5", &ch, "0822345088", "s5"));
  EXPECT_EQ(o.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(o.reason, "OTP_SEND_LIMIT");
  EXPECT_EQ(o.metadata["retry_after_s"], "600");
}

TEST_F(OtpServiceTest, SmsFailureIsUnavailableAndRetryable) {
  sms_.SetFailure(absl::UnavailableError("gateway down"));
  v1::OtpChallenge ch;
  Outcome o = Of(Send("req-1", &ch));
  EXPECT_EQ(o.code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(o.reason, "SMS_UNAVAILABLE");
  sms_.SetFailure(absl::OkStatus());
  grpc::Status g = Send("req-1", &ch);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_TRUE(Verify(ch.challenge_id(), sms_.LastCode(kMsisdn)).ok());
}

TEST_F(OtpServiceTest, UnknownExpiredAndWrongPurpose) {
  Outcome o = Of(Verify("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "123456"));
  EXPECT_EQ(o.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(o.reason, "OTP_CHALLENGE_NOT_FOUND");
  v1::OtpChallenge re;
  EXPECT_EQ(Of(Resend("nope", &re)).reason, "OTP_CHALLENGE_NOT_FOUND");

  v1::OtpChallenge ch;
  ASSERT_TRUE(Send("req-1", &ch).ok());
  const std::string code = sms_.LastCode(kMsisdn);
  o = Of(Verify(ch.challenge_id(), code, nullptr, "LOGIN"));
  EXPECT_EQ(o.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(o.reason, "OTP_PURPOSE_MISMATCH");

  clock_.Advance(absl::Minutes(5));
  o = Of(Verify(ch.challenge_id(), code));
  EXPECT_EQ(o.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(o.reason, "OTP_EXPIRED");
  // A resend replaces the expired code with a fresh one.
  ASSERT_TRUE(Resend(ch.challenge_id(), &re).ok());
  EXPECT_TRUE(Verify(ch.challenge_id(), sms_.LastCode(kMsisdn)).ok());
}

// A caller that lost VerifyOtp's answer repeats it with its idempotency_key and gets the phone
// again; any other verification of the used code is still OTP_ALREADY_USED.
TEST_F(OtpServiceTest, IdempotencyKeyReplaysTheSuccessToItsStepOnly) {
  v1::OtpChallenge ch;
  ASSERT_TRUE(Send("req-1", &ch).ok());
  const std::string code = sms_.LastCode(kMsisdn);
  const std::string key = "registration:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

  std::string phone;
  grpc::Status g = Verify(ch.challenge_id(), code, &phone, "REGISTRATION", key);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(phone, "0822345088");
  phone.clear();
  g = Verify(ch.challenge_id(), code, &phone, "REGISTRATION", key);
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(phone, "0822345088");

  Outcome o = Of(Verify(ch.challenge_id(), code, nullptr, "REGISTRATION", key + "x"));
  EXPECT_EQ(o.code, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(o.reason, "OTP_ALREADY_USED");
  EXPECT_EQ(Of(Verify(ch.challenge_id(), code)).reason, "OTP_ALREADY_USED");
  EXPECT_EQ(Of(Verify(ch.challenge_id(), WrongCode(code), nullptr, "REGISTRATION", key)).reason,
            "OTP_ALREADY_USED");

  const std::string metrics = registry_.Render();
  EXPECT_NE(metrics.find("otp_verify_total{outcome=\"ok\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("otp_verify_total{outcome=\"replayed\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("otp_verify_total{outcome=\"already_used\"} 3"), std::string::npos);
}

TEST_F(OtpServiceTest, MalformedIdempotencyKeyIsInvalidArgument) {
  v1::OtpChallenge ch;
  ASSERT_TRUE(Send("req-1", &ch).ok());
  const std::string code = sms_.LastCode(kMsisdn);
  for (const std::string& key : {std::string("login flow"), std::string("login/1"),
                                std::string(129, 'k')}) {
    Outcome o = Of(Verify(ch.challenge_id(), code, nullptr, "REGISTRATION", key));
    EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT) << key;
    EXPECT_EQ(o.reason, "OTP_IDEMPOTENCY_KEY_INVALID") << key;
    EXPECT_EQ(o.field, "idempotency_key") << key;
  }
  // Nothing was consumed: the code still verifies (with the longest valid key).
  EXPECT_TRUE(Verify(ch.challenge_id(), code, nullptr, "REGISTRATION", std::string(128, 'k')).ok());
}

TEST_F(OtpServiceTest, BadInput) {
  v1::OtpChallenge ch;
  Outcome o = Of(Send("req-1", &ch, "12345"));
  EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(o.reason, "PHONE_MALFORMED");
  EXPECT_EQ(o.field, "phone");
  o = Of(Send("", &ch));
  EXPECT_EQ(o.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(o.reason, "REQUEST_ID_INVALID");
  EXPECT_TRUE(sms_.Sent().empty());
}

}  // namespace
}  // namespace dvc::otp
