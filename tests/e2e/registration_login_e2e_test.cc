// End to end through the public gRPC APIs of the running stack (real PostgreSQL, Kafka dev
// broker, simulators): REG-1 registration by mobile subscriber, LGN-1 login, tokens (LGN-8),
// and the bad inputs a real user hits. Run by tools/test.
#include <gtest/gtest.h>

#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "tests/e2e/stack.h"

namespace dvc::e2e {
namespace {

namespace reg = ::dvc::registration::v1;
namespace auth = ::dvc::auth::v1;
namespace acc = ::dvc::accounts::v1;

constexpr char kGoodPassword[] = "Quoc-Gia@2026x";

class E2E : public ::testing::Test {
 protected:
  reg::Captcha RegCaptcha() {
    reg::Captcha c;
    grpc::Status s = stack_.registration().CreateCaptcha(Ctx().get(), {}, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_GT(c.png().size(), 100u);
    EXPECT_EQ(c.png().substr(1, 3), "PNG");
    EXPECT_FALSE(c.dev_answer().empty()) << "test stack must run with --dev_expose_captcha";
    return c;
  }

  reg::StartMobileRegistrationRequest Form(const Person& p) {
    reg::Captcha c = RegCaptcha();
    reg::StartMobileRegistrationRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_id_number(p.cccd);
    r.set_full_name(p.full_name);
    r.set_date_of_birth(p.date_of_birth);
    r.set_phone(p.phone);
    r.set_email("kiemthu@example.vn");
    r.set_consent_version("2024-01");
    return r;
  }

  grpc::Status Start(const reg::StartMobileRegistrationRequest& r, reg::Flow* f) {
    return stack_.registration().StartMobileRegistration(Ctx().get(), r, f);
  }

  grpc::Status VerifyOtp(const std::string& flow_id, const std::string& otp, reg::Flow* f) {
    reg::VerifyOtpRequest r;
    r.set_flow_id(flow_id);
    r.set_otp(otp);
    return stack_.registration().VerifyOtp(Ctx().get(), r, f);
  }

  grpc::Status SetPassword(const std::string& flow_id, const std::string& pw,
                           const std::string& confirm, reg::Flow* f) {
    reg::SetPasswordRequest r;
    r.set_flow_id(flow_id);
    r.set_password(pw);
    r.set_password_confirmation(confirm);
    return stack_.registration().SetPassword(Ctx().get(), r, f);
  }

  // Registers `p` all the way; returns the completed flow.
  reg::Flow Register(const Person& p) {
    reg::Flow f;
    grpc::Status s = Start(Form(p), &f);
    EXPECT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
    auto otp = stack_.LastOtp(p.phone);
    EXPECT_TRUE(otp.ok()) << otp.status();
    s = VerifyOtp(f.flow_id(), otp.value_or(""), &f);
    EXPECT_TRUE(s.ok()) << ReasonOf(s);
    s = SetPassword(f.flow_id(), kGoodPassword, kGoodPassword, &f);
    EXPECT_TRUE(s.ok()) << ReasonOf(s);
    return f;
  }

  // Login step 1; returns the status and fills `lf`.
  grpc::Status StartLogin(const std::string& id_number, const std::string& password,
                          auth::LoginFlow* lf, const std::string& ip = "203.0.113.7") {
    auth::Captcha c;
    grpc::Status s = stack_.auth().CreateCaptcha(Ctx().get(), {}, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    auth::StartPasswordLoginRequest r;
    r.set_captcha_id(c.captcha_id());
    r.set_captcha_answer(c.dev_answer());
    r.set_id_number(id_number);
    r.set_password(password);
    r.mutable_client()->set_ip(ip);
    r.mutable_client()->set_user_agent("e2e-test");
    auto ctx = Ctx();
    ctx->AddMetadata("x-forwarded-for", ip);
    return stack_.auth().StartPasswordLogin(ctx.get(), r, lf);
  }

  auth::TokenResponse Login(const Person& p, const std::string& previous_otp) {
    auth::LoginFlow lf;
    grpc::Status s = StartLogin(p.cccd, kGoodPassword, &lf);
    EXPECT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
    auto otp = stack_.LastOtp(p.phone, previous_otp);
    EXPECT_TRUE(otp.ok()) << otp.status();
    auth::CompleteLoginRequest cr;
    cr.set_login_flow_id(lf.login_flow_id());
    cr.set_otp(otp.value_or(""));
    auth::TokenResponse t;
    s = stack_.auth().CompleteLogin(Ctx().get(), cr, &t);
    EXPECT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
    return t;
  }

  Stack stack_;
};

TEST_F(E2E, RegisterByMobileThenLoginRefreshReuseAndLogout) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_OTP_SENT);
  EXPECT_EQ(f.masked_phone(), p.phone.substr(0, 3) + "****" + p.phone.substr(7));
  auto otp = stack_.LastOtp(p.phone);
  ASSERT_TRUE(otp.ok()) << otp.status();
  ASSERT_TRUE(VerifyOtp(f.flow_id(), *otp, &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_PASSWORD_REQUIRED);
  grpc::Status s = SetPassword(f.flow_id(), kGoodPassword, kGoodPassword, &f);
  ASSERT_TRUE(s.ok()) << ReasonOf(s);
  EXPECT_EQ(f.state(), reg::FLOW_STATE_COMPLETED);
  EXPECT_EQ(f.ial(), 2);
  ASSERT_FALSE(f.account_id().empty());

  // The account exists at IAL2, verified by the carrier.
  acc::FindAccountRequest fr;
  fr.set_id_number(p.cccd);
  acc::Account a;
  ASSERT_TRUE(stack_.accounts().FindAccount(Ctx().get(), fr, &a).ok());
  EXPECT_EQ(a.account_id(), f.account_id());
  EXPECT_EQ(a.ial(), 2);
  EXPECT_EQ(a.verification_source(), "TELCO");
  EXPECT_EQ(a.citizen().full_name(), p.full_name);
  EXPECT_EQ(a.citizen().phone(), p.phone);

  // The AccountCreated event reaches Kafka (through the accounts outbox), exactly once.
  EventsSeen events = ReadAccountEvents({a.account_id()}, absl::Seconds(30));
  int created = 0;
  for (const auto& e : events.by_account[a.account_id()]) {
    if (!e.has_account_created()) continue;
    created++;
    EXPECT_EQ(e.account_created().ial(), 2);
    EXPECT_EQ(e.account_created().registration_method(), "MOBILE");
    EXPECT_EQ(events.event_id_count[e.event_id()], 1);
  }
  EXPECT_EQ(created, 1);

  // Login: password + captcha → OTP → tokens.
  auth::TokenResponse t = Login(p, *otp);
  ASSERT_FALSE(t.access_token().empty());
  ASSERT_FALSE(t.refresh_token().empty());
  EXPECT_EQ(t.acr(), "urn:dvc:ial:2");

  auth::IntrospectRequest ir;
  ir.set_token(t.access_token());
  auth::IntrospectResponse in;
  ASSERT_TRUE(stack_.auth().Introspect(Ctx().get(), ir, &in).ok());
  EXPECT_TRUE(in.active());
  EXPECT_EQ(in.sub(), f.account_id());
  EXPECT_EQ(in.acr(), "urn:dvc:ial:2");

  // Refresh rotates.
  auth::RefreshRequest rr;
  rr.set_refresh_token(t.refresh_token());
  auth::TokenResponse t2;
  ASSERT_TRUE(stack_.auth().Refresh(Ctx().get(), rr, &t2).ok());
  EXPECT_NE(t2.refresh_token(), t.refresh_token());
  EXPECT_FALSE(t2.access_token().empty());

  // The client lost that answer and retries with the same token within the grace window, its
  // successor unused: a retry, not theft — a new successor, the first one superseded.
  auth::TokenResponse t2b;
  ASSERT_TRUE(stack_.auth().Refresh(Ctx().get(), rr, &t2b).ok());
  EXPECT_NE(t2b.refresh_token(), t2.refresh_token());
  // The chain moves on: the current token rotates.
  auth::RefreshRequest rr2;
  rr2.set_refresh_token(t2b.refresh_token());
  auth::TokenResponse t3;
  ASSERT_TRUE(stack_.auth().Refresh(Ctx().get(), rr2, &t3).ok());

  // Reusing the first token now (its successor's chain was used) is theft: the whole family is
  // revoked, and the newest token stops working too.
  auth::TokenResponse t_bad;
  s = stack_.auth().Refresh(Ctx().get(), rr, &t_bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(s), "REFRESH_TOKEN_REUSED");
  auth::RefreshRequest rr3;
  rr3.set_refresh_token(t3.refresh_token());
  s = stack_.auth().Refresh(Ctx().get(), rr3, &t_bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // A new login, then logout: the refresh token no longer works.
  auto last = stack_.LastOtp(p.phone);
  auth::TokenResponse t4 = Login(p, last.value_or(""));
  auth::LogoutRequest lr;
  lr.set_refresh_token(t4.refresh_token());
  auth::LogoutResponse lo;
  ASSERT_TRUE(stack_.auth().Logout(Ctx().get(), lr, &lo).ok());
  auth::RefreshRequest rr4;
  rr4.set_refresh_token(t4.refresh_token());
  s = stack_.auth().Refresh(Ctx().get(), rr4, &t3);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Login history records the successful logins.
  auth::ListLoginHistoryRequest hr;
  hr.set_account_id(f.account_id());
  auth::ListLoginHistoryResponse h;
  ASSERT_TRUE(stack_.auth().ListLoginHistory(Ctx().get(), hr, &h).ok());
  int successes = 0;
  for (const auto& rec : h.records()) successes += rec.success() ? 1 : 0;
  EXPECT_GE(successes, 2);
}

TEST_F(E2E, ResendOtpAfterCooldownGivesANewCodeAndTheOldOneStopsWorking) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  auto first = stack_.LastOtp(p.phone);
  ASSERT_TRUE(first.ok());
  reg::FlowRef ref;
  ref.set_flow_id(f.flow_id());
  // Inside the cooldown.
  grpc::Status s = stack_.registration().ResendOtp(Ctx().get(), ref, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(s), "OTP_RESEND_TOO_SOON");
  EXPECT_FALSE(MetadataOf(s, "retry_after_s").empty());
  // After it (the test stack's cooldown is 3 s).
  absl::SleepFor(absl::Seconds(3.5));
  ASSERT_TRUE(stack_.registration().ResendOtp(Ctx().get(), ref, &f).ok());
  auto second = stack_.LastOtp(p.phone, *first);
  ASSERT_TRUE(second.ok());
  s = VerifyOtp(f.flow_id(), *first, &f);
  EXPECT_EQ(ReasonOf(s), "OTP_INVALID");
  EXPECT_TRUE(VerifyOtp(f.flow_id(), *second, &f).ok());
}

TEST_F(E2E, MalformedCccdIsRefusedAndNothingCreated) {
  Person p = stack_.NewPerson();
  auto form = Form(p);
  form.set_id_number("00109012345");  // 11 digits
  reg::Flow f;
  grpc::Status s = Start(form, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(MetadataOf(s, "field"), "id_number");
  EXPECT_FALSE(ReasonOf(s).empty());
  EXPECT_TRUE(stack_.LastOtp(p.phone, "", absl::Milliseconds(300)).status().code() ==
              absl::StatusCode::kNotFound);
}

TEST_F(E2E, CccdBirthYearDisagreeingWithDateOfBirthIsRefused) {
  Person p = stack_.NewPerson();
  auto form = Form(p);
  form.set_date_of_birth("1985-07-15");  // the CCCD encodes 1990
  reg::Flow f;
  grpc::Status s = Start(form, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "CCCD_BIRTH_YEAR_MISMATCH");
}

TEST_F(E2E, PhoneNotOwnedByThatPersonIsRefused) {
  Person p = stack_.NewPerson();
  Person other = stack_.NewPerson();
  auto form = Form(p);
  form.set_phone(other.phone);
  reg::Flow f;
  grpc::Status s = Start(form, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "PHONE_NOT_OWNED");
  EXPECT_EQ(MetadataOf(s, "field"), "phone");
  acc::FindAccountRequest fr;
  fr.set_id_number(p.cccd);
  acc::Account a;
  EXPECT_EQ(stack_.accounts().FindAccount(Ctx().get(), fr, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(E2E, DuplicateCccdGetsTheGuidanceAndNothingNew) {
  Person p = stack_.NewPerson();
  reg::Flow done = Register(p);
  ASSERT_EQ(done.state(), reg::FLOW_STATE_COMPLETED);
  auto before = stack_.LastOtp(p.phone);
  reg::Flow f;
  grpc::Status s = Start(Form(p), &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "ACCOUNT_EXISTS");
  auto info_vi = status::GetErrorInfo(status::FromGrpcStatus(s));
  ASSERT_TRUE(info_vi.has_value());
  EXPECT_NE(info_vi->message_vi.find("Quên mật khẩu"), std::string::npos) << info_vi->message_vi;
  // No OTP was sent for the refused attempt.
  auto after = stack_.LastOtp(p.phone);
  EXPECT_EQ(after.value_or(""), before.value_or(""));
}

TEST_F(E2E, WeakPasswordAndMismatchedConfirmationAreRefused) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  auto otp = stack_.LastOtp(p.phone);
  ASSERT_TRUE(VerifyOtp(f.flow_id(), otp.value_or(""), &f).ok());
  grpc::Status s = SetPassword(f.flow_id(), "abc12345", "abc12345", &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "PASSWORD_TOO_WEAK");
  s = SetPassword(f.flow_id(), "P@ssw0rd", "P@ssw0rd", &f);
  EXPECT_EQ(ReasonOf(s), "PASSWORD_BREACHED");
  s = SetPassword(f.flow_id(), kGoodPassword, "Quoc-Gia@2026y", &f);
  EXPECT_EQ(ReasonOf(s), "PASSWORD_MISMATCH");
  EXPECT_EQ(MetadataOf(s, "field"), "password_confirmation");
  acc::FindAccountRequest fr;
  fr.set_id_number(p.cccd);
  acc::Account a;
  EXPECT_EQ(stack_.accounts().FindAccount(Ctx().get(), fr, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The flow is still usable with a good password.
  EXPECT_TRUE(SetPassword(f.flow_id(), kGoodPassword, kGoodPassword, &f).ok());
}

TEST_F(E2E, FiveWrongOtpsExhaustTheChallenge) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  auto otp = stack_.LastOtp(p.phone);
  ASSERT_TRUE(otp.ok());
  std::string wrong = (*otp == "000000") ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    grpc::Status s = VerifyOtp(f.flow_id(), wrong, &f);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << i;
    EXPECT_EQ(ReasonOf(s), "OTP_INVALID") << i;
    EXPECT_EQ(MetadataOf(s, "attempts_left"), std::to_string(4 - i));
  }
  grpc::Status s = VerifyOtp(f.flow_id(), *otp, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "OTP_ATTEMPTS_EXCEEDED");
}

TEST_F(E2E, WrongCaptchaIsRefusedAndTheCaptchaCannotBeReused) {
  Person p = stack_.NewPerson();
  auto form = Form(p);
  std::string right = form.captcha_answer();
  form.set_captcha_answer(right == "AAAAAA" ? "BBBBBB" : "AAAAAA");
  reg::Flow f;
  grpc::Status s = Start(form, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "CAPTCHA_INVALID");
  form.set_captcha_answer(right);  // single use: consumed by the wrong attempt
  s = Start(form, &f);
  EXPECT_EQ(ReasonOf(s), "CAPTCHA_INVALID");
}

TEST_F(E2E, ReplayedFinalStepCreatesNothingNew) {
  Person p = stack_.NewPerson();
  reg::Flow done = Register(p);
  ASSERT_EQ(done.state(), reg::FLOW_STATE_COMPLETED);
  reg::Flow f;
  grpc::Status s = SetPassword(done.flow_id(), kGoodPassword, kGoodPassword, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "FLOW_COMPLETED");
}

TEST_F(E2E, WrongPasswordAndUnknownAccountLookTheSame) {
  Person p = stack_.NewPerson();
  Register(p);
  auth::LoginFlow lf;
  grpc::Status wrong = StartLogin(p.cccd, "Sai-MatKhau@1", &lf, "198.51.100.10");
  Person nobody = stack_.NewPerson();
  grpc::Status unknown = StartLogin(nobody.cccd, "Sai-MatKhau@1", &lf, "198.51.100.11");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(wrong), "INVALID_CREDENTIALS");
  EXPECT_EQ(ReasonOf(unknown), "INVALID_CREDENTIALS");
  EXPECT_EQ(wrong.error_message(), unknown.error_message());
}

TEST_F(E2E, PasswordChangeEndsTheOtherSessions) {
  Person p = stack_.NewPerson();
  reg::Flow done = Register(p);
  ASSERT_EQ(done.state(), reg::FLOW_STATE_COMPLETED);
  auto first = stack_.LastOtp(p.phone);
  auth::TokenResponse t = Login(p, first.value_or(""));
  ASSERT_FALSE(t.refresh_token().empty());

  // The password changes (accounts publishes CredentialChanged; auth consumes it).
  acc::SetPasswordRequest sp;
  sp.set_account_id(done.account_id());
  sp.set_password("Moi-MatKhau@2027");
  sp.set_request_id("pw-change-" + done.account_id());
  acc::SetPasswordResponse spr;
  ASSERT_TRUE(stack_.accounts().SetPassword(Ctx().get(), sp, &spr).ok());

  // Within a few seconds the old session can no longer refresh, and its access token is no
  // longer active.
  grpc::Status s;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::string refresh = t.refresh_token();
  do {
    absl::SleepFor(absl::Milliseconds(500));
    auth::RefreshRequest rr;
    rr.set_refresh_token(refresh);
    auth::TokenResponse next;
    s = stack_.auth().Refresh(Ctx().get(), rr, &next);
    if (s.ok()) refresh = next.refresh_token();  // not yet revoked: keep the family going
  } while (s.ok() && absl::Now() < deadline);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(s), "SESSION_REVOKED");
  absl::SleepFor(absl::Seconds(1.5));  // the introspection cache of session state
  auth::IntrospectRequest ir;
  ir.set_token(t.access_token());
  auth::IntrospectResponse in;
  ASSERT_TRUE(stack_.auth().Introspect(Ctx().get(), ir, &in).ok());
  EXPECT_FALSE(in.active());
}

// The test stack runs otp with --otp_ttl=6s and registration with --flow_ttl=15s.
TEST_F(E2E, ExpiredOtpIsRefusedAndResendGivesAFreshOne) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  auto otp = stack_.LastOtp(p.phone);
  ASSERT_TRUE(otp.ok());
  absl::SleepFor(absl::Seconds(6.5));
  grpc::Status s = VerifyOtp(f.flow_id(), *otp, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "OTP_EXPIRED");
  // "Gửi lại OTP" replaces the expired code; the flow goes on.
  reg::FlowRef ref;
  ref.set_flow_id(f.flow_id());
  ASSERT_TRUE(stack_.registration().ResendOtp(Ctx().get(), ref, &f).ok());
  auto fresh = stack_.LastOtp(p.phone, *otp);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(VerifyOtp(f.flow_id(), *fresh, &f).ok());
  EXPECT_EQ(f.state(), reg::FLOW_STATE_PASSWORD_REQUIRED);
}

TEST_F(E2E, ExpiredFlowIsRefusedAndCreatesNothing) {
  Person p = stack_.NewPerson();
  reg::Flow f;
  ASSERT_TRUE(Start(Form(p), &f).ok());
  auto otp = stack_.LastOtp(p.phone);
  ASSERT_TRUE(otp.ok());
  absl::SleepFor(absl::Seconds(15.5));
  grpc::Status s = VerifyOtp(f.flow_id(), *otp, &f);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "FLOW_EXPIRED");
  s = SetPassword(f.flow_id(), kGoodPassword, kGoodPassword, &f);
  EXPECT_EQ(ReasonOf(s), "FLOW_EXPIRED");
  acc::FindAccountRequest fr;
  fr.set_id_number(p.cccd);
  acc::Account a;
  EXPECT_EQ(stack_.accounts().FindAccount(Ctx().get(), fr, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(E2E, TelcoTimeoutIsRetryableAndTheFlowContinues) {
  Person p = stack_.NewPerson();
  ASSERT_TRUE(stack_.TelcoFault(R"({"mode":"timeout","latency_ms":20000,"count":-1})").ok());
  reg::Flow f;
  grpc::Status s = Start(Form(p), &f);
  ASSERT_TRUE(stack_.TelcoFault(R"({"mode":"none"})").ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "IDV_PROVIDER_UNAVAILABLE");
  std::string flow_id = MetadataOf(s, "flow_id");
  ASSERT_FALSE(flow_id.empty());
  reg::FlowRef ref;
  ref.set_flow_id(flow_id);
  s = stack_.registration().ResumeFlow(Ctx().get(), ref, &f);
  ASSERT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
  EXPECT_EQ(f.state(), reg::FLOW_STATE_OTP_SENT);
  EXPECT_TRUE(stack_.LastOtp(p.phone).ok());
}

}  // namespace
}  // namespace dvc::e2e
