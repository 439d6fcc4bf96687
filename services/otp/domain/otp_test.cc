#include "services/otp/domain/otp.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/testing/fake_random.h"
#include "libs/metrics/metrics.h"
#include "libs/status/errors.h"
#include "services/otp/testing/fakes.h"

namespace dvc::otp {
namespace {

using ::dvc::status::ReasonOf;

constexpr char kPhone[] = "0912345678";
constexpr char kMsisdn[] = "84912345678";
constexpr char kHmacKey[] = "0123456789abcdef0123456789abcdef-otp";

std::string Meta(const absl::Status& s, const std::string& key) {
  auto info = status::GetErrorInfo(s);
  if (!info) return "<no info>";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "<absent>" : it->second;
}

std::string Field(const absl::Status& s) {
  auto info = status::GetErrorInfo(s);
  return info ? info->field : "<no info>";
}

class OtpDomainTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(); }

  void Build() {
    auto cipher = crypto::FieldCipher::Create("k1", std::string(32, 'K'), &random_);
    ASSERT_TRUE(cipher.ok()) << cipher.status();
    cipher_ = std::make_unique<crypto::FieldCipher>(std::move(*cipher));
    registry_ = std::make_unique<metrics::Registry>();
    domain_ = std::make_unique<OtpDomain>(&store_, &sms_, &clock_, &random_, cipher_.get(),
                                          OtpKeys{kHmacKey, "index-key-for-tests"}, options_,
                                          registry_.get());
  }

  SendRequest Req(const std::string& rid, const std::string& phone = kPhone,
                  const std::string& subject = "subject-1", const std::string& purpose = "LOGIN") {
    return SendRequest{rid, phone, purpose, subject};
  }

  // Sends with a scripted code and returns the challenge.
  ChallengeView SendWithCode(const std::string& rid, const std::string& code,
                             const std::string& phone = kPhone,
                             const std::string& subject = "subject-1") {
    random_.PushDigits(code);
    auto v = domain_->Send(Req(rid, phone, subject));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : ChallengeView{};
  }

  absl::StatusOr<ChallengeView> ResendWithCode(const std::string& id, const std::string& code) {
    random_.PushDigits(code);
    return domain_->Resend(id);
  }

  const Challenge& Stored(const std::string& id) { return store_.challenges.at(id); }

  double SentCount(const std::string& purpose, const std::string& outcome) {
    return registry_->Counter("otp_sent_total", "", {"purpose", "outcome"})
        .Labels({purpose, outcome})
        .Value();
  }
  double VerifyCount(const std::string& outcome) {
    return registry_->Counter("otp_verify_total", "", {"outcome"}).Labels({outcome}).Value();
  }

  FakeClock clock_;
  crypto::testing::FakeRandom random_{7};
  testing::FakeOtpStore store_;
  testing::FakeSmsSender sms_;
  OtpOptions options_;
  std::unique_ptr<crypto::FieldCipher> cipher_;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<OtpDomain> domain_;
};

// ---- SendOtp ----

TEST_F(OtpDomainTest, SendStoresOnlyKeyedHashAndSealedPhone) {
  const absl::Time t0 = clock_.Now();
  ChallengeView v = SendWithCode("r1", "123456");
  EXPECT_EQ(v.masked_phone, "091****678");
  EXPECT_EQ(v.expires_at, t0 + absl::Minutes(5));
  EXPECT_EQ(v.resend_after, t0 + absl::Seconds(60));
  EXPECT_EQ(v.attempts_left, 5);
  EXPECT_EQ(v.challenge_id.size(), 36u);

  const Challenge& c = Stored(v.challenge_id);
  EXPECT_EQ(c.code_hmac,
            crypto::HexEncode(crypto::HmacSha256(kHmacKey, v.challenge_id + ":123456")));
  EXPECT_EQ(c.code_hmac.find("123456"), std::string::npos);
  EXPECT_EQ(c.phone_sealed.find("912345678"), std::string::npos);
  EXPECT_EQ(c.phone_index.find("912345678"), std::string::npos);
  EXPECT_EQ(c.purpose, "LOGIN");
  EXPECT_EQ(c.delivery, Delivery::kSent);
  EXPECT_EQ(c.deliveries, 1);
  // The sealed phone is bound to its challenge id.
  EXPECT_EQ(*cipher_->Open(c.phone_sealed, "otp.phone:" + v.challenge_id), kPhone);
  EXPECT_FALSE(cipher_->Open(c.phone_sealed, "otp.phone:other").ok());

  auto sent = sms_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, kMsisdn);
  EXPECT_EQ(sent[0].text,
            "DVCQG: Ma xac thuc cua ban la 123456. Ma co hieu luc trong 5 phut. Tuyet doi khong "
            "cung cap ma nay cho nguoi khac.");
  EXPECT_EQ(sent[0].message_id, v.challenge_id + ".1");
  ASSERT_EQ(store_.deliveries.size(), 1u);
  EXPECT_EQ(store_.deliveries[0].outcome, DeliveryOutcome::kSent);
  EXPECT_EQ(SentCount("LOGIN", "sent"), 1);
}

TEST_F(OtpDomainTest, SendNormalisesEveryPhoneForm) {
  int n = 0;
  for (const std::string phone : {"+84 912 345 678", "84912345678", "091-234-5678"}) {
    ++n;
    ChallengeView v = SendWithCode("r" + std::to_string(n), "654321", phone, "s" + phone);
    EXPECT_EQ(v.masked_phone, "091****678") << phone;
    EXPECT_EQ(sms_.Sent().back().to, kMsisdn) << phone;
    auto verified = domain_->Verify(v.challenge_id, "654321", "LOGIN");
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(*verified, kPhone);
  }
}

TEST_F(OtpDomainTest, SendRejectsBadInput) {
  auto s = domain_->Send(Req("r1", "012345"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "PHONE_MALFORMED");
  EXPECT_EQ(Field(s.status()), "phone");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", "+85912345678")).status()), "PHONE_MALFORMED");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", kPhone, "s", "login")).status()),
            "OTP_PURPOSE_INVALID");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", kPhone, "s", "")).status()), "OTP_PURPOSE_INVALID");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("", kPhone)).status()), "REQUEST_ID_INVALID");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", kPhone, std::string(257, 's'))).status()),
            "OTP_SUBJECT_INVALID");
  EXPECT_TRUE(sms_.Sent().empty());
  EXPECT_TRUE(store_.challenges.empty());
}

TEST_F(OtpDomainTest, SendIsIdempotentOnRequestId) {
  ChallengeView a = SendWithCode("r1", "111111");
  clock_.Advance(absl::Seconds(3));
  auto b = domain_->Send(Req("r1"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->challenge_id, a.challenge_id);
  EXPECT_EQ(b->expires_at, a.expires_at);
  EXPECT_EQ(sms_.Sent().size(), 1u);
  EXPECT_EQ(store_.sends.size(), 2u);  // one phone + one subject record, not doubled
  EXPECT_EQ(SentCount("LOGIN", "replayed"), 1);
  // The code of the first send still works.
  EXPECT_TRUE(domain_->Verify(a.challenge_id, "111111", "LOGIN").ok());
  // A retry after verification still answers the same challenge, without an SMS.
  auto c = domain_->Send(Req("r1"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->challenge_id, a.challenge_id);
  EXPECT_EQ(sms_.Sent().size(), 1u);
}

TEST_F(OtpDomainTest, SendRejectsRequestIdReusedForAnotherRequest) {
  SendWithCode("r1", "111111");
  auto s = domain_->Send(Req("r1", "0987654321"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", kPhone, "other-subject")).status()),
            "REQUEST_ID_REUSED");
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r1", kPhone, "subject-1", "REGISTRATION")).status()),
            "REQUEST_ID_REUSED");
  EXPECT_EQ(sms_.Sent().size(), 1u);
}

TEST_F(OtpDomainTest, PhoneSendLimitIsASlidingWindow) {
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    SendWithCode("r" + std::to_string(i), "000000", kPhone, "subject-" + std::to_string(i));
    clock_.Advance(absl::Seconds(1));
  }
  // now = t0 + 5 s; the oldest send (t0) leaves the window at t0 + 15 min.
  auto s = domain_->Send(Req("r5", "+84912345678", "fresh-subject"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_SEND_LIMIT");
  EXPECT_EQ(Meta(s.status(), "retry_after_s"), "895");
  EXPECT_EQ(sms_.Sent().size(), 5u);
  EXPECT_EQ(store_.challenges.size(), 5u);  // the refused request left nothing behind
  EXPECT_EQ(SentCount("LOGIN", "limited"), 1);

  // Another phone is not affected.
  SendWithCode("other", "000000", "0987654321", "fresh-subject");

  clock_.Set(t0 + absl::Minutes(15) - absl::Nanoseconds(1));
  EXPECT_EQ(ReasonOf(domain_->Send(Req("r6", kPhone, "x")).status()), "OTP_SEND_LIMIT");
  clock_.Set(t0 + absl::Minutes(15));
  auto ok = domain_->Send(Req("r7", kPhone, "y"));
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST_F(OtpDomainTest, SubjectSendLimit) {
  for (int i = 0; i < 10; ++i) {
    std::string phone = "09100000" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    SendWithCode("r" + std::to_string(i), "000000", phone, "same-subject");
  }
  clock_.Advance(absl::Minutes(30));
  auto s = domain_->Send(Req("r10", "0919999999", "same-subject"));
  EXPECT_EQ(ReasonOf(s.status()), "OTP_SEND_LIMIT");
  EXPECT_EQ(Meta(s.status(), "retry_after_s"), "1800");
  // An empty subject is not limited per subject; another subject is independent.
  EXPECT_TRUE(domain_->Send(Req("r11", "0919999999", "")).ok());
  EXPECT_TRUE(domain_->Send(Req("r12", "0919999998", "other-subject")).ok());
}

// ---- SMS delivery failures ----

TEST_F(OtpDomainTest, FailedDeliveryLeavesChallengeUnusableAndUncounted) {
  sms_.SetFailure(absl::UnavailableError("gateway down"));
  random_.PushDigits("123456");
  auto s = domain_->Send(Req("r1"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(s.status()), "SMS_UNAVAILABLE");
  ASSERT_EQ(store_.challenges.size(), 1u);
  const std::string id = store_.challenges.begin()->first;
  EXPECT_EQ(Stored(id).delivery, Delivery::kFailed);
  EXPECT_TRUE(store_.sends.empty());  // refunded
  ASSERT_EQ(store_.deliveries.size(), 1u);
  EXPECT_EQ(store_.deliveries[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(SentCount("LOGIN", "sms_unavailable"), 1);

  // The undelivered code does not verify.
  auto v = domain_->Verify(id, "123456", "LOGIN");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(v.status()), "OTP_NOT_DELIVERED");

  // Retrying the same request re-delivers a fresh code on the same challenge.
  sms_.SetFailure(absl::OkStatus());
  random_.PushDigits("222222");
  auto again = domain_->Send(Req("r1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->challenge_id, id);
  EXPECT_EQ(sms_.Sent().size(), 1u);
  EXPECT_EQ(sms_.Sent()[0].message_id, id + ".2");
  EXPECT_EQ(ReasonOf(domain_->Verify(id, "123456", "LOGIN").status()), "OTP_INVALID");
  EXPECT_TRUE(domain_->Verify(id, "222222", "LOGIN").ok());
}

TEST_F(OtpDomainTest, FailedDeliveriesDoNotExhaustTheSendLimit) {
  sms_.SetFailure(absl::UnavailableError("gateway down"));
  for (int i = 0; i < 8; ++i) {
    auto s = domain_->Send(Req("r" + std::to_string(i)));
    EXPECT_EQ(ReasonOf(s.status()), "SMS_UNAVAILABLE") << i;
  }
  sms_.SetFailure(absl::OkStatus());
  EXPECT_TRUE(domain_->Send(Req("ok")).ok());
}

TEST_F(OtpDomainTest, ConcurrentDuplicateWhileDeliveringIsRetryable) {
  sms_.SetFailure(absl::UnavailableError("down"));
  ASSERT_FALSE(domain_->Send(Req("r1")).ok());
  const std::string id = store_.challenges.begin()->first;
  // Simulate another call with the same request_id delivering right now.
  store_.challenges[id].delivery = Delivery::kPending;
  sms_.SetFailure(absl::OkStatus());
  auto s = domain_->Send(Req("r1"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_SEND_IN_PROGRESS");
  // A pending delivery older than the cooldown is considered lost.
  clock_.Advance(absl::Seconds(60));
  auto ok = domain_->Send(Req("r1"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->challenge_id, id);
}

TEST_F(OtpDomainTest, StoreErrorsPropagate) {
  store_.fail_next = status::Unavailable("DB_UNAVAILABLE", "vi", "en");
  auto s = domain_->Send(Req("r1"));
  EXPECT_EQ(ReasonOf(s.status()), "DB_UNAVAILABLE");
  EXPECT_TRUE(sms_.Sent().empty());
}

// ---- ResendOtp ----

TEST_F(OtpDomainTest, ResendCooldownBoundary) {
  const absl::Time t0 = clock_.Now();
  ChallengeView v = SendWithCode("r1", "111111");
  clock_.Set(t0 + absl::Seconds(59));
  auto early = domain_->Resend(v.challenge_id);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(early.status()), "OTP_RESEND_TOO_SOON");
  EXPECT_EQ(Meta(early.status(), "retry_after_s"), "1");
  clock_.Set(t0 + absl::Seconds(60) - absl::Milliseconds(1));
  EXPECT_EQ(ReasonOf(domain_->Resend(v.challenge_id).status()), "OTP_RESEND_TOO_SOON");
  clock_.Set(t0 + absl::Seconds(60));
  random_.PushDigits("333333");
  auto r = domain_->Resend(v.challenge_id);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->challenge_id, v.challenge_id);
  EXPECT_EQ(r->expires_at, t0 + absl::Seconds(60) + absl::Minutes(5));
  EXPECT_EQ(r->resend_after, t0 + absl::Seconds(120));
  EXPECT_EQ(sms_.Sent().size(), 2u);
  EXPECT_EQ(sms_.Sent()[1].message_id, v.challenge_id + ".2");
  EXPECT_EQ(SentCount("LOGIN", "resent"), 1);
  EXPECT_EQ(SentCount("LOGIN", "too_soon"), 2);
  // The old code stopped working (and cost an attempt); the new one works.
  auto old = domain_->Verify(v.challenge_id, "111111", "LOGIN");
  EXPECT_EQ(ReasonOf(old.status()), "OTP_INVALID");
  EXPECT_EQ(Meta(old.status(), "attempts_left"), "4");
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "333333", "LOGIN").ok());
}

TEST_F(OtpDomainTest, ResendLimit) {
  ChallengeView v = SendWithCode("r1", "111111");
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(60));
    auto r = ResendWithCode(v.challenge_id, "22222" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << i << " " << r.status();
  }
  clock_.Advance(absl::Seconds(60));
  auto r = domain_->Resend(v.challenge_id);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(r.status()), "OTP_RESEND_LIMIT");
  EXPECT_EQ(sms_.Sent().size(), 4u);
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "222222", "LOGIN").ok());
}

TEST_F(OtpDomainTest, FailedResendDoesNotCountAsAResend) {
  ChallengeView v = SendWithCode("r1", "111111");
  clock_.Advance(absl::Seconds(60));
  sms_.SetFailure(absl::DeadlineExceededError("slow"));
  auto failed = ResendWithCode(v.challenge_id, "999999");
  EXPECT_EQ(ReasonOf(failed.status()), "SMS_UNAVAILABLE");
  EXPECT_EQ(Stored(v.challenge_id).delivery, Delivery::kFailed);
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "999999", "LOGIN").status()),
            "OTP_NOT_DELIVERED");
  sms_.SetFailure(absl::OkStatus());
  // No cooldown after a failed delivery.
  ASSERT_TRUE(ResendWithCode(v.challenge_id, "444444").ok());
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(absl::Seconds(60));
    ASSERT_TRUE(ResendWithCode(v.challenge_id, "55555" + std::to_string(i)).ok()) << i;
  }
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(ReasonOf(domain_->Resend(v.challenge_id).status()), "OTP_RESEND_LIMIT");
}

TEST_F(OtpDomainTest, ResendCountsAgainstSendLimits) {
  options_.phone_limit = 3;
  Build();
  ChallengeView v = SendWithCode("r1", "111111");
  clock_.Advance(absl::Seconds(60));
  ASSERT_TRUE(ResendWithCode(v.challenge_id, "222222").ok());
  clock_.Advance(absl::Seconds(60));
  ASSERT_TRUE(ResendWithCode(v.challenge_id, "333333").ok());
  clock_.Advance(absl::Seconds(60));
  auto r = domain_->Resend(v.challenge_id);
  EXPECT_EQ(ReasonOf(r.status()), "OTP_SEND_LIMIT");
  EXPECT_EQ(Meta(r.status(), "retry_after_s"), std::to_string(15 * 60 - 180));
  // The refused resend changed nothing: the last code still works.
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "333333", "LOGIN").ok());
}

TEST_F(OtpDomainTest, ResendOfUnknownOrUsedChallenge) {
  EXPECT_EQ(ReasonOf(domain_->Resend("3f2b8a54-0c1e-4d7a-9b1e-2f6c8d9e0a1b").status()),
            "OTP_CHALLENGE_NOT_FOUND");
  EXPECT_EQ(domain_->Resend("not-an-id").status().code(), absl::StatusCode::kNotFound);

  ChallengeView used = SendWithCode("r1", "111111");
  ASSERT_TRUE(domain_->Verify(used.challenge_id, "111111", "LOGIN").ok());
  clock_.Advance(absl::Seconds(60));
  auto r = domain_->Resend(used.challenge_id);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(r.status()), "OTP_ALREADY_USED");

}

TEST_F(OtpDomainTest, AnExpiredCodeCanBeReplacedByAResend) {
  ChallengeView expiring = SendWithCode("r2", "222222");
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(ReasonOf(domain_->Verify(expiring.challenge_id, "222222", "LOGIN").status()),
            "OTP_EXPIRED");
  auto r = ResendWithCode(expiring.challenge_id, "333333");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->expires_at, clock_.Now() + absl::Minutes(5));
  EXPECT_EQ(ReasonOf(domain_->Verify(expiring.challenge_id, "222222", "LOGIN").status()),
            "OTP_INVALID");
  EXPECT_TRUE(domain_->Verify(expiring.challenge_id, "333333", "LOGIN").ok());
}

TEST_F(OtpDomainTest, ResendDoesNotResetAttempts) {
  ChallengeView v = SendWithCode("r1", "111111");
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "000000", "LOGIN").status()), "OTP_INVALID");
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "000001", "LOGIN").status()), "OTP_INVALID");
  clock_.Advance(absl::Seconds(60));
  auto r = ResendWithCode(v.challenge_id, "222222");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attempts_left, 3);
  for (int i = 0; i < 3; ++i) domain_->Verify(v.challenge_id, "000000", "LOGIN").IgnoreError();
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(ReasonOf(domain_->Resend(v.challenge_id).status()), "OTP_ATTEMPTS_EXCEEDED");
}

// ---- VerifyOtp ----

TEST_F(OtpDomainTest, VerifySucceedsOnceAndReturnsDomesticPhone) {
  ChallengeView v = SendWithCode("r1", "048213", "+84912345678");
  auto phone = domain_->Verify(v.challenge_id, "048213", "LOGIN");
  ASSERT_TRUE(phone.ok()) << phone.status();
  EXPECT_EQ(*phone, kPhone);
  EXPECT_TRUE(Stored(v.challenge_id).used_at.has_value());
  auto again = domain_->Verify(v.challenge_id, "048213", "LOGIN");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(again.status()), "OTP_ALREADY_USED");
  EXPECT_EQ(VerifyCount("ok"), 1);
  EXPECT_EQ(VerifyCount("already_used"), 1);
}

// Issuing a code may be lost in a database crash (the user asks again); consuming one may not
// (the code would become usable again).
TEST_F(OtpDomainTest, OnlyVerificationNeedsADurableCommit) {
  ChallengeView v = SendWithCode("r1", "048213", "+84912345678");
  ASSERT_FALSE(store_.commits.empty());
  for (Commit c : store_.commits) EXPECT_EQ(c, Commit::kLossTolerable);
  store_.commits.clear();
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(domain_->Resend(v.challenge_id).ok());
  ASSERT_EQ(store_.commits.size(), 1u);
  EXPECT_EQ(store_.commits[0], Commit::kLossTolerable);
  store_.commits.clear();
  ASSERT_FALSE(domain_->Verify(v.challenge_id, "000000", "LOGIN").ok());  // an attempt used
  ASSERT_EQ(store_.commits.size(), 1u);
  EXPECT_EQ(store_.commits[0], Commit::kDurable);
}

TEST_F(OtpDomainTest, VerifyAcceptsUpperCaseChallengeId) {
  ChallengeView v = SendWithCode("r1", "123123");
  std::string upper = v.challenge_id;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(domain_->Verify(upper, "123123", "LOGIN").ok());
}

TEST_F(OtpDomainTest, ExpiryAtExactlyTtl) {
  const absl::Time t0 = clock_.Now();
  ChallengeView a = SendWithCode("r1", "111111");
  ChallengeView b = SendWithCode("r2", "222222", kPhone, "subject-2");
  clock_.Set(t0 + absl::Minutes(5) - absl::Nanoseconds(1));
  EXPECT_TRUE(domain_->Verify(a.challenge_id, "111111", "LOGIN").ok());
  clock_.Set(t0 + absl::Minutes(5));
  auto s = domain_->Verify(b.challenge_id, "222222", "LOGIN");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_EXPIRED");
  EXPECT_EQ(Stored(b.challenge_id).attempts_left, 5);  // an expired try costs nothing
}

TEST_F(OtpDomainTest, FiveWrongThenRightIsExceeded) {
  ChallengeView v = SendWithCode("r1", "111111");
  for (int i = 4; i >= 0; --i) {
    auto s = domain_->Verify(v.challenge_id, "999999", "LOGIN");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(s.status()), "OTP_INVALID");
    EXPECT_EQ(Field(s.status()), "otp");
    EXPECT_EQ(Meta(s.status(), "attempts_left"), std::to_string(i));
  }
  auto s = domain_->Verify(v.challenge_id, "111111", "LOGIN");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_ATTEMPTS_EXCEEDED");
  EXPECT_FALSE(Stored(v.challenge_id).used_at.has_value());
  EXPECT_EQ(VerifyCount("invalid"), 5);
  EXPECT_EQ(VerifyCount("attempts_exceeded"), 1);
}

TEST_F(OtpDomainTest, MalformedCodeCostsNoAttempt) {
  ChallengeView v = SendWithCode("r1", "111111");
  for (const std::string code : {"", "11111", "1111111", "11111a", " 111111", "١١١١١١"}) {
    auto s = domain_->Verify(v.challenge_id, code, "LOGIN");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << code;
    EXPECT_EQ(ReasonOf(s.status()), "OTP_MALFORMED") << code;
    EXPECT_EQ(Field(s.status()), "otp");
  }
  EXPECT_EQ(Stored(v.challenge_id).attempts_left, 5);
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "111111", "LOGIN").ok());
}

TEST_F(OtpDomainTest, PurposeMustMatch) {
  ChallengeView v = SendWithCode("r1", "111111");
  auto s = domain_->Verify(v.challenge_id, "111111", "REGISTRATION");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_PURPOSE_MISMATCH");
  EXPECT_EQ(Stored(v.challenge_id).attempts_left, 5);
  EXPECT_FALSE(Stored(v.challenge_id).used_at.has_value());
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "111111", "LOGIN").ok());
}

TEST_F(OtpDomainTest, UnknownChallenge) {
  auto s = domain_->Verify("3f2b8a54-0c1e-4d7a-9b1e-2f6c8d9e0a1b", "111111", "LOGIN");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_CHALLENGE_NOT_FOUND");
  EXPECT_EQ(ReasonOf(domain_->Verify("'; DROP TABLE x; --", "111111", "LOGIN").status()),
            "OTP_CHALLENGE_NOT_FOUND");
  EXPECT_EQ(ReasonOf(domain_->Verify("", "111111", "LOGIN").status()), "OTP_CHALLENGE_NOT_FOUND");
}

// ---- VerifyOtp idempotency key ----

constexpr char kLoginKey[] = "login:6f1c2a3b-0000-4000-8000-000000000001";

TEST_F(OtpDomainTest, SameKeyAndRightCodeReplaysTheSuccessWithoutSpendingAnAttempt) {
  ChallengeView v = SendWithCode("r1", "048213", "+84912345678");
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "000000", "LOGIN", kLoginKey).status()),
            "OTP_INVALID");  // an unused challenge: a wrong code costs an attempt as before
  auto first = domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, kPhone);
  const Challenge consumed = Stored(v.challenge_id);
  EXPECT_EQ(consumed.used_key, kLoginKey);
  EXPECT_EQ(consumed.attempts_left, 4);

  clock_.Advance(absl::Minutes(1));
  store_.commits.clear();
  for (int i = 0; i < 3; ++i) {
    auto again = domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, kPhone);
  }
  // Nothing changed: same consumption time, same key, no attempt spent.
  const Challenge& after = Stored(v.challenge_id);
  EXPECT_EQ(after.used_at, consumed.used_at);
  EXPECT_EQ(after.used_key, kLoginKey);
  EXPECT_EQ(after.attempts_left, 4);
  ASSERT_EQ(store_.commits.size(), 3u);
  for (Commit c : store_.commits) EXPECT_EQ(c, Commit::kDurable);
  EXPECT_EQ(VerifyCount("ok"), 1);
  EXPECT_EQ(VerifyCount("replayed"), 3);
  EXPECT_EQ(VerifyCount("already_used"), 0);
}

TEST_F(OtpDomainTest, AnyOtherVerifyOfAUsedChallengeIsAlreadyUsed) {
  ChallengeView v = SendWithCode("r1", "048213");
  ASSERT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).ok());
  const std::string other_key = std::string(kLoginKey) + "2";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"048213", other_key},   // another step
      {"048213", ""},          // no key
      {"048214", kLoginKey},   // wrong code, same key: reveals nothing, costs an attempt
      {"999999", ""},
  };
  for (const auto& [code, key] : cases) {
    auto s = domain_->Verify(v.challenge_id, code, "LOGIN", key);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << code << " " << key;
    EXPECT_EQ(ReasonOf(s.status()), "OTP_ALREADY_USED") << code << " " << key;
    EXPECT_EQ(Field(s.status()), "otp");
    EXPECT_EQ(Meta(s.status(), "attempts_left"), "<absent>");
  }
  EXPECT_EQ(Stored(v.challenge_id).attempts_left, 4);  // only the guess with the key
  EXPECT_EQ(Stored(v.challenge_id).used_key, kLoginKey);
  // Another purpose is refused as before, before anything else.
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "048213", "REGISTRATION", kLoginKey)
                         .status()),
            "OTP_PURPOSE_MISMATCH");
  EXPECT_EQ(VerifyCount("already_used"), 4);
  EXPECT_EQ(VerifyCount("replayed"), 0);
}

// The replay path is no guessing oracle: wrong codes presented with the consuming key spend the
// challenge's attempts, and with none left even the right code is no longer replayed.
TEST_F(OtpDomainTest, GuessesWithTheConsumingKeySpendAttemptsAndEndTheReplay) {
  ChallengeView v = SendWithCode("r1", "048213");
  ASSERT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, absl::StrCat("10000", i), "LOGIN",
                                       kLoginKey)
                           .status()),
              "OTP_ALREADY_USED");
  }
  EXPECT_EQ(Stored(v.challenge_id).attempts_left, 0);
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).status()),
            "OTP_ALREADY_USED");
  EXPECT_EQ(VerifyCount("replayed"), 0);
}

TEST_F(OtpDomainTest, ACodeConsumedWithoutAKeyIsNeverReplayed) {
  ChallengeView v = SendWithCode("r1", "048213");
  ASSERT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN").ok());
  EXPECT_EQ(Stored(v.challenge_id).used_key, "");
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "048213", "LOGIN").status()),
            "OTP_ALREADY_USED");
  EXPECT_EQ(ReasonOf(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).status()),
            "OTP_ALREADY_USED");
}

TEST_F(OtpDomainTest, ReplayEndsAtTheChallengeExpiry) {
  const absl::Time t0 = clock_.Now();
  ChallengeView v = SendWithCode("r1", "048213");
  ASSERT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).ok());
  clock_.Set(t0 + absl::Minutes(5) - absl::Nanoseconds(1));
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey).ok());
  clock_.Set(t0 + absl::Minutes(5));
  auto s = domain_->Verify(v.challenge_id, "048213", "LOGIN", kLoginKey);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_ALREADY_USED");

  // An unused challenge past its expiry stays OTP_EXPIRED, key or not, and costs nothing.
  ChallengeView w = SendWithCode("r2", "111222", kPhone, "subject-2");
  clock_.Advance(absl::Minutes(5));
  s = domain_->Verify(w.challenge_id, "111222", "LOGIN", kLoginKey);
  EXPECT_EQ(ReasonOf(s.status()), "OTP_EXPIRED");
  EXPECT_EQ(Stored(w.challenge_id).attempts_left, 5);
  EXPECT_FALSE(Stored(w.challenge_id).used_at.has_value());
  EXPECT_EQ(Stored(w.challenge_id).used_key, "");
}

TEST_F(OtpDomainTest, MalformedIdempotencyKeyIsRefusedBeforeTheChallengeIsTouched) {
  ChallengeView v = SendWithCode("r1", "048213");
  const std::vector<std::string> bad = {std::string(129, 'a'), "login flow", "login/1",
                                        "login:1\n", "khóa", std::string("a\0b", 3), "a;b"};
  for (const std::string& key : bad) {
    auto s = domain_->Verify(v.challenge_id, "048213", "LOGIN", key);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(ReasonOf(s.status()), "OTP_IDEMPOTENCY_KEY_INVALID") << key;
    auto info = status::GetErrorInfo(s.status());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->field, "idempotency_key");
    EXPECT_FALSE(info->message_vi.empty());
    EXPECT_FALSE(info->message_en.empty());
    EXPECT_NE(info->message_vi, info->message_en);
  }
  EXPECT_EQ(Stored(v.challenge_id).attempts_left, 5);
  EXPECT_FALSE(Stored(v.challenge_id).used_at.has_value());
  EXPECT_EQ(VerifyCount("malformed"), static_cast<double>(bad.size()));
  // Every allowed character, at the maximum length, is accepted.
  const std::string longest =
      "registration:AZaz09._-" + std::string(128 - 22, 'x');
  ASSERT_EQ(longest.size(), 128u);
  ASSERT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", longest).ok());
  EXPECT_EQ(Stored(v.challenge_id).used_key, longest);
  EXPECT_TRUE(domain_->Verify(v.challenge_id, "048213", "LOGIN", longest).ok());
}

TEST_F(OtpDomainTest, CodeHmacIsBoundToTheChallenge) {
  EXPECT_NE(domain_->CodeHmac("a", "123456"), domain_->CodeHmac("b", "123456"));
  EXPECT_NE(domain_->CodeHmac("a", "123456"), domain_->CodeHmac("a", "123457"));
  EXPECT_EQ(domain_->CodeHmac("a", "123456").size(), 64u);
}

TEST_F(OtpDomainTest, SmsTextRoundsTtlUpToMinutes) {
  options_.ttl = absl::Seconds(90);
  Build();
  EXPECT_EQ(domain_->SmsText("000111"),
            "DVCQG: Ma xac thuc cua ban la 000111. Ma co hieu luc trong 2 phut. Tuyet doi khong "
            "cung cap ma nay cho nguoi khac.");
}

TEST(RetryAfterSeconds, RoundsUpAndIsPositive) {
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(10)), 10);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(10001)), 11);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(-5)), 1);
}

}  // namespace
}  // namespace dvc::otp
