// Certificate login (LGN-3 SIM, LGN-4 USB, LGN-7 SmartCA) in the auth domain, with fakes for
// accounts and sigverify.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "libs/clock/clock.h"
#include "libs/crypto/testing/fake_random.h"
#include "libs/jwt/json.h"
#include "libs/jwt/jwt.h"
#include "libs/status/errors.h"
#include "services/auth/domain/auth.h"
#include "services/auth/domain/testing/fakes.h"

namespace dvc::auth {
namespace {

using ::dvc::auth::testing::FakeAccount;
using ::dvc::auth::testing::FakeAccounts;
using ::dvc::auth::testing::FakeAuthStore;
using ::dvc::auth::testing::FakeCaptcha;
using ::dvc::auth::testing::FakeOtp;
using ::dvc::auth::testing::FakeSigverify;

constexpr char kAccountId[] = "6f1c2a3b-0000-4000-8000-000000000001";
constexpr char kOtherAccountId[] = "6f1c2a3b-0000-4000-8000-000000000002";
constexpr char kUsbFp[] = "aa11";
constexpr char kSimFp[] = "bb22";
constexpr char kSmartCaFp[] = "cc33";
constexpr char kIp[] = "203.0.113.7";

std::string Meta(const absl::Status& s, const std::string& key) {
  auto info = status::GetErrorInfo(s);
  if (!info.has_value()) return "";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

class CertificateLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = jwt::SigningKey::Generate("k1");
    ASSERT_TRUE(key.ok());
    signing_key_ = std::make_shared<const jwt::SigningKey>(*key);
    auto set = MakeKeySet({signing_key_});
    ASSERT_TRUE(set.ok());
    keys_ = std::make_unique<StaticKeySource>(*set);
    // A password account that added a USB, a SIM and a SmartCA certificate (ial 3).
    accounts_.Add(FakeAccount{"001099012345", "pw", kAccountId, 3, "0912345678"});
    accounts_.AddCertificate(kUsbFp, kAccountId, "USB");
    accounts_.AddCertificate(kSimFp, kAccountId, "SIM");
    accounts_.AddCertificate(kSmartCaFp, kAccountId, "SMARTCA");
    AuthOptions options;
    options.throttle.ip_limit = 20;
    domain_ = std::make_unique<AuthDomain>(
        AuthDomain::Deps{&store_, &accounts_, &otp_, &captcha_, keys_.get(), &clock_, &random_,
                         nullptr, &sigverify_},
        DeriveSecrets("test-secret"), options);
  }

  StartCertificateLoginRequest Usb(std::string ip = kIp) {
    StartCertificateLoginRequest r;
    r.method = CertificateMethod::kUsb;
    r.client = ClientInfo{std::move(ip), "Mozilla/5.0", "web"};
    return r;
  }
  StartCertificateLoginRequest Sim(std::string phone = "0987654321", std::string ip = kIp) {
    StartCertificateLoginRequest r = Usb(std::move(ip));
    r.method = CertificateMethod::kSim;
    r.phone = std::move(phone);
    return r;
  }
  StartCertificateLoginRequest SmartCa(std::string user = "citizen01", std::string ip = kIp) {
    StartCertificateLoginRequest r = Usb(std::move(ip));
    r.method = CertificateMethod::kSmartCa;
    r.smartca_user_id = std::move(user);
    return r;
  }
  CompleteCertificateLoginRequest Signed(const std::string& flow_id,
                                         const std::string& fp = kUsbFp) {
    CompleteCertificateLoginRequest r;
    r.flow_id = flow_id;
    r.format = SignatureFormat::kPkcs1Sha256;
    r.signature = absl::StrCat("sig:", fp);
    r.certificate = "cert-der";
    return r;
  }

  jwt::FlatJson Claims(const std::string& token) {
    jwt::Verifier v;
    EXPECT_TRUE(v.AddKey(*signing_key_).ok());
    auto json = v.Verify(token);
    EXPECT_TRUE(json.ok());
    auto c = jwt::ParseFlatJson(*json);
    EXPECT_TRUE(c.ok());
    return *c;
  }

  // The count of the current 5-minute IP window.
  int IpWindowCount(const std::string& ip) {
    int64_t start = absl::ToUnixSeconds(clock_.Now()) / 300 * 300;
    return store_.WindowCount(absl::StrCat("ip:", ip), absl::FromUnixSeconds(start));
  }

  FakeClock clock_;
  crypto::testing::FakeRandom random_;
  FakeAuthStore store_;
  FakeAccounts accounts_;
  FakeOtp otp_{&clock_};
  FakeCaptcha captcha_;
  FakeSigverify sigverify_{&clock_};
  std::shared_ptr<const jwt::SigningKey> signing_key_;
  std::unique_ptr<StaticKeySource> keys_;
  std::unique_ptr<AuthDomain> domain_;
};

TEST_F(CertificateLoginTest, UsbLoginGivesIal3TokensMarkedHwkPin) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->method, "USB");
  EXPECT_EQ(flow->expires_at, clock_.Now() + absl::Minutes(10));
  EXPECT_NE(flow->challenge.find(flow->flow_id), std::string::npos);  // bound to this flow
  EXPECT_EQ(flow->challenge_expires_at, clock_.Now() + absl::Minutes(5));
  EXPECT_TRUE(flow->transaction_id.empty());
  EXPECT_TRUE(sigverify_.started().empty());

  clock_.Advance(absl::Seconds(20));
  auto tokens = domain_->CompleteCertificateLogin(Signed(flow->flow_id));
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->acr, "urn:dvc:ial:3");
  EXPECT_EQ(tokens->amr, (std::vector<std::string>{"hwk", "pin"}));
  EXPECT_EQ(tokens->expires_in, 300);
  jwt::FlatJson c = Claims(tokens->access_token);
  EXPECT_EQ(c.GetString("sub"), kAccountId);
  EXPECT_EQ(c.GetString("acr"), "urn:dvc:ial:3");
  EXPECT_EQ(c.GetStringArray("amr"), (std::vector<std::string>{"hwk", "pin"}));
  EXPECT_EQ(c.GetInt("auth_time"), absl::ToUnixSeconds(clock_.Now()));

  Introspection i = domain_->Introspect(tokens->access_token);
  EXPECT_TRUE(i.active);
  EXPECT_EQ(i.acr, "urn:dvc:ial:3");
  EXPECT_EQ(i.amr, (std::vector<std::string>{"hwk", "pin"}));

  // The refreshed token keeps the method and level.
  auto refreshed = domain_->Refresh(tokens->refresh_token);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_EQ(refreshed->acr, "urn:dvc:ial:3");
  EXPECT_EQ(Claims(refreshed->access_token).GetStringArray("amr"),
            (std::vector<std::string>{"hwk", "pin"}));

  auto history = domain_->ListLoginHistory(kAccountId, 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].success);
  EXPECT_EQ((*history)[0].method, "USB");
  EXPECT_EQ((*history)[0].ip, kIp);
}

TEST_F(CertificateLoginTest, SimLoginIsPendingUntilConfirmedThenGivesScPinMca) {
  auto flow = domain_->StartCertificateLogin(Sim("+84 987 654 321"));
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->method, "SIM");
  EXPECT_EQ(flow->verification_code, "4821");
  EXPECT_FALSE(flow->transaction_id.empty());
  EXPECT_EQ(flow->masked_phone, "098****321");
  EXPECT_TRUE(flow->challenge.empty());
  ASSERT_EQ(sigverify_.started().size(), 1u);
  const FakeSigverify::Started started = sigverify_.started()[0];
  EXPECT_EQ(started.flow_id, flow->flow_id);
  EXPECT_EQ(started.provider, RemoteProvider::kSim);
  EXPECT_EQ(started.subscriber, "0987654321");  // normalised
  EXPECT_EQ(started.display_text, kRemoteLoginDisplayText);

  for (int i = 0; i < 3; ++i) {
    auto poll = domain_->PollCertificateLogin(flow->flow_id);
    ASSERT_TRUE(poll.ok()) << poll.status();
    EXPECT_TRUE(poll->pending);
    clock_.Advance(absl::Seconds(2));
  }
  EXPECT_TRUE(store_.AllRecords().empty());

  sigverify_.Confirm(flow->transaction_id, kSimFp);
  auto poll = domain_->PollCertificateLogin(flow->flow_id);
  ASSERT_TRUE(poll.ok()) << poll.status();
  ASSERT_FALSE(poll->pending);
  EXPECT_EQ(poll->tokens.acr, "urn:dvc:ial:3");
  EXPECT_EQ(Claims(poll->tokens.access_token).GetStringArray("amr"),
            (std::vector<std::string>{"sc", "pin", "mca"}));
  EXPECT_EQ(Claims(poll->tokens.access_token).GetString("sub"), kAccountId);
  auto records = store_.AllRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].method, "SIM");
  EXPECT_TRUE(records[0].success);

  // Polling again after the session was created: the flow is finished, no second session.
  absl::Status again = domain_->PollCertificateLogin(flow->flow_id).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(again), "LOGIN_FLOW_COMPLETED");
}

TEST_F(CertificateLoginTest, SmartCaLoginGivesSwkPinMca) {
  auto flow = domain_->StartCertificateLogin(SmartCa(" citizen01 "));
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->method, "SMARTCA");
  EXPECT_EQ(flow->masked_phone, "");
  ASSERT_EQ(sigverify_.started().size(), 1u);
  EXPECT_EQ(sigverify_.started()[0].provider, RemoteProvider::kSmartCa);
  EXPECT_EQ(sigverify_.started()[0].subscriber, "citizen01");
  sigverify_.Confirm(flow->transaction_id, kSmartCaFp);
  auto poll = domain_->PollCertificateLogin(flow->flow_id);
  ASSERT_TRUE(poll.ok()) << poll.status();
  ASSERT_FALSE(poll->pending);
  EXPECT_EQ(poll->tokens.amr, (std::vector<std::string>{"swk", "pin", "mca"}));
  EXPECT_EQ(poll->tokens.acr, "urn:dvc:ial:3");
  EXPECT_EQ(store_.AllRecords().at(0).method, "SMARTCA");
}

TEST_F(CertificateLoginTest, AcrIsIal3EvenWhenAccountsReportsALowerLevel) {
  accounts_.Add(FakeAccount{"001099000001", "pw", kOtherAccountId, 2, "0912345678"});
  accounts_.AddCertificate("dd44", kOtherAccountId, "USB");
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  auto tokens = domain_->CompleteCertificateLogin(Signed(flow->flow_id, "dd44"));
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->acr, "urn:dvc:ial:3");
}

TEST_F(CertificateLoginTest, UnregisteredCertificateIsOneGenericErrorAndCountsAgainstTheIp) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  int before = IpWindowCount(kIp);
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow->flow_id, "ffff")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  auto info = status::GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "CERTIFICATE_NOT_REGISTERED");
  EXPECT_NE(info->message_en.find("not registered to an account"), std::string::npos);
  EXPECT_FALSE(info->message_vi.empty());
  EXPECT_EQ(IpWindowCount(kIp), before + 1);
  EXPECT_TRUE(store_.AllRecords().empty());  // no account to attribute it to

  // A remote-signature login with an unregistered certificate: the same answer.
  auto sim = domain_->StartCertificateLogin(Sim());
  ASSERT_TRUE(sim.ok());
  sigverify_.Confirm(sim->transaction_id, "eeee");
  absl::Status r = domain_->PollCertificateLogin(sim->flow_id).status();
  EXPECT_EQ(r.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status::ReasonOf(r), "CERTIFICATE_NOT_REGISTERED");
  EXPECT_EQ(r.message(), s.message());
}

TEST_F(CertificateLoginTest, LockedOrClosedAccountIsToldAfterTheCertificateIsVerified) {
  accounts_.SetStatus(kAccountId, AccountStatus::kLocked);
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status::ReasonOf(s), "ACCOUNT_LOCKED");
  auto records = store_.AllRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].account_id, kAccountId);
  EXPECT_EQ(records[0].method, "USB");
  EXPECT_FALSE(records[0].success);
  EXPECT_EQ(records[0].failure_reason, "ACCOUNT_LOCKED");

  accounts_.SetStatus(kAccountId, AccountStatus::kClosed);
  auto sim = domain_->StartCertificateLogin(Sim());
  ASSERT_TRUE(sim.ok());
  sigverify_.Confirm(sim->transaction_id, kSimFp);
  absl::Status c = domain_->PollCertificateLogin(sim->flow_id).status();
  EXPECT_EQ(status::ReasonOf(c), "ACCOUNT_CLOSED");
  EXPECT_EQ(store_.AllRecords().back().method, "SIM");
}

TEST_F(CertificateLoginTest, SigverifyReasonsPassThroughUnchanged) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  absl::Status revoked = status::InvalidArgument("CERT_REVOKED", "certificate",
                                                 "Chứng thư số đã bị thu hồi.",
                                                 "The certificate has been revoked.");
  sigverify_.set_verify_error(revoked);
  int before = IpWindowCount(kIp);
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status();
  EXPECT_EQ(s, revoked);
  EXPECT_EQ(IpWindowCount(kIp), before + 1);

  // A wrong signature (the fake's SIGNATURE_INVALID) as is.
  auto flow2 = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow2.ok());
  CompleteCertificateLoginRequest bad = Signed(flow2->flow_id);
  bad.signature = "garbage";
  EXPECT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(bad).status()),
            "SIGNATURE_INVALID");

  // Remote failures (the user cancelled on the phone) as is.
  auto sim = domain_->StartCertificateLogin(Sim());
  ASSERT_TRUE(sim.ok());
  absl::Status cancelled = status::FailedPrecondition(
      "SIGNER_USER_CANCELLED", "", "Bạn đã từ chối ký.", "You declined the signing request.");
  sigverify_.Fail(sim->transaction_id, cancelled);
  EXPECT_EQ(domain_->PollCertificateLogin(sim->flow_id).status(), cancelled);

  // Failures at the start too (no certificate on this SIM).
  sigverify_.set_start_error(status::FailedPrecondition("SIGNER_NO_CERTIFICATE", "", "x", "y"));
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(Sim("0911111111")).status()),
            "SIGNER_NO_CERTIFICATE");
  EXPECT_TRUE(store_.AllRecords().empty());
}

TEST_F(CertificateLoginTest, UnavailableDependencyIsNotHeldAgainstTheIp) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  sigverify_.set_verify_error(
      status::Unavailable("CERT_REVOCATION_UNKNOWN", "Không kiểm tra được.", "Unknown status."));
  int before = IpWindowCount(kIp);
  EXPECT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status()),
            "CERT_REVOCATION_UNKNOWN");
  EXPECT_EQ(IpWindowCount(kIp), before);

  auto flow2 = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow2.ok());
  accounts_.set_fail(absl::UnavailableError("accounts down"));
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow2->flow_id)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), "DEPENDENCY_UNAVAILABLE");
}

TEST_F(CertificateLoginTest, ReplayingACompletedUsbLoginIsRefused) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  ASSERT_TRUE(domain_->CompleteCertificateLogin(Signed(flow->flow_id)).ok());
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_FLOW_COMPLETED");
  EXPECT_EQ(sigverify_.verify_calls(), 1);  // refused before sigverify
  EXPECT_EQ(store_.AllRecords().size(), 1u);
}

TEST_F(CertificateLoginTest, AFailedUsbAttemptUsesUpTheChallenge) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  CompleteCertificateLoginRequest bad = Signed(flow->flow_id);
  bad.signature = "garbage";
  EXPECT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(bad).status()),
            "SIGNATURE_INVALID");
  // The right signature afterwards does not help: one attempt per challenge.
  absl::Status s = domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status();
  EXPECT_EQ(status::ReasonOf(s), "CHALLENGE_USED");
  EXPECT_TRUE(store_.AllRecords().empty());
}

TEST_F(CertificateLoginTest, ExpiredUnknownAndMismatchedFlows) {
  auto flow = domain_->StartCertificateLogin(Usb());
  ASSERT_TRUE(flow.ok());
  clock_.Advance(absl::Minutes(10));
  absl::Status expired = domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status();
  EXPECT_EQ(status::ReasonOf(expired), "LOGIN_FLOW_EXPIRED");
  EXPECT_EQ(sigverify_.verify_calls(), 0);

  auto sim = domain_->StartCertificateLogin(Sim());
  ASSERT_TRUE(sim.ok());
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(status::ReasonOf(domain_->PollCertificateLogin(sim->flow_id).status()),
            "LOGIN_FLOW_EXPIRED");

  EXPECT_EQ(status::ReasonOf(domain_->PollCertificateLogin("nope").status()),
            "LOGIN_FLOW_NOT_FOUND");
  EXPECT_EQ(status::ReasonOf(
                domain_->CompleteCertificateLogin(Signed("6f1c2a3b-0000-4000-8000-00000000aaaa"))
                    .status()),
            "LOGIN_FLOW_NOT_FOUND");

  // Each flow only accepts its own method's step.
  auto usb = domain_->StartCertificateLogin(Usb());
  auto remote = domain_->StartCertificateLogin(SmartCa());
  ASSERT_TRUE(usb.ok() && remote.ok());
  EXPECT_EQ(status::ReasonOf(domain_->PollCertificateLogin(usb->flow_id).status()),
            "LOGIN_METHOD_MISMATCH");
  EXPECT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(Signed(remote->flow_id)).status()),
            "LOGIN_METHOD_MISMATCH");
  EXPECT_EQ(status::ReasonOf(domain_->CompleteLogin(usb->flow_id, "123456").status()),
            "LOGIN_METHOD_MISMATCH");
  EXPECT_EQ(status::ReasonOf(domain_->ResendLoginOtp(remote->flow_id).status()),
            "LOGIN_METHOD_MISMATCH");
}

TEST_F(CertificateLoginTest, PasswordFlowCannotBeFinishedWithACertificate) {
  StartLoginRequest r;
  r.captcha_id = "c1";
  r.captcha_answer = "ok";
  r.id_number = "001099012345";
  r.password = "pw";
  r.client = ClientInfo{kIp, "UA", "web"};
  auto flow = domain_->StartPasswordLogin(r);
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(Signed(flow->flow_id)).status()),
            "LOGIN_METHOD_MISMATCH");
  EXPECT_EQ(status::ReasonOf(domain_->PollCertificateLogin(flow->flow_id).status()),
            "LOGIN_METHOD_MISMATCH");
  // The password flow still works and is marked PASSWORD_OTP with pwd+otp.
  auto tokens = domain_->CompleteLogin(flow->flow_id, "123456");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(store_.AllRecords().back().method, "PASSWORD_OTP");
}

TEST_F(CertificateLoginTest, BadStartRequests) {
  StartCertificateLoginRequest none = Usb();
  none.method = static_cast<CertificateMethod>(42);
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(none).status()),
            "LOGIN_METHOD_INVALID");
  absl::Status no_phone = domain_->StartCertificateLogin(Sim("")).status();
  EXPECT_EQ(status::ReasonOf(no_phone), "PHONE_REQUIRED");
  EXPECT_EQ(status::GetErrorInfo(no_phone)->field, "phone");
  absl::Status bad_phone = domain_->StartCertificateLogin(Sim("12345")).status();
  EXPECT_EQ(status::ReasonOf(bad_phone), "PHONE_MALFORMED");
  EXPECT_EQ(status::GetErrorInfo(bad_phone)->field, "phone");
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(SmartCa("  ")).status()),
            "SMARTCA_USER_ID_REQUIRED");
  absl::Status bad_user = domain_->StartCertificateLogin(SmartCa("a b")).status();
  EXPECT_EQ(status::ReasonOf(bad_user), "SMARTCA_USER_ID_INVALID");
  EXPECT_EQ(status::GetErrorInfo(bad_user)->field, "smartca_user_id");
  EXPECT_TRUE(sigverify_.started().empty());
}

TEST_F(CertificateLoginTest, WithoutSigverifyCertificateLoginIsUnavailable) {
  AuthDomain off(AuthDomain::Deps{&store_, &accounts_, &otp_, &captcha_, keys_.get(), &clock_,
                                  &random_, nullptr, nullptr},
                 DeriveSecrets("test-secret"), AuthOptions{});
  absl::Status s = off.StartCertificateLogin(Usb()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status::ReasonOf(s), "CERTIFICATE_LOGIN_UNAVAILABLE");
}

// ---- throttles (X-2) ----------------------------------------------------------------------------

TEST_F(CertificateLoginTest, SubscriberGetsAtMostThreePushesPerWindowInAnyPhoneForm) {
  ASSERT_TRUE(domain_->StartCertificateLogin(Sim("0987654321")).ok());
  ASSERT_TRUE(domain_->StartCertificateLogin(Sim("84987654321", "198.51.100.1")).ok());
  ASSERT_TRUE(domain_->StartCertificateLogin(Sim("+84 987.654.321", "198.51.100.2")).ok());
  absl::Status s = domain_->StartCertificateLogin(Sim("0987-654-321", "198.51.100.3")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_SUBSCRIBER_LIMITED");
  // FakeClock starts 200 s before the end of a 5-minute window.
  EXPECT_EQ(Meta(s, "retry_after_s"), "200");
  EXPECT_EQ(sigverify_.started().size(), 3u);  // the phone was not rung a fourth time

  // Another subscriber, and the same id as a SmartCA user, are separate.
  EXPECT_TRUE(domain_->StartCertificateLogin(Sim("0911111111")).ok());
  EXPECT_TRUE(domain_->StartCertificateLogin(SmartCa("0987654321")).ok());
  // USB logins are not subscriber-limited.
  EXPECT_TRUE(domain_->StartCertificateLogin(Usb()).ok());

  clock_.Advance(absl::Seconds(200));
  EXPECT_TRUE(domain_->StartCertificateLogin(Sim("0987654321")).ok());
}

TEST_F(CertificateLoginTest, SmartCaUserIdsShareALimitWhateverTheirCase) {
  for (const char* u : {"Citizen01", "citizen01", "CITIZEN01"}) {
    ASSERT_TRUE(domain_->StartCertificateLogin(SmartCa(u)).ok()) << u;
  }
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(SmartCa("cItIzEn01")).status()),
            "LOGIN_SUBSCRIBER_LIMITED");
}

TEST_F(CertificateLoginTest, PushesFromElsewhereCannotKeepTheUserOutOfTheirUsualNetwork) {
  // The user signed in by SIM from home once.
  auto flow = domain_->StartCertificateLogin(Sim("0987654321", kIp));
  ASSERT_TRUE(flow.ok());
  sigverify_.Confirm(flow->transaction_id, kSimFp);
  ASSERT_FALSE(domain_->PollCertificateLogin(flow->flow_id)->pending);
  clock_.Advance(absl::Hours(1));

  // An attacker exhausts the subscriber's shared window from other addresses.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        domain_->StartCertificateLogin(Sim("0987654321", absl::StrCat("198.51.100.", i))).ok());
  }
  EXPECT_EQ(status::ReasonOf(
                domain_->StartCertificateLogin(Sim("0987654321", "198.51.100.9")).status()),
            "LOGIN_SUBSCRIBER_LIMITED");
  // From home the user still gets in (own window, also limited).
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(domain_->StartCertificateLogin(Sim("0987654321", kIp)).ok()) << i;
  }
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(Sim("0987654321", kIp)).status()),
            "LOGIN_SUBSCRIBER_LIMITED");
}

TEST_F(CertificateLoginTest, StartsAndFailuresShareThePerIpCeiling) {
  // ip_limit = 20 in this fixture: 10 starts + 10 failed completions fill it.
  for (int i = 0; i < 10; ++i) {
    auto flow = domain_->StartCertificateLogin(Usb());
    ASSERT_TRUE(flow.ok()) << i << flow.status();
    CompleteCertificateLoginRequest bad = Signed(flow->flow_id);
    bad.signature = "garbage";
    ASSERT_EQ(status::ReasonOf(domain_->CompleteCertificateLogin(bad).status()),
              "SIGNATURE_INVALID");
  }
  absl::Status s = domain_->StartCertificateLogin(Usb()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::ReasonOf(s), "LOGIN_IP_LIMITED");
  // The ceiling is per address, and checked before any push to a phone.
  EXPECT_EQ(status::ReasonOf(domain_->StartCertificateLogin(Sim()).status()), "LOGIN_IP_LIMITED");
  EXPECT_TRUE(sigverify_.started().empty());
  EXPECT_TRUE(domain_->StartCertificateLogin(Usb("198.51.100.1")).ok());
}

}  // namespace
}  // namespace dvc::auth
