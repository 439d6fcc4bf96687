#include "services/auth/domain/auth.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/testing/fake_random.h"
#include "libs/jwt/json.h"
#include "libs/jwt/jwt.h"
#include "libs/status/errors.h"
#include "services/auth/domain/testing/fakes.h"

namespace dvc::auth {
namespace {

using ::dvc::auth::testing::FakeAccount;
using ::dvc::auth::testing::FakeAccounts;
using ::dvc::auth::testing::FakeAuthStore;
using ::dvc::auth::testing::FakeCaptcha;
using ::dvc::auth::testing::FakeOtp;

constexpr char kCccd[] = "001099012345";
constexpr char kPassword[] = "Correct-Horse-9";
constexpr char kAccountId[] = "6f1c2a3b-0000-4000-8000-000000000001";

std::string Meta(const absl::Status& s, const std::string& key) {
  auto info = status::GetErrorInfo(s);
  if (!info.has_value()) return "";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = jwt::SigningKey::Generate("k1");
    ASSERT_TRUE(key.ok());
    signing_key_ = std::make_shared<const jwt::SigningKey>(*key);
    auto set = MakeKeySet({signing_key_});
    ASSERT_TRUE(set.ok());
    keys_ = std::make_unique<StaticKeySource>(*set);
    accounts_.Add(FakeAccount{kCccd, kPassword, kAccountId, 2, "0912345678"});
    UseOptions(AuthOptions{});
  }

  // (Re)creates the domain over the same fakes.
  void UseOptions(AuthOptions options) {
    domain_ =
        std::make_unique<AuthDomain>(AuthDomain::Deps{&store_, &accounts_, &otp_, &captcha_,
                                                      keys_.get(), &clock_, &random_, nullptr},
                                     DeriveSecrets("test-secret"), std::move(options));
  }

  StartLoginRequest Req(std::string id_number = kCccd, std::string password = kPassword,
                        std::string ip = "203.0.113.7") {
    StartLoginRequest r;
    r.captcha_id = absl::StrCat("c", ++captcha_n_);
    r.captcha_answer = "ok";
    r.id_number = std::move(id_number);
    r.password = std::move(password);
    r.client = ClientInfo{ip, "Mozilla/5.0", "web"};
    return r;
  }

  Tokens Login() {
    auto flow = domain_->StartPasswordLogin(Req());
    EXPECT_TRUE(flow.ok()) << flow.status();
    auto tokens = domain_->CompleteLogin(flow->flow_id, "123456");
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    return *tokens;
  }

  // Refresh that must succeed.
  Tokens Refreshed(const std::string& refresh_token) {
    auto t = domain_->Refresh(refresh_token);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : Tokens{};
  }

  FakeClock clock_;
  crypto::testing::FakeRandom random_;
  FakeAuthStore store_;
  FakeAccounts accounts_;
  FakeOtp otp_{&clock_};
  FakeCaptcha captcha_;
  std::shared_ptr<const jwt::SigningKey> signing_key_;
  std::unique_ptr<StaticKeySource> keys_;
  std::unique_ptr<AuthDomain> domain_;
  int captcha_n_ = 0;
};

TEST_F(AuthTest, PasswordThenOtpGivesTokensWithTheExpectedClaims) {
  auto flow = domain_->StartPasswordLogin(Req());
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->masked_phone, "091****678");
  EXPECT_EQ(flow->expires_at, clock_.Now() + absl::Minutes(10));
  EXPECT_EQ(flow->otp_expires_at, clock_.Now() + absl::Minutes(5));
  ASSERT_EQ(otp_.sent().size(), 1u);
  const testing::SentOtp sent = otp_.sent()[0];
  EXPECT_EQ(sent.phone, "0912345678");
  EXPECT_EQ(sent.purpose, "LOGIN");
  EXPECT_EQ(sent.request_id, "login:" + flow->flow_id);
  EXPECT_EQ(sent.subject.size(), 64u);  // a blind index, not the account id
  EXPECT_EQ(sent.subject.find(kAccountId), std::string::npos);

  clock_.Advance(absl::Seconds(30));
  auto tokens = domain_->CompleteLogin(flow->flow_id, "123456");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->token_type, "Bearer");
  EXPECT_EQ(tokens->expires_in, 300);
  EXPECT_EQ(tokens->acr, "urn:dvc:ial:2");
  EXPECT_EQ(tokens->refresh_token.size(), 43u);

  jwt::Verifier v;
  ASSERT_TRUE(v.AddKey(*signing_key_).ok());
  auto claims_json = v.Verify(tokens->access_token);
  ASSERT_TRUE(claims_json.ok());
  auto c = jwt::ParseFlatJson(*claims_json);
  ASSERT_TRUE(c.ok());
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  EXPECT_EQ(c->GetString("iss"), "https://dichvucong.gov.vn");
  EXPECT_EQ(c->GetString("aud"), "dvc");
  EXPECT_EQ(c->GetString("sub"), kAccountId);
  EXPECT_EQ(c->GetString("sid"), tokens->session_id);
  EXPECT_EQ(c->GetString("acr"), "urn:dvc:ial:2");
  EXPECT_EQ(c->GetInt("iat"), now);
  EXPECT_EQ(c->GetInt("exp"), now + 300);
  EXPECT_EQ(c->GetInt("auth_time"), now);
  EXPECT_EQ(c->GetStringArray("amr"), (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_TRUE(c->GetString("jti").has_value());

  Introspection i = domain_->Introspect(tokens->access_token);
  EXPECT_TRUE(i.active);
  EXPECT_EQ(i.sub, kAccountId);

  auto history = domain_->ListLoginHistory(kAccountId, 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].success);
  EXPECT_EQ((*history)[0].method, "PASSWORD_OTP");
  EXPECT_EQ((*history)[0].ip, "203.0.113.7");
  EXPECT_EQ((*history)[0].device, "web");
}

TEST_F(AuthTest, UnknownAccountWrongPasswordAndMalformedIdAreIndistinguishable) {
  absl::Status unknown = domain_->StartPasswordLogin(Req("079123456789")).status();
  absl::Status wrong = domain_->StartPasswordLogin(Req(kCccd, "wrong-password")).status();
  absl::Status malformed = domain_->StartPasswordLogin(Req("12AB")).status();
  absl::Status empty_pw = domain_->StartPasswordLogin(Req(kCccd, "")).status();
  for (const absl::Status* s : {&unknown, &wrong, &malformed, &empty_pw}) {
    EXPECT_EQ(s->code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(s->message(), unknown.message());
    auto info = status::GetErrorInfo(*s);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason, "INVALID_CREDENTIALS");
    EXPECT_EQ(info->field, "");
    EXPECT_EQ(info->message_vi, "Số định danh hoặc mật khẩu không đúng.");
    EXPECT_EQ(info->message_en, "The ID number or password is incorrect.");
    EXPECT_TRUE(info->metadata.empty());
  }
  EXPECT_TRUE(otp_.sent().empty());
  // Only the attempt on a real account lands in that account's history.
  auto records = store_.AllRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].account_id, kAccountId);
  EXPECT_FALSE(records[0].success);
  EXPECT_EQ(records[0].failure_reason, "INVALID_CREDENTIALS");
}

TEST_F(AuthTest, PasswordStepTakesTwoStoreTransactionsAndAFailureOne) {
  int before = store_.transactions();
  ASSERT_TRUE(domain_->StartPasswordLogin(Req()).ok());
  // The IP window, the captcha and the admission; then the success together with the flow.
  EXPECT_EQ(store_.transactions() - before, 2);
  before = store_.transactions();
  EXPECT_FALSE(domain_->StartPasswordLogin(Req("079123456789", "x")).ok());
  EXPECT_EQ(store_.transactions() - before, 1);  // unknown account: the admission only
  before = store_.transactions();
  EXPECT_FALSE(domain_->StartPasswordLogin(Req(kCccd, "x")).ok());
  // The same on the request path; the history row is written by the deferred task (run inline
  // here, after the answer in the service).
  EXPECT_EQ(store_.transactions() - before, 2);
}

TEST_F(AuthTest, CorrectPasswordResetsThePairCounterAlsoWhenTheOtpCannotBeSent) {
  for (int i = 0; i < 4; ++i) (void)domain_->StartPasswordLogin(Req(kCccd, "bad"));
  otp_.set_send_error(status::ResourceExhausted("OTP_SEND_LIMITED", "vi", "en", 42));
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req()).status()), "OTP_SEND_LIMITED");
  otp_.set_send_error(absl::OkStatus());
  const std::string index =
      crypto::BlindIndex(DeriveSecrets("test-secret").index_key, absl::StrCat("id_number:", kCccd));
  auto pair = store_.Throttle(LoginThrottle::PairKey(index, "203.0.113.7"));
  ASSERT_TRUE(pair.has_value());
  EXPECT_EQ(pair->failures, 0);
  EXPECT_EQ(pair->last_success_at, clock_.Now());
  auto id = store_.Throttle(LoginThrottle::IdentifierKey(index));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->failures, 4);  // the right attempt's own failure given back
  // No flow was created, so nothing to complete.
  ASSERT_TRUE(domain_->StartPasswordLogin(Req()).ok());
  EXPECT_EQ(store_.Throttle(LoginThrottle::IdentifierKey(index))->failures, 4);
}

TEST_F(AuthTest, IdNumberWithSpacesIsNormalised) {
  EXPECT_TRUE(domain_->StartPasswordLogin(Req(" 0010 9901 2345 ")).ok());
}

TEST_F(AuthTest, CaptchaIsCheckedFirstAndConsumedOnFailure) {
  StartLoginRequest r = Req(kCccd, "wrong");
  r.captcha_answer = "nope";
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(r).status()), "CAPTCHA_INVALID");
  EXPECT_EQ(accounts_.verify_calls(), 0);
  r = Req(kCccd, "wrong");
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(r).status()), "INVALID_CREDENTIALS");
  r.password = kPassword;  // same captcha again
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(r).status()), "CAPTCHA_INVALID");
}

TEST_F(AuthTest, ThrottledAttemptsNeverReachAccountsAndSuccessResets) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req(kCccd, "bad")).status()),
              "INVALID_CREDENTIALS");
  }
  EXPECT_EQ(accounts_.verify_calls(), 5);
  absl::Status s = domain_->StartPasswordLogin(Req()).status();  // even the right password
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_THROTTLED");
  EXPECT_EQ(Meta(s, "retry_after_s"), "1");
  EXPECT_EQ(accounts_.verify_calls(), 5);
  // Same for an unknown identifier: the throttle does not reveal existence either.
  for (int i = 0; i < 5; ++i) (void)domain_->StartPasswordLogin(Req("079123456789", "x"));
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req("079123456789", "x")).status()),
            "LOGIN_THROTTLED");

  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(domain_->StartPasswordLogin(Req()).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req(kCccd, "bad")).status()),
              "INVALID_CREDENTIALS")
        << i;
  }
  // Another address is not affected by this one's failures.
  EXPECT_TRUE(domain_->StartPasswordLogin(Req(kCccd, kPassword, "198.51.100.1")).ok());
}

TEST_F(AuthTest, AccountsOutageIsUnavailableAndNotCountedAsFailure) {
  accounts_.set_fail(absl::UnavailableError("down"));
  for (int i = 0; i < 10; ++i) {
    absl::Status s = domain_->StartPasswordLogin(Req()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status::ReasonOf(s), "DEPENDENCY_UNAVAILABLE");
  }
  accounts_.set_fail(absl::OkStatus());
  EXPECT_TRUE(domain_->StartPasswordLogin(Req()).ok());
}

TEST_F(AuthTest, LockedAndClosedAccountsAreToldOnlyAfterTheRightPassword) {
  accounts_.Add(FakeAccount{"001099000001", "pw-locked", "6f1c2a3b-0000-4000-8000-000000000002", 2,
                            "0900000001", AccountStatus::kLocked});
  accounts_.Add(FakeAccount{"123456789", "pw-closed", "6f1c2a3b-0000-4000-8000-000000000003", 1,
                            "0900000002", AccountStatus::kClosed});
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req("001099000001", "x")).status()),
            "INVALID_CREDENTIALS");
  absl::Status locked = domain_->StartPasswordLogin(Req("001099000001", "pw-locked")).status();
  EXPECT_EQ(locked.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status::ReasonOf(locked), "ACCOUNT_LOCKED");
  EXPECT_EQ(status::ReasonOf(domain_->StartPasswordLogin(Req("123456789", "pw-closed")).status()),
            "ACCOUNT_CLOSED");
  EXPECT_TRUE(otp_.sent().empty());
  auto h = domain_->ListLoginHistory("6f1c2a3b-0000-4000-8000-000000000002", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].failure_reason, "ACCOUNT_LOCKED");
}

TEST_F(AuthTest, OtpSendLimitPassesThroughWithRetryAfter) {
  otp_.set_send_error(status::ResourceExhausted("OTP_SEND_LIMITED", "vi", "en", 42));
  absl::Status s = domain_->StartPasswordLogin(Req()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "OTP_SEND_LIMITED");
  EXPECT_EQ(Meta(s, "retry_after_s"), "42");
}

TEST_F(AuthTest, WrongOtpPassesThroughAndIsRecorded) {
  auto flow = domain_->StartPasswordLogin(Req());
  ASSERT_TRUE(flow.ok());
  absl::Status s = domain_->CompleteLogin(flow->flow_id, "000000").status();
  EXPECT_EQ(status::ReasonOf(s), "OTP_INVALID");
  EXPECT_EQ(Meta(s, "attempts_left"), "4");
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin(flow->flow_id, "").status()), "OTP_REQUIRED");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(domain_->CompleteLogin(flow->flow_id, "123456").ok());
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin(flow->flow_id, "123456").status()),
            "LOGIN_FLOW_COMPLETED");
  auto h = domain_->ListLoginHistory(kAccountId, 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_TRUE((*h)[0].success);  // newest first
  EXPECT_FALSE((*h)[1].success);
  EXPECT_EQ((*h)[1].failure_reason, "OTP_INVALID");
}

TEST_F(AuthTest, FlowLookupErrors) {
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin("garbage", "123456").status()),
            "LOGIN_FLOW_NOT_FOUND");
  EXPECT_EQ(status::ReasonOf(
                domain_->CompleteLogin("6f1c2a3b-0000-4000-8000-0000000000ff", "1").status()),
            "LOGIN_FLOW_NOT_FOUND");
  auto flow = domain_->StartPasswordLogin(Req());
  ASSERT_TRUE(flow.ok());
  EXPECT_EQ(status::ReasonOf(domain_->ResendLoginOtp(flow->flow_id).status()),
            "OTP_RESEND_TOO_SOON");  // otp's cooldown, passed through
  clock_.Advance(absl::Seconds(61));
  auto resent = domain_->ResendLoginOtp(flow->flow_id);
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_EQ(resent->flow_id, flow->flow_id);
  EXPECT_EQ(resent->expires_at, flow->expires_at);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(status::ReasonOf(domain_->ResendLoginOtp(flow->flow_id).status()),
            "LOGIN_FLOW_EXPIRED");
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin(flow->flow_id, "123456").status()),
            "LOGIN_FLOW_EXPIRED");
}

TEST_F(AuthTest, RefreshRotatesAndReuseRevokesTheFamily) {
  Tokens t1 = Login();
  clock_.Advance(absl::Minutes(4));
  auto t2 = domain_->Refresh(t1.refresh_token);
  ASSERT_TRUE(t2.ok()) << t2.status();
  EXPECT_NE(t2->refresh_token, t1.refresh_token);
  EXPECT_NE(t2->access_token, t1.access_token);
  EXPECT_EQ(t2->session_id, t1.session_id);
  EXPECT_EQ(t2->acr, "urn:dvc:ial:2");
  auto t3 = domain_->Refresh(t2->refresh_token);
  ASSERT_TRUE(t3.ok());
  ASSERT_TRUE(domain_->Introspect(t3->access_token).active);

  // An attacker replays the stolen first token.
  absl::Status reuse = domain_->Refresh(t1.refresh_token).status();
  EXPECT_EQ(reuse.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status::ReasonOf(reuse), "REFRESH_TOKEN_REUSED");
  // The whole family is dead: the newest refresh token and the access tokens.
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t3->refresh_token).status()), "SESSION_REVOKED");
  EXPECT_FALSE(domain_->Introspect(t3->access_token).active);
  EXPECT_FALSE(domain_->Introspect(t1.access_token).active);
}

// ---- reuse grace window (default 30 s) ----

TEST_F(AuthTest, ReplayWithinGraceGetsANewTokenAndTheSessionStaysActive) {
  Tokens t1 = Login();
  clock_.Advance(absl::Minutes(4));
  Tokens t2 = Refreshed(t1.refresh_token);  // the answer is lost on the way
  clock_.Advance(absl::Seconds(29));
  Tokens retry = Refreshed(t1.refresh_token);  // the client retries with the same token
  EXPECT_EQ(retry.session_id, t1.session_id);
  EXPECT_EQ(retry.acr, "urn:dvc:ial:2");
  EXPECT_EQ(retry.amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_NE(retry.refresh_token, t1.refresh_token);
  EXPECT_NE(retry.refresh_token, t2.refresh_token);
  EXPECT_GT(retry.expires_in, 0);
  EXPECT_TRUE(domain_->Introspect(retry.access_token).active);
  // The new chain goes on as usual.
  Tokens t3 = Refreshed(retry.refresh_token);
  EXPECT_TRUE(domain_->Introspect(t3.access_token).active);
  EXPECT_TRUE(domain_->Introspect(t1.access_token).active);
}

TEST_F(AuthTest, TheSuccessorSupersededByAGraceReplayIsAReuse) {
  Tokens t1 = Login();
  Tokens t2 = Refreshed(t1.refresh_token);
  clock_.Advance(absl::Seconds(5));
  Tokens retry = Refreshed(t1.refresh_token);
  // Whoever holds the first successor now holds a dead token: presenting it ends the session,
  // even within the window.
  absl::Status s = domain_->Refresh(t2.refresh_token).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status::ReasonOf(s), "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(domain_->Introspect(retry.access_token).active);
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(retry.refresh_token).status()), "SESSION_REVOKED");
}

TEST_F(AuthTest, RepeatedReplaysLeaveOnlyTheLastSuccessorAndCannotExtendTheWindow) {
  Tokens t1 = Login();
  Refreshed(t1.refresh_token);
  clock_.Advance(absl::Seconds(10));
  Tokens a = Refreshed(t1.refresh_token);
  clock_.Advance(absl::Seconds(10));
  Tokens b = Refreshed(t1.refresh_token);  // supersedes `a`
  EXPECT_NE(a.refresh_token, b.refresh_token);
  // 30 s after the first rotation the window is over, although `b` is only 10 s old.
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t1.refresh_token).status()),
            "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(domain_->Introspect(b.access_token).active);
}

TEST_F(AuthTest, OnlyTheLastReplaysSuccessorWorks) {
  Tokens t1 = Login();
  Refreshed(t1.refresh_token);
  Tokens a = Refreshed(t1.refresh_token);
  Tokens b = Refreshed(t1.refresh_token);
  EXPECT_TRUE(domain_->Refresh(b.refresh_token).ok());
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(a.refresh_token).status()), "REFRESH_TOKEN_REUSED");
}

TEST_F(AuthTest, ReplayAtTheEndOfTheWindowRevokes) {
  Tokens t1 = Login();
  Tokens t2 = Refreshed(t1.refresh_token);
  clock_.Advance(absl::Seconds(30));  // the window is [rotation, rotation + 30 s)
  absl::Status s = domain_->Refresh(t1.refresh_token).status();
  EXPECT_EQ(status::ReasonOf(s), "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(domain_->Introspect(t2.access_token).active);
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t2.refresh_token).status()), "SESSION_REVOKED");
}

TEST_F(AuthTest, ReplayAfterTheSuccessorWasUsedRevokes) {
  Tokens t1 = Login();
  Tokens t2 = Refreshed(t1.refresh_token);
  clock_.Advance(absl::Seconds(1));
  Tokens t3 = Refreshed(t2.refresh_token);  // the chain moved on
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t1.refresh_token).status()),
            "REFRESH_TOKEN_REUSED");
  EXPECT_FALSE(domain_->Introspect(t3.access_token).active);
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t3.refresh_token).status()), "SESSION_REVOKED");
}

TEST_F(AuthTest, ReplayAfterLogoutDoesNotRestartTheSession) {
  Tokens t1 = Login();
  Tokens t2 = Refreshed(t1.refresh_token);
  ASSERT_TRUE(domain_->Logout(t2.refresh_token).ok());
  absl::Status s = domain_->Refresh(t1.refresh_token).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(domain_->Introspect(t2.access_token).active);
}

TEST_F(AuthTest, ZeroGraceKeepsEveryReuseATheft) {
  AuthOptions options;
  options.refresh_reuse_grace = absl::ZeroDuration();
  UseOptions(options);
  Tokens t1 = Login();
  Tokens t2 = Refreshed(t1.refresh_token);
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t1.refresh_token).status()),
            "REFRESH_TOKEN_REUSED");  // at once, same instant
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t2.refresh_token).status()), "SESSION_REVOKED");
}

TEST_F(AuthTest, UnknownOrMalformedRefreshTokens) {
  EXPECT_EQ(status::ReasonOf(domain_->Refresh("").status()), "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(status::ReasonOf(domain_->Refresh("abc").status()), "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(std::string(43, 'A')).status()),
            "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(domain_->Refresh(std::string(43, 'A')).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, IdleTimeoutExpiresTheSession) {
  Tokens t = Login();
  clock_.Advance(absl::Minutes(30));
  absl::Status s = domain_->Refresh(t.refresh_token).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status::ReasonOf(s), "SESSION_EXPIRED");
}

TEST_F(AuthTest, AbsoluteTimeoutEndsEvenAnActiveSession) {
  Tokens t = Login();
  absl::Time start = clock_.Now();
  std::string refresh = t.refresh_token;
  while (clock_.Now() + absl::Minutes(20) < start + absl::Hours(12)) {
    clock_.Advance(absl::Minutes(20));
    auto next = domain_->Refresh(refresh);
    ASSERT_TRUE(next.ok()) << next.status();
    // Access tokens never outlive the session.
    EXPECT_LE(next->expires_in, absl::ToInt64Seconds(start + absl::Hours(12) - clock_.Now()));
    refresh = next->refresh_token;
  }
  clock_.Set(start + absl::Hours(12));
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(refresh).status()), "SESSION_EXPIRED");
}

TEST_F(AuthTest, LogoutRevokesTheSession) {
  Tokens t = Login();
  ASSERT_TRUE(domain_->Introspect(t.access_token).active);
  ASSERT_TRUE(domain_->Logout(t.refresh_token).ok());
  EXPECT_FALSE(domain_->Introspect(t.access_token).active);
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(t.refresh_token).status()), "SESSION_REVOKED");
  EXPECT_TRUE(domain_->Logout(t.refresh_token).ok());  // idempotent
  EXPECT_EQ(status::ReasonOf(domain_->Logout("nope")), "REFRESH_TOKEN_INVALID");
  // Another session of the same account is untouched.
  Tokens other = Login();
  EXPECT_TRUE(domain_->Introspect(other.access_token).active);
}

TEST_F(AuthTest, RevokeAllSessionsEndsEverySessionOfTheAccountOnly) {
  constexpr char kOtherCccd[] = "001099054321";
  constexpr char kOtherId[] = "6f1c2a3b-0000-4000-8000-000000000002";
  accounts_.Add(FakeAccount{kOtherCccd, kPassword, kOtherId, 2, "0912345679"});
  Tokens a = Login();
  Tokens b = Login();
  auto flow = domain_->StartPasswordLogin(Req(kOtherCccd));
  ASSERT_TRUE(flow.ok()) << flow.status();
  auto other = domain_->CompleteLogin(flow->flow_id, "123456");
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(domain_->Introspect(a.access_token).active);
  ASSERT_TRUE(domain_->Introspect(b.access_token).active);
  clock_.Advance(absl::Seconds(1));

  auto n = domain_->RevokeAllSessions(absl::AsciiStrToUpper(kAccountId), "PASSWORD_CHANGED");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  // On this replica at once, without waiting for the session cache.
  EXPECT_FALSE(domain_->Introspect(a.access_token).active);
  EXPECT_FALSE(domain_->Introspect(b.access_token).active);
  absl::Status refresh = domain_->Refresh(a.refresh_token).status();
  EXPECT_EQ(refresh.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status::ReasonOf(refresh), "SESSION_REVOKED");
  EXPECT_EQ(status::ReasonOf(domain_->Refresh(b.refresh_token).status()), "SESSION_REVOKED");
  EXPECT_EQ(store_.RevokeReason(a.session_id), "PASSWORD_CHANGED");
  // The other account is untouched.
  EXPECT_TRUE(domain_->Introspect(other->access_token).active);
  EXPECT_TRUE(domain_->Refresh(other->refresh_token).ok());
  // Idempotent.
  n = domain_->RevokeAllSessions(kAccountId, "PASSWORD_CHANGED");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // Logging in again works.
  Tokens c = Login();
  EXPECT_TRUE(domain_->Introspect(c.access_token).active);
}

TEST_F(AuthTest, RevokeAllSessionsKeepsSessionsBegunAfterTheChange) {
  Tokens old_session = Login();
  clock_.Advance(absl::Minutes(1));
  absl::Time changed_at = clock_.Now();
  clock_.Advance(absl::Minutes(1));
  Tokens new_session = Login();  // with the new password
  clock_.Advance(absl::Minutes(1));
  // The event arrives (or is re-delivered) after the new login.
  auto n = domain_->RevokeAllSessions(kAccountId, "PASSWORD_CHANGED", changed_at);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(domain_->Introspect(old_session.access_token).active);
  EXPECT_TRUE(domain_->Introspect(new_session.access_token).active);
  EXPECT_TRUE(domain_->Refresh(new_session.refresh_token).ok());
  // A change time in the future (clock skew) is capped at now.
  Tokens later = Login();
  clock_.Advance(absl::Seconds(1));
  n = domain_->RevokeAllSessions(kAccountId, "PASSWORD_CHANGED", clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);  // new_session and later
  EXPECT_FALSE(domain_->Introspect(later.access_token).active);
}

TEST_F(AuthTest, RevokeAllSessionsOnAnotherReplicaIsSeenAfterTheSessionCacheTtl) {
  AuthDomain other_replica(AuthDomain::Deps{&store_, &accounts_, &otp_, &captcha_, keys_.get(),
                                            &clock_, &random_, nullptr},
                           DeriveSecrets("test-secret"), AuthOptions{});
  Tokens t = Login();
  ASSERT_TRUE(domain_->Introspect(t.access_token).active);  // cached on this replica
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_TRUE(other_replica.RevokeAllSessions(kAccountId, "PASSWORD_CHANGED").ok());
  EXPECT_TRUE(domain_->Introspect(t.access_token).active);  // within the 1 s cache
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(domain_->Introspect(t.access_token).active);
  EXPECT_FALSE(other_replica.Introspect(t.access_token).active);
}

TEST_F(AuthTest, RevokeAllSessionsErrors) {
  absl::Status s = domain_->RevokeAllSessions("not-a-uuid", "PASSWORD_CHANGED").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ReasonOf(s), "ACCOUNT_ID_INVALID");
  Tokens t = Login();
  store_.set_fail_revoke(true);
  EXPECT_EQ(domain_->RevokeAllSessions(kAccountId, "PASSWORD_CHANGED").status().code(),
            absl::StatusCode::kUnavailable);
  store_.set_fail_revoke(false);
  EXPECT_TRUE(domain_->Introspect(t.access_token).active);  // nothing happened
}

TEST_F(AuthTest, LogoutWithAnAlreadyRotatedTokenStillEndsTheSession) {
  Tokens t1 = Login();
  auto t2 = domain_->Refresh(t1.refresh_token);
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE(domain_->Logout(t1.refresh_token).ok());
  EXPECT_FALSE(domain_->Introspect(t2->access_token).active);
}

TEST_F(AuthTest, HistoryListingValidatesAndLimits) {
  EXPECT_EQ(status::ReasonOf(domain_->ListLoginHistory("nope", 10).status()), "ACCOUNT_ID_INVALID");
  for (int i = 0; i < 3; ++i) {
    Login();
    clock_.Advance(absl::Minutes(1));
  }
  auto h = domain_->ListLoginHistory(kAccountId, 2);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_GT((*h)[0].at, (*h)[1].at);
}

TEST_F(AuthTest, JwksListsThePublicKeyOnly) {
  std::string jwks = domain_->Jwks();
  EXPECT_TRUE(absl::StrContains(jwks, "\"kid\":\"k1\""));
  EXPECT_FALSE(absl::StrContains(jwks, "\"d\""));
}

TEST_F(AuthTest, DerivedSecretsAreDistinct) {
  AuthSecrets a = DeriveSecrets("s"), b = DeriveSecrets("t");
  EXPECT_NE(a.refresh_key, a.index_key);
  EXPECT_NE(a.refresh_key, b.refresh_key);
  EXPECT_EQ(a.refresh_key.size(), 32u);
}

// The login OTP is verified under "login:<flow id>" (the stored, canonical id, however the client
// spelled it), so otp replays the success if the answer was lost and the user retries.
TEST_F(AuthTest, LoginOtpIsVerifiedUnderTheFlowsIdempotencyKey) {
  auto flow = domain_->StartPasswordLogin(Req());
  ASSERT_TRUE(flow.ok());
  const std::string upper = absl::AsciiStrToUpper(flow->flow_id);
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin(upper, "000000").status()), "OTP_INVALID");
  ASSERT_TRUE(domain_->CompleteLogin(upper, "123456").ok());
  const std::string key = "login:" + absl::AsciiStrToLower(flow->flow_id);
  EXPECT_EQ(otp_.verify_keys(), (std::vector<std::string>{key, key}));
}

}  // namespace
}  // namespace dvc::auth
