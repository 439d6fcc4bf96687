// Unit tests of the REG-1 state machine with fakes for every port and a fake clock.
#include "services/registration/domain/registration.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "libs/crypto/aead.h"
#include "libs/crypto/testing/fake_random.h"
#include "libs/status/errors.h"
#include "services/registration/testing/fakes.h"

namespace dvc::registration {
namespace {

using ::dvc::status::GetErrorInfo;
using ::dvc::status::ReasonOf;

constexpr char kCccd[] = "001090012345";  // Hà Nội, male, born 1990
constexpr char kDob[] = "1990-05-17";
constexpr char kPhone[] = "0912345678";
constexpr char kGoodPassword[] = "Quy!Nhon-7391";
constexpr char kIndexKey[] = "blind-index-key-for-tests-000000";

std::string FieldOf(const absl::Status& s) {
  auto info = GetErrorInfo(s);
  return info ? info->field : "";
}
std::string Meta(const absl::Status& s, const std::string& key) {
  auto info = GetErrorInfo(s);
  if (!info) return "";
  auto it = info->metadata.find(key);
  return it == info->metadata.end() ? "" : it->second;
}

class RegistrationTest : public ::testing::Test {
 protected:
  RegistrationTest()
      : otp_(&clock_, testing::OtpOptions()),
        sigverify_(&clock_),
        reg_(&store_, &captcha_, &idv_, &accounts_, &otp_, &sigverify_, &auth_, &clock_,
             &random_, Options{absl::Minutes(30), kIndexKey}) {}

  StartMobileInput Form() {
    auto c = captcha_.Issue();
    StartMobileInput in;
    in.captcha_id = c->captcha_id;
    in.captcha_answer = testing::FakeCaptcha::kAnswer;
    in.id_number = kCccd;
    in.full_name = "Nguyễn  Văn An";
    in.date_of_birth = kDob;
    in.phone = "+84 912 345 678";
    in.email = "an.nguyen@Example.VN";
    in.consent_version = "2024-01";
    return in;
  }

  // Start → OTP_SENT → PASSWORD_REQUIRED.
  Flow ToPasswordRequired() {
    auto f = reg_.StartMobile(Form());
    EXPECT_TRUE(f.ok()) << f.status();
    auto v = reg_.VerifyOtp(f->flow_id, "246810");
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }

  FakeClock clock_;
  crypto::testing::FakeRandom random_;
  testing::FakeFlowStore store_;
  testing::FakeCaptcha captcha_;
  testing::FakeIdv idv_;
  testing::FakeAccounts accounts_;
  testing::FakeOtp otp_;
  testing::FakeSigverify sigverify_;
  testing::FakeAuth auth_;
  Registration reg_;
};

// ---- the whole flow ----

TEST_F(RegistrationTest, HappyPathCreatesOneIal2AccountAndForgetsPersonalData) {
  const absl::Time t0 = clock_.Now();
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kOtpSent);
  EXPECT_EQ(f->method, "MOBILE");
  EXPECT_EQ(f->masked_phone, "091****678");
  EXPECT_EQ(f->expires_at, t0 + absl::Minutes(30));
  ASSERT_TRUE(f->otp_expires_at.has_value());
  EXPECT_EQ(*f->otp_expires_at, t0 + absl::Minutes(5));
  EXPECT_EQ(*f->resend_after, t0 + absl::Seconds(60));
  EXPECT_EQ(f->consent_version, "2024-01");
  EXPECT_EQ(f->consent_at, t0);

  // The telco got the normalised data, keyed by the flow.
  ASSERT_EQ(idv_.calls().size(), 1u);
  const SubscriberQuery q = idv_.calls()[0];
  EXPECT_EQ(q.request_id, f->flow_id + ":subscriber");
  EXPECT_EQ(q.phone, kPhone);
  EXPECT_EQ(q.id_number, kCccd);
  EXPECT_EQ(q.full_name, "Nguyễn Văn An");
  EXPECT_EQ(q.date_of_birth, kDob);
  // The OTP: purpose REGISTRATION, subject = keyed blind index of the id number (never the id).
  EXPECT_EQ(otp_.sent().back().purpose, "REGISTRATION");
  EXPECT_EQ(otp_.sent().back().subject, crypto::BlindIndex(kIndexKey, kCccd));
  EXPECT_EQ(otp_.sent().back().subject.find(kCccd), std::string::npos);
  EXPECT_EQ(otp_.send_request_ids(), std::vector<std::string>{f->flow_id + ":otp"});

  auto v = reg_.VerifyOtp(f->flow_id, " 246810 ");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->state, FlowState::kPasswordRequired);

  auto done = reg_.SetPassword(f->flow_id, kGoodPassword, kGoodPassword);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, FlowState::kCompleted);
  EXPECT_EQ(done->ial, 2);
  EXPECT_FALSE(done->account_id.empty());
  EXPECT_EQ(accounts_.accounts_created(), 1);
  auto req = accounts_.Request(done->account_id);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->request_id, f->flow_id);
  EXPECT_EQ(req->ial, 2);
  EXPECT_EQ(req->verification_source, "TELCO");
  EXPECT_EQ(req->registration_method, "MOBILE");
  EXPECT_EQ(req->consent_version, "2024-01");
  EXPECT_EQ(req->password, kGoodPassword);
  EXPECT_EQ(req->identity.id_number, kCccd);
  EXPECT_EQ(req->identity.phone, kPhone);
  EXPECT_EQ(req->identity.email, "an.nguyen@example.vn");

  auto stored = store_.Peek(f->flow_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, FlowState::kCompleted);
  EXPECT_TRUE(stored->applicant.id_number.empty());
  EXPECT_TRUE(stored->applicant.phone.empty());
  EXPECT_TRUE(stored->applicant.full_name.empty());
}

TEST_F(RegistrationTest, CmndIsAcceptedWithoutBirthYearCheck) {
  auto in = Form();
  in.id_number = "123456789";
  auto f = reg_.StartMobile(in);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, FlowState::kOtpSent);
}

TEST_F(RegistrationTest, CreateCaptchaComesFromTheChecker) {
  auto c = reg_.CreateCaptcha();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dev_answer, testing::FakeCaptcha::kAnswer);
  EXPECT_FALSE(c->png.empty());
}

// ---- captcha ----

TEST_F(RegistrationTest, WrongCaptchaIsRefusedAndConsumed) {
  auto in = Form();
  in.captcha_answer = "nope";
  auto f = reg_.StartMobile(in);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(f.status()), "CAPTCHA_INVALID");
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_TRUE(idv_.calls().empty());
  in.captcha_answer = testing::FakeCaptcha::kAnswer;  // same id, right answer: too late
  EXPECT_EQ(ReasonOf(reg_.StartMobile(in).status()), "CAPTCHA_INVALID");
}

TEST_F(RegistrationTest, CaptchaIsCheckedBeforeTheFormAndConsumedByAnInvalidForm) {
  auto in = Form();
  in.captcha_answer = "";
  in.id_number = "";
  EXPECT_EQ(ReasonOf(reg_.StartMobile(in).status()), "CAPTCHA_REQUIRED");
  in = Form();
  in.phone = "12";
  EXPECT_EQ(ReasonOf(reg_.StartMobile(in).status()), "PHONE_MALFORMED");
  in.phone = kPhone;
  EXPECT_EQ(ReasonOf(reg_.StartMobile(in).status()), "CAPTCHA_INVALID");
  EXPECT_EQ(store_.size(), 0u);
}

// ---- validation: first failing field in form order ----

struct BadForm {
  std::string name;
  std::function<void(StartMobileInput&)> edit;
  std::string reason;
  std::string field;
};

TEST_F(RegistrationTest, EachBadFieldHasItsReasonAndField) {
  const std::vector<BadForm> cases = {
      {"id empty", [](auto& in) { in.id_number = "  "; }, "ID_NUMBER_REQUIRED", "id_number"},
      {"id 10 digits", [](auto& in) { in.id_number = "0010900123"; }, "ID_NUMBER_MALFORMED",
       "id_number"},
      {"id letters", [](auto& in) { in.id_number = "00109001234A"; }, "ID_NUMBER_MALFORMED",
       "id_number"},
      {"cccd province", [](auto& in) { in.id_number = "099090012345"; }, "CCCD_PROVINCE_INVALID",
       "id_number"},
      {"cccd century", [](auto& in) { in.id_number = "001890012345"; }, "CCCD_MALFORMED",
       "id_number"},
      {"name empty", [](auto& in) { in.full_name = " "; }, "NAME_REQUIRED", "full_name"},
      {"name digits", [](auto& in) { in.full_name = "Nguyen Van 4"; }, "NAME_INVALID",
       "full_name"},
      {"dob empty", [](auto& in) { in.date_of_birth = ""; }, "DATE_OF_BIRTH_REQUIRED",
       "date_of_birth"},
      {"dob impossible", [](auto& in) { in.date_of_birth = "1990-02-30"; }, "DATE_MALFORMED",
       "date_of_birth"},
      {"dob format", [](auto& in) { in.date_of_birth = "17/05/1990"; }, "DATE_MALFORMED",
       "date_of_birth"},
      {"dob future", [](auto& in) {
         in.id_number = "001399012345";  // 2099
         in.date_of_birth = "2099-01-01";
       }, "BIRTH_DATE_INVALID", "date_of_birth"},
      {"cccd year vs dob", [](auto& in) { in.date_of_birth = "1991-05-17"; },
       "CCCD_BIRTH_YEAR_MISMATCH", "date_of_birth"},
      {"cccd century vs dob", [](auto& in) { in.id_number = "001290012345"; },  // 2090
       "CCCD_BIRTH_YEAR_MISMATCH", "date_of_birth"},
      {"phone empty", [](auto& in) { in.phone = ""; }, "PHONE_REQUIRED", "phone"},
      {"phone short", [](auto& in) { in.phone = "091234567"; }, "PHONE_MALFORMED", "phone"},
      {"email bad", [](auto& in) { in.email = "an@"; }, "EMAIL_MALFORMED", "email"},
      {"consent missing", [](auto& in) { in.consent_version = " "; }, "CONSENT_REQUIRED",
       "consent_version"},
      {"consent junk", [](auto& in) { in.consent_version = "v1\n<script>"; },
       "CONSENT_VERSION_INVALID", "consent_version"},
      // Several bad fields: the first in form order wins.
      {"name before phone", [](auto& in) {
         in.full_name = "";
         in.phone = "x";
         in.consent_version = "";
       }, "NAME_REQUIRED", "full_name"},
      {"id before all", [](auto& in) {
         in.id_number = "1";
         in.date_of_birth = "x";
       }, "ID_NUMBER_MALFORMED", "id_number"},
  };
  for (const auto& c : cases) {
    auto in = Form();
    c.edit(in);
    auto f = reg_.StartMobile(in);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(ReasonOf(f.status()), c.reason) << c.name << ": " << f.status();
    EXPECT_EQ(FieldOf(f.status()), c.field) << c.name;
    auto info = GetErrorInfo(f.status());
    ASSERT_TRUE(info.has_value()) << c.name;
    EXPECT_FALSE(info->message_vi.empty()) << c.name;
    EXPECT_FALSE(info->message_en.empty()) << c.name;
  }
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_TRUE(idv_.calls().empty());
}

TEST_F(RegistrationTest, EmailIsOptional) {
  auto in = Form();
  in.email = "";
  auto f = reg_.StartMobile(in);
  ASSERT_TRUE(f.ok()) << f.status();
}

// ---- telco subscriber check ----

TEST_F(RegistrationTest, TelcoUnavailableKeepsTheFlowPendingAndResumeRetriesIt) {
  idv_.Push(absl::UnavailableError("telco down"));
  auto f = reg_.StartMobile(Form());
  ASSERT_EQ(f.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(f.status()), "IDV_PROVIDER_UNAVAILABLE");
  const std::string flow_id = Meta(f.status(), "flow_id");
  ASSERT_FALSE(flow_id.empty());
  EXPECT_NE(GetErrorInfo(f.status())->message_vi.find("thử lại"), std::string::npos);

  auto pending = reg_.Get(flow_id);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->state, FlowState::kSubscriberCheckPending);
  EXPECT_EQ(otp_.send_calls(), 0);

  // Still down (slow this time): same answer.
  idv_.Push(absl::DeadlineExceededError("slow"));
  auto again = reg_.Resume(flow_id);
  EXPECT_EQ(ReasonOf(again.status()), "IDV_PROVIDER_UNAVAILABLE");
  EXPECT_EQ(Meta(again.status(), "flow_id"), flow_id);

  auto resumed = reg_.Resume(flow_id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, FlowState::kOtpSent);
  ASSERT_EQ(idv_.calls().size(), 3u);
  for (const auto& c : idv_.calls()) EXPECT_EQ(c.request_id, flow_id + ":subscriber");
  EXPECT_EQ(otp_.sms_sent(), 1);

  // Nothing pending any more: Resume answers the flow as it stands, sends nothing.
  auto idle = reg_.Resume(flow_id);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->state, FlowState::kOtpSent);
  EXPECT_EQ(idv_.calls().size(), 3u);
  EXPECT_EQ(otp_.sms_sent(), 1);
}

TEST_F(RegistrationTest, SubscriberNotFoundFailsTheFlowWithPhoneNotOwned) {
  idv_.Push(SubscriberAnswer{false, false, {}, ""});
  auto f = reg_.StartMobile(Form());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(f.status()), "PHONE_NOT_OWNED");
  EXPECT_EQ(FieldOf(f.status()), "phone");
  EXPECT_NE(GetErrorInfo(f.status())->message_vi.find("nhà mạng"), std::string::npos);
  EXPECT_EQ(otp_.send_calls(), 0);
  EXPECT_EQ(accounts_.exists_calls(), 0);
}

TEST_F(RegistrationTest, SubscriberMismatchFailsTheFlowAndForgetsPersonalData) {
  idv_.Push(SubscriberAnswer{true, false, {"date_of_birth"}, "Viettel"});
  auto f = reg_.StartMobile(Form());
  ASSERT_EQ(ReasonOf(f.status()), "PHONE_NOT_OWNED");
  // The mismatching attribute is not disclosed.
  EXPECT_EQ(GetErrorInfo(f.status())->message_en.find("date"), std::string::npos);
  ASSERT_EQ(store_.size(), 1u);
  const std::string flow_id = idv_.calls()[0].request_id.substr(0, 36);
  auto stored = store_.Peek(flow_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, FlowState::kFailed);
  EXPECT_EQ(stored->failure_reason, "PHONE_NOT_OWNED");
  EXPECT_TRUE(stored->applicant.id_number.empty());
  EXPECT_TRUE(stored->applicant.phone.empty());

  auto resumed = reg_.Resume(flow_id);
  EXPECT_EQ(ReasonOf(resumed.status()), "FLOW_FAILED");
  EXPECT_EQ(Meta(resumed.status(), "failure_reason"), "PHONE_NOT_OWNED");
  auto got = reg_.Get(flow_id);  // a failed flow stays readable, with its reason
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kFailed);
  EXPECT_EQ(got->failure_reason, "PHONE_NOT_OWNED");
}

// ---- duplicate check ----

TEST_F(RegistrationTest, ExistingAccountIsRefusedWithTheSeedsGuidanceAndNothingCreated) {
  accounts_.AddExisting(kCccd);
  auto f = reg_.StartMobile(Form());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(f.status()), "ACCOUNT_EXISTS");
  EXPECT_EQ(FieldOf(f.status()), "id_number");
  const auto info = GetErrorInfo(f.status());
  EXPECT_NE(info->message_vi.find("Quên mật khẩu"), std::string::npos);
  EXPECT_NE(info->message_vi.find("quầy giao dịch"), std::string::npos);
  EXPECT_NE(info->message_vi.find("khiếu nại"), std::string::npos);
  EXPECT_EQ(otp_.send_calls(), 0);
  EXPECT_EQ(accounts_.create_calls(), 0);
  const std::string flow_id = idv_.calls()[0].request_id.substr(0, 36);
  EXPECT_EQ(store_.Peek(flow_id)->state, FlowState::kFailed);
  EXPECT_EQ(store_.Peek(flow_id)->failure_reason, "ACCOUNT_EXISTS");
}

TEST_F(RegistrationTest, AccountsUnavailableAfterTelcoOkResumesWithoutAskingTheTelcoAgain) {
  accounts_.PushExistsError(absl::UnavailableError("accounts down"));
  auto f = reg_.StartMobile(Form());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(f.status()), "TEMPORARILY_UNAVAILABLE");
  const std::string flow_id = Meta(f.status(), "flow_id");
  ASSERT_FALSE(flow_id.empty());
  EXPECT_EQ(store_.Peek(flow_id)->state, FlowState::kOtpSendPending);
  auto got = reg_.Get(flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_STREQ(PublicStateName(got->state), "SUBSCRIBER_CHECK_PENDING");

  auto resumed = reg_.Resume(flow_id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, FlowState::kOtpSent);
  EXPECT_EQ(idv_.calls().size(), 1u);
  EXPECT_EQ(accounts_.exists_calls(), 2);
}

// ---- OTP send ----

TEST_F(RegistrationTest, OtpSendThrottledPassesThroughAndResumeUsesTheSameRequestId) {
  otp_.PushSendError(status::ResourceExhausted("OTP_SEND_LIMIT", "Quá nhiều.", "Too many.", 120));
  auto f = reg_.StartMobile(Form());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(f.status()), "OTP_SEND_LIMIT");
  EXPECT_EQ(Meta(f.status(), "retry_after_s"), "120");
  const std::string flow_id = Meta(f.status(), "flow_id");
  ASSERT_FALSE(flow_id.empty());

  otp_.PushSendError(absl::UnavailableError("otp down"));
  EXPECT_EQ(ReasonOf(reg_.Resume(flow_id).status()), "TEMPORARILY_UNAVAILABLE");

  auto resumed = reg_.Resume(flow_id);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state, FlowState::kOtpSent);
  EXPECT_EQ(otp_.send_request_ids(),
            std::vector<std::string>(3, flow_id + ":otp"));  // idempotent key: never two SMS
  EXPECT_EQ(otp_.sms_sent(), 1);
}

TEST_F(RegistrationTest, ResendOtpHonoursTheCooldownThenRefreshesTheChallenge) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  auto early = reg_.ResendOtp(f->flow_id);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(early.status()), "OTP_RESEND_TOO_SOON");
  EXPECT_EQ(Meta(early.status(), "retry_after_s"), "61");

  clock_.Advance(absl::Seconds(61));
  otp_.set_next_code("135790");
  auto later = reg_.ResendOtp(f->flow_id);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->state, FlowState::kOtpSent);
  EXPECT_EQ(*later->otp_expires_at, clock_.Now() + absl::Minutes(5));
  EXPECT_EQ(*later->resend_after, clock_.Now() + absl::Seconds(60));
  EXPECT_EQ(otp_.sms_sent(), 2);
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "246810").status()), "OTP_INVALID");
  EXPECT_TRUE(reg_.VerifyOtp(f->flow_id, "135790").ok());
  // No resend once the OTP step is done.
  EXPECT_EQ(ReasonOf(reg_.ResendOtp(f->flow_id).status()), "FLOW_WRONG_STATE");
}

// ---- OTP verification ----

TEST_F(RegistrationTest, WrongOtpPassesThroughAndTooManyFailTheFlow) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  auto w1 = reg_.VerifyOtp(f->flow_id, "000000");
  EXPECT_EQ(w1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(w1.status()), "OTP_INVALID");
  EXPECT_EQ(Meta(w1.status(), "attempts_left"), "2");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kOtpSent);
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "000001").status()), "OTP_INVALID");
  auto w3 = reg_.VerifyOtp(f->flow_id, "000002");
  EXPECT_EQ(w3.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(w3.status()), "OTP_ATTEMPTS_EXCEEDED");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kFailed);
  EXPECT_EQ(store_.Peek(f->flow_id)->failure_reason, "OTP_ATTEMPTS_EXCEEDED");
  // Even the right code is too late now.
  auto late = reg_.VerifyOtp(f->flow_id, "246810");
  EXPECT_EQ(ReasonOf(late.status()), "FLOW_FAILED");
  EXPECT_EQ(Meta(late.status(), "failure_reason"), "OTP_ATTEMPTS_EXCEEDED");
  EXPECT_EQ(ReasonOf(reg_.SetPassword(f->flow_id, kGoodPassword, kGoodPassword).status()),
            "FLOW_FAILED");
  EXPECT_EQ(accounts_.create_calls(), 0);
}

TEST_F(RegistrationTest, MalformedOtpIsRefusedWithoutSpendingAnAttempt) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "12a456").status()), "OTP_MALFORMED");
    EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "1234567").status()), "OTP_MALFORMED");
  }
  auto empty = reg_.VerifyOtp(f->flow_id, "");
  EXPECT_EQ(ReasonOf(empty.status()), "OTP_REQUIRED");
  EXPECT_EQ(FieldOf(empty.status()), "otp");
  EXPECT_TRUE(reg_.VerifyOtp(f->flow_id, "246810").ok());
}

TEST_F(RegistrationTest, ExpiredOtpPassesThroughAndTheFlowCanResend) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  clock_.Advance(absl::Minutes(6));
  auto v = reg_.VerifyOtp(f->flow_id, "246810");
  EXPECT_EQ(ReasonOf(v.status()), "OTP_EXPIRED");
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kOtpSent);
  ASSERT_TRUE(reg_.ResendOtp(f->flow_id).ok());
  EXPECT_TRUE(reg_.VerifyOtp(f->flow_id, "246810").ok());
}

TEST_F(RegistrationTest, OtpServiceDownIsTemporary) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  otp_.PushVerifyError(absl::UnavailableError("down"));
  auto v = reg_.VerifyOtp(f->flow_id, "246810");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(v.status()), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(Meta(v.status(), "flow_id"), f->flow_id);
  EXPECT_TRUE(reg_.VerifyOtp(f->flow_id, "246810").ok());
}

// otp consumed the code but its answer was lost: the user's retry with the same code is keyed by
// the flow, so otp answers success again instead of OTP_ALREADY_USED.
TEST_F(RegistrationTest, OtpVerifyIsKeyedByTheFlowSoALostAnswerCanBeRetried) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  otp_.LoseNextVerifyAnswer();
  auto lost = reg_.VerifyOtp(f->flow_id, "246810");
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.Peek(f->flow_id)->state, FlowState::kOtpSent);
  auto v = reg_.VerifyOtp(f->flow_id, "246810");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->state, FlowState::kPasswordRequired);
  EXPECT_EQ(otp_.verify_keys(), (std::vector<std::string>{"registration:" + f->flow_id,
                                                          "registration:" + f->flow_id}));
}

// ---- password ----

TEST_F(RegistrationTest, SetPasswordBeforeTheOtpIsTheWrongState) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  auto s = reg_.SetPassword(f->flow_id, kGoodPassword, kGoodPassword);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s.status()), "FLOW_WRONG_STATE");
  EXPECT_EQ(Meta(s.status(), "state"), "OTP_SENT");
  EXPECT_EQ(accounts_.create_calls(), 0);
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "246810").status()), "");
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f->flow_id, "246810").status()), "FLOW_WRONG_STATE");
}

TEST_F(RegistrationTest, PasswordPolicyReasons) {
  const Flow f = ToPasswordRequired();
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases = {
      {"Ab1!", "Ab1!", "PASSWORD_TOO_SHORT", "password"},
      {"abcdefgh1!", "abcdefgh1!", "PASSWORD_TOO_WEAK", "password"},
      {"Password@123", "Password@123", "PASSWORD_BREACHED", "password"},
      {"Xx!001090012345", "Xx!001090012345", "PASSWORD_CONTAINS_PERSONAL_DATA", "password"},
      {"Xx!0912345678", "Xx!0912345678", "PASSWORD_CONTAINS_PERSONAL_DATA", "password"},
      {kGoodPassword, "Quy!Nhon-7392", "PASSWORD_MISMATCH", "password_confirmation"},
  };
  for (const auto& [pw, confirm, reason, field] : cases) {
    auto s = reg_.SetPassword(f.flow_id, pw, confirm);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << reason;
    EXPECT_EQ(ReasonOf(s.status()), reason) << s.status();
    EXPECT_EQ(FieldOf(s.status()), field) << reason;
  }
  EXPECT_EQ(accounts_.create_calls(), 0);
  EXPECT_EQ(store_.Peek(f.flow_id)->state, FlowState::kPasswordRequired);
  EXPECT_TRUE(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).ok());
}

TEST_F(RegistrationTest, ReplayedSetPasswordAfterCompletionCreatesNothing) {
  const Flow f = ToPasswordRequired();
  ASSERT_TRUE(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).ok());
  auto replay = reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(replay.status()), "FLOW_COMPLETED");
  EXPECT_EQ(accounts_.create_calls(), 1);
  EXPECT_EQ(accounts_.accounts_created(), 1);
  EXPECT_EQ(ReasonOf(reg_.VerifyOtp(f.flow_id, "246810").status()), "FLOW_COMPLETED");
  EXPECT_EQ(ReasonOf(reg_.Resume(f.flow_id).status()), "FLOW_COMPLETED");
  auto got = reg_.Get(f.flow_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, FlowState::kCompleted);
  EXPECT_FALSE(got->account_id.empty());
}

TEST_F(RegistrationTest, LostAccountsResponseThenRetryReturnsTheSameAccount) {
  const Flow f = ToPasswordRequired();
  accounts_.LoseNextCreateResponse();
  auto lost = reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword);
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(lost.status()), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(Meta(lost.status(), "flow_id"), f.flow_id);
  EXPECT_EQ(store_.Peek(f.flow_id)->state, FlowState::kPasswordRequired);
  EXPECT_EQ(accounts_.accounts_created(), 1);  // it was created, the answer got lost

  auto retry = reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->state, FlowState::kCompleted);
  EXPECT_EQ(accounts_.accounts_created(), 1);
  EXPECT_EQ(accounts_.create_calls(), 2);
  auto req = accounts_.Request(retry->account_id);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->request_id, f.flow_id);
}

TEST_F(RegistrationTest, ParallelRegistrationWinningTheRaceFailsTheFlow) {
  const Flow f = ToPasswordRequired();
  accounts_.AddExisting(kCccd);  // created by another flow after our duplicate check
  auto s = reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(s.status()), "ACCOUNT_EXISTS");
  EXPECT_EQ(store_.Peek(f.flow_id)->state, FlowState::kFailed);
  EXPECT_EQ(store_.Peek(f.flow_id)->failure_reason, "ACCOUNT_EXISTS");
  EXPECT_EQ(ReasonOf(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).status()),
            "FLOW_FAILED");
}

TEST_F(RegistrationTest, ConcurrentSetPasswordCreatesOneAccount) {
  const Flow f = ToPasswordRequired();
  std::atomic<int> ok{0}, completed{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto s = reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword);
      if (s.ok()) {
        ++ok;
      } else if (ReasonOf(s.status()) == "FLOW_COMPLETED") {
        ++completed;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(completed.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(accounts_.create_calls(), 1);
  EXPECT_EQ(accounts_.accounts_created(), 1);
}

// ---- expiry, unknown flows ----

TEST_F(RegistrationTest, EveryStepOnAnExpiredFlowIsRefused) {
  auto f = reg_.StartMobile(Form());
  ASSERT_TRUE(f.ok());
  clock_.Advance(absl::Minutes(30) - absl::Seconds(1));
  EXPECT_TRUE(reg_.Get(f->flow_id).ok());
  clock_.Advance(absl::Seconds(1));  // exactly expires_at
  for (const absl::Status& s :
       {reg_.Get(f->flow_id).status(), reg_.Resume(f->flow_id).status(),
        reg_.ResendOtp(f->flow_id).status(), reg_.VerifyOtp(f->flow_id, "246810").status(),
        reg_.SetPassword(f->flow_id, kGoodPassword, kGoodPassword).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ReasonOf(s), "FLOW_EXPIRED");
  }
  EXPECT_EQ(otp_.sms_sent(), 1);
}

TEST_F(RegistrationTest, ExpiredWhilePasswordRequiredCreatesNoAccount) {
  const Flow f = ToPasswordRequired();
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(ReasonOf(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).status()),
            "FLOW_EXPIRED");
  EXPECT_EQ(accounts_.create_calls(), 0);
}

TEST_F(RegistrationTest, CompletedFlowStaysCompletedAfterExpiry) {
  const Flow f = ToPasswordRequired();
  ASSERT_TRUE(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).ok());
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(ReasonOf(reg_.SetPassword(f.flow_id, kGoodPassword, kGoodPassword).status()),
            "FLOW_COMPLETED");
  EXPECT_TRUE(reg_.Get(f.flow_id).ok());
}

TEST_F(RegistrationTest, UnknownOrMalformedFlowIds) {
  const std::string unknown = "3f0c9a52-8a5e-4b1e-9c41-5d7d0e2f6a10";
  for (const absl::Status& s :
       {reg_.Get(unknown).status(), reg_.Resume(unknown).status(),
        reg_.ResendOtp(unknown).status(), reg_.VerifyOtp(unknown, "123456").status(),
        reg_.SetPassword(unknown, kGoodPassword, kGoodPassword).status(),
        reg_.Get("'; DROP TABLE flows; --").status(), reg_.Resume("abc").status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(ReasonOf(s), "FLOW_NOT_FOUND");
  }
  auto empty = reg_.VerifyOtp("", "123456");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(empty.status()), "FLOW_ID_REQUIRED");
}

// ---- idempotent start ----

TEST_F(RegistrationTest, RetriedStartWithTheSameRequestIdContinuesTheSameFlow) {
  auto in = Form();
  in.request_id = "req-7f1c";
  idv_.Push(absl::UnavailableError("down"));
  auto first = reg_.StartMobile(in);
  ASSERT_EQ(ReasonOf(first.status()), "IDV_PROVIDER_UNAVAILABLE");
  const std::string flow_id = Meta(first.status(), "flow_id");
  // The captcha was consumed by the first call; the retry is not asked for it again.
  auto retry = reg_.StartMobile(in);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->flow_id, flow_id);
  EXPECT_EQ(retry->state, FlowState::kOtpSent);
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(captcha_.verifications(), 1);
  auto again = reg_.StartMobile(in);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(otp_.sms_sent(), 1);

  // The same key with another person's data is not a retry.
  auto other = Form();
  other.request_id = "req-7f1c";
  other.id_number = "079301000123";
  other.date_of_birth = "2001-03-04";
  auto reused = reg_.StartMobile(other);
  EXPECT_EQ(ReasonOf(reused.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(FieldOf(reused.status()), "request_id");
}

TEST_F(RegistrationTest, StartsWithoutRequestIdAreIndependentFlows) {
  auto a = reg_.StartMobile(Form());
  auto b = reg_.StartMobile(Form());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->flow_id, b->flow_id);
  EXPECT_EQ(store_.size(), 2u);
}

}  // namespace
}  // namespace dvc::registration
